// A policy's status, computed from what the caches hold: whether its spec can be used (the Ready condition,
// with a reason and message a person can act on), which generation that judgement is about, and counts of
// the Deployments it governs and of its assessments, pauses and rollbacks. Pure.
import type { V1Deployment } from '@kubernetes/client-node';
import { formatFieldErrors, type FieldError } from '../api/issues.js';
import type { PolicySpec } from '../api/policy.js';
import type { Condition } from '../api/meta.js';
import type { AssessmentObject } from '../api/objects.js';

export type { Condition };

export interface PolicyStatus {
  observedGeneration?: number;
  conditions: Condition[];
  coveredDeployments: number;
  assessments: number;
  pauses: number;
  rollbacks: number;
}

export interface PolicyStatusInput {
  name: string;
  generation: number | undefined;
  parsed: { ok: true; value: PolicySpec } | { ok: false; errors: FieldError[] };
  /** Deployments in the namespace this policy governs (selector matches and it wins any conflict). */
  governed: readonly V1Deployment[];
  /** Deployments the selector matches but another policy governs. */
  overruledBy: readonly { deployment: string; policy: string }[];
  assessments: readonly AssessmentObject[];
  previousConditions: readonly Condition[];
  now: Date;
  /** The learning loop's drift verdict, when it has one: sets the ModelDrift condition. */
  drift?: { high: boolean; message: string } | undefined;
  /** Why Prometheus refuses the policy's queries (or they cannot be rendered), while it does. */
  queryProblem?: string | undefined;
}

/** Keeps lastTransitionTime when the status of a condition did not change, as metav1.Condition expects. */
function withTransition(
  next: Omit<Condition, 'lastTransitionTime'>,
  previous: readonly Condition[],
  now: Date,
): Condition {
  const before = previous.find((c) => c.type === next.type);
  const lastTransitionTime = before?.status === next.status ? before.lastTransitionTime : now.toISOString();
  return { ...next, lastTransitionTime };
}

export function computePolicyStatus(input: PolicyStatusInput): PolicyStatus {
  const generation = input.generation;
  let ready: Omit<Condition, 'lastTransitionTime'>;
  if (!input.parsed.ok) {
    ready = {
      type: 'Ready',
      status: 'False',
      reason: 'InvalidSpec',
      message: `This policy cannot be used, so the Deployments it selects are not guarded: ${formatFieldErrors(input.parsed.errors)}`,
    };
  } else if (input.queryProblem !== undefined) {
    ready = {
      type: 'Ready',
      status: 'False',
      reason: 'QueryRejected',
      message:
        `Verification is on hold for the Deployments this policy covers and nothing is rolled back, because a query of the policy is wrong: ${input.queryProblem}. Fix the query (try it in the Prometheus UI first); verification resumes by itself.`.slice(
          0,
          32_768,
        ),
    };
  } else {
    const spec = input.parsed.value;
    const count = input.governed.length;
    const what =
      spec.mode === 'enforce'
        ? 'assessed, paused when too risky, and verified'
        : spec.mode === 'advisory'
          ? 'assessed and annotated (advisory: never paused or rolled back)'
          : 'assessed and recorded only (shadow mode: nothing on the Deployments changes)';
    const overruled =
      input.overruledBy.length > 0
        ? ` ${input.overruledBy.length} more ${input.overruledBy.length === 1 ? 'Deployment matches' : 'Deployments match'} but ${input.overruledBy.length === 1 ? 'is' : 'are'} governed by another policy (${[...new Set(input.overruledBy.map((o) => o.policy))].join(', ')}).`
        : '';
    const prometheus = spec.prometheus.address
      ? ''
      : ' No Prometheus address is set, so live metrics are neither used for scoring nor verified.';
    ready = {
      type: 'Ready',
      status: 'True',
      reason: count > 0 ? 'Guarding' : 'NoDeploymentsSelected',
      message:
        count > 0
          ? `${count} ${count === 1 ? 'Deployment is' : 'Deployments are'} ${what}.${overruled}${prometheus}`
          : `No Deployment in this namespace matches the selector yet.${overruled}${prometheus}`,
    };
  }
  if (generation !== undefined) ready.observedGeneration = generation;
  const mine = input.assessments;
  const conditions = [withTransition(ready, input.previousConditions, input.now)];
  if (input.drift) {
    const drift: Omit<Condition, 'lastTransitionTime'> = input.drift.high
      ? { type: 'ModelDrift', status: 'True', reason: 'FeaturesDrifted', message: input.drift.message }
      : { type: 'ModelDrift', status: 'False', reason: 'NoDrift', message: input.drift.message };
    if (generation !== undefined) drift.observedGeneration = generation;
    conditions.push(withTransition(drift, input.previousConditions, input.now));
  }
  const status: PolicyStatus = {
    conditions: [...conditions, ...input.previousConditions.filter((c) => !conditions.some((n) => n.type === c.type))],
    coveredDeployments: input.governed.length,
    assessments: mine.length,
    pauses: mine.filter((a) => (a.status?.actions ?? []).some((x) => x.type === 'paused')).length,
    rollbacks: mine.filter((a) => (a.status?.actions ?? []).some((x) => x.type === 'rolled-back')).length,
  };
  if (generation !== undefined) status.observedGeneration = generation;
  return status;
}

/** True when writing `next` would change what `current` shows (so unchanged status is never rewritten). */
export function policyStatusChanged(current: Record<string, unknown> | undefined, next: PolicyStatus): boolean {
  return (
    JSON.stringify(normalise(current ?? {})) !== JSON.stringify(normalise(next as unknown as Record<string, unknown>))
  );
}

function normalise(status: Record<string, unknown>): unknown {
  const conditions = (status.conditions as Condition[] | undefined) ?? [];
  return {
    observedGeneration: status.observedGeneration,
    coveredDeployments: status.coveredDeployments,
    assessments: status.assessments,
    pauses: status.pauses,
    rollbacks: status.rollbacks,
    conditions: [...conditions]
      .sort((a, b) => a.type.localeCompare(b.type))
      .map((c) => [c.type, c.status, c.reason, c.message, c.lastTransitionTime, c.observedGeneration]),
  };
}
