// Verification of a rollout on live metrics, one interval at a time, and what follows from its decision:
// carry on, hold (Prometheus down or no data: never a rollback by default), pass, or roll back. Every
// interval's checks and counters are written to the assessment's status before anything is acted on, so a
// restarted controller carries on from the record and a rollback happens at most once.
import type { V1Deployment } from '@kubernetes/client-node';
import type { AssessmentStatus, VerificationStatus } from '../api/assessment.js';
import { parseDuration } from '../api/duration.js';
import { isConflict } from '../kube/errors.js';
import type { EventSink } from '../kube/events.js';
import type { ClusterWriter } from '../kube/writer.js';
import { bucketsFor, buildBatchQuery, readingFor, splitByReplicaSet } from '../prometheus/batch.js';
import { isProviderFailure, nonNegativeReading, type MetricsProvider, type SingleResult } from '../prometheus/types.js';
import { planRollback, type RollbackPlan } from '../rollback/plan.js';
import type { Logger } from '../telemetry/logger.js';
import type { OperatorMetrics } from '../telemetry/metrics.js';
import { baselineCountsOf, countObservations, unreadCounts } from '../verify/count-readings.js';
import { verificationLimitsFor } from '../verify/levels.js';
import { appendSteps, describeFailure, rolloutProgress } from '../verify/record.js';
import { plannedLooks } from '../verify/sequential.js';
import { verificationClock } from '../verify/timeline.js';
import {
  INITIAL_COUNTERS,
  checkInterval,
  nextVerificationState,
  type MetricCheck,
  type VerificationDecision,
} from '../verify/verdict.js';
import { annotations } from '../api/annotations.js';
import { appendActions } from './assessment-record.js';
import type { GoverningPolicy } from './policy-choice.js';
import type { ActionRecord } from './plan.js';
import type { PrometheusAccess } from './prometheus-access.js';
import type { CurrentRollout } from '../api/revision.js';
import type { Caches } from '../api/objects.js';
import type { VerificationBatcher, VerifiedMetric } from './verification-batcher.js';

export interface VerifierDeps {
  caches: Caches;
  writer: ClusterWriter;
  events: EventSink;
  access: PrometheusAccess;
  batcher: VerificationBatcher;
  metrics: OperatorMetrics;
  clock: () => Date;
  /**
   * Tells the policy's status what Prometheus thinks of its queries: the problem when it refused one (or it
   * could not be rendered), undefined when both were answered. Keyed like policyKey.
   */
  reportQueryProblem?: (policyKey: string, problem: string | undefined) => void;
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
  emit: (event: {
    type: 'Normal' | 'Warning';
    reason: string;
    action: string;
    note: string;
    dedupeKey: string;
  }) => Promise<void>;
}

/** Start each check a little after the tick boundary, so the scrape of the boundary's second has landed. */
const tickSlackMs = 150;

function formatInterval(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;
}

export class Verifier {
  /**
   * The last interval (tick) judged per assessment by this process. The informer cache can trail the status
   * write that recorded it; without this, a reconcile in that gap would judge the same interval twice and
   * count one failure as two. After a restart the synced cache is exact, so memory is only a guard.
   */
  private readonly lastTickDone = new Map<string, number>();

  constructor(private readonly deps: VerifierDeps) {}

  /** A Deployment deleted or no longer covered: its policy's batched queries stop asking for it. */
  forget(namespace: string, deployment: string): void {
    this.deps.batcher.forgetDeployment(namespace, deployment);
  }

  policyKey(input: VerifyInput): string {
    return `${input.deployment.metadata?.namespace ?? ''}/${input.policy.object.metadata?.name ?? ''}`;
  }

