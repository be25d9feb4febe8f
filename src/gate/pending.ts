// The operator's side of the gate, as pure functions: which revision a held template will become and what
// its assessment is about (before its ReplicaSet exists), and how the plan for that revision changes when the
// gate holds it: resume it when it may go, keep holding it (marked held) when it needs approval.
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { pendingPodTemplateHash } from '../api/assessment.js';
import type { AssessmentObject } from '../api/objects.js';
import type { PolicyMode } from '../api/policy.js';
import type { ActionType, Plan } from '../controller/plan.js';
import { sameTemplateOf } from '../api/pod-template.js';
import { currentRollout, ownedRevisions, revisionOf, type CurrentRollout } from '../api/revision.js';
import { gateAnnotations, holdingStates, pausedRevisionAnnotation, type GateState } from './annotations.js';

const revisionAnnotation = 'deployment.kubernetes.io/revision';
const revisionHistoryAnnotation = 'deployment.kubernetes.io/revision-history';
const podTemplateHashLabel = 'pod-template-hash';

export type GateView =
  /** The gate does not hold this Deployment. */
  | { kind: 'open' }
  /** Held before its ReplicaSet exists: the rollout it will become, to assess now. */
  | { kind: 'holding'; rollout: CurrentRollout };

export function gateState(deployment: V1Deployment): string | undefined {
  return deployment.metadata?.annotations?.[gateAnnotations.gate];
}

/** The bypass reason a person gave, when the annotation is set and not empty. */
export function bypassReason(deployment: V1Deployment): string | undefined {
  const reason = deployment.metadata?.annotations?.[gateAnnotations.bypass]?.trim();
  return reason === undefined || reason === '' ? undefined : reason;
}

/**
 * What the gate holds. A held template becomes revision max(existing) + 1, as the Deployment controller
 * numbers it. When an old ReplicaSet has the same template (an undo, a re-apply) the controller reuses it and,
 * even while paused, gives it that revision at once: then it is the current rollout already, with its hash.
 * Otherwise the hash is `pending` until the ReplicaSet exists.
 */
export function gateView(deployment: V1Deployment, replicaSets: readonly V1ReplicaSet[]): GateView {
  const state = gateState(deployment);
  if (deployment.spec?.paused !== true || !holdingStates.includes(state as GateState)) return { kind: 'open' };
  const existing = currentRollout(deployment, replicaSets);
  if (existing !== undefined) return { kind: 'holding', rollout: existing };
  const owned = ownedRevisions(deployment, replicaSets);
  const running = revisionOf(deployment);
  const previous = owned.find((r) => r.revision === running);
  // With no revision yet (a new Deployment held at creation), nothing ran before: revision 1.
  const revision = (owned[0]?.revision ?? 0) + 1;
  const reused = owned.find((r) => sameTemplateOf(r.replicaSet, deployment));
  const hash = reused?.podTemplateHash ?? pendingPodTemplateHash;
  const replicaSet: V1ReplicaSet = {
    metadata: {
      name: reused?.replicaSet.metadata?.name ?? '',
      namespace: deployment.metadata?.namespace ?? '',
      labels: { [podTemplateHashLabel]: hash },
      annotations: {
        [revisionAnnotation]: String(revision),
        // The controller records the reused ReplicaSet's old number here: a return to an earlier template.
        ...(reused !== undefined ? { [revisionHistoryAnnotation]: String(reused.revision) } : {}),
      },
    },
    spec: {
      selector: deployment.spec.selector,
      template: structuredClone(deployment.spec.template),
    },
  };
  const current = { revision, podTemplateHash: hash, replicaSet };
  return { kind: 'holding', rollout: previous ? { current, previous } : { current } };
}

/** Assessments written while the gate held an earlier template at the same revision, which never ran. */
export function abandonedHeldRecords(
  records: readonly AssessmentObject[],
  deploymentUID: string | undefined,
  revision: number,
  templateDigest: string | undefined,
): AssessmentObject[] {
  return records.filter(
    (r) =>
      r.spec?.deploymentUID === deploymentUID &&
      r.spec?.revision === revision &&
      r.spec.podTemplateHash === pendingPodTemplateHash &&
      r.spec.templateDigest !== templateDigest &&
      r.status?.outcome === 'running',
  );
}

export interface GateAdjustInput {
  /** The gate holds this revision (gateView said holding). */
  holding: boolean;
  deployment: { name: string; annotations: Readonly<Record<string, string>>; paused: boolean };
  mode: PolicyMode;
  revision: number;
  level: string;
  /** The level's action says pause for approval (and nothing exempts this revision). */
  pauseForApproval: boolean;
  /** A person's bypass reason, when the Deployment carries one. */
  bypass: string | undefined;
  recorded: ReadonlySet<ActionType>;
  now: Date;
}

