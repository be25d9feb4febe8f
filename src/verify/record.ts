// What the cluster says about a rollout's progress, and how an interval's checks are written into the
// assessment's verification record. Pure: the controller reads objects and passes them in.
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { clip, maxVerificationSteps, type VerificationStatus, type VerificationStep } from '../api/assessment.js';
import type { MetricCheck } from './verdict.js';

export interface RolloutProgress {
  /** At least one pod of the new ReplicaSet is ready, so the new version takes traffic. */
  newPodsServing: boolean;
  /** Pods of the old ReplicaSet still serve, so old and new can be compared side by side. */
  oldPodsServing: boolean;
  /** Every replica runs the new template and is available. */
  completed: boolean;
  /** The Deployment's Progressing condition says ProgressDeadlineExceeded, about this generation and ReplicaSet. */
  progressDeadlineExceeded: boolean;
}

export function rolloutProgress(
  deployment: V1Deployment,
  newReplicaSet: V1ReplicaSet | undefined,
  oldReplicaSet: V1ReplicaSet | undefined,
): RolloutProgress {
  const desired = deployment.spec?.replicas ?? 1;
  const status = deployment.status;
  const observed = (status?.observedGeneration ?? 0) >= (deployment.metadata?.generation ?? 0);
  const completed =
    observed &&
    deployment.spec?.paused !== true &&
    (status?.updatedReplicas ?? 0) === desired &&
    (status?.replicas ?? 0) === desired &&
    (status?.availableReplicas ?? 0) === desired;
  // Only a verdict about this revision counts: until the Deployment controller has observed the current
  // generation, the condition may still be the previous revision's, and it names the ReplicaSet it is about.
  const newName = newReplicaSet?.metadata?.name;
  const progressDeadlineExceeded =
    observed &&
    (status?.conditions ?? []).some(
      (c) =>
        c.type === 'Progressing' &&
        c.status === 'False' &&
        c.reason === 'ProgressDeadlineExceeded' &&
        (newName === undefined || !(c.message ?? '').includes('ReplicaSet "') || c.message?.includes(`"${newName}"`)),
    );
  return {
    newPodsServing: (newReplicaSet?.status?.readyReplicas ?? 0) > 0,
    oldPodsServing: (oldReplicaSet?.status?.readyReplicas ?? 0) > 0,
    completed,
    progressDeadlineExceeded,
  };
}

const metricNames = { errorRate: 'error-rate', latency: 'latency' } as const;

/**
 * The interval's checks as verification steps, the oldest dropped beyond the record's limit. A step names
 * its query only when it differs from the previous kept step's query for the same metric: the query is the
 * same interval after interval, and 50 copies of it made a record of tens of kB that every status write and
 * watch event carried. The oldest kept step of each metric always names its query, so the record still says
 * what every kept step ran. A step whose query could not be rendered names an empty query: nothing was sent.
 */
export function appendSteps(
  existing: readonly VerificationStep[],
  checks: readonly MetricCheck[],
  queries: Readonly<Record<string, string>>,
  at: Date,
): VerificationStep[] {
  const added = checks.map((c) => {
    const step: VerificationStep = {
      at: at.toISOString(),
      metric: metricNames[c.metric],
      verdict: c.verdict,
      message: clip(c.message),
    };
    step.query = (queries[c.metric] ?? '').slice(0, 8192);
    if (c.value !== null) step.value = c.value;
    if (c.baseline !== null) step.baseline = c.baseline;
    if (c.limit !== null) step.limit = c.limit;
    return step;
  });
  const all = [...existing, ...added];
  const ran = queriesRun(all);
  const firstKept = Math.max(0, all.length - maxVerificationSteps);
  const previous = new Map<string, string | undefined>();
  return all.slice(firstKept).map((step, i) => {
    const query = ran[firstKept + i];
    const sameAsBefore = previous.has(step.metric) && previous.get(step.metric) === query;
    previous.set(step.metric, query);
    const named = sameAsBefore ? undefined : query;
    if (step.query === named) return step;
    if (named !== undefined) return { ...step, query: named };
    const { query: _sameAsBefore, ...rest } = step;
    return rest;
  });
}

