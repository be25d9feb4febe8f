// `rollguard doctor`'s gate check: is a gate installed (a MutatingAdmissionPolicy taking DeploymentRiskPolicy
// params, or a webhook named gate.rollguard.io), and does it hold a template change end to end? The probe is a
// server-side dry run of a pod-template annotation change on a covered Deployment: nothing is written.
import {
  AdmissionregistrationV1Api,
  AppsV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1Deployment,
} from '@kubernetes/client-node';
import type { Check } from '../cli/doctor-checks.js';
import { signalOptions } from '../kube/leader.js';
import { policyResource } from '../api/resources.js';
import { gateAnnotations } from './annotations.js';
import { policyHolds, type PolicyLike } from './decision.js';

export interface GateFindings {
  /** Names of installed MutatingAdmissionPolicies that take DeploymentRiskPolicy params. */
  policies: readonly string[];
  /** Names of MutatingWebhookConfigurations with the gate.rollguard.io webhook. */
  webhooks: readonly string[];
  /** The dry run: which Deployment, and whether the API server held the change. */
  probe?: { deployment: string; held: boolean } | { error: string } | undefined;
}

export function judgeGate(f: GateFindings): Check[] {
  const check = 'admission gate';
  if (f.policies.length === 0 && f.webhooks.length === 0) {
    return [
      {
        check,
        status: 'warn',
        message: 'not installed: risky rollouts are paused only after their first new Pods have started',
        fix: 'helm upgrade ... --set gate.enabled=true, kubectl apply --server-side -f deploy/30-gate.yaml, or rollguard controller --gate',
      },
    ];
  }
  const what = [
    ...f.policies.map((n) => `MutatingAdmissionPolicy ${n}`),
    ...f.webhooks.map((n) => `MutatingWebhookConfiguration ${n}`),
  ].join(', ');
  if (f.probe === undefined) {
    return [{ check, status: 'ok', message: `${what} installed; no covered Deployment to try it on` }];
  }
  if ('error' in f.probe) {
    return [
      {
        check,
        status: 'fail',
        message: `${what} installed, but a dry-run template change failed: ${f.probe.error}`,
        fix: 'a webhook gate: is the operator running and reachable from the API server? A policy gate: kubectl describe mutatingadmissionpolicy',
      },
    ];
  }
  return f.probe.held
    ? [
        {
          check,
          status: 'ok',
          message: `${what}: a dry-run template change of ${f.probe.deployment} was held (rollguard.io/gate=pending)`,
        },
      ]
    : [
        {
          check,
          status: 'fail',
          message: `${what} installed, but a dry-run template change of ${f.probe.deployment} was not held`,
          fix: "check the gate's operator user name (it lets its own requests through: do not run doctor as the operator) and that its binding selects this namespace",
        },
      ];
}

const timeout = () => signalOptions(AbortSignal.timeout(10_000));

/** What the cluster says about the gate, for judgeGate. */
export async function gateChecks(kc: KubeConfig, namespace: string): Promise<Check[]> {
  const admission = kc.makeApiClient(AdmissionregistrationV1Api);
  const findings: { policies: string[]; webhooks: string[]; probe?: GateFindings['probe'] } = {
    policies: [],
    webhooks: [],
  };
  try {
    findings.policies = (await admission.listMutatingAdmissionPolicy({}, timeout())).items
      .filter((p) => p.spec?.paramKind?.kind === policyResource.kind)
      .map((p) => p.metadata?.name ?? '');
  } catch {
    // An API server before 1.36 has no MutatingAdmissionPolicy: only the webhook can be there.
  }
  try {
    findings.webhooks = (await admission.listMutatingWebhookConfiguration({}, timeout())).items
      .filter((w) => (w.webhooks ?? []).some((h) => h.name === 'gate.rollguard.io'))
      .map((w) => w.metadata?.name ?? '');
  } catch (err) {
    return [{ check: 'admission gate', status: 'warn', message: `could not list webhooks: ${String(err)}` }];
  }
  if (findings.policies.length + findings.webhooks.length > 0) findings.probe = await probe(kc, namespace);
  return judgeGate(findings);
}

async function probe(kc: KubeConfig, namespace: string): Promise<GateFindings['probe']> {
  const custom = kc.makeApiClient(CustomObjectsApi);
  const apps = kc.makeApiClient(AppsV1Api);
  const policies = (
    (namespace === ''
      ? await custom.listClusterCustomObject({ ...policyResource }, timeout())
      : await custom.listNamespacedCustomObject({ ...policyResource, namespace }, timeout())) as {
      items: (PolicyLike & { metadata?: { namespace?: string } })[];
    }
  ).items;
  for (const policy of policies) {
    const ns = policy.metadata?.namespace ?? '';
    const deployments = (await apps.listNamespacedDeployment({ namespace: ns }, timeout())).items;
    const target = deployments.find(
      (d: V1Deployment) => d.spec?.paused !== true && policyHolds(policy, 'UPDATE', d.metadata?.labels ?? {}),
    );
    if (!target) continue;
    const name = target.metadata?.name ?? '';
    try {
      const result = await apps.patchNamespacedDeployment(
        {
          namespace: ns,
          name,
          dryRun: 'All',
          body: {
            spec: {
              template: { metadata: { annotations: { 'rollguard.io/doctor-probe': new Date().toISOString() } } },
            },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch, timeout()),
      );
      return {
        deployment: `${ns}/${name}`,
        held: result.spec?.paused === true && result.metadata?.annotations?.[gateAnnotations.gate] === 'pending',
      };
    } catch (err) {
      return { error: err instanceof Error ? (err.message.split('\n')[0] ?? '') : String(err) };
    }
  }
  return undefined;
}
