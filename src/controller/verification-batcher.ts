// One PromQL query per policy, metric and interval, however many rollouts are being verified. Verification
// checks run just after interval boundaries ("ticks"); the first rollout of a policy to ask in a tick runs the
// batched query for every rollout of that policy known to be verifying, and the others read the same answer.
// A rollout that joins after its tick's query was sent gets one more batched query, not one of its own.
import type { PolicySpec } from '../api/policy.js';
import { planBatchQueries, readingFor, splitByReplicaSet, type BatchSplit } from '../prometheus/batch.js';
import type { MetricsProvider, SingleResult } from '../prometheus/types.js';

export type VerifiedMetric = 'errorRate' | 'latency';

export interface BatchReading {
  /** The new ReplicaSet's reading and, when it still serves, the old one's. */
  current: SingleResult;
  old?: SingleResult | undefined;
  /** The query as sent, for the verification steps and Events. */
  query: string;
}

interface TickAnswer {
  targets: Set<string>;
  answer: Promise<Map<VerifiedMetric, { split: BatchSplit; query: string }>>;
}

const targetKey = (deployment: string, hashes: readonly string[]) => `${deployment}\n${hashes.join(',')}`;

export class VerificationBatcher {
  /** Rollouts verifying now, per policy: deployment → its hashes (new first, then old). */
  private readonly active = new Map<string, Map<string, readonly string[]>>();
  /** The namespace of each policy key, so a Deployment can be found under whichever policy had it. */
  private readonly namespaceOf = new Map<string, string>();
  private readonly ticks = new Map<string, TickAnswer[]>();
  /** Queries sent, for `make bench` and the tests' assertions on batching. */
  queriesSent = 0;

  /**
   * Records that a rollout is verifying, so the next batch of its policy covers it. A Deployment verifies
   * under one policy at a time: one that moved to another policy leaves the old policy's batch.
   */
  register(policyKey: string, deployment: string, hashes: readonly string[], namespace?: string): void {
    if (namespace !== undefined) {
      this.namespaceOf.set(policyKey, namespace);
      for (const [other, byDeployment] of this.active) {
        if (other !== policyKey && this.namespaceOf.get(other) === namespace) byDeployment.delete(deployment);
      }
    }
    let byDeployment = this.active.get(policyKey);
    if (!byDeployment) {
      byDeployment = new Map();
      this.active.set(policyKey, byDeployment);
    }
    byDeployment.set(deployment, hashes);
  }

  unregister(policyKey: string, deployment: string): void {
    this.active.get(policyKey)?.delete(deployment);
    this.dropIfEmpty(policyKey);
  }

  /** Forgets a Deployment (deleted, or no longer covered) under every policy of its namespace. */
  forgetDeployment(namespace: string, deployment: string): void {
    for (const [policyKey, byDeployment] of this.active) {
      if (this.namespaceOf.get(policyKey) !== namespace) continue;
      byDeployment.delete(deployment);
      this.dropIfEmpty(policyKey);
    }
  }

  private dropIfEmpty(policyKey: string): void {
    if (this.active.get(policyKey)?.size !== 0) return;
    this.active.delete(policyKey);
    this.namespaceOf.delete(policyKey);
    for (const key of this.ticks.keys()) if (key.startsWith(`${policyKey}@`)) this.ticks.delete(key);
  }

  activeCount(): number {
    let n = 0;
    for (const m of this.active.values()) n += m.size;
    return n;
  }

  async read(args: {
    policyKey: string;
    namespace: string;
    spec: PolicySpec;
    provider: MetricsProvider;
    tick: number;
    deployment: string;
    newHash: string;
    oldHash?: string | undefined;
  }): Promise<Record<VerifiedMetric, BatchReading>> {
    const hashes = args.oldHash ? [args.newHash, args.oldHash] : [args.newHash];
    this.register(args.policyKey, args.deployment, hashes, args.namespace);
    const tickKey = `${args.policyKey}@${args.tick}`;
    const me = targetKey(args.deployment, hashes);
    let answers = this.ticks.get(tickKey);
    if (!answers) {
      answers = [];
      this.ticks.set(tickKey, answers);
      this.forgetOldTicks(args.policyKey, args.tick);
    }
    let found = answers.find((a) => a.targets.has(me));
    if (!found) {
      const targets = [...(this.active.get(args.policyKey) ?? new Map<string, readonly string[]>()).entries()];
      const set = new Set(targets.map(([d, h]) => targetKey(d, h)));
      const planned = planBatchQueries(
        { errorRate: args.spec.metrics.errorRate.query, latency: args.spec.metrics.latency.query },
        {
          namespace: args.namespace,
          window: args.spec.metrics.rateWindow,
          targets: targets.map(([deployment, podTemplateHashes]) => ({ deployment, podTemplateHashes })),
        },
      );
      const answer = Promise.all(
        planned.map(async (p) => {
          if (!p.render.ok) {
            const split: BatchSplit = {
              kind: 'whole',
              result: {
                kind: 'promql-error',
                status: 0,
                errorType: 'template',
                error: p.render.error,
                message: `the policy's ${p.metric} query cannot be used: ${p.render.error}`,
              },
            };
            return [p.metric, { split, query: '' }] as const;
          }
          this.queriesSent += 1;
          const result = await args.provider.instant(p.render.query);
          return [p.metric, { split: splitByReplicaSet(result), query: p.render.query }] as const;
        }),
      ).then((entries) => new Map<VerifiedMetric, { split: BatchSplit; query: string }>(entries));
      found = { targets: set, answer };
      answers.push(found);
    }
    const answer = await found.answer;
    const readingOf = (metric: VerifiedMetric): BatchReading => {
      const entry = answer.get(metric);
      if (!entry) return { current: { kind: 'empty', message: `no ${metric} query` }, query: '' };
      return {
        current: readingFor(entry.split, args.deployment, args.newHash),
        old: args.oldHash ? readingFor(entry.split, args.deployment, args.oldHash) : undefined,
        query: entry.query,
      };
    };
    return { errorRate: readingOf('errorRate'), latency: readingOf('latency') };
  }

  private forgetOldTicks(policyKey: string, tick: number): void {
    for (const key of this.ticks.keys()) {
      const [policy, t] = key.split('@');
      if (policy === policyKey && Number(t) < tick - 1) this.ticks.delete(key);
    }
  }
}
