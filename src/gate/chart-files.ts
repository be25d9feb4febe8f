// The gate's admission objects for the chart, generated from admission-objects.ts so the CEL is written once:
// charts/rollguard/files/gate-policy.yaml with placeholders the template fills in (the operator's user name,
// the objects' name, the failure policy). `make crds` writes it; `make crds-check` fails when it is stale.
import { stringify } from 'yaml';
import { mutatingAdmissionPolicy, mutatingAdmissionPolicyBinding } from './admission-objects.js';

export const chartPlaceholders = {
  operatorUsername: '__OPERATOR_USERNAME__',
  name: '__NAME__',
  failurePolicy: '__FAILURE_POLICY__',
} as const;

export function generatedGateFiles(): { path: string; content: string }[] {
  const options = {
    operatorUsername: chartPlaceholders.operatorUsername,
    name: chartPlaceholders.name,
    failurePolicy: chartPlaceholders.failurePolicy as 'Fail',
  };
  const header = [
    '# The admission gate (MutatingAdmissionPolicy and its binding), generated from src/gate/admission-objects.ts',
    '# by `make crds`; templates/gate.yaml fills in the placeholders. Do not edit by hand.',
    '',
  ].join('\n');
  return [
    {
      path: 'charts/rollguard/files/gate-policy.yaml',
      content: `${header}${stringify(mutatingAdmissionPolicy(options), { lineWidth: 0 })}---\n${stringify(mutatingAdmissionPolicyBinding(options), { lineWidth: 0 })}`,
    },
  ];
}