/** The query each step ran: its own, or, where it names none, its metric's last one before it. */
export function queriesRun(steps: readonly VerificationStep[]): (string | undefined)[] {
  const last = new Map<string, string>();
  return steps.map((step) => {
    if (step.query !== undefined) last.set(step.metric, step.query);
    return step.query ?? last.get(step.metric);
  });
}

/** The failing checks in one sentence for an Event: value, limit, baseline and the query. */
export function describeFailure(
  checks: readonly MetricCheck[],
  queries: Readonly<Record<string, string>>,
  intervalText: string,
): string {
  return checks
    .map((c) => {
      const query = queries[c.metric];
      return `${c.message} [checked every ${intervalText}${query ? `; query: ${query}` : ''}]`;
    })
    .join(' ');
}

/** The record's fields that only say what the latest interval read; every other field is state a decision uses. */
const latestReadingFields: ReadonlySet<string> = new Set(['lastCheckAt', 'steps', 'message']);

export interface IntervalWriteInput {
  /** The verification record as the cluster holds it. */
  recorded: VerificationStatus;
  /** The record after this interval. */
  next: VerificationStatus;
  /** The interval acts: an action, an Event, a change of the Deployment, of the phase or the outcome, or the end. */
  acts: boolean;
  /** How long a record may go unwritten while its intervals change nothing else; 0 writes every interval. */
  quietPeriodMs: number;
  now: Date;
  /**
   * The interval's tick (its number on the policy's tick clock, src/verify/ticks.ts) and a stable number for
   * the record (a hash of its name): a quiet record is written on its own turn, one interval of each quiet
   * period, so the records of rollouts that started together are not all written in the same interval.
   */
  turn?: { tick: number; intervalMs: number; slot: number };
}

/**
 * Whether this interval's record is written now. An interval that acts on nothing and changes no counter,
 * state, baseline or time the next decision reads is quiet: only its reading is new. Quiet intervals are
 * carried by the controller and written with the next interval that is due: on the record's turn, and at the
 * latest once the record's lastCheckAt is quietPeriodMs old. One write per rollout per interval is what 500
 * rollouts under verification cannot afford (50 writes a second at a 10 s interval, the whole default client
 * rate limit), and a quiet interval lost in a restart loses only a passing reading: the counters that decide
 * are always written first. Turns spread the writes of rollouts released together evenly over the period's
 * intervals; without them all would be written in the same interval, a burst that delays every other write
 * to the API server (a new rollout's annotations among them).
 */
export function mustWriteInterval(input: IntervalWriteInput): boolean {
  if (input.acts || input.quietPeriodMs <= 0) return true;
  const last = Date.parse(input.recorded.lastCheckAt ?? '');
  if (!Number.isFinite(last) || input.now.getTime() - last >= input.quietPeriodMs) return true;
  if (isTurnOf(input)) return true;
  const { recorded, next } = input;
  const fields = new Set([...Object.keys(recorded), ...Object.keys(next)]);
  for (const field of fields) {
    if (latestReadingFields.has(field)) continue;
    const before = recorded[field as keyof VerificationStatus];
    const after = next[field as keyof VerificationStatus];
    if (before !== after && JSON.stringify(before) !== JSON.stringify(after)) return true;
  }
  return false;
}

/** The record's own interval of the quiet period (see IntervalWriteInput.turn); a period of one interval has none. */
function isTurnOf({ turn, quietPeriodMs }: IntervalWriteInput): boolean {
  if (turn === undefined) return false;
  const turns = Math.floor(quietPeriodMs / turn.intervalMs);
  return turns >= 2 && (turn.tick + (turn.slot % turns)) % turns === 0;
}
