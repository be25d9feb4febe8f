// When two or more policies cover one Deployment, exactly one governs it, chosen the same way every time:
// the highest `spec.priority`; on a tie the oldest policy; on a tie again the name that sorts first. The
// others are named in an Event so nobody wonders why their policy seems ignored.
import type { PolicyObject } from '../api/objects.js';
import type { PolicySpec } from '../api/policy.js';
import { selectorMatches } from '../api/selector.js';
import type { ParsedPolicy } from './policy-specs.js';

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

/**
 * The policy governing a Deployment with these labels, among its namespace's policies: those being deleted
 * or invalid never govern; of those whose selector matches, choosePolicy picks one, and `conflict` says so in
 * words when several cover it. The one answer the reconciler, the policy status and the score API share.
 */
export function governingPolicy(
  policies: readonly ParsedPolicy[],
  labels: Readonly<Record<string, string>>,
): { policy?: GoverningPolicy; conflict?: string } {
  const candidates = policies.flatMap(({ object, parsed }) => {
    if (object.metadata?.deletionTimestamp !== undefined) return [];
    if (!parsed.ok || !selectorMatches(parsed.value.selector, labels)) return [];
    const created = object.metadata?.creationTimestamp;
    return [
      {
        name: object.metadata?.name ?? '',
        priority: parsed.value.priority,
        createdAt: created ? new Date(created) : undefined,
        object,
        spec: parsed.value,
      },
    ];
  });
  const choice = choosePolicy(candidates);
  if (!choice) return {};
  const policy = { object: choice.chosen.object, spec: choice.chosen.spec };
  return choice.overruled.length > 0 ? { policy, conflict: describeChoice(choice) } : { policy };
}