  /** Runs the interval that is due, if any; returns when to come back. */
  async verify(input: VerifyInput): Promise<{ requeueAfterMs?: number }> {
    const { deployment, rollout, policy, status } = input;
    const namespace = deployment.metadata?.namespace ?? '';
    const name = deployment.metadata?.name ?? '';
    if (status.outcome !== 'running' || status.level === undefined) {
      this.deps.batcher.unregister(this.policyKey(input), name);
      return {};
    }
    if (!policy.spec.prometheus.address) return {};

    const limits = verificationLimitsFor(status.level, {
      levels: policy.spec.levels,
      verification: policy.spec.verification,
    });
    const now = this.deps.clock();
    const previous: VerificationStatus = status.verification ?? {};
    const progress = rolloutProgress(deployment, rollout.current.replicaSet, rollout.previous?.replicaSet);
    const startedAt = previous.startedAt ?? (progress.newPodsServing ? now.toISOString() : undefined);
    if (startedAt === undefined && !progress.progressDeadlineExceeded) {
      return { requeueAfterMs: limits.intervalMs };
    }
    const rolloutCompletedAt = previous.rolloutCompletedAt ?? (progress.completed ? now.toISOString() : undefined);

    const tick = Math.floor(now.getTime() / limits.intervalMs);
    const tickKey = `${namespace}/${input.assessmentName}`;
    const lastTick = Math.max(
      previous.lastCheckAt ? Math.floor(Date.parse(previous.lastCheckAt) / limits.intervalMs) : -1,
      this.lastTickDone.get(tickKey) ?? -1,
    );
    const untilNextTick = (tick + 1) * limits.intervalMs - now.getTime() + tickSlackMs;
    if (tick <= lastTick) return { requeueAfterMs: untilNextTick };

    const lookup = await this.deps.access.providerFor(namespace, policy.spec);
    let checks: MetricCheck[];
    let queries: Record<string, string> = {};
    let baseline: { errorRate: number | undefined; latency: number | undefined; note?: string } = {
      errorRate: previous.baselineErrorRate,
      latency: previous.baselineLatencySeconds,
    };
    let providerHealthy: boolean | undefined;
    // The statistical test judges counts since verification began; its look number comes from the clock, so a
    // restart neither repeats nor skips one, and its budget holds however many looks are taken.
    const countsSince = new Date(startedAt ?? now.getTime());
    const look = tick - Math.floor(countsSince.getTime() / limits.intervalMs) + 1;
    let baselineCounts = previous.baselineCounts;
    if (!lookup.ok) {
      const failure = { kind: 'unreachable', reason: 'other', message: lookup.reason } as const;
      checks = checkInterval(policy.spec.metrics, {
        errorRate: { current: failure },
        latency: { current: failure },
        counts: unreadCounts(failure, look, plannedLooks(limits)),
      });
    } else if (policy.spec.metrics.statisticalTest.enabled) {
      if (previous.startedAt === undefined && rollout.previous) {
        baselineCounts = await this.baselineCountsBefore(input, lookup.provider, rollout.previous.podTemplateHash);
      }
      const counts = await this.deps.batcher.readCounts({
        policyKey: this.policyKey(input),
        namespace,
        spec: policy.spec,
        provider: lookup.provider,
        tick,
        at: now,
        deployment: name,
        newHash: rollout.current.podTemplateHash,
        oldHash: rollout.previous?.podTemplateHash,
        startedAt: countsSince,
      });
      queries = { errorRate: counts.queries.errors, latency: counts.queries.latencyBuckets };
      checks = checkInterval(policy.spec.metrics, {
        counts: countObservations(counts, baselineCounts, look, plannedLooks(limits)),
      });
    } else {
      if (previous.startedAt === undefined && rollout.previous) {
        baseline = await this.baselineBefore(input, lookup.provider, rollout.previous.podTemplateHash);
      }
      const readings = await this.deps.batcher.read({
        policyKey: this.policyKey(input),
        namespace,
        spec: policy.spec,
        provider: lookup.provider,
        tick,
        deployment: name,
        newHash: rollout.current.podTemplateHash,
        oldHash: rollout.previous?.podTemplateHash,
      });
      queries = { errorRate: readings.errorRate.query, latency: readings.latency.query };
      this.reportQueries(input, readings);
      const observation = (metric: 'errorRate' | 'latency') => ({
        current: readings[metric].current,
        ...(progress.oldPodsServing && readings[metric].old ? { oldReplicaSet: readings[metric].old } : {}),
        ...(baseline[metric] !== undefined ? { baseline: baseline[metric] } : {}),
      });
      checks = checkInterval(policy.spec.metrics, {
        errorRate: observation('errorRate'),
        latency: observation('latency'),
      });
    }

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
    const deadline = times.completedAt
      ? new Date(times.completedAt.getTime() + limits.windowMs).toISOString()
      : undefined;
    const state =
      decision.action === 'hold'
        ? 'held'
        : decision.action === 'pass'
          ? 'passed'
          : decision.action === 'rollback'
            ? 'failed'
            : 'running';
    const verification: VerificationStatus = {
      ...previous,
      ...(startedAt ? { startedAt } : {}),
      ...(rolloutCompletedAt ? { rolloutCompletedAt } : {}),
      ...(deadline ? { deadline } : {}),
      ...(baseline.errorRate !== undefined ? { baselineErrorRate: baseline.errorRate } : {}),
      ...(baseline.latency !== undefined ? { baselineLatencySeconds: baseline.latency } : {}),
      ...(baselineCounts !== undefined ? { baselineCounts } : {}),
      lastCheckAt: now.toISOString(),
      state,
      consecutiveFailures: step.counters.consecutiveFailures,
      consecutiveErrors: step.counters.consecutiveErrors,
      consecutiveNoData: step.counters.consecutiveNoData,
      steps: appendSteps(previous.steps ?? [], checks, queries, now),
      message: (baseline.note === undefined ? decision.message : `${decision.message} (${baseline.note})`).slice(
        0,
        4096,
      ),
    };
    input.log.debug(
      { decision: decision.action, outcome: step.outcome, message: decision.message },
      'verification interval',
    );

    if (decision.action === 'continue' || decision.action === 'hold') {
      try {
        // Conditional on the version read: a status built from a stale cache must not erase a newer interval.
        await this.deps.writer.mergePatchAssessmentStatus(
          namespace,
          input.assessmentName,
          { phase: status.phase === 'Paused' ? 'Paused' : 'Verifying', verification },
          input.resourceVersion,
        );
      } catch (err) {
        if (!isConflict(err)) throw err;
        input.log.debug('assessment changed since it was read; judging the interval again from the new record');
        return { requeueAfterMs: 200 };
      }
      this.rememberTick(tickKey, tick);
      if (decision.action === 'hold')
        await this.onHold(input, decision, counters.consecutiveErrors + counters.consecutiveNoData === 0);
      return { requeueAfterMs: untilNextTick };
    }
    this.rememberTick(tickKey, tick);
    if (decision.action === 'pass') {
      await this.onPass(input, { ...verification, completedAt: now.toISOString() }, decision.message);
      this.deps.batcher.unregister(this.policyKey(input), name);
      return {};
    }
    await this.onRollback(
      input,
      { ...verification, completedAt: now.toISOString() },
      decision,
      queries,
      limits.intervalMs,
    );
    this.deps.batcher.unregister(this.policyKey(input), name);
    return {};
  }

