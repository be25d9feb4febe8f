import { describe, expect, it } from 'vitest';
import { gateObjects } from './installer.js';

const username = 'system:serviceaccount:rg:rollguard';
const caPem = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n';
const caBundle = Buffer.from(caPem).toString('base64');

interface Webhook {
  name: string;
  failurePolicy: string;
  clientConfig: Record<string, unknown>;
  matchConditions: { name: string }[];
}
const webhookOf = (objects: object[]) => {
  expect(objects).toHaveLength(1);
  const [object] = objects as { kind: string; metadata: { name: string }; webhooks: Webhook[] }[];
  expect(object?.kind).toBe('MutatingWebhookConfiguration');
  expect(object?.webhooks).toHaveLength(1);
  return { name: object?.metadata.name, webhook: object?.webhooks[0] };
};

describe('gateObjects: what `rollguard controller --gate` applies', () => {
  it('policy mode: the policy and its binding, failing closed by default', () => {
    const objects = gateObjects({ mode: 'policy', username, name: 'rg-gate' }) as {
      kind: string;
      metadata: { name: string };
      spec: { failurePolicy?: string };
    }[];
    expect(objects.map((o) => [o.kind, o.metadata.name])).toEqual([
      ['MutatingAdmissionPolicy', 'rg-gate'],
      ['MutatingAdmissionPolicyBinding', 'rg-gate'],
    ]);
    expect(objects[0]?.spec.failurePolicy).toBe('Fail');
  });

  it('webhook through a URL (an operator outside the cluster): url and caBundle, Ignore by default', () => {
    const { name, webhook } = webhookOf(
      gateObjects({ mode: 'webhook', username, webhook: { url: 'https://10.0.0.7:9443/gate', caPem } }),
    );
    expect(name).toBe('rollguard-gate');
    expect(webhook?.clientConfig).toEqual({ url: 'https://10.0.0.7:9443/gate', caBundle });
    expect(webhook?.failurePolicy).toBe('Ignore');
    expect(webhook?.matchConditions.map((c) => c.name)).not.toContain('covered-by-an-enforcing-policy');
  });

  it('webhook through a Service in front of the operator pods: namespace, name, port and path', () => {
    const { webhook } = webhookOf(
      gateObjects({
        mode: 'webhook',
        username,
        name: 'rg-rollguard-gate',
        failurePolicy: 'Fail',
        webhook: { service: { namespace: 'rg', name: 'rg-rollguard-gate', port: 443 }, caPem },
      }),
    );
    expect(webhook?.clientConfig).toEqual({
      service: { namespace: 'rg', name: 'rg-rollguard-gate', port: 443, path: '/gate' },
      caBundle,
    });
    expect(webhook?.failurePolicy).toBe('Fail');
  });

  it('caBundle only when the chart owns the configuration: nothing else that Helm would then conflict over', () => {
    const objects = gateObjects({
      mode: 'webhook',
      username,
      name: 'rg-rollguard-gate',
      caBundleOnly: true,
      webhook: { service: { namespace: 'rg', name: 'rg-rollguard-gate', port: 443 }, caPem },
    });
    expect(objects).toEqual([
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        metadata: { name: 'rg-rollguard-gate' },
        webhooks: [{ name: 'gate.rollguard.io', clientConfig: { caBundle } }],
      },
    ]);
  });

  it('refuses the webhook without where it is served', () => {
    expect(() => gateObjects({ mode: 'webhook', username })).toThrow(/address it is served at/);
  });
});
