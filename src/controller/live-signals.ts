// The service's error rate and p99 latency just before a rollout, as features of its assessment. Uses the
// policy's own metric queries (the ones verification uses) for the Deployment's serving ReplicaSet. It has a
// tight time limit, because the pause of a risky rollout waits for the assessment: a slow or unreachable
// Prometheus leaves these two features missing and says why, it never delays or fails the assessment.
// Rollouts that start together in one namespace share their queries (src/prometheus/coalesce.ts).
import type { LiveSignals } from '../assess/assess.js';
import type { PolicySpec } from '../api/policy.js';
import { parseDuration } from '../api/duration.js';
import { DEFAULT_SPLIT_LABELS, readingFor } from '../prometheus/batch.js';
import { ReadCoalescer } from '../prometheus/coalesce.js';
import { nonNegativeReading } from '../prometheus/types.js';
import type { LiveSignalSource } from './revision-assessor.js';
import type { PrometheusAccess } from './prometheus-access.js';

/** Longest the assessment waits for Prometheus. */
export const liveSignalBudgetMs = 1000;

export class PrometheusLiveSignals implements LiveSignalSource {
  private readonly reads = new ReadCoalescer();

  constructor(private readonly access: PrometheusAccess) {}

  async sample(
    policy: PolicySpec,
    namespace: string,
    deployment: string,
    podTemplateHashes: readonly string[] = [],
  ): Promise<LiveSignals> {
    const lookup = await this.access.providerFor(namespace, policy);
    if (!lookup.ok) return { unavailable: lookup.reason };
    const budgetMs = Math.min(liveSignalBudgetMs, parseDuration(policy.prometheus.timeout));
    const read = async (template: string): Promise<{ value?: number; problem?: string }> => {
      const reading = await this.reads.read({
        provider: lookup.provider,
        template,
        namespace,
        window: policy.metrics.rateWindow,
        target: { deployment, podTemplateHashes },
        budgetMs,
        purpose: 'live-signals',
      });
      if (!reading.ok) return { problem: reading.error };
      const split = reading.split;
      // The serving ReplicaSet is the previous one (the new one has only just started); fall back to any.
      for (const hash of podTemplateHashes) {
        const reading = readingFor(split, deployment, hash);
        if (reading.kind === 'value') return { value: reading.value };
      }
      if (split.kind === 'whole') return { problem: split.result.message };
      // The answer may cover other Deployments of the namespace too (coalesced): only this one's series count.
      for (const series of split.series.values()) {
        const first = series[0];
        if (first?.labels[DEFAULT_SPLIT_LABELS.deployment] !== deployment) continue;
        const last = first.points.at(-1)?.value;
        if (last !== undefined && Number.isFinite(last)) return { value: last };
      }
      return { problem: 'no series for this Deployment' };
    };
    const [errors, latency] = await Promise.all([
      read(policy.metrics.errorRate.query),
      read(policy.metrics.latency.query),
    ]);
    const result: LiveSignals = {};
    // Features are recorded in the assessment's status, where they may not be negative.
    const errorRate = errors.value === undefined ? {} : nonNegativeReading(errors.value, 'the error rate');
    const p99 = latency.value === undefined ? {} : nonNegativeReading(latency.value, 'the latency');
    if (errorRate.value !== undefined) result.errorRate = errorRate.value;
    if (p99.value !== undefined) result.latencyP99Seconds = p99.value;
    const problems = [errors.problem, errorRate.note, latency.problem, p99.note].filter(
      (p): p is string => p !== undefined,
    );
    if (problems.length > 0) result.unavailable = [...new Set(problems)].join('; ');
    return result;
  }
}