  /** The service's error rate and latency just before the rollout, from the old ReplicaSet, once. */
  private async baselineBefore(
    input: VerifyInput,
    provider: { instant: (q: string, o?: { time?: Date }) => Promise<import('../prometheus/types.js').QueryResult> },
    oldHash: string,
  ): Promise<{ errorRate: number | undefined; latency: number | undefined; note?: string }> {
    const at = input.status.assessedAt ? new Date(input.status.assessedAt) : this.deps.clock();
    const scope = {
      namespace: input.deployment.metadata?.namespace ?? '',
      window: input.policy.spec.metrics.rateWindow,
      targets: [{ deployment: input.deployment.metadata?.name ?? '', podTemplateHashes: [oldHash] }],
    };
    const read = async (template: string, what: string): Promise<{ value?: number; note?: string }> => {
      const render = buildBatchQuery(template, scope);
      if (!render.ok) return {};
      const reading = readingFor(
        splitByReplicaSet(await provider.instant(render.query, { time: at })),
        scope.targets[0]?.deployment ?? '',
        oldHash,
      );
      // The baseline is recorded in status, where it may not be negative.
      return reading.kind === 'value' ? nonNegativeReading(reading.value, what) : {};
    };
    const [errorRate, latency] = await Promise.all([
      read(input.policy.spec.metrics.errorRate.query, 'the baseline error rate'),
      read(input.policy.spec.metrics.latency.query, 'the baseline latency'),
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
      const render = buildBatchQuery(template, scope);
      if (!render.ok) return splitByReplicaSet({ kind: 'empty', message: render.error });
      return splitByReplicaSet(await provider.instant(render.query, { time: at }));
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

  private async onHold(
    input: VerifyInput,
    decision: VerificationDecision & { action: 'hold' },
    firstOfStreak: boolean,
  ): Promise<void> {
    const revision = input.rollout.current.revision;
    const name = input.deployment.metadata?.name ?? '';
    if (input.status.mode === 'shadow') return;
    await input.emit({
      type: 'Warning',
      reason: 'VerificationHeld',
      action: 'Verify',
      note: `Verification of revision ${revision} is on hold, nothing is rolled back: ${decision.message}. It resumes by itself when metrics are back.`,
      dedupeKey:
        `held/${name}/${revision}/${decision.cause}/${firstOfStreak ? 'start' : (input.status.verification?.lastCheckAt ?? '')}`.slice(
          0,
          512,
        ),
    });
    await this.recordActions(input, [
      { type: 'verification-held', at: this.deps.clock().toISOString(), message: decision.message.slice(0, 4096) },
    ]);
  }

  private async onPass(input: VerifyInput, verification: VerificationStatus, message: string): Promise<void> {
    const namespace = input.deployment.metadata?.namespace ?? '';
    const name = input.deployment.metadata?.name ?? '';
    const revision = input.rollout.current.revision;
    await this.recordActions(
      input,
      [
        {
          type: 'verified',
          at: this.deps.clock().toISOString(),
          message: `revision ${revision} verified: ${message}`.slice(0, 4096),
        },
      ],
      { phase: 'Verified', outcome: 'succeeded', verification },
    );
    if (input.status.mode === 'shadow') return;
    await this.deps.writer.mergePatchDeployment(namespace, name, {
      metadata: { annotations: { [annotations.verification]: `passed: revision ${revision}` } },
    });
    await input.emit({
      type: 'Normal',
      reason: 'VerificationPassed',
      action: 'Verify',
      note: `Revision ${revision} passed verification: ${message}`,
      dedupeKey: `verified/${name}/${revision}`,
    });
    input.log.info('rollout verified');
  }

  private async onRollback(
    input: VerifyInput,
    verification: VerificationStatus,
    decision: VerificationDecision & { action: 'rollback' },
    queries: Record<string, string>,
    intervalMs: number,
  ): Promise<void> {
    const { deployment, rollout, policy } = input;
    const namespace = deployment.metadata?.namespace ?? '';
    const name = deployment.metadata?.name ?? '';
    const revision = rollout.current.revision;
    const now = this.deps.clock();
    const why =
      decision.cause === 'metrics'
        ? describeFailure(decision.checks, queries, formatInterval(intervalMs))
        : decision.message;
    const finish = async (phase: 'Failed' | 'RolledBack', outcome: 'failed' | 'rolled-back', action: ActionRecord) =>
      this.recordActions(input, [action], { phase, outcome, verification });

    if (input.status.mode !== 'enforce' || !policy.spec.rollback.enabled) {
      const what =
        input.status.mode === 'enforce'
          ? 'automatic rollback is off in the policy'
          : `${input.status.mode ?? 'this'} mode never rolls back`;
      await finish('Failed', 'failed', {
        type: 'skipped-rollback',
        at: now.toISOString(),
        message: `revision ${revision} failed verification; ${what}: ${why}`.slice(0, 4096),
      });
      if (input.status.mode === 'shadow') return;
      await this.deps.writer.mergePatchDeployment(namespace, name, {
        metadata: { annotations: { [annotations.verification]: `failed: ${decision.message}`.slice(0, 1000) } },
      });
      await input.emit({
        type: 'Warning',
        reason: 'VerificationFailed',
        action: 'Verify',
        note: `Revision ${revision} failed verification (${what}): ${why}`,
        dedupeKey: `failed/${name}/${revision}`,
      });
      this.deps.metrics.rollbacks.inc({ result: 'skipped-disabled' });
      return;
    }

    const plan: RollbackPlan = planRollback({
      deployment,
      replicaSets: this.deps.caches.replicaSets(namespace),
      badRevision: revision,
      badRevisionIsRollback: input.exemptReturn,
      previousRollbacks: this.previousRollbacks(namespace, name),
      maxRollbacks: policy.spec.rollback.maxRollbacks,
      windowMs: parseDuration(policy.spec.rollback.window),
      gitOps: policy.spec.rollback.gitOps,
      now,
      reason: decision.message,
    });
    if (plan.kind === 'undo') {
      // The Deployment first: if the controller dies before the record is written, the next reconcile sees
      // rolled-back-from on the Deployment and records the rollback then (closeEarlierRevisions). The test on
      // resourceVersion in the patch keeps a concurrent change from being overwritten.
      await this.deps.writer.jsonPatchDeployment(namespace, name, plan.ops);
      await finish('RolledBack', 'rolled-back', {
        type: 'rolled-back',
        at: now.toISOString(),
        message: plan.summary.slice(0, 4096),
        by: 'rollguard',
      });
      await input.emit({
        type: 'Warning',
        reason: 'RolledBack',
        action: 'Rollback',
        note: `Rolled back revision ${revision} to revision ${plan.target.revision}: ${why}`,
        dedupeKey: `rolled-back/${name}/${revision}`,
      });
      this.deps.metrics.rollbacks.inc({ result: 'done' });
      input.log.warn({ to: plan.target.revision, reason: decision.message }, 'rolled back');
      return;
    }
    if (plan.kind === 'pause') {
      await this.deps.writer.mergePatchDeployment(namespace, name, {
        metadata: {
          annotations: {
            [annotations.verification]: `failed: ${decision.message}`.slice(0, 1000),
            [annotations.pausedRevision]: String(revision),
          },
        },
        spec: { paused: true },
      });
      await finish('Failed', 'failed', {
        type: 'gitops-paused',
        at: now.toISOString(),
        message: plan.summary.slice(0, 4096),
      });
      await input.emit({
        type: 'Warning',
        reason: 'RollbackPausedForGitOps',
        action: 'Pause',
        note: `Revision ${revision} failed verification: ${why}. ${plan.summary}`,
        dedupeKey: `gitops-paused/${name}/${revision}`,
      });
      this.deps.metrics.rollbacks.inc({ result: 'gitops-paused' });
      return;
    }
    await this.deps.writer.mergePatchDeployment(namespace, name, {
      metadata: { annotations: { [annotations.verification]: `failed: ${decision.message}`.slice(0, 1000) } },
    });
    await finish('Failed', 'failed', {
      type: 'skipped-rollback',
      at: now.toISOString(),
      message: plan.summary.slice(0, 4096),
    });
    await input.emit({
      type: 'Warning',
      reason: 'RollbackSkipped',
      action: 'Rollback',
      note: `Revision ${revision} failed verification: ${why}. Not rolled back: ${plan.summary}`,
      dedupeKey: `rollback-skipped/${name}/${revision}`,
    });
    this.deps.metrics.rollbacks.inc({ result: `skipped-${plan.why}` });
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

  /** Appends actions (with any other status fields, in one write): see appendActions. */
  private recordActions(
    input: { deployment: V1Deployment; assessmentName: string },
    added: readonly ActionRecord[],
    alsoSet: Record<string, unknown> = {},
  ): Promise<void> {
    return appendActions(
      this.deps.writer,
      input.deployment.metadata?.namespace ?? '',
      input.assessmentName,
      added,
      alsoSet,
    );
  }
}
