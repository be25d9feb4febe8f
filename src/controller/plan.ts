// The functional core of acting on an assessment: given the policy's mode, the assessed level and what the
// Deployment and the assessment already show, what must change. Pure and idempotent: applying a plan and
// planning again yields an empty plan.
import { maxAnnotationValueLength, type ActionType, type AssessmentAction } from '../api/assessment.js';
import { annotations } from '../api/annotations.js';
import type { PlannedEvent } from '../api/objects.js';
import type { PolicyMode } from '../api/policy.js';

export type { ActionType };

export interface Assessed {
  score: number;
  level: string;
  reasons: readonly string[];
  hardRules: readonly string[];
}

export interface PlanInput {
  mode: PolicyMode;
  deploymentName: string;
  revision: number;
  assessmentName: string;
  assessed: Assessed;
  /** The level's action says: pause for approval. */
  pauseForApproval: boolean;
  deployment: { annotations: Readonly<Record<string, string>>; paused: boolean };
  /** Action types already recorded on the assessment. */
  recorded: ReadonlySet<ActionType>;
  /** Who set the approve annotation and when, when the API tells (managedFields). */
  approver?: { by: string; at?: string } | undefined;
  now: Date;
}

export interface Plan {
  /** Annotation changes: a value to set, null to remove. Empty when nothing changes. */
  annotations: Record<string, string | null>;
  /** Set spec.paused to this, when defined. */
  paused?: boolean;
  events: PlannedEvent[];
  /** Actions to append to the assessment's record. */
  actions: AssessmentAction[];
}

export function reasonsText(assessed: Assessed): string {
  const text = [...assessed.hardRules, ...assessed.reasons].join('; ');
  return text.length <= maxAnnotationValueLength ? text : `${text.slice(0, maxAnnotationValueLength - 3)}...`;
}

export function approveCommand(deploymentName: string, revision: number): string {
  return `kubectl annotate deployment/${deploymentName} ${annotations.approve}=${revision} --overwrite`;
}

