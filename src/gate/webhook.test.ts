import { X509Certificate } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeServingCertificate, needsRenewal } from './certificates.js';
import { admissionResponse } from './webhook.js';

const operator = 'system:serviceaccount:rg:rollguard';
const policies = () => [{ spec: { selector: { matchLabels: { team: 'shop' } } } }];
const deployment = (image: string, annotations?: Record<string, string>) => ({
  metadata: { labels: { team: 'shop' }, ...(annotations ? { annotations } : {}) },
  spec: { template: { spec: { containers: [{ name: 'app', image }] } } },
});
const review = (object: object, oldObject: object, username = 'jane') => ({
  apiVersion: 'admission.k8s.io/v1',
  kind: 'AdmissionReview',
  request: { uid: 'u-1', operation: 'UPDATE', namespace: 'shop', userInfo: { username }, object, oldObject },
});
const now = new Date('2026-12-01T10:00:00.123Z');
const patchOf = (r: ReturnType<typeof admissionResponse>) =>
  JSON.parse(Buffer.from(String(r.response.patch), 'base64').toString('utf8')) as unknown;

describe('admissionResponse', () => {
  it('holds a covered template change with a JSON patch of paused and the gate annotations', () => {
    const r = admissionResponse(
      review(deployment('shop:2', { owner: 'x' }), deployment('shop:1')),
      policies,
      operator,
      now,
    );
    expect(r.response).toMatchObject({ uid: 'u-1', allowed: true, patchType: 'JSONPatch' });
    expect(patchOf(r)).toEqual([
      { op: 'add', path: '/spec/paused', value: true },
      { op: 'add', path: '/metadata/annotations/rollguard.io~1gate', value: 'pending' },
      { op: 'add', path: '/metadata/annotations/rollguard.io~1gate-pending-since', value: '2026-12-01T10:00:00Z' },
    ]);
  });
  it('adds the annotations map when the Deployment has none', () => {
    const r = admissionResponse(review(deployment('shop:2'), deployment('shop:1')), policies, operator, now);
    expect(patchOf(r)).toContainEqual({
      op: 'add',
      path: '/metadata/annotations',
      value: { 'rollguard.io/gate': 'pending', 'rollguard.io/gate-pending-since': '2026-12-01T10:00:00Z' },
    });
  });
  it.each([
    ['rollguard itself', review(deployment('shop:2'), deployment('shop:1'), operator)],
    ['no template change', review(deployment('shop:1', { a: 'b' }), deployment('shop:1'))],
    ['no request at all', {}],
    ['garbage', 'not a review'],
  ])('allows %s untouched', (_name, body) => {
    const r = admissionResponse(body, policies, operator, now);
    expect(r.response.allowed).toBe(true);
    expect(r.response.patch).toBeUndefined();
  });
});

describe('the webhook certificate', () => {
  it('is signed by its CA, covers its names and is renewed when a name is missing or it nears expiry', async () => {
    const made = await makeServingCertificate(['127.0.0.1', 'rollguard-gate.rg.svc'], now);
    const cert = new X509Certificate(made.certPem);
    const ca = new X509Certificate(made.caPem);
    expect(cert.verify(ca.publicKey)).toBe(true);
    expect(cert.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(cert.checkHost('rollguard-gate.rg.svc')).toBe('rollguard-gate.rg.svc');
    expect(made.keyPem).toContain('BEGIN PRIVATE KEY');
    expect(needsRenewal(made.certPem, ['127.0.0.1'], now)).toBe(false);
    expect(needsRenewal(made.certPem, ['10.0.0.1'], now)).toBe(true);
    expect(needsRenewal(made.certPem, ['127.0.0.1'], new Date(now.getTime() + 340 * 86_400_000))).toBe(true);
    expect(needsRenewal('garbage', ['127.0.0.1'], now)).toBe(true);
    expect(needsRenewal(undefined, ['127.0.0.1'], now)).toBe(true);
  });
});
