// Verification of a rollout on live metrics, one interval at a time, and what follows from its decision:
// carry on, hold (Prometheus down or no data: never a rollback by default), pass, or roll back. Every
// interval that changes a counter or acts is written to the assessment's status before anything is acted on,
// so a restarted controller carries on from the record and a rollback happens at most once. A quiet interval
// (a reading, nothing else) is carried in memory and written with a later one (see mustWriteInterval).
import type { V1Deployment } from '@kubernetes/client-node';
import type { AssessmentStatus, VerificationStatus } from '../api/assessment.js';
import { parseDuration } from '../api/duration.js';
import type { Caches } from '../api/objects.js';
import type { CurrentRollout } from '../api/revision.js';
import { inForegroundLane } from '../kube/api-client.js';
import { isConflict } from '../kube/errors.js';
import type { DeploymentEvents } from '../kube/events.js';
import type { ClusterWriter } from '../kube/writer.js';
import { stableHash } from '../shard/hash.js';
import { bucketsFor, buildBatchQuery, readBatch, readingFor, splitByReplicaSet } from '../prometheus/batch.js';
import { isProviderFailure, nonNegativeReading, type MetricsProvider, type SingleResult } from '../prometheus/types.js';
import type { Logger } from '../telemetry/logger.js';
import type { OperatorMetrics } from '../telemetry/metrics.js';
import { baselineCountsOf, countObservations, unreadCounts } from '../verify/count-readings.js';
import { verificationLimitsFor, type VerificationLimits } from '../verify/levels.js';
import { intervalRecord, planActs, planVerification, type VerificationPlan } from '../verify/plan.js';
import { mustWriteInterval, rolloutProgress, type RolloutProgress } from '../verify/record.js';
import { plannedLooks } from '../verify/sequential.js';
import { tickAt, tickClockFor, tickStartMs } from '../verify/ticks.js';
import { verificationClock } from '../verify/timeline.js';
import { INITIAL_COUNTERS, checkInterval, nextVerificationState, type MetricCheck } from '../verify/verdict.js';
import { appendActions, statusWithActions } from './assessment-record.js';
import type { GoverningPolicy } from './policy-choice.js';
import type { PrometheusAccess, ProviderLookup } from './prometheus-access.js';
import type { VerificationBatcher, VerifiedMetric } from './verification-batcher.js';

export interface VerifierDeps {
  caches: Caches;
  writer: ClusterWriter;
  events: DeploymentEvents;
  access: PrometheusAccess;
  batcher: VerificationBatcher;
  metrics: OperatorMetrics;
  clock: () => Date;
  /**
   * Tells the policy's status what Prometheus thinks of its queries: the problem when it refused one (or it
   * could not be rendered), undefined when both were answered. Keyed like policyKey.
   */
  reportQueryProblem?: (policyKey: string, problem: string | undefined) => void;
  /**
   * How long an assessment's record may go unwritten while its intervals are quiet (see mustWriteInterval);
   * 0 or absent writes every interval.
   */
  quietWritePeriodMs?: number;
}

export interface VerifyInput {
  deployment: V1Deployment;
  rollout: CurrentRollout;
  policy: GoverningPolicy;
  assessmentName: string;
  /** The assessment's resourceVersion that `status` was read at: status writes are conditional on it. */
  resourceVersion?: string | undefined;
  /** A return to a template that neither failed nor was rolled back before: never rolled back again. */
  exemptReturn: boolean;
  status: AssessmentStatus;
  log: Logger;
}

/** Start each check a little after the tick boundary, so the scrape of the boundary's second has landed. */
const tickSlackMs = 150;

interface Baseline {
  errorRate: number | undefined;
  latency: number | undefined;
  note?: string;
}

/** One interval's readings turned into checks, with what they were read from. */
interface IntervalReading {
  checks: MetricCheck[];
  queries: Record<string, string>;
  baseline: Baseline;
  baselineCounts: VerificationStatus['baselineCounts'];
}

export class Verifier {
  /**
   * The last interval (tick) judged per assessment by this process. The informer cache can trail the status
   * write that recorded it; without this, a reconcile in that gap would judge the same interval twice and
   * count one failure as two. After a restart the synced cache is exact, so memory is only a guard.
   */
  private readonly lastTickDone = new Map<string, number>();

