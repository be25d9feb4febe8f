// The functional core of acting on one verification interval: from the interval's decision (verdict.ts), the
// mode the rollout was assessed in, the policy's rollback settings and the rollback plan (src/rollback), what
// the assessment's status must say, which actions it records, how the Deployment changes, which Events go
// out and what the metrics count. Pure: the verifier gathers the inputs and carries the plan out, writing the
// status and the actions in one patch.
import {
  clip,
  maxAnnotationValueLength,
  type AssessmentAction,
  type AssessmentPhase,
  type VerificationStatus,
} from '../api/assessment.js';
import { annotations } from '../api/annotations.js';
import type { JsonPatchOp } from '../api/meta.js';
import type { PlannedEvent } from '../api/objects.js';
import type { PolicyMode } from '../api/policy.js';
import { planRollback, type RollbackInput } from '../rollback/plan.js';
import type { MetricCheck } from './check.js';
import { appendSteps, describeFailure } from './record.js';
import type { VerificationDecision, VerificationTransition } from './verdict.js';

/** How the Deployment changes: the rollback's guarded JSON patch, or a merge patch of annotations (and pause). */
export type DeploymentChange =
  | { kind: 'json'; ops: JsonPatchOp[] }
  | { kind: 'merge'; patch: { metadata: { annotations: Record<string, string> }; spec?: { paused: boolean } } };

export interface VerificationPlanInput {
  decision: VerificationDecision;
  /** The mode the rollout was assessed in (the assessment's status.mode). */
  mode: PolicyMode | undefined;
  /** The policy's spec.rollback.enabled. */
  rollbackEnabled: boolean;
  /** What planRollback needs besides the revision and the reason; given when the decision is a rollback. */
  rollback?: Omit<RollbackInput, 'badRevision' | 'reason'> | undefined;
  deploymentName: string;
  revision: number;
  /** The assessment's phase as read: a paused rollout stays Paused while it is verified. */
  phase: string | undefined;
  /** This interval's verification record (see intervalRecord). */
  verification: VerificationStatus;
  queries: Readonly<Record<string, string>>;
  intervalMs: number;
  /** No error or no-data interval came before this one: a hold starts a new streak (one Event per streak). */
  firstOfStreak: boolean;
  /** The previous interval's lastCheckAt, which tells the Events of one long hold apart. */
  previousCheckAt: string | undefined;
  now: Date;
}

export interface VerificationPlan {
  /** The status fields to write; the actions below go into the same patch. */
  status: {
    phase: AssessmentPhase;
    outcome?: 'succeeded' | 'failed' | 'rolled-back';
    verification: VerificationStatus;
  };
  /** Actions to append to the assessment's record (an action type already recorded is not recorded again). */
  actions: AssessmentAction[];
  deployment?: DeploymentChange;
  /**
   * A rollback changes the Deployment before the record: if the controller dies in between, the next
   * reconcile sees rolled-back-from on the Deployment and records the rollback then. Everything else is
   * recorded first.
   */
  deploymentFirst: boolean;
  events: PlannedEvent[];
  /** The `result` label of rollguard_rollbacks_total, when this interval counts there. */
  rollbackResult?: string;
  /** Verification of this revision is over: passed, failed or rolled back. */
  finished: boolean;
  log?: { level: 'info' | 'warn'; message: string; fields?: Record<string, unknown> };
}

/** Whether carrying the plan out does anything besides recording the interval's reading. */
export function planActs(plan: VerificationPlan, phaseBefore: string | undefined): boolean {
  return (
    plan.actions.length > 0 ||
    plan.events.length > 0 ||
    plan.deployment !== undefined ||
    plan.finished ||
    plan.status.outcome !== undefined ||
    plan.status.phase !== phaseBefore
  );
}

