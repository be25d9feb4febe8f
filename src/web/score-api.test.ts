// The score API over real HTTP on loopback, with the cluster, the token reviews and the clock faked.
import http from 'node:http';
import type { V1Deployment } from '@kubernetes/client-node';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ClusterView } from '../controller/score-manifest.js';
import type { AssessmentObject, PolicyObject } from '../api/objects.js';
import { startTelemetryServer, type TelemetryServer } from '../telemetry/server.js';
import { TokenAuthenticator, type ReviewResult } from './auth.js';
import { createWebRoutes } from './routes.js';

const running: V1Deployment = {
  metadata: { name: 'cart', namespace: 'shop', labels: { team: 'payments' } },
  spec: {
    replicas: 2,
    selector: { matchLabels: { app: 'cart' } },
    template: {
      metadata: { labels: { app: 'cart' }, annotations: { 'rollguard.io/lines-added': '20' } },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'shop/cart:1.0.0',
            // As stored: with the API server's default period, which manifests as written leave out.
            readinessProbe: { httpGet: { path: '/ready', port: 8080 }, periodSeconds: 10 },
            resources: { limits: { memory: '128Mi' } },
          },
        ],
      },
    },
  },
};

const policy: PolicyObject = {
  apiVersion: 'rollguard.io/v1alpha1',
  kind: 'DeploymentRiskPolicy',
  metadata: { name: 'payments', namespace: 'shop' },
  spec: { selector: { matchLabels: { team: 'payments' } }, mode: 'advisory' },
};

const cluster: ClusterView = {
  deployment: (namespace, name) =>
    Promise.resolve(namespace === 'shop' && name === 'cart' ? structuredClone(running) : undefined),
  policies: (namespace) => Promise.resolve(namespace === 'shop' ? [policy] : []),
  assessments: () => Promise.resolve([] as AssessmentObject[]),
};

const tokens: Record<string, ReviewResult> = {
  ci: { authenticated: true, user: { username: 'system:serviceaccount:shop:ci' } },
  burst: { authenticated: true, user: { username: 'system:serviceaccount:shop:burst' } },
};

function leaky(): object {
  const m = structuredClone(running);
  const container = m.spec?.template.spec?.containers[0];
  if (container) {
    if (container.readinessProbe) delete container.readinessProbe.periodSeconds;
    container.image = 'shop/cart:1.1.0';
    container.env = [{ name: 'AWS_ACCESS_KEY_ID', value: 'AKIAIOSFODNN7EXAMPLE' }];
  }
  return m;
}

