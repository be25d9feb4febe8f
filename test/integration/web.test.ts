// The score API and the dashboard on the real control plane, served by a real controller: its informer
// caches, Kubernetes writer and event sink, Prometheus access and the shipped model, wired as `rollguard
// controller` wires them, with the web routes on its telemetry server. The score API is called as CI would
// call it (a ServiceAccount token from `kubectl create token`, checked by a real TokenReview); the dashboard is
// looked at in headless Chromium (Debian's chromium, driven by playwright-core) with every request outside the
// controller refused, checking what a person would see. Screenshots go to test-results/dashboard/.
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { defaultedByServer } from '../../src/kube/dry-run.js';
import { Controller } from '../../src/controller/controller.js';
import { cacheClusterView } from '../../src/controller/cluster-view.js';
import { PrometheusLiveSignals } from '../../src/controller/live-signals.js';
import { loadModelSource, type ModelHolder } from '../../src/controller/model-source.js';
import { KubeSecretReader, PrometheusAccess } from '../../src/controller/prometheus-access.js';
import { loadKubeConfig } from '../../src/kube/config.js';
import { KubeEventSink } from '../../src/kube/events.js';
import { KubeClusterWriter } from '../../src/kube/writer.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { OperatorMetrics } from '../../src/telemetry/metrics.js';
import { startTelemetryServer, type TelemetryServer } from '../../src/telemetry/server.js';
import { kubeTokenReviewer, TokenAuthenticator } from '../../src/web/auth.js';
import { kubeAccessReviewer, NamespaceAuthorizer } from '../../src/web/authz.js';
import { createWebRoutes } from '../../src/web/routes.js';
import { repoRoot } from '../harness/tools.js';
import { kubectl, kubectlResult } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import {
  applyDeployment,
  applyPolicy,
  assessmentOutcome as outcomeOf,
  deploymentManifest,
  fastVerificationPolicy,
} from '../support/objects.js';
import { waitFor } from '../support/wait.js';

const chromiumPath = process.env.ROLLGUARD_CHROMIUM ?? '/usr/bin/chromium';
const screenshots = path.join(repoRoot, 'test-results', 'dashboard');

const exact = { 'sim.rollguard.io/exact': 'true' };
const good = { ...exact, 'sim.rollguard.io/error-rate': '0.0', 'sim.rollguard.io/latency-ms': '20' };
const errors = { ...exact, 'sim.rollguard.io/error-rate': '0.3', 'sim.rollguard.io/latency-ms': '20' };
const describedChange = {
  'rollguard.io/change-type': 'feature',
  'rollguard.io/lines-added': '20',
  'rollguard.io/test-coverage': '90',
};

/** Short intervals and windows so the rollouts finish in well under a minute. */
function policySpec(team: string) {
  return fastVerificationPolicy({
    selector: { matchLabels: { team } },
    prometheusAddress: inject('prometheusUrl'),
    window: '12s',
  });
}

/** What the tests read of a DOM element (the test code has no DOM types). */
interface Attributed {
  getAttribute(name: string): string | null;
}

/**
 * A ServiceAccount's token, as CI gets one; `reader` also lets it read Deployments in the namespace (a Role of
 * its own: this control plane runs no ClusterRole aggregation, so the built-in view role is empty here).
 */
async function serviceAccountToken(namespace: string, name: string, reader = true): Promise<string> {
  await kubectl(['-n', namespace, 'create', 'serviceaccount', name]);
  if (reader) {
    await kubectl([
      '-n',
      namespace,
      'create',
      'role',
      `${name}-reader`,
      '--verb=get,list,watch',
      '--resource=deployments.apps',
    ]);
    await kubectl([
      '-n',
      namespace,
      'create',
      'rolebinding',
      `${name}-reader`,
      `--role=${name}-reader`,
      `--serviceaccount=${namespace}:${name}`,
    ]);
    // RBAC takes effect once the API server's authorizer has seen the binding.
    await waitFor(`RoleBinding ${name}-reader to take effect`, async () => {
      const answer = await kubectlResult([
        'auth',
        'can-i',
        'get',
        'deployments.apps',
        '-n',
        namespace,
        `--as=system:serviceaccount:${namespace}:${name}`,
      ]);
      return answer.stdout.trim() === 'yes' ? true : undefined;
    });
  }
  return (await kubectl(['-n', namespace, 'create', 'token', name])).trim();
}

