import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { manifestForChange, parseScoreRequest, type ScoreRequest } from './score-request.js';

const manifest = {
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'cart', namespace: 'shop', labels: { team: 'payments' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'cart' } },
    template: {
      metadata: { labels: { app: 'cart' }, annotations: { 'rollguard.io/lines-added': '20' } },
      spec: { containers: [{ name: 'app', image: 'shop/cart:1.0.0', env: [{ name: 'MODE', value: 'fast' }] }] },
    },
  },
};

function ok(raw: unknown): ScoreRequest {
  const result = parseScoreRequest(raw);
  if (!result.ok) throw new Error(result.message);
  return result.value;
}

function problems(raw: unknown): { message: string; details: string[] } {
  const result = parseScoreRequest(raw);
  if (result.ok) throw new Error('expected the request to be refused');
  return { message: result.message, details: result.problems.map((p) => `${p.path}: ${p.message}`) };
}

describe('parseScoreRequest', () => {
  it('takes a manifest, with its namespace', () => {
    const request = ok({ deployment: manifest });
    expect(request.kind).toBe('manifest');
    expect(request.namespace).toBe('shop');
    if (request.kind === 'manifest') {
      expect(request.manifest.metadata?.name).toBe('cart');
      // Fields scoring does not read are passed through untouched.
      expect(request.manifest.spec?.selector).toEqual({ matchLabels: { app: 'cart' } });
    }
  });

  it('takes the namespace from the request when the manifest has none, and default otherwise', () => {
    const bare = { ...manifest, metadata: { name: 'cart' } };
    expect(ok({ deployment: bare, namespace: 'team-a' }).namespace).toBe('team-a');
    expect(ok({ deployment: bare }).namespace).toBe('default');
  });

  it('refuses a namespace that contradicts the manifest', () => {
    expect(problems({ deployment: manifest, namespace: 'other' }).details).toEqual([
      'namespace: is other but the manifest says shop; leave one out or make them agree',
    ]);
  });

  it('says which field of a manifest is wrong, in words', () => {
    const noTemplate = { ...manifest, spec: { replicas: 2 } };
    expect(problems({ deployment: noTemplate }).details).toEqual(['deployment.spec.template: is required']);
    const badKind = { ...manifest, kind: 'StatefulSet' };
    expect(problems({ deployment: badKind }).details[0]).toMatch(/^deployment\.kind: must be one of Deployment/);
    const badEnv = structuredClone(manifest) as { spec: { template: { spec: { containers: { env: unknown }[] } } } };
    const container = badEnv.spec.template.spec.containers[0];
    if (container) container.env = 'MODE=fast';
    expect(problems({ deployment: badEnv }).details).toEqual([
      'deployment.spec.template.spec.containers[0].env: must be a list, not "MODE=fast"',
    ]);
    const message = problems({ deployment: noTemplate }).message;
    expect(message).toBe('The request is not valid: deployment.spec.template: is required.');
  });

  it('names fields it does not know', () => {
    expect(problems({ deployment: manifest, dryRun: true }).details).toEqual([
      'the body: has a field the score API does not know: dryRun',
    ]);
  });

  it('takes a change description, adding the rollguard.io/ prefix and turning numbers into text', () => {
    const request = ok({
      changeDescription: { 'rollguard.io/lines-added': '1200', 'files-changed': 14, 'is-fix': true },
      namespace: 'shop',
      deployment: 'cart',
    });
    expect(request).toEqual({
      kind: 'change',
      namespace: 'shop',
      deployment: 'cart',
      annotations: {
        'rollguard.io/lines-added': '1200',
        'rollguard.io/files-changed': '14',
        'rollguard.io/is-fix': 'true',
      },
    });
  });

  it('refuses an empty change description, a key of another prefix, and a manifest in its place', () => {
    expect(problems({ changeDescription: {} }).details).toEqual([
      'changeDescription: must name at least one annotation',
    ]);
    expect(problems({ changeDescription: { 'example.com/lines-added': '1' } }).details[0]).toMatch(
      /^changeDescription\.example\.com\/lines-added: must be a change-description annotation/,
    );
    expect(problems({ changeDescription: { 'lines-added': '1' }, deployment: manifest }).details[0]).toMatch(
      /^deployment: must be text/,
    );
  });

  it('explains what to send when the body is not an object or names nothing', () => {
    expect(parseScoreRequest([1, 2])).toMatchObject({
      ok: false,
      message: expect.stringMatching(/JSON object/) as unknown,
    });
    expect(parseScoreRequest({ namespace: 'shop' })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/names nothing to score/) as unknown,
    });
    expect(problems({ deployment: 'cart' }).details[0]).toMatch(/there is no changeDescription/);
  });
});

describe('manifestForChange', () => {
  const running: V1Deployment = {
    metadata: {
      name: 'cart',
      namespace: 'shop',
      labels: { team: 'payments' },
      annotations: { 'rollguard.io/risk-score': '0.2', 'rollguard.io/test-coverage': '90', owner: 'payments' },
    },
    spec: {
      selector: {},
      template: {
        metadata: {
          labels: { app: 'cart' },
          annotations: { 'rollguard.io/lines-added': '20', 'rollguard.io/test-coverage': '95', other: 'kept' },
        },
        spec: { containers: [{ name: 'app', image: 'shop/cart:1.0.0' }] },
      },
    },
    status: { replicas: 2 },
  };

  it("puts the description in place of the running template's own", () => {
    const m = manifestForChange(
      { kind: 'change', namespace: 'shop', deployment: 'cart', annotations: { 'rollguard.io/lines-added': '1200' } },
      running,
    );
    expect(m.spec?.template.metadata?.annotations).toEqual({ other: 'kept', 'rollguard.io/lines-added': '1200' });
    expect(m.metadata?.annotations).toEqual({ owner: 'payments' });
    expect(m.metadata?.labels).toEqual({ team: 'payments' });
    expect(m.spec?.template.spec?.containers[0]?.image).toBe('shop/cart:1.0.0');
    expect(m.status).toBeUndefined();
    // The running object is not changed.
    expect(running.spec?.template.metadata?.annotations?.['rollguard.io/lines-added']).toBe('20');
  });

  it('builds a bare template when nothing runs', () => {
    const m = manifestForChange(
      { kind: 'change', namespace: 'shop', annotations: { 'rollguard.io/lines-added': '1200' } },
      undefined,
    );
    expect(m.metadata).toEqual({ namespace: 'shop' });
    expect(m.spec?.template).toEqual({
      metadata: { annotations: { 'rollguard.io/lines-added': '1200' } },
      spec: { containers: [] },
    });
  });
});