describe('the score API over HTTP', () => {
  let server: TelemetryServer;
  let base = '';
  let ready = true;
  const defaulted: string[] = [];
  beforeAll(async () => {
    server = await startTelemetryServer(
      '127.0.0.1:0',
      new Registry(),
      { notReady: () => undefined },
      createWebRoutes({
        scoreApi: {
          cluster,
          model: { current: () => undefined },
          authenticator: new TokenAuthenticator((token) =>
            Promise.resolve(
              tokens[token] ??
                // Any token user-… is a user of that name, so each test has its own rate.
                (token.startsWith('user-')
                  ? { authenticated: true, user: { username: token } }
                  : { authenticated: false, error: 'invalid bearer token' }),
            ),
          ),
          ready: () => ready,
          authorizer: {
            authorize: (caller, namespace) =>
              Promise.resolve(
                namespace === 'forbidden'
                  ? {
                      ok: false as const,
                      status: 403 as const,
                      message: `${caller.username} may not read Deployments in namespace ${namespace}`,
                    }
                  : { ok: true as const },
              ),
          },
          limits: { maxBodyBytes: 64 * 1024, ratePerSecond: 1, burst: 5 },
          bodyTimeoutMs: 500,
          serverDefaults: (manifest) => {
            defaulted.push(manifest.metadata?.name ?? '');
            if (manifest.metadata?.labels?.refuse === 'yes')
              return Promise.resolve({ note: 'the dry run was refused' });
            // What the API server would add: here, the probe's default period.
            const copy = structuredClone(manifest);
            const probe = copy.spec?.template.spec?.containers[0]?.readinessProbe;
            if (probe) probe.periodSeconds = 10;
            return Promise.resolve({ manifest: copy });
          },
          clock: () => new Date('2025-03-04T10:00:00Z'),
        },
      }),
    );
    base = `http://127.0.0.1:${server.port}`;
  });
  afterAll(async () => {
    await server.close();
  });

  const score = (body: unknown, token = 'ci', headers: Record<string, string> = {}) =>
    fetch(`${base}/v1/score`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}`, ...headers },
      body: typeof body === 'string' ? body : JSON.stringify(body),
    });

  it('refuses a request without a token with 401 and says how to get one', async () => {
    const res = await fetch(`${base}/v1/score`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: '{}',
    });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/);
    expect(await res.json()).toEqual({ error: expect.stringMatching(/kubectl create token/) as unknown });
    const bad = await score({}, 'nope');
    expect(bad.status).toBe(401);
    expect(await bad.json()).toEqual({ error: expect.stringMatching(/did not accept the bearer token/) as unknown });
  });

  it('scores a manifest with a hard-coded AWS key as block, under the policy that covers it', async () => {
    const res = await score({ deployment: leaky() });
    expect(res.status).toBe(200);
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      namespace: 'shop',
      deployment: 'cart',
      level: 'block',
      policy: 'payments',
      mode: 'advisory',
      scorer: 'rules',
      modelVersion: null,
    });
    expect(body.templateChanges).toContain('image of container app: shop/cart:1.0.0 → shop/cart:1.1.0');
    expect(JSON.stringify(body.hardRules)).toMatch(/AWS access key/);
    expect(JSON.stringify(body)).not.toContain('AKIAIOSFODNN7EXAMPLE');
  });

  it('has the API server fill in its defaults before comparing, when the Deployment runs', async () => {
    defaulted.length = 0;
    const res = await score({ deployment: leaky() }, 'user-defaults');
    const body = (await res.json()) as { templateChanges: string[]; notes: string[] };
    expect(defaulted).toEqual(['cart']);
    expect(body.templateChanges.some((c) => c.startsWith('probes'))).toBe(false);
    // A Deployment that does not run needs no defaults (nothing to compare with).
    const fresh = structuredClone(leaky()) as V1Deployment;
    if (fresh.metadata) fresh.metadata.name = 'new-app';
    await (await score({ deployment: fresh }, 'user-defaults')).body?.cancel();
    expect(defaulted).toEqual(['cart']);
    // When the dry run is refused, the manifest is compared as written, and the answer says so.
    const refused = structuredClone(leaky()) as V1Deployment;
    if (refused.metadata) refused.metadata.labels = { team: 'payments', refuse: 'yes' };
    const answer = (await (await score({ deployment: refused }, 'user-defaults')).json()) as { notes: string[] };
    expect(answer.notes).toContain('the dry run was refused');
  });

  it('scores a change description as the running template carrying it', async () => {
    const res = await score({
      changeDescription: { 'rollguard.io/lines-added': '1200', 'lines-addded': '3' },
      namespace: 'shop',
      deployment: 'cart',
    });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { features: Record<string, number>; templateChanges: string[]; notes: string[] };
    expect(body.features.lines_added).toBe(1200);
    expect(body.templateChanges).toEqual([]);
    expect(body.notes).toContainEqual(expect.stringMatching(/ignored rollguard\.io\/lines-addded/) as unknown);
  });

  it('scores a change description alone when no Deployment is named, and says so', async () => {
    const res = await score({ changeDescription: { 'lines-added': 5000 }, namespace: 'shop' });
    expect(res.status).toBe(200);
    const body = (await res.json()) as { deployment: unknown; notes: string[]; features: Record<string, number> };
    expect(body.deployment).toBeNull();
    expect(body.features.lines_added).toBe(5000);
    expect(body.notes).toContainEqual(expect.stringMatching(/scored the change description alone/) as unknown);
    expect(body.notes.join()).not.toMatch(/shop\/ to compare/);
  });

  it('answers 400 with each problem for an invalid request, and for a body that is not JSON', async () => {
    const invalid = await score({ deployment: { spec: {} } }, 'user-400');
    expect(invalid.status).toBe(400);
    expect(await invalid.json()).toEqual({
      error: 'The request is not valid: deployment.spec.template: is required.',
      details: ['deployment.spec.template: is required'],
    });
    const garbage = await score('{"deployment": ', 'user-400');
    expect(garbage.status).toBe(400);
    expect(await garbage.json()).toEqual({
      error: expect.stringMatching(/^The request body is not valid JSON/) as unknown,
    });
  });

  it('answers 403 when the caller may not read Deployments in the namespace', async () => {
    const res = await score({ changeDescription: { 'lines-added': 1 }, namespace: 'forbidden' }, 'user-403');
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      error: 'user-403 may not read Deployments in namespace forbidden',
    });
  });

  it('answers 415 for a body that is not declared JSON, and 405 for another method', async () => {
    const text = await score('deployment: {}', 'user-415', { 'Content-Type': 'application/yaml' });
    expect(text.status).toBe(415);
    expect(await text.json()).toEqual({
      error: expect.stringMatching(/must be JSON.*not "application\/yaml"/) as unknown,
    });
    const get = await fetch(`${base}/v1/score`);
    expect(get.status).toBe(405);
    expect(get.headers.get('allow')).toBe('POST');
  });

  it('answers 413 for a body over the limit, declared or streamed', async () => {
    const declared = await score({ deployment: leaky(), padding: 'x'.repeat(100 * 1024) }, 'user-413');
    expect(declared.status).toBe(413);
    expect(await declared.json()).toEqual({ error: expect.stringMatching(/larger than the 64 KiB/) as unknown });
    // Chunked, without a Content-Length: cut off once it passes the limit.
    const streamed = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.request(`${base}/v1/score`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer user-413' },
      });
      req.on('response', (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body });
        });
      });
      req.on('error', reject);
      for (let i = 0; i < 10; i++) req.write('x'.repeat(16 * 1024));
      req.end();
    });
    expect(streamed.status).toBe(413);
    expect(JSON.parse(streamed.body)).toHaveProperty('error');
  });

  it('answers 408 for a body that does not arrive', async () => {
    const result = await new Promise<number>((resolve, reject) => {
      const req = http.request(`${base}/v1/score`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', Authorization: 'Bearer user-408', 'Content-Length': '100' },
      });
      req.on('response', (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write('{');
    });
    expect(result).toBe(408);
  });

  it('answers 429 with Retry-After once a caller has used its burst', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let i = 0; i < 7; i++) {
      const res = await score({ changeDescription: { 'lines-added': 1 } }, 'burst');
      statuses.push(res.status);
      if (res.status === 429) {
        retryAfter = res.headers.get('retry-after');
        expect(await res.json()).toEqual({
          error: expect.stringMatching(/Too many requests from system:serviceaccount:shop:burst/) as unknown,
        });
      } else await res.body?.cancel();
    }
    expect(statuses).toEqual([200, 200, 200, 200, 200, 429, 429]);
    expect(retryAfter).toBe('1');
  });

  it('answers 503 until the caches have synced', async () => {
    ready = false;
    try {
      const res = await score({ deployment: leaky() });
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: expect.stringMatching(/not finished reading the cluster/) as unknown });
    } finally {
      ready = true;
    }
  });

  it('serves its OpenAPI document without a token', async () => {
    const res = await fetch(`${base}/v1/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toMatch(/^3\.0/);
    expect(doc.paths).toHaveProperty('/v1/score');
    expect(JSON.stringify(doc)).toContain('limited to 64 KiB');
  });

  it('leaves other paths to the server', async () => {
    expect((await fetch(`${base}/dashboard`)).status).toBe(404);
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
