// Each DeploymentRiskPolicy's parsed spec, parsed once per resourceVersion. Every reconcile of every
// Deployment asks which policy governs it, and the policy's status asks the same for each Deployment it may
// cover: parsing every policy with zod each time was most of that work. The informer hands over a new object
// for every change it sees, so the cache is keyed by the object the informer holds (and checked against its
// resourceVersion): a new version is parsed once, and a deleted policy's entry goes with its object.
import type { ParseResult } from '../api/issues.js';
import type { PolicyObject } from '../api/objects.js';
import { parsePolicySpec, type PolicySpec } from '../api/policy.js';

export interface ParsedPolicy {
  object: PolicyObject;
  parsed: ParseResult<PolicySpec>;
}

const parsedByObject = new WeakMap<
  PolicyObject,
  { resourceVersion: string | undefined; parsed: ParseResult<PolicySpec> }
>();

/** The policy's spec, defaulted and typed, or why it cannot be used (parsePolicySpec), parsed once per version. */
export function parsedPolicy(object: PolicyObject): ParseResult<PolicySpec> {
  const resourceVersion = object.metadata?.resourceVersion;
  const known = parsedByObject.get(object);
  // An object without a resourceVersion (built by hand, not read from the API) is parsed every time.
  if (known !== undefined && resourceVersion !== undefined && known.resourceVersion === resourceVersion)
    return known.parsed;
  const parsed = parsePolicySpec(object.spec);
  parsedByObject.set(object, { resourceVersion, parsed });
  return parsed;
}

export function parsedPolicies(objects: readonly PolicyObject[]): ParsedPolicy[] {
  return objects.map((object) => ({ object, parsed: parsedPolicy(object) }));
}