/**
 * The plan from planActions, completed for the gate. Held: resume it (gate passed) unless the plan waits for
 * approval (gate held); approved: gate passed. Shipped past the gate with a bypass: recorded with a Warning.
 * Pure; planning again after the plan was applied adds nothing.
 */
export function adjustPlanForGate(plan: Plan, input: GateAdjustInput): Plan {
  const out: Plan = {
    annotations: { ...plan.annotations },
    ...(plan.paused !== undefined ? { paused: plan.paused } : {}),
    events: [...plan.events],
    actions: [...plan.actions],
  };
  const current = input.deployment.annotations;
  const rev = String(input.revision);
  const at = input.now.toISOString();
  const state = current[gateAnnotations.gate];
  const setState = (next: GateState | 'resumed-by-hand') => {
    if (state !== next) out.annotations[gateAnnotations.gate] = next;
    if (next !== 'pending' && next !== 'held' && current[gateAnnotations.pendingSince] !== undefined) {
      out.annotations[gateAnnotations.pendingSince] = null;
    }
  };

  if (input.bypass !== undefined) {
    if (!input.recorded.has('gate-bypassed')) {
      out.actions.push({
        type: 'gate-bypassed',
        at,
        message: `revision ${rev} was shipped past the admission gate: ${input.bypass}`.slice(0, 4096),
      });
      out.events.push({
        type: 'Warning',
        reason: 'GateBypassed',
        action: 'Gate',
        note: `Revision ${rev} went out past rollguard's admission gate (${gateAnnotations.bypass}: ${input.bypass}); it was assessed (${input.level}) but not held for approval. Remove the annotation once the emergency is over, or every change ships unheld.`.slice(
          0,
          1024,
        ),
        dedupeKey: `gate-bypassed/${input.deployment.name}/${rev}`,
      });
    }
    if (input.holding && input.deployment.paused) {
      out.paused = false;
      if (current[pausedRevisionAnnotation] !== undefined) out.annotations[pausedRevisionAnnotation] = null;
    }
    setState('bypassed');
    return out;
  }

  if (!input.holding) {
    // A person resumed a held template by hand (kubectl rollout resume): theirs to decide; say so.
    if (!input.deployment.paused && (state === 'pending' || state === 'held')) setState('resumed-by-hand');
    return out;
  }

  const pausedRevision =
    pausedRevisionAnnotation in out.annotations
      ? out.annotations[pausedRevisionAnnotation]
      : current[pausedRevisionAnnotation];
  // A paused-revision left by an earlier template held at the same revision number does not count: only a
  // level that pauses does.
  const waitsForApproval =
    input.pauseForApproval && input.mode === 'enforce' && pausedRevision === rev && out.paused !== false;
  if (waitsForApproval) {
    setState('held');
    if (!input.recorded.has('gate-held')) {
      out.actions.push({
        type: 'gate-held',
        at,
        message: `held at admission: no pod of revision ${rev} has started, and none will until it is approved`,
      });
    }
    return out;
  }
  if (out.paused !== false) {
    // May go: resume it. The patch carries the resourceVersion it was planned from, so a newer template
    // held meanwhile is never resumed by this plan.
    out.paused = false;
    if (current[pausedRevisionAnnotation] !== undefined) out.annotations[pausedRevisionAnnotation] = null;
    if (!input.recorded.has('gate-passed')) {
      out.actions.push({
        type: 'gate-passed',
        at,
        message: `assessed at admission (${input.level}) before any pod started; rollout resumed`,
      });
      out.events.push({
        type: 'Normal',
        reason: 'GatePassed',
        action: 'Gate',
        note: `Revision ${rev} was assessed (${input.level}) before any of its pods started and may go; rollguard resumed the rollout.`,
        dedupeKey: `gate-passed/${input.deployment.name}/${rev}`,
      });
    }
  }
  setState('passed');
  return out;
}

/** How many Deployments wait at the gate unassessed, and the longest wait in seconds (for the gauges). */
export function pendingGates(
  deployments: readonly V1Deployment[],
  now: Date,
): { count: number; oldestSeconds: number } {
  let count = 0;
  let oldest = 0;
  for (const d of deployments) {
    if (d.spec?.paused !== true || gateState(d) !== 'pending') continue;
    count += 1;
    const since = Date.parse(d.metadata?.annotations?.[gateAnnotations.pendingSince] ?? '');
    if (!Number.isNaN(since)) oldest = Math.max(oldest, (now.getTime() - since) / 1000);
  }
  return { count, oldestSeconds: Math.round(oldest) };
}
