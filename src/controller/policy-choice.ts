// When two or more policies cover one Deployment, exactly one governs it, chosen the same way every time:
// the highest `spec.priority`; on a tie the oldest policy; on a tie again the name that sorts first. The
// others are named in an Event so nobody wonders why their policy seems ignored.
import type { PolicyObject } from '../api/objects.js';
import type { PolicySpec } from '../api/policy.js';

/** The policy that governs a Deployment: its object as the cache holds it, and its parsed, defaulted spec. */
export interface GoverningPolicy {
  object: PolicyObject;
  spec: PolicySpec;
}

export interface CandidatePolicy {
  name: string;
  priority: number;
  createdAt: Date | undefined;
}

export interface PolicyChoice<T extends CandidatePolicy> {
  chosen: T;
  /** The policies that also cover the Deployment but do not govern it. */
  overruled: T[];
}

export function comparePolicies(a: CandidatePolicy, b: CandidatePolicy): number {
  if (a.priority !== b.priority) return b.priority - a.priority;
  const at = a.createdAt?.getTime() ?? Number.MAX_SAFE_INTEGER;
  const bt = b.createdAt?.getTime() ?? Number.MAX_SAFE_INTEGER;
  if (at !== bt) return at - bt;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function choosePolicy<T extends CandidatePolicy>(candidates: readonly T[]): PolicyChoice<T> | undefined {
  const [chosen, ...overruled] = [...candidates].sort(comparePolicies);
  return chosen ? { chosen, overruled } : undefined;
}

export function describeChoice<T extends CandidatePolicy>(choice: PolicyChoice<T>): string {
  const others = choice.overruled.map((p) => `${p.name} (priority ${p.priority})`).join(', ');
  return `Several DeploymentRiskPolicies cover this Deployment; ${choice.chosen.name} (priority ${choice.chosen.priority}) governs it and ${others} ${choice.overruled.length === 1 ? 'is' : 'are'} ignored. The highest spec.priority wins, then the oldest policy, then the name that sorts first.`;
}