  /**
   * Quiet intervals not written yet, per assessment, with the resourceVersion of the record they follow. They
   * are used only while the record is still that version: any other write to it (a person's approval, another
   * replica) wins, and what was carried is dropped, as a restart drops it. It held only passing readings.
   */
  private readonly carried = new Map<
    string,
    { deployment: string; basedOn: string | undefined; record: VerificationStatus }
  >();

  constructor(private readonly deps: VerifierDeps) {}

  /** A Deployment deleted or no longer covered: its policy's batched queries stop asking for it. */
  forget(namespace: string, deployment: string): void {
    this.deps.batcher.forgetDeployment(namespace, deployment);
    for (const [key, entry] of this.carried)
      if (entry.deployment === deployment && key.startsWith(`${namespace}/`)) this.carried.delete(key);
  }

  policyKey(input: VerifyInput): string {
    return `${input.deployment.metadata?.namespace ?? ''}/${input.policy.object.metadata?.name ?? ''}`;
  }

  /**
   * Runs the interval that is due, if any, and returns when to come back: gathers the readings, decides
   * (src/verify/verdict.ts), plans what follows (src/verify/plan.ts) and carries the plan out.
   */
  async verify(input: VerifyInput): Promise<{ requeueAfterMs?: number }> {
    const { deployment, rollout, policy, status } = input;
    const namespace = deployment.metadata?.namespace ?? '';
    const name = deployment.metadata?.name ?? '';
    const tickKey = `${namespace}/${input.assessmentName}`;
    if (status.outcome !== 'running' || status.level === undefined) {
      this.deps.batcher.unregister(this.policyKey(input), name);
      this.carried.delete(tickKey);
      return {};
    }
    if (!policy.spec.prometheus.address) return {};

    const limits = verificationLimitsFor(status.level, {
      levels: policy.spec.levels,
      verification: policy.spec.verification,
    });
    const now = this.deps.clock();
    const recorded: VerificationStatus = status.verification ?? {};
    let carried = this.carried.get(tickKey);
    if (carried && carried.basedOn !== input.resourceVersion) {
      this.carried.delete(tickKey);
      carried = undefined;
    }
    const previous = carried?.record ?? recorded;
    const progress = rolloutProgress(deployment, rollout.current.replicaSet, rollout.previous?.replicaSet);
    const startedAt = previous.startedAt ?? (progress.newPodsServing ? now.toISOString() : undefined);
    if (startedAt === undefined && !progress.progressDeadlineExceeded) {
      return { requeueAfterMs: limits.intervalMs };
    }
    const rolloutCompletedAt = previous.rolloutCompletedAt ?? (progress.completed ? now.toISOString() : undefined);

    // The policy's own phase within the interval (see src/verify/ticks.ts): its rollouts are checked together,
    // at a different moment from other policies' rollouts.
    const clock = tickClockFor(this.policyKey(input), limits.intervalMs);
    const tick = tickAt(clock, now.getTime());
    const lastTick = Math.max(
      previous.lastCheckAt ? tickAt(clock, Date.parse(previous.lastCheckAt)) : -1,
      this.lastTickDone.get(tickKey) ?? -1,
    );
    const untilNextTick = tickStartMs(clock, tick + 1) - now.getTime() + tickSlackMs;
    if (tick <= lastTick) return { requeueAfterMs: untilNextTick };

    const lookup = await this.deps.access.providerFor(namespace, policy.spec);
    // The statistical test judges counts since verification began; its look number comes from the clock, so a
    // restart neither repeats nor skips one, and its budget holds however many looks are taken.
    const countsSince = new Date(startedAt ?? now.getTime());
    const look = tick - tickAt(clock, countsSince.getTime()) + 1;
    const reading = await this.read(input, lookup, { tick, now, look, limits, countsSince, progress });
    const { checks, queries } = reading;

    const counters = {
      consecutiveFailures: previous.consecutiveFailures ?? INITIAL_COUNTERS.consecutiveFailures,
      consecutiveErrors: previous.consecutiveErrors ?? INITIAL_COUNTERS.consecutiveErrors,
      consecutiveNoData: previous.consecutiveNoData ?? INITIAL_COUNTERS.consecutiveNoData,
    };
    const times = {
      newPodsServingSince: startedAt ? new Date(startedAt) : undefined,
      completedAt: rolloutCompletedAt ? new Date(rolloutCompletedAt) : undefined,
      progressDeadlineExceeded: progress.progressDeadlineExceeded,
    };
    let step = nextVerificationState(counters, checks, limits, verificationClock(times, limits.windowMs, now));
    let providerHealthy: boolean | undefined;
    // Before blaming the rollout, make sure Prometheus itself is healthy.
    if (step.decision.action === 'rollback' && step.decision.cause === 'metrics' && lookup.ok) {
      const health = await lookup.provider.healthy();
      providerHealthy = health.healthy;
      if (!health.healthy) {
        step = nextVerificationState(counters, checks, limits, verificationClock(times, limits.windowMs, now, false));
      }
    }
    for (const c of checks) this.deps.metrics.verificationChecks.inc({ metric: c.metric, result: c.verdict });
    if (lookup.ok)
      this.deps.metrics.prometheusUp.set(
        { namespace, policy: policy.object.metadata?.name ?? '' },
        providerHealthy === false || checks.every((c) => c.verdict === 'error') ? 0 : 1,
      );

    const decision = step.decision;
    const verification = intervalRecord({
      previous,
      startedAt,
      rolloutCompletedAt,
      deadline: times.completedAt ? new Date(times.completedAt.getTime() + limits.windowMs).toISOString() : undefined,
      baseline: reading.baseline,
      baselineCounts: reading.baselineCounts,
      step,
      checks,
      queries,
      now,
    });
    input.log.debug(
      { decision: decision.action, outcome: step.outcome, message: decision.message },
      'verification interval',
    );
    const plan = planVerification({
      decision,
      mode: status.mode,
      rollbackEnabled: policy.spec.rollback.enabled,
      rollback: decision.action === 'rollback' ? this.rollbackContext(input, now) : undefined,
      deploymentName: name,
      revision: rollout.current.revision,
      phase: status.phase,
      verification,
      queries,
      intervalMs: limits.intervalMs,
      firstOfStreak: counters.consecutiveErrors + counters.consecutiveNoData === 0,
      previousCheckAt: previous.lastCheckAt,
      now,
    });
    const writeNow = mustWriteInterval({
      recorded,
      next: verification,
      acts: planActs(plan, status.phase),
      quietPeriodMs: this.deps.quietWritePeriodMs ?? 0,
      now,
      turn: { tick, intervalMs: limits.intervalMs, slot: stableHash(tickKey) },
    });
    if (!writeNow) {
      if (this.carried.size > 10_000) this.carried.clear();
      this.carried.set(tickKey, { deployment: name, basedOn: input.resourceVersion, record: verification });
      this.deps.metrics.verificationIntervalsCarried.inc();
      this.rememberTick(tickKey, tick);
      return { requeueAfterMs: untilNextTick };
    }
    // A pass waits in the background lane of the API rate limit; changing the Deployment (a rollback) does not.
    const applied = plan.deployment
      ? await inForegroundLane(() => this.apply(input, plan))
      : await this.apply(input, plan);
    if (!applied) return { requeueAfterMs: 200 };
    this.carried.delete(tickKey);
    this.rememberTick(tickKey, tick);
    if (!plan.finished) return { requeueAfterMs: untilNextTick };
    this.deps.batcher.unregister(this.policyKey(input), name);
    return {};
  }