describe('score API and dashboard', () => {
  let ns = '';
  let controller: Controller;
  let model: ModelHolder;
  let metrics: OperatorMetrics;
  let server: TelemetryServer;
  let base = '';
  let browser: Browser | undefined;

  beforeAll(async () => {
    ns = await createNamespace('web');
    await mkdir(screenshots, { recursive: true });
    // The controller's pieces, as src/cli/controller-command.ts builds them.
    const kubeConfig = loadKubeConfig(inject('kubeconfig'));
    const logger = createLogger('warn');
    metrics = new OperatorMetrics({ defaultMetrics: false });
    model = await loadModelSource(undefined, logger, metrics);
    const access = new PrometheusAccess(new KubeSecretReader(kubeConfig));
    const live = new PrometheusLiveSignals(access);
    controller = new Controller({
      kubeConfig,
      writer: new KubeClusterWriter(kubeConfig),
      events: new KubeEventSink(kubeConfig),
      live,
      access,
      model,
      metrics,
      logger,
      namespace: ns,
      workers: 4,
    });
    await controller.start();
    server = await startTelemetryServer(
      '127.0.0.1:0',
      metrics.registry,
      { notReady: () => (controller.hasSynced() ? undefined : 'caches not synced yet') },
      createWebRoutes({
        scoreApi: {
          cluster: cacheClusterView(controller.caches),
          model,
          live,
          authenticator: new TokenAuthenticator(kubeTokenReviewer(kubeConfig)),
          authorizer: new NamespaceAuthorizer(kubeAccessReviewer(kubeConfig)),
          serverDefaults: (manifest, namespace) => defaultedByServer(kubeConfig, manifest, namespace),
          ready: () => controller.hasSynced(),
          logger,
          // A slow refill, so the burst test sees the limit however long a loaded machine takes to send its
          // 40 requests (at the default 10 per second, a 2 s spread refilled most of the bucket).
          limits: { ratePerSecond: 1, burst: 20 },
        },
        dashboard: {
          caches: controller.caches,
          model,
          registry: metrics.registry,
          ready: () => controller.hasSynced(),
          refreshSeconds: 1,
          logger,
        },
      }),
    );
    base = `http://127.0.0.1:${server.port}`;
    await applyPolicy(ns, 'web', policySpec('web'));
  });

  afterAll(async () => {
    await browser?.close();
    await server.close();
    await controller.stop();
    await deleteNamespace(ns);
  });

  describe('POST /v1/score', () => {
    const leaky = () =>
      JSON.parse(
        deploymentManifest({
          namespace: ns,
          name: 'payments',
          labels: { team: 'web' },
          image: 'shop/payments:2.0.0',
          annotations: describedChange,
          env: [{ name: 'AWS_ACCESS_KEY_ID', value: 'AKIAIOSFODNN7EXAMPLE' }],
        }),
      ) as object;
    const score = (body: string, token?: string) =>
      fetch(`${base}/v1/score`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', ...(token ? { Authorization: `Bearer ${token}` } : {}) },
        body,
      });

    it('refuses a caller without a token, or with one the cluster does not know, with 401 and a sentence', async () => {
      const none = await score(JSON.stringify({ deployment: leaky() }));
      expect(none.status).toBe(401);
      expect(none.headers.get('content-type')).toMatch(/^application\/json/);
      expect(await none.json()).toEqual({ error: expect.stringMatching(/needs a Kubernetes bearer token/) as unknown });
      const forged = await score(JSON.stringify({ deployment: leaky() }), 'not-a-real-token');
      expect(forged.status).toBe(401);
      expect(await forged.json()).toEqual({
        error: expect.stringMatching(/did not accept the bearer token/) as unknown,
      });
    });

    it("scores a manifest with a hard-coded AWS key as block for a ServiceAccount's token", async () => {
      const token = await serviceAccountToken(ns, 'ci');
      const res = await score(JSON.stringify({ deployment: leaky() }), token);
      expect(res.status).toBe(200);
      const body = (await res.json()) as Record<string, unknown>;
      expect(body).toMatchObject({
        namespace: ns,
        deployment: 'payments',
        level: 'block',
        policy: 'web',
        mode: 'enforce',
        scorer: 'model',
        modelVersion: model.current()?.version,
      });
      expect(JSON.stringify(body.hardRules)).toMatch(/AWS access key/);
      expect(body.findings).toContainEqual(
        expect.objectContaining({ kind: 'hardcoded-secret', container: 'app' }) as unknown,
      );
      expect(body.features).toMatchObject({ lines_added: 20, test_coverage: 90 });
      expect(JSON.stringify(body)).not.toContain('AKIAIOSFODNN7EXAMPLE');
      // Nothing is written: no Deployment and no assessment come of it.
      expect(await kubectl(['-n', ns, 'get', 'deployments,rolloutassessments', '-o', 'name'])).toBe('');
    });

    it('refuses a caller that may not read Deployments in the namespace with 403', async () => {
      const token = await serviceAccountToken(ns, 'stranger', false);
      const res = await score(JSON.stringify({ deployment: leaky() }), token);
      expect(res.status).toBe(403);
      expect(await res.json()).toEqual({
        error: expect.stringMatching(
          new RegExp(`^system:serviceaccount:${ns}:stranger may not read Deployments in namespace ${ns}`),
        ) as unknown,
      });
    });

    it('compares a manifest with the running Deployment: only what really changed counts', async () => {
      const token = await serviceAccountToken(ns, 'differ');
      // A Deployment no policy covers, so the controller leaves it alone.
      const running = { namespace: ns, name: 'ledger', labels: { team: 'nobody' }, image: 'shop/ledger:1.0.0' };
      await applyDeployment(running);
      const next = JSON.stringify({
        deployment: JSON.parse(deploymentManifest({ ...running, image: 'shop/ledger:1.1.0' })) as object,
      });
      const body = await waitFor('the score API to see the running Deployment', async () => {
        const res = await score(next, token);
        const answer = (await res.json()) as { templateChanges: string[]; notes: string[] };
        return answer.templateChanges.length > 0 ? answer : undefined;
      });
      expect(body.templateChanges).toEqual(['image of container app: shop/ledger:1.0.0 → shop/ledger:1.1.0']);
      await kubectl(['-n', ns, 'delete', 'deployment', 'ledger', '--wait=false']);
    });

    it('refuses a body over 1 MiB with 413', async () => {
      const token = await serviceAccountToken(ns, 'big');
      const res = await score(JSON.stringify({ deployment: leaky(), padding: 'x'.repeat(2 * 1024 * 1024) }), token);
      expect(res.status).toBe(413);
      expect(await res.json()).toEqual({ error: 'The request body is larger than the 1 MiB the score API accepts.' });
    });

    it('answers 429 with Retry-After when one caller sends too many at once', async () => {
      const token = await serviceAccountToken(ns, 'eager');
      const body = JSON.stringify({ changeDescription: { 'lines-added': 1200 }, namespace: ns });
      const answers = await Promise.all(Array.from({ length: 40 }, () => score(body, token)));
      const statuses = answers.map((r) => r.status);
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(20);
      const limited = answers.filter((r) => r.status === 429);
      expect(limited.length).toBeGreaterThanOrEqual(10);
      expect(Number(limited[0]?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(await limited[0]?.json()).toEqual({
        error: expect.stringMatching(/^Too many requests from system:serviceaccount:/) as unknown,
      });
      await Promise.all(answers.map((r) => (r.bodyUsed ? Promise.resolve() : (r.body?.cancel() ?? Promise.resolve()))));
    });

    it('serves its OpenAPI document', async () => {
      const res = await fetch(`${base}/v1/openapi.json`);
      expect(res.status).toBe(200);
      const doc = (await res.json()) as { openapi: string; paths: Record<string, { post?: unknown }> };
      expect(doc.openapi).toMatch(/^3\.0\./);
      expect(doc.paths['/v1/score']?.post).toBeDefined();
    });
  });

  describe('the dashboard in Chromium', () => {
    let page: Page;
    const outside: string[] = [];

    beforeAll(async () => {
      browser = await chromium.launch({
        executablePath: chromiumPath,
        args: [
          '--headless',
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
      // The cluster may be offline: the page must need nothing but the controller.
      await page.route('**/*', async (route) => {
        const url = route.request().url();
        if (url.startsWith(`${base}/`)) await route.continue();
        else {
          outside.push(url);
          await route.abort();
        }
      });
    });

    it('shows the rollouts with their levels and outcomes, the policy, the model, and a rollback on its chart', async () => {
      // A good release, then one that answers 30 % of requests with errors and is rolled back.
      await applyDeployment({
        namespace: ns,
        name: 'cart',
        labels: { team: 'web' },
        annotations: { ...describedChange, ...good },
        image: 'shop/cart:1.0.0',
      });
      await outcomeOf(ns, 'cart', 1, 'succeeded');
      await applyDeployment({
        namespace: ns,
        name: 'cart',
        labels: { team: 'web' },
        annotations: { ...describedChange, ...errors },
        image: 'shop/cart:1.1.0',
      });
      const rolledBack = await outcomeOf(ns, 'cart', 2, 'rolled-back');
      // Drift as the learning loop reports it.
      metrics.featureDrift.set({ feature: 'lines_added' }, 0.27);

      const errorsSeen: string[] = [];
      page.on('pageerror', (err) => errorsSeen.push(err.message));
      await page.goto(`${base}/dashboard?namespace=${ns}`);
      const row1 = page.locator(`tr.rollout[data-key="${ns}/cart-1"]`);
      const row2 = page.locator(`tr.rollout[data-key="${ns}/cart-2"]`);
      await row2.waitFor();
      await expect.poll(() => row1.getAttribute('data-outcome')).toBe('succeeded');
      expect(await row2.getAttribute('data-outcome')).toBe('rolled-back');
      expect(await row2.locator('.badge.outcome').textContent()).toBe('rolled-back');
      expect(await row2.locator('.badge.level').textContent()).toBe(rolledBack.status?.level);
      expect(await row2.locator('.score').textContent()).toBe(rolledBack.status?.score?.toFixed(2));
      expect(await row2.locator('.meter').getAttribute('aria-valuenow')).toBe(String(rolledBack.status?.score));
      for (const reason of rolledBack.status?.reasons ?? []) expect(await row2.textContent()).toContain(reason);
      // Newest first: revision 2 (and the rollback's own revision 3, if assessed yet) above revision 1.
      const keys = await page
        .locator('tr.rollout')
        .evaluateAll((rows: Attributed[]) => rows.map((r) => r.getAttribute('data-key')));
      expect(keys.indexOf(`${ns}/cart-2`)).toBeLessThan(keys.indexOf(`${ns}/cart-1`));

      const ready = page.locator(`tr.policy[data-key="${ns}/web"] .condition[data-type="Ready"]`);
      await ready.waitFor();
      expect(await ready.getAttribute('data-status')).toBe('True');
      expect(await ready.textContent()).toContain('Ready: True');
      const version = model.currentBundle()?.meta.modelVersion ?? 'no model';
      expect(await page.locator('.fact-version').textContent()).toBe(version);
      expect(await page.locator('.fact-auc').textContent()).toMatch(/^0\.\d{3}$/);
      expect(await page.locator('.bars.importances').textContent()).toContain('lines added');
      expect(await page.locator('.bars.drift').textContent()).toContain('0.270');
      await page.screenshot({ path: path.join(screenshots, 'overview.png'), fullPage: true });

      // The rolled-back rollout's verification: error rate against its limit, and the moment of rollback.
      await row2.click();
      expect(await row2.getAttribute('aria-selected')).toBe('true');
      await expect.poll(() => page.locator('#detail-title').textContent()).toBe('Verification · cart revision 2');
      const chart = page.locator('#detail svg[data-metric="error-rate"]');
      await chart.waitFor();
      const failing = rolledBack.status?.verification?.steps?.filter((s) => s.metric === 'error-rate') ?? [];
      expect(await chart.locator('circle.step').count()).toBe(failing.length);
      expect(await chart.locator('circle.verdict-fail').count()).toBeGreaterThanOrEqual(2);
      expect(await chart.locator('polyline.limit').count()).toBe(1);
      expect(await chart.locator('.rollback-marker').textContent()).toMatch(/^rolled back /);
      const rollback = rolledBack.status?.actions?.find((a) => a.type === 'rolled-back');
      expect(rollback?.message).toMatch(/revision 2/);
      expect(await page.locator('#detail .actions').textContent()).toContain(rollback?.message);
      await page.locator('#detail').screenshot({ path: path.join(screenshots, 'rolled-back.png') });
      await page.screenshot({ path: path.join(screenshots, 'rolled-back-page.png'), fullPage: true });

      expect(errorsSeen).toEqual([]);
      expect(outside).toEqual([]);
    }, 240_000);

    it('refreshes by itself: a new rollout appears without a reload', async () => {
      await page.evaluate(() => {
        (globalThis as unknown as { stayed: boolean }).stayed = true;
      });
      await applyDeployment({
        namespace: ns,
        name: 'checkout',
        labels: { team: 'web' },
        annotations: { ...describedChange, ...good },
        image: 'shop/checkout:1.0.0',
      });
      const row = page.locator(`tr.rollout[data-key="${ns}/checkout-1"]`);
      await row.waitFor({ timeout: 30_000 });
      expect(await page.evaluate(() => (globalThis as unknown as { stayed?: boolean }).stayed)).toBe(true);
      // The selection survives the refresh.
      expect(await page.locator(`tr.rollout[data-key="${ns}/cart-2"]`).getAttribute('aria-selected')).toBe('true');
      const keys = await page
        .locator('tr.rollout')
        .evaluateAll((rows: Attributed[]) => rows.map((r) => r.getAttribute('data-key')));
      expect(keys[0]).toBe(`${ns}/checkout-1`);
      await page.screenshot({ path: path.join(screenshots, 'refreshed.png'), fullPage: true });
      expect(outside).toEqual([]);
    });

    it('shows what users wrote as text, never as markup', async () => {
      const hostile = '<img src=x onerror="window.pwned=1">';
      const second = await browser?.newPage();
      if (!second) throw new Error('no browser');
      try {
        await second.route('**/dashboard/api/state*', async (route) => {
          const real = await route.fetch();
          const state = (await real.json()) as { rollouts: { deployment: string; reasons: string[] }[] };
          const first = state.rollouts[0];
          if (first) {
            first.deployment = `<b>${first.deployment}</b>`;
            first.reasons = [hostile, ...first.reasons];
          }
          await route.fulfill({ response: real, json: state });
        });
        await second.goto(`${base}/dashboard?namespace=${ns}`);
        const firstRow = second.locator('tr.rollout').first();
        await firstRow.locator('.reasons li').first().waitFor();
        expect(await firstRow.locator('.reasons li').first().textContent()).toBe(hostile);
        expect(await firstRow.locator('.name').textContent()).toMatch(/^<b>.*<\/b>$/);
        expect(await second.locator('#rollouts-body img, #rollouts-body b').count()).toBe(0);
        expect(await second.evaluate(() => (globalThis as unknown as { pwned?: number }).pwned)).toBeUndefined();
      } finally {
        await second.close();
      }
    });
  });
});
