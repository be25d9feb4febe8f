// The gate's admission objects for the chart, generated from admission-objects.ts so the CEL is written once:
// charts/rollguard/files/gate-policy.yaml (Kubernetes 1.36+) and gate-webhook.yaml (1.30-1.35) with
// placeholders the template fills in (the operator's user name, the objects' name, which is also the webhook
// Service's, the release namespace, the failure policy). `make crds` writes them; `make crds-check` fails when
// they are stale.
import { stringify } from 'yaml';
import {
  mutatingAdmissionPolicy,
  mutatingAdmissionPolicyBinding,
  mutatingWebhookConfiguration,
} from './admission-objects.js';

export const chartPlaceholders = {
  operatorUsername: '__OPERATOR_USERNAME__',
  name: '__NAME__',
  failurePolicy: '__FAILURE_POLICY__',
  namespace: '__NAMESPACE__',
} as const;

/** The webhook Service's port in the chart (templates/gate-webhook.yaml); the pods listen on gate.webhook.port. */
export const chartWebhookServicePort = 443;

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
  const webhookHeader = [
    '# The admission gate for Kubernetes 1.30-1.35 (a MutatingWebhookConfiguration calling the operator through its',
    '# Service), generated from src/gate/admission-objects.ts by `make crds`; templates/gate.yaml fills in the',
    "# placeholders. No caBundle: the operator (--webhook-ca-bundle-only) or cert-manager's CA injector fills it in.",
    '# Do not edit by hand.',
    '',
  ].join('\n');
  const webhook = mutatingWebhookConfiguration({
    ...options,
    service: { namespace: chartPlaceholders.namespace, name: chartPlaceholders.name, port: chartWebhookServicePort },
  });
  return [
    {
      path: 'charts/rollguard/files/gate-webhook.yaml',
      content: `${webhookHeader}${stringify(webhook, { lineWidth: 0 })}`,
    },
    {
      path: 'charts/rollguard/files/gate-policy.yaml',
      content: `${header}${stringify(mutatingAdmissionPolicy(options), { lineWidth: 0 })}---\n${stringify(mutatingAdmissionPolicyBinding(options), { lineWidth: 0 })}`,
    },
  ];
}