export function planActions(input: PlanInput): Plan {
  const plan: Plan = { annotations: {}, events: [], actions: [] };
  if (input.mode === 'shadow') return plan;

  const { assessed, revision, deploymentName } = input;
  const current = input.deployment.annotations;
  const at = input.now.toISOString();
  const rev = String(revision);
  const desired: Record<string, string> = {
    [annotations.riskScore]: assessed.score.toFixed(2),
    [annotations.riskLevel]: assessed.level,
    [annotations.riskReasons]: reasonsText(assessed),
    [annotations.assessment]: input.assessmentName,
    [annotations.assessedRevision]: rev,
  };
  for (const [key, value] of Object.entries(desired)) if (current[key] !== value) plan.annotations[key] = value;

  const risky = assessed.level === 'block' || assessed.level === 'rollback-ready';
  // Once recorded as annotated, the Event went out too (it is sent before the action is recorded): a restarted
  // controller sends nothing again for a revision that changed nothing. The key holds the score: a controller
  // that sent the Event and died before the score was recorded assesses again, and says the new score too.
  if (!input.recorded.has('annotated') || Object.keys(plan.annotations).length > 0)
    plan.events.push({
      type: risky || assessed.hardRules.length > 0 ? 'Warning' : 'Normal',
      reason: 'RiskAssessed',
      action: 'Assess',
      note: `Revision ${rev} scored ${assessed.score.toFixed(2)} (${assessed.level}): ${reasonsText(assessed)}. Details: kubectl get rolloutassessment ${input.assessmentName} -o yaml`,
      dedupeKey: `assessed/${deploymentName}/${rev}/${assessed.score.toFixed(2)}`,
    });
  if (!input.recorded.has('annotated')) {
    plan.actions.push({ type: 'annotated', at, message: `annotations and an Event written for revision ${rev}` });
  }

  if (input.mode !== 'enforce') return plan;

  const pausedByUs = current[annotations.pausedRevision];
  const approved = current[annotations.approve] === rev;

  // A pause of ours left over from an older revision that is no longer paused: tidy it away.
  if (pausedByUs !== undefined && pausedByUs !== rev && !input.deployment.paused) {
    plan.annotations[annotations.pausedRevision] = null;
  }

  if (!input.pauseForApproval) return plan;

  // The Event that tells people how to approve. Planned as long as the rollout waits for approval, not only
  // when pausing: its name is derived from what it says, so sending it again is harmless, and a controller
  // that died between the pause and the Event sends it on its next pass.
  const pausedEvent: PlannedEvent = {
    type: 'Warning',
    reason: 'RolloutPaused',
    action: 'Pause',
    note: `Rollout of revision ${rev} paused: risk ${assessed.score.toFixed(2)} (${assessed.level}). ${reasonsText(assessed)}. To let it continue: ${approveCommand(deploymentName, revision)}`,
    dedupeKey: `paused/${deploymentName}/${rev}`,
  };

  if (pausedByUs === rev) {
    if (!input.recorded.has('paused')) {
      plan.actions.push({ type: 'paused', at, message: `rollout of revision ${rev} paused for approval` });
    }
    if (input.deployment.paused && !approved) plan.events.push(pausedEvent);
    if (approved && input.deployment.paused) {
      plan.paused = false;
      plan.annotations[annotations.pausedRevision] = null;
      const by = input.approver?.by;
      plan.actions.push({
        type: 'approved',
        at: input.approver?.at ?? at,
        message: `revision ${rev} approved${by ? ` by ${by}` : ''}; rollout resumed`,
        ...(by ? { by } : {}),
      });
      plan.events.push({
        type: 'Normal',
        reason: 'RolloutApproved',
        action: 'Resume',
        note: `Revision ${rev} was approved${by ? ` by ${by}` : ''} (${annotations.approve}=${rev}); rollguard resumed the rollout.`,
        dedupeKey: `approved/${deploymentName}/${rev}`,
      });
    } else if (!input.deployment.paused) {
      // Someone resumed it by hand (kubectl rollout resume): respect that, record it, never pause again.
      plan.annotations[annotations.pausedRevision] = null;
      plan.actions.push({
        type: 'resumed-by-hand',
        at,
        message: `revision ${rev} was resumed without the approve annotation`,
      });
      plan.events.push({
        type: 'Normal',
        reason: 'RolloutResumedByHand',
        action: 'Resume',
        note: `Revision ${rev} was resumed by hand while waiting for approval; rollguard will not pause it again.`,
        dedupeKey: `resumed-by-hand/${deploymentName}/${rev}`,
      });
    }
    return plan;
  }

  const alreadyHandled = input.recorded.has('paused') || input.recorded.has('pre-approved');
  if (alreadyHandled) return plan;

  if (approved) {
    plan.actions.push({ type: 'pre-approved', at, message: `revision ${rev} was approved before rollguard paused it` });
    plan.events.push({
      type: 'Normal',
      reason: 'RolloutPreApproved',
      action: 'Assess',
      note: `Revision ${rev} needs approval (${assessed.level}) and already carries ${annotations.approve}=${rev}; not pausing.`,
      dedupeKey: `pre-approved/${deploymentName}/${rev}`,
    });
    return plan;
  }

  if (input.deployment.paused) {
    // Paused by someone else: do not take it over, but record that approval is needed.
    plan.annotations[annotations.pausedRevision] = rev;
  } else {
    plan.paused = true;
    plan.annotations[annotations.pausedRevision] = rev;
  }
  plan.actions.push({
    type: 'paused',
    at,
    message: `rollout of revision ${rev} paused for approval (${assessed.level})`,
  });
  plan.events.push(pausedEvent);
  return plan;
}

export function isEmptyPlan(plan: Plan): boolean {
  return Object.keys(plan.annotations).length === 0 && plan.paused === undefined && plan.actions.length === 0;
}