  /**
   * Carries a plan out: the status and the actions in one patch, conditional on the record the interval was
   * judged from, the Deployment's change before or after it, then the Events, the metrics and the log. False
   * when the record changed since it was read and nothing was done: the interval is judged again from the
   * new record. Once a rollback has changed the Deployment, though, it is recorded whatever else changed.
   */
  private async apply(input: VerifyInput, plan: VerificationPlan): Promise<boolean> {
    const namespace = input.deployment.metadata?.namespace ?? '';
    const name = input.deployment.metadata?.name ?? '';
    const changeDeployment = async () => {
      const change = plan.deployment;
      if (change?.kind === 'json') await this.deps.writer.jsonPatchDeployment(namespace, name, change.ops);
      else if (change?.kind === 'merge') await this.deps.writer.mergePatchDeployment(namespace, name, change.patch);
    };
    if (plan.deploymentFirst) await changeDeployment();
    try {
      // Conditional on the version read: a status built from a stale cache must not erase a newer interval.
      await this.deps.writer.mergePatchAssessmentStatus(
        namespace,
        input.assessmentName,
        statusWithActions(input.status, plan.actions, plan.status),
        input.resourceVersion,
      );
    } catch (err) {
      if (!isConflict(err)) throw err;
      if (!plan.deploymentFirst) {
        input.log.debug('assessment changed since it was read; judging the interval again from the new record');
        return false;
      }
      await appendActions(this.deps.writer, namespace, input.assessmentName, plan.actions, plan.status);
    }
    if (!plan.deploymentFirst) await changeDeployment();
    for (const event of plan.events) await this.deps.events.emit(input.deployment, event);
    if (plan.rollbackResult !== undefined) this.deps.metrics.rollbacks.inc({ result: plan.rollbackResult });
    if (plan.log) input.log[plan.log.level](plan.log.fields ?? {}, plan.log.message);
    return true;
  }