export function formatInterval(ms: number): string {
  return ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`;
}

export interface IntervalRecordInput {
  previous: VerificationStatus;
  startedAt: string | undefined;
  rolloutCompletedAt: string | undefined;
  /** When verification ends: the rollout's completion plus the window. */
  deadline: string | undefined;
  baseline: { errorRate: number | undefined; latency: number | undefined; note?: string | undefined };
  baselineCounts: VerificationStatus['baselineCounts'];
  step: VerificationTransition;
  checks: readonly MetricCheck[];
  queries: Readonly<Record<string, string>>;
  now: Date;
}

const stateOf = { hold: 'held', pass: 'passed', rollback: 'failed', continue: 'running' } as const;

/** The verification record after one interval: the previous one with this interval's counters and step. */
export function intervalRecord(input: IntervalRecordInput): VerificationStatus {
  const { previous, baseline, step, now } = input;
  const decision = step.decision;
  return {
    ...previous,
    ...(input.startedAt ? { startedAt: input.startedAt } : {}),
    ...(input.rolloutCompletedAt ? { rolloutCompletedAt: input.rolloutCompletedAt } : {}),
    ...(input.deadline ? { deadline: input.deadline } : {}),
    ...(baseline.errorRate !== undefined ? { baselineErrorRate: baseline.errorRate } : {}),
    ...(baseline.latency !== undefined ? { baselineLatencySeconds: baseline.latency } : {}),
    ...(input.baselineCounts !== undefined ? { baselineCounts: input.baselineCounts } : {}),
    lastCheckAt: now.toISOString(),
    state: stateOf[decision.action],
    consecutiveFailures: step.counters.consecutiveFailures,
    consecutiveErrors: step.counters.consecutiveErrors,
    consecutiveNoData: step.counters.consecutiveNoData,
    steps: appendSteps(previous.steps ?? [], input.checks, input.queries, now),
    message: clip(baseline.note === undefined ? decision.message : `${decision.message} (${baseline.note})`),
  };
}

function failedAnnotation(message: string): Record<string, string> {
  return { [annotations.verification]: clip(`failed: ${message}`, maxAnnotationValueLength) };
}

export function planVerification(input: VerificationPlanInput): VerificationPlan {
  const { decision, revision, deploymentName: name } = input;
  const shadow = input.mode === 'shadow';
  const at = input.now.toISOString();
  if (decision.action === 'continue' || decision.action === 'hold') {
    const plan: VerificationPlan = {
      status: { phase: input.phase === 'Paused' ? 'Paused' : 'Verifying', verification: input.verification },
      actions: [],
      deploymentFirst: false,
      events: [],
      finished: false,
    };
    if (decision.action === 'continue' || shadow) return plan;
    const streak = input.firstOfStreak ? 'start' : (input.previousCheckAt ?? '');
    plan.actions.push({ type: 'verification-held', at, message: clip(decision.message) });
    plan.events.push({
      type: 'Warning',
      reason: 'VerificationHeld',
      action: 'Verify',
      note: `Verification of revision ${revision} is on hold, nothing is rolled back: ${decision.message}. It resumes by itself when metrics are back.`,
      dedupeKey: `held/${name}/${revision}/${decision.cause}/${streak}`.slice(0, 512),
    });
    return plan;
  }

  const verification = { ...input.verification, completedAt: at };
  if (decision.action === 'pass') {
    return {
      status: { phase: 'Verified', outcome: 'succeeded', verification },
      actions: [{ type: 'verified', at, message: clip(`revision ${revision} verified: ${decision.message}`) }],
      ...(shadow
        ? {}
        : {
            deployment: {
              kind: 'merge',
              patch: { metadata: { annotations: { [annotations.verification]: `passed: revision ${revision}` } } },
            },
          }),
      deploymentFirst: false,
      events: shadow
        ? []
        : [
            {
              type: 'Normal',
              reason: 'VerificationPassed',
              action: 'Verify',
              note: `Revision ${revision} passed verification: ${decision.message}`,
              dedupeKey: `verified/${name}/${revision}`,
            },
          ],
      finished: true,
      ...(shadow ? {} : { log: { level: 'info', message: 'rollout verified' } }),
    };
  }

  const why =
    decision.cause === 'metrics'
      ? describeFailure(decision.checks, input.queries, formatInterval(input.intervalMs))
      : decision.message;
  const failed = { phase: 'Failed', outcome: 'failed', verification } as const;

  if (input.mode !== 'enforce' || !input.rollbackEnabled || input.rollback === undefined) {
    const what =
      input.mode === 'enforce'
        ? 'automatic rollback is off in the policy'
        : `${input.mode ?? 'this'} mode never rolls back`;
    const action: AssessmentAction = {
      type: 'skipped-rollback',
      at,
      message: clip(`revision ${revision} failed verification; ${what}: ${why}`),
    };
    if (shadow) return { status: failed, actions: [action], deploymentFirst: false, events: [], finished: true };
    return {
      status: failed,
      actions: [action],
      deployment: { kind: 'merge', patch: { metadata: { annotations: failedAnnotation(decision.message) } } },
      deploymentFirst: false,
      events: [
        {
          type: 'Warning',
          reason: 'VerificationFailed',
          action: 'Verify',
          note: `Revision ${revision} failed verification (${what}): ${why}`,
          dedupeKey: `failed/${name}/${revision}`,
        },
      ],
      rollbackResult: 'skipped-disabled',
      finished: true,
    };
  }

  const rollback = planRollback({ ...input.rollback, badRevision: revision, reason: decision.message });
  if (rollback.kind === 'undo') {
    return {
      status: { phase: 'RolledBack', outcome: 'rolled-back', verification },
      actions: [{ type: 'rolled-back', at, message: clip(rollback.summary), by: 'rollguard' }],
      deployment: { kind: 'json', ops: rollback.ops },
      deploymentFirst: true,
      events: [
        {
          type: 'Warning',
          reason: 'RolledBack',
          action: 'Rollback',
          note: `Rolled back revision ${revision} to revision ${rollback.target.revision}: ${why}`,
          dedupeKey: `rolled-back/${name}/${revision}`,
        },
      ],
      rollbackResult: 'done',
      finished: true,
      log: {
        level: 'warn',
        message: 'rolled back',
        fields: { to: rollback.target.revision, reason: decision.message },
      },
    };
  }
  if (rollback.kind === 'pause') {
    return {
      status: failed,
      actions: [{ type: 'gitops-paused', at, message: clip(rollback.summary) }],
      deployment: {
        kind: 'merge',
        patch: {
          metadata: {
            annotations: { ...failedAnnotation(decision.message), [annotations.pausedRevision]: String(revision) },
          },
          spec: { paused: true },
        },
      },
      deploymentFirst: true,
      events: [
        {
          type: 'Warning',
          reason: 'RollbackPausedForGitOps',
          action: 'Pause',
          note: `Revision ${revision} failed verification: ${why}. ${rollback.summary}`,
          dedupeKey: `gitops-paused/${name}/${revision}`,
        },
      ],
      rollbackResult: 'gitops-paused',
      finished: true,
    };
  }
  return {
    status: failed,
    actions: [{ type: 'skipped-rollback', at, message: clip(rollback.summary) }],
    deployment: { kind: 'merge', patch: { metadata: { annotations: failedAnnotation(decision.message) } } },
    deploymentFirst: true,
    events: [
      {
        type: 'Warning',
        reason: 'RollbackSkipped',
        action: 'Rollback',
        note: `Revision ${revision} failed verification: ${why}. Not rolled back: ${rollback.summary}`,
        dedupeKey: `rollback-skipped/${name}/${revision}`,
      },
    ],
    rollbackResult: `skipped-${rollback.why}`,
    finished: true,
  };
}
