// The Helm chart's admission gate as a webhook (Kubernetes 1.30-1.35), with the real helm and kubectl: what it
// renders (the webhook configuration the operator's TypeScript builds, its Service, the operator's flags and
// rights; on 1.36 the MutatingAdmissionPolicy instead), the install on a real API server granting exactly the
// webhook's rights, the operator run with the chart's flags under its ServiceAccount making its certificate and
// filling in only the caBundle, and helm uninstall removing it all. The tests build on each other, in order;
// the webhook configuration is cluster-wide and never left behind for the other test files.
import { X509Certificate, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { mutatingWebhookConfiguration } from '../../src/gate/admission-objects.js';
import { chartDir, helmCli, objectsIn, only, typeOf, type DeploymentJson, type K8sObject } from '../support/chart.js';
import {
  expectRights,
  gateSecretRights,
  gateWebhookRights,
  identity,
  selfRights,
  union,
  workloadRights,
} from '../support/chart-rights.js';
import { kubectl, kubectlJson, kubectlResult } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import { apiServerOf, kubeconfigVia, startOperator, type RunningOperator } from '../support/operator.js';

describe('the rollguard Helm chart: the admission gate as a webhook, for Kubernetes 1.30-1.35', () => {
  const suffix = randomBytes(3).toString('hex');
  // A namespace the release has no business in.
  let otherNs = '';
  const { helm, helmOk, removeHome } = helmCli();

  const webhookRelease = `rgwh-${suffix}`;
  const gate = `${webhookRelease}-rollguard-gate`;
  let webhookNs = '';
  let operatorDir = '';
  let operator: RunningOperator | undefined;
  let installed = false;

  interface Webhook {
    failurePolicy: string;
    clientConfig: { caBundle?: string; service?: Record<string, unknown>; url?: string };
  }
  const webhookOf = (obj: K8sObject) => {
    const [webhook] = (obj as K8sObject & { webhooks: Webhook[] }).webhooks;
    if (!webhook) throw new Error(`${obj.metadata.name} has no webhook`);
    return webhook;
  };
  const liveWebhook = async () =>
    kubectlJson<
      K8sObject & {
        webhooks: Webhook[];
        metadata: { managedFields?: { manager: string; operation: string; fieldsV1: unknown }[] };
      }
    >(['get', 'mutatingwebhookconfiguration', gate, '--show-managed-fields']);

  beforeAll(async () => {
    [webhookNs, otherNs] = await Promise.all([createNamespace('chart-gate'), createNamespace('chart-other')]);
    await kubectl(['label', 'namespace', webhookNs, 'pod-security.kubernetes.io/enforce=restricted']);
    operatorDir = await mkdtemp(path.join(os.tmpdir(), 'rollguard-chart-gate-'));
  });

  afterAll(async () => {
    await operator?.stop();
    // The webhook configuration is cluster-wide: never leave it behind for the other test files.
    if (installed) await helm(['uninstall', webhookRelease, '-n', webhookNs, '--wait']);
    for (const ns of [webhookNs, otherNs]) if (ns) await deleteNamespace(ns);
    if (operatorDir) await rm(operatorDir, { recursive: true, force: true });
    await removeHome();
  });

  it('renders the webhook, its Service, the operator flags and its rights for 1.33, and the policy for 1.36', async () => {
    await helmOk(['lint', '--strict', chartDir, '--set', 'gate.enabled=true,gate.mode=webhook']);
    const render = async (...extra: string[]) =>
      objectsIn(await helmOk(['template', 'rg', chartDir, '-n', 'rgns', '--set', 'gate.enabled=true', ...extra]));
    const old = await render('--kube-version', '1.33.0');
    expect(old.filter((obj) => obj.kind.startsWith('MutatingAdmissionPolicy'))).toEqual([]);

    // The webhook configuration is the one the operator's TypeScript builds, pointing at the chart's Service,
    // without a caBundle (the operator fills it in), failing open by default.
    const configuration = only(old, 'MutatingWebhookConfiguration');
    expect(configuration.metadata.labels?.['app.kubernetes.io/instance']).toBe('rg');
    expect({ ...configuration, metadata: { name: configuration.metadata.name } }).toEqual(
      mutatingWebhookConfiguration({
        name: 'rg-rollguard-gate',
        operatorUsername: 'system:serviceaccount:rgns:rg-rollguard',
        service: { namespace: 'rgns', name: 'rg-rollguard-gate', port: 443 },
      }),
    );
    const webhook = webhookOf(configuration);
    expect(webhook.failurePolicy).toBe('Ignore');
    expect(webhook.clientConfig).toEqual({
      service: { namespace: 'rgns', name: 'rg-rollguard-gate', port: 443, path: '/gate' },
    });

    const service = old.find((obj) => obj.kind === 'Service' && obj.metadata.name === 'rg-rollguard-gate') as
      (K8sObject & { spec: { selector: Record<string, string>; ports: unknown[] } }) | undefined;
    const deployment = only(old, 'Deployment') as K8sObject &
      DeploymentJson & {
        spec: { template: { metadata: { labels: Record<string, string> } } };
      };
    expect(service?.spec.ports).toEqual([{ name: 'https-webhook', port: 443, targetPort: 'webhook', protocol: 'TCP' }]);
    expect(deployment.spec.template.metadata.labels).toMatchObject(service?.spec.selector ?? { missing: 'selector' });
    const [container] = deployment.spec.template.spec.containers;
    expect(container?.args.slice(-6)).toEqual([
      '--gate',
      '--gate-mode=webhook',
      '--gate-name=rg-rollguard-gate',
      '--webhook-address=:9443',
      '--webhook-service=rgns/rg-rollguard-gate:443',
      '--webhook-ca-bundle-only',
    ]);
    expect(container?.ports).toContainEqual(expect.objectContaining({ name: 'webhook', containerPort: 9443 }));
    expect(container?.readinessProbe.httpGet).toMatchObject({ path: '/readyz', port: 'http-metrics' });

    const ruleOf = (kind: string) =>
      (
        old.find((obj) => obj.kind === kind && obj.metadata.name === 'rg-rollguard-gate') as
          (K8sObject & { rules: unknown[] }) | undefined
      )?.rules;
    expect(ruleOf('ClusterRole')).toEqual([
      {
        apiGroups: ['admissionregistration.k8s.io'],
        resources: ['mutatingwebhookconfigurations'],
        resourceNames: ['rg-rollguard-gate'],
        verbs: ['patch'],
      },
    ]);
    expect(ruleOf('Role')).toEqual([
      { apiGroups: [''], resources: ['secrets'], resourceNames: ['rg-rollguard-gate-tls'], verbs: ['get', 'update'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['create'] },
    ]);
    expect(old.filter((obj) => obj.kind === 'NetworkPolicy')).toEqual([]);

    const failClosed = await render('--kube-version', '1.33.0', '--set', 'gate.failurePolicy=Fail');
    expect(webhookOf(only(failClosed, 'MutatingWebhookConfiguration')).failurePolicy).toBe('Fail');

    // With cert-manager: a Certificate for the Service's name, its CA injected; the operator only reads its Secret.
    const viaCertManager = await render('--kube-version', '1.33.0', '--set', 'gate.webhook.certManager.enabled=true');
    const injected = only(viaCertManager, 'MutatingWebhookConfiguration') as K8sObject & {
      metadata: { annotations?: Record<string, string> };
    };
    expect(injected.metadata.annotations).toEqual({ 'cert-manager.io/inject-ca-from': 'rgns/rg-rollguard-gate' });
    expect(webhookOf(injected).clientConfig.caBundle).toBeUndefined();
    expect(only(viaCertManager, 'Certificate')).toMatchObject({
      metadata: { name: 'rg-rollguard-gate', namespace: 'rgns' },
      spec: {
        secretName: 'rg-rollguard-gate-tls',
        dnsNames: ['rg-rollguard-gate.rgns.svc'],
        issuerRef: { name: 'rg-rollguard-gate-selfsigned', kind: 'Issuer' },
      },
    });
    expect(only(viaCertManager, 'Issuer')).toMatchObject({ spec: { selfSigned: {} } });
    const certManagerArgs = (only(viaCertManager, 'Deployment') as K8sObject & DeploymentJson).spec.template.spec
      .containers[0]?.args;
    expect(certManagerArgs).toContain('--webhook-cert-from-secret');
    expect(certManagerArgs).not.toContain('--webhook-ca-bundle-only');
    expect(
      viaCertManager.filter((obj) => obj.kind === 'ClusterRole' && obj.metadata.name === 'rg-rollguard-gate'),
    ).toEqual([]);
    expect(
      (
        viaCertManager.find((obj) => obj.kind === 'Role' && obj.metadata.name === 'rg-rollguard-gate') as
          (K8sObject & { rules: unknown[] }) | undefined
      )?.rules,
    ).toEqual([{ apiGroups: [''], resources: ['secrets'], resourceNames: ['rg-rollguard-gate-tls'], verbs: ['get'] }]);
    const corporate = await render(
      '--kube-version',
      '1.33.0',
      '--set',
      'gate.webhook.certManager.enabled=true,gate.webhook.certManager.issuerRef.name=corp-ca,gate.webhook.certManager.issuerRef.kind=ClusterIssuer',
    );
    expect(corporate.filter((obj) => obj.kind === 'Issuer')).toEqual([]);
    expect(only(corporate, 'Certificate')).toMatchObject({
      spec: { issuerRef: { name: 'corp-ca', kind: 'ClusterIssuer' } },
    });

    // 1.36 serves MutatingAdmissionPolicy: auto takes the policy, and nothing of the webhook is rendered.
    const current = await render('--kube-version', '1.36.0');
    expect(current.map((obj) => obj.kind).filter((kind) => kind.startsWith('Mutating'))).toEqual([
      'MutatingAdmissionPolicy',
      'MutatingAdmissionPolicyBinding',
    ]);
    expect(
      current.filter((obj) => obj.metadata.name === 'rg-rollguard-gate' && !obj.kind.startsWith('Mutating')),
    ).toEqual([]);
    const currentArgs = (only(current, 'Deployment') as K8sObject & DeploymentJson).spec.template.spec.containers[0]
      ?.args;
    expect(currentArgs?.filter((arg) => arg.startsWith('--gate') || arg.startsWith('--webhook'))).toEqual([]);
  });

  it('installs on the real API server with every object accepted, granting exactly the webhook rights', async () => {
    installed = true;
    await helmOk([
      'install',
      webhookRelease,
      chartDir,
      '-n',
      webhookNs,
      '--wait=hookOnly',
      '--set',
      'gate.enabled=true,gate.mode=webhook',
    ]);
    const manifest = objectsIn(await helmOk(['get', 'manifest', webhookRelease, '-n', webhookNs]));
    expect(manifest.map((obj) => `${obj.kind}/${obj.metadata.name}`)).toEqual(
      expect.arrayContaining([
        `MutatingWebhookConfiguration/${gate}`,
        `Service/${gate}`,
        `ClusterRole/${gate}`,
        `ClusterRoleBinding/${gate}`,
        `Role/${gate}`,
        `RoleBinding/${gate}`,
      ]),
    );
    for (const obj of manifest) {
      const where = obj.metadata.namespace ? ['-n', obj.metadata.namespace] : [];
      const got = await kubectlResult(['get', `${typeOf(obj)}/${obj.metadata.name}`, ...where, '-o', 'name']);
      expect(got.code, `${obj.kind}/${obj.metadata.name}: ${got.stderr}`).toBe(0);
    }
    const webhook = webhookOf(await liveWebhook());
    expect(webhook.clientConfig.service).toEqual({ namespace: webhookNs, name: gate, port: 443, path: '/gate' });
    expect(webhook.clientConfig.caBundle).toBeUndefined();
    await kubectl(['-n', webhookNs, 'rollout', 'status', `deployment/${webhookRelease}-rollguard`, '--timeout=90s']);

    const account = `${webhookRelease}-rollguard`;
    await expectRights(webhookNs, account, otherNs, union(workloadRights, gateWebhookRights(gate)));
    await expectRights(
      webhookNs,
      account,
      webhookNs,
      union(workloadRights, selfRights, gateWebhookRights(gate), gateSecretRights(gate)),
    );
    const named = async (verb: string, target: string, where: string[]) => {
      const result = await kubectlResult(['auth', 'can-i', verb, target, ...where, ...identity(webhookNs, account)]);
      return result.stdout.trim();
    };
    const mwc = 'mutatingwebhookconfigurations.admissionregistration.k8s.io';
    expect(await named('patch', `${mwc}/${gate}`, [])).toBe('yes');
    expect(await named('get', `secrets/${gate}-tls`, ['-n', webhookNs])).toBe('yes');
    expect(await named('update', `secrets/${gate}-tls`, ['-n', webhookNs])).toBe('yes');
    expect(await named('create', 'secrets', ['-n', webhookNs])).toBe('yes');
    for (const [verb, target, where] of [
      ['patch', `${mwc}/someone-elses-webhook`, []],
      ['update', `${mwc}/${gate}`, []],
      ['delete', `${mwc}/${gate}`, []],
      ['create', mwc, []],
      ['list', mwc, []],
      ['patch', `validatingwebhookconfigurations.admissionregistration.k8s.io/${gate}`, []],
      ['get', 'secrets/someone-elses-secret', ['-n', webhookNs]],
      ['list', 'secrets', ['-n', webhookNs]],
      ['delete', `secrets/${gate}-tls`, ['-n', webhookNs]],
      ['get', `secrets/${gate}-tls`, ['-n', otherNs]],
      ['create', 'secrets', ['-n', otherNs]],
    ] as [string, string, string[]][]) {
      expect(await named(verb, target, where), `${verb} ${target} ${where.join(' ')}`).toBe('no');
    }
  });

  it("runs with the chart's flags under its ServiceAccount: makes its certificate, fills in the caBundle only, Ready once it serves it", async () => {
    const account = `${webhookRelease}-rollguard`;
    const deployment = await kubectlJson<DeploymentJson>(['-n', webhookNs, 'get', 'deployment', account]);
    // The pods are simulated here: run the same flags locally, as that ServiceAccount (listening on loopback).
    const args = (deployment.spec.template.spec.containers[0]?.args ?? [])
      .filter((arg) => arg !== 'controller' && !arg.startsWith('--metrics-address='))
      .map((arg) =>
        arg.startsWith('--webhook-address=')
          ? '--webhook-address=127.0.0.1:0'
          : arg.replace('$(POD_NAMESPACE)', webhookNs),
      );
    expect(args).toContain(`--webhook-service=${webhookNs}/${gate}:443`);
    const token = (await kubectl(['-n', webhookNs, 'create', 'token', account, '--duration=1h'])).trim();
    const kubeconfig = await kubeconfigVia(
      inject('kubeconfig'),
      new URL(await apiServerOf(inject('kubeconfig'))).host,
      operatorDir,
      token,
    );
    // startOperator waits for /readyz: with the webhook gate, only after the webhook answered itself over TLS
    // verified against its CA under the Service's name.
    operator = await startOperator(args, { POD_NAMESPACE: webhookNs, POD_NAME: 'local' }, { kubeconfig });
    expect(operator.logs().join('\n')).toContain('gate webhook serving');

    const secret = await kubectlJson<{ type: string; data: Record<string, string> }>([
      '-n',
      webhookNs,
      'get',
      'secret',
      `${gate}-tls`,
    ]);
    expect(secret.type).toBe('kubernetes.io/tls');
    const decode = (key: string) => Buffer.from(secret.data[key] ?? '', 'base64').toString('utf8');
    const cert = new X509Certificate(decode('tls.crt'));
    expect(cert.checkHost(`${gate}.${webhookNs}.svc`)).toBe(`${gate}.${webhookNs}.svc`);
    expect(cert.verify(new X509Certificate(decode('ca.crt')).publicKey)).toBe(true);

    const live = await liveWebhook();
    expect(Buffer.from(webhookOf(live).clientConfig.caBundle ?? '', 'base64').toString('utf8')).toBe(decode('ca.crt'));
    expect(webhookOf(live).clientConfig.service).toEqual({
      namespace: webhookNs,
      name: gate,
      port: 443,
      path: '/gate',
    });
    // The operator owns the caBundle and nothing else: Helm's next apply of the rest cannot conflict with it.
    const mine = (live.metadata.managedFields ?? []).filter((f) => f.manager === 'rollguard-gate');
    expect(mine.map((f) => f.operation)).toEqual(['Apply']);
    const owned = JSON.stringify(mine[0]?.fieldsV1);
    expect(owned).toContain('f:caBundle');
    for (const field of ['f:failurePolicy', 'f:service', 'f:rules', 'f:matchConditions', 'f:labels']) {
      expect(owned).not.toContain(field);
    }

    // helm upgrade (server-side apply in Helm 4) changes the failure policy without a conflict, and keeps the CA.
    await helmOk([
      'upgrade',
      webhookRelease,
      chartDir,
      '-n',
      webhookNs,
      '--wait=hookOnly',
      '--reuse-values',
      '--set',
      'gate.failurePolicy=Fail',
    ]);
    const upgraded = webhookOf(await liveWebhook());
    expect(upgraded.failurePolicy).toBe('Fail');
    expect(upgraded.clientConfig.caBundle).toBe(webhookOf(live).clientConfig.caBundle);
    expect((await fetch(`${operator.metricsUrl}/readyz`)).status).toBe(200);
  });

  it('helm uninstall removes the webhook configuration, its Service and its rights', async () => {
    await operator?.stop();
    operator = undefined;
    await helmOk(['uninstall', webhookRelease, '-n', webhookNs, '--wait']);
    installed = false;
    for (const target of [
      `mutatingwebhookconfiguration/${gate}`,
      `clusterrole/${gate}`,
      `clusterrolebinding/${gate}`,
    ]) {
      const got = await kubectlResult(['get', target, '-o', 'name']);
      expect(got.code, target).not.toBe(0);
    }
    for (const target of [`service/${gate}`, `role/${gate}`, `rolebinding/${gate}`]) {
      const got = await kubectlResult(['-n', webhookNs, 'get', target, '-o', 'name']);
      expect(got.code, target).not.toBe(0);
    }
  });
});