  /** What the rollback plan needs from the cluster, read from the caches. */
  private rollbackContext(input: VerifyInput, now: Date) {
    const namespace = input.deployment.metadata?.namespace ?? '';
    const rollback = input.policy.spec.rollback;
    return {
      deployment: input.deployment,
      replicaSets: this.deps.caches.replicaSets(namespace),
      badRevisionIsRollback: input.exemptReturn,
      previousRollbacks: this.previousRollbacks(namespace, input.deployment.metadata?.name ?? ''),
      maxRollbacks: rollback.maxRollbacks,
      windowMs: parseDuration(rollback.window),
      gitOps: rollback.gitOps,
      now,
    };
  }

  /** This interval's readings, as checks: plain limits, the statistical test, or why Prometheus cannot be asked. */
  private async read(
    input: VerifyInput,
    lookup: ProviderLookup,
    at: {
      tick: number;
      now: Date;
      look: number;
      limits: VerificationLimits;
      countsSince: Date;
      progress: RolloutProgress;
    },
  ): Promise<IntervalReading> {
    const { deployment, rollout, policy, status } = input;
    const namespace = deployment.metadata?.namespace ?? '';
    const name = deployment.metadata?.name ?? '';
    const previous = status.verification ?? {};
    const firstLook = previous.startedAt === undefined ? rollout.previous : undefined;
    let baseline: Baseline = { errorRate: previous.baselineErrorRate, latency: previous.baselineLatencySeconds };
    let baselineCounts = previous.baselineCounts;
    if (!lookup.ok) {
      const failure = { kind: 'unreachable', reason: 'other', message: lookup.reason } as const;
      const checks = checkInterval(policy.spec.metrics, {
        errorRate: { current: failure },
        latency: { current: failure },
        counts: unreadCounts(failure, at.look, plannedLooks(at.limits)),
      });
      return { checks, queries: {}, baseline, baselineCounts };
    }
    const common = {
      policyKey: this.policyKey(input),
      namespace,
      spec: policy.spec,
      provider: lookup.provider,
      tick: at.tick,
      deployment: name,
      newHash: rollout.current.podTemplateHash,
      oldHash: rollout.previous?.podTemplateHash,
    };
    if (policy.spec.metrics.statisticalTest.enabled) {
      if (firstLook)
        baselineCounts = await this.baselineCountsBefore(input, lookup.provider, firstLook.podTemplateHash);
      const counts = await this.deps.batcher.readCounts({ ...common, at: at.now, startedAt: at.countsSince });
      const checks = checkInterval(policy.spec.metrics, {
        counts: countObservations(counts, baselineCounts, at.look, plannedLooks(at.limits)),
      });
      return {
        checks,
        queries: { errorRate: counts.queries.errors, latency: counts.queries.latencyBuckets },
        baseline,
        baselineCounts,
      };
    }
    if (firstLook) baseline = await this.baselineBefore(input, lookup.provider, firstLook.podTemplateHash);
    const readings = await this.deps.batcher.read(common);
    this.reportQueries(input, readings);
    const observation = (metric: 'errorRate' | 'latency') => ({
      current: readings[metric].current,
      ...(at.progress.oldPodsServing && readings[metric].old ? { oldReplicaSet: readings[metric].old } : {}),
      ...(baseline[metric] !== undefined ? { baseline: baseline[metric] } : {}),
    });
    const checks = checkInterval(policy.spec.metrics, {
      errorRate: observation('errorRate'),
      latency: observation('latency'),
    });
    return {
      checks,
      queries: { errorRate: readings.errorRate.query, latency: readings.latency.query },
      baseline,
      baselineCounts,
    };
  }

