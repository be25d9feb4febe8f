// Coordinates of the resources rollguard reads and writes, the one definition of each: `version` is the bare
// `v1alpha1`, `apiVersion` the `rollguard.io/v1alpha1` an object carries.
export const group = 'rollguard.io';
export const version = 'v1alpha1';
export const apiVersion = `${group}/${version}`;

export const policyResource = {
  group,
  version,
  plural: 'deploymentriskpolicies',
  kind: 'DeploymentRiskPolicy',
} as const;
export const assessmentResource = { group, version, plural: 'rolloutassessments', kind: 'RolloutAssessment' } as const;