  /**
   * The service's error rate and latency just before the rollout, from the old ReplicaSet, once. The
   * assessment read the same queries for the same pods at the same moment (its error_rate_before and
   * latency_p99_before): what it recorded is reused, and only what it could not read is asked for again.
   */
  private async baselineBefore(input: VerifyInput, provider: MetricsProvider, oldHash: string): Promise<Baseline> {
    const at = input.status.assessedAt ? new Date(input.status.assessedAt) : this.deps.clock();
    const deployment = input.deployment.metadata?.name ?? '';
    const scope = {
      namespace: input.deployment.metadata?.namespace ?? '',
      window: input.policy.spec.metrics.rateWindow,
      targets: [{ deployment, podTemplateHashes: [oldHash] }],
    };
    const features = input.status.features ?? {};
    const read = async (
      recorded: number | undefined,
      template: string,
      what: string,
    ): Promise<{ value?: number; note?: string }> => {
      if (recorded !== undefined) return { value: recorded };
      const reading = await readBatch(provider, buildBatchQuery(template, scope), { time: at, purpose: 'baseline' });
      if (!reading.ok) return {};
      const value = readingFor(reading.split, deployment, oldHash);
      // The baseline is recorded in status, where it may not be negative.
      return value.kind === 'value' ? nonNegativeReading(value.value, what) : {};
    };
    const metrics = input.policy.spec.metrics;
    const [errorRate, latency] = await Promise.all([
      read(features.error_rate_before, metrics.errorRate.query, 'the baseline error rate'),
      read(features.latency_p99_before, metrics.latency.query, 'the baseline latency'),
    ]);
    const notes = [errorRate.note, latency.note].filter((n): n is string => n !== undefined);
    return {
      errorRate: errorRate.value,
      latency: latency.value,
      ...(notes.length > 0 ? { note: notes.join('; ') } : {}),
    };
  }

  /** The old version's counts over the statistical test's baselineWindow before the rollout, once. */
  private async baselineCountsBefore(input: VerifyInput, provider: MetricsProvider, oldHash: string) {
    const at = input.status.assessedAt ? new Date(input.status.assessedAt) : this.deps.clock();
    const deployment = input.deployment.metadata?.name ?? '';
    const st = input.policy.spec.metrics.statisticalTest;
    const scope = {
      namespace: input.deployment.metadata?.namespace ?? '',
      window: st.baselineWindow,
      targets: [{ deployment, podTemplateHashes: [oldHash] }],
    };
    const ask = async (template: string) => {
      const reading = await readBatch(provider, buildBatchQuery(template, scope), { time: at, purpose: 'baseline' });
      return reading.ok ? reading.split : splitByReplicaSet({ kind: 'empty', message: reading.error });
    };
    const [requests, errors, buckets] = await Promise.all([
      ask(st.requestsQuery),
      ask(st.errorsQuery),
      ask(st.latencyBucketsQuery),
    ]);
    return baselineCountsOf({
      requests: readingFor(requests, deployment, oldHash),
      errors: readingFor(errors, deployment, oldHash),
      latencyBuckets: bucketsFor(buckets, deployment, oldHash),
    });
  }

  /** A query the policy got wrong is the policy's problem: its Ready condition says so (see policy-status.ts). */
  private reportQueries(input: VerifyInput, readings: Record<VerifiedMetric, { current: SingleResult }>): void {
    const report = this.deps.reportQueryProblem;
    if (!report) return;
    const fields = { errorRate: 'spec.metrics.errorRate.query', latency: 'spec.metrics.latency.query' } as const;
    const rejected = (['errorRate', 'latency'] as const).flatMap((metric) => {
      const r = readings[metric].current;
      return r.kind === 'promql-error' ? [`${fields[metric]}: ${r.message}`] : [];
    });
    if (rejected.length > 0) report(this.policyKey(input), rejected.join('; '));
    // Only answers clear it: an outage says nothing about whether the query is right.
    else if (!isProviderFailure(readings.errorRate.current) && !isProviderFailure(readings.latency.current))
      report(this.policyKey(input), undefined);
  }

  private rememberTick(tickKey: string, tick: number): void {
    if (this.lastTickDone.size > 10_000) this.lastTickDone.clear();
    this.lastTickDone.set(tickKey, tick);
  }

  /** When rollguard rolled this Deployment back before, from its assessments. */
  private previousRollbacks(namespace: string, deployment: string): Date[] {
    return this.deps.caches
      .assessments(namespace)
      .filter((a) => a.spec?.deployment === deployment)
      .flatMap((a) => (a.status?.actions ?? []).filter((x) => x.type === 'rolled-back').map((x) => new Date(x.at)));
  }
}
