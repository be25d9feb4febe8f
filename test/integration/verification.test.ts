// Verification on live metrics and automatic rollback, on the real control plane with a real Prometheus
// scraping the workload simulator: a version that ships more errors or more latency is rolled back the way
// `kubectl rollout undo` does it; a good one is verified; a monitoring outage or missing data never causes a
// rollback; the cap holds; a manual undo is recorded, not fought; a restarted controller rolls back once.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inject } from 'vitest';
import { kubectl } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import {
  applyDeployment,
  applyPolicy,
  assessmentOf,
  eventsOf,
  getDeployment,
  type AssessmentView,
} from '../support/objects.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
import { startPrometheus, stopPrometheus } from '../support/prometheus.js';
import { waitFor } from '../support/wait.js';

// Exact traffic: these tests assert the figures themselves (the noisy simulator is in verification-noise.test.ts).
const exact = { 'sim.rollguard.io/exact': 'true' };
const good = { ...exact, 'sim.rollguard.io/error-rate': '0.0', 'sim.rollguard.io/latency-ms': '20' };
const errors = { ...exact, 'sim.rollguard.io/error-rate': '0.3', 'sim.rollguard.io/latency-ms': '20' };
const slow = { ...exact, 'sim.rollguard.io/error-rate': '0.0', 'sim.rollguard.io/latency-ms': '1500' };
const describedChange = {
  'rollguard.io/change-type': 'feature',
  'rollguard.io/lines-added': '20',
  'rollguard.io/test-coverage': '90',
};

/** Short intervals and windows so the suite runs in minutes; otherwise the policy's defaults. */
function policy(team: string, overrides: { verification?: object; rollback?: object; metrics?: object } = {}) {
  const window = { verificationWindow: '12s' };
  return {
    selector: { matchLabels: { team } },
    mode: 'enforce',
    prometheus: { address: inject('prometheusUrl'), timeout: '2s' },
    metrics: { rateWindow: '10s', ...overrides.metrics },
    verification: { interval: '2s', failureLimit: 2, errorLimit: 2, inconclusiveLimit: 2, ...overrides.verification },
    levels: {
      safe: window,
      monitor: { ...window, pause: false },
      rollbackReady: { ...window, pause: false },
      block: { ...window, pause: false },
    },
    ...(overrides.rollback ? { rollback: overrides.rollback } : {}),
  };
}

async function release(
  namespace: string,
  name: string,
  team: string,
  behaviour: Record<string, string>,
  image: string,
) {
  await applyDeployment({
    namespace,
    name,
    labels: { team },
    annotations: { ...describedChange, ...behaviour },
    image,
  });
}

async function outcomeOf(
  namespace: string,
  name: string,
  revision: number,
  outcome: string,
  timeoutMs = 60_000,
): Promise<AssessmentView> {
  return waitFor(
    `assessment ${name}-${revision} to end ${outcome}`,
    async () => {
      const a = await assessmentOf(namespace, name, revision);
      return a?.status?.outcome === outcome ? a : undefined;
    },
    { timeoutMs, intervalMs: 500 },
  );
}

async function metricValue(operator: RunningOperator, line: string): Promise<number> {
  const text = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
  const found = text.split('\n').find((l) => l.startsWith(line));
  return found ? Number(found.split(' ').pop()) : 0;
}

describe('verification and automatic rollback', () => {
  let ns = '';
  let operator: RunningOperator;
  beforeAll(async () => {
    ns = await createNamespace('verify');
    operator = await startOperator();
  });
  afterAll(async () => {
    await operator.stop();
    await deleteNamespace(ns);
  });

  it('rolls back a version whose error rate jumps, and says so everywhere a person looks', async () => {
    await applyPolicy(ns, 'errors', policy('errors'));
    await release(ns, 'cart', 'errors', good, 'shop/cart:1.0.0');
    await outcomeOf(ns, 'cart', 1, 'succeeded');
    // When version 1.1.0 answers 30 % of requests with errors
    await release(ns, 'cart', 'errors', errors, 'shop/cart:1.1.0');
    // Then rollguard rolls it back to revision 1's template, as revision 3
    const ra = await outcomeOf(ns, 'cart', 2, 'rolled-back');
    expect(ra.status?.phase).toBe('RolledBack');
    const failing =
      ra.status?.verification?.steps?.filter((s) => s.metric === 'error-rate' && s.verdict === 'fail') ?? [];
    expect(failing.length).toBeGreaterThanOrEqual(2);
    expect(failing[0]?.value).toBeCloseTo(0.3, 2);
    expect(failing[0]?.limit).toBe(0.05);
    expect(ra.status?.actions?.filter((a) => a.type === 'rolled-back')).toHaveLength(1);
    await kubectl(['-n', ns, 'rollout', 'status', 'deployment/cart', '--timeout=60s']);
    const d = await getDeployment(ns, 'cart');
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    expect(d.metadata.annotations?.['rollguard.io/rolled-back-from']).toBe('2');
    expect(d.metadata.annotations?.['rollguard.io/verification']).toMatch(/^failed: .*error ratio/);
    expect(d.spec.template.metadata?.annotations?.['sim.rollguard.io/error-rate']).toBe('0.0');
    const event = (await eventsOf(ns, 'cart')).find((e) => e.reason === 'RolledBack');
    expect(event?.type).toBe('Warning');
    expect(event?.message).toMatch(/Rolled back revision 2 to revision 1/);
    expect(event?.message).toMatch(/0\.05/);
    expect(event?.message).toContain('http_requests_total');
    expect(event?.message).toContain('checked every 2s');
    expect(await metricValue(operator, 'rollguard_rollbacks_total{result="done"}')).toBeGreaterThanOrEqual(1);
    // And the rollback itself (revision 3) is never rolled back and is verified like any rollout
    await outcomeOf(ns, 'cart', 3, 'succeeded');
  });

  it('rolls back a version whose latency jumps', async () => {
    await applyPolicy(ns, 'latency', policy('latency'));
    await release(ns, 'search', 'latency', good, 'shop/search:1.0.0');
    await outcomeOf(ns, 'search', 1, 'succeeded');
    await release(ns, 'search', 'latency', slow, 'shop/search:1.1.0');
    const ra = await outcomeOf(ns, 'search', 2, 'rolled-back');
    const failing = ra.status?.verification?.steps?.filter((s) => s.metric === 'latency' && s.verdict === 'fail') ?? [];
    expect(failing.length).toBeGreaterThanOrEqual(2);
    expect(failing[0]?.value).toBeGreaterThan(1);
    expect(failing[0]?.message).toMatch(/latency/);
    expect((await getDeployment(ns, 'search')).metadata.annotations?.['rollguard.io/rolled-back-from']).toBe('2');
  });

  it('marks a good version verified after its window', async () => {
    await applyPolicy(ns, 'good', policy('good'));
    await release(ns, 'profile', 'good', good, 'shop/profile:1.0.0');
    await outcomeOf(ns, 'profile', 1, 'succeeded');
    await release(ns, 'profile', 'good', good, 'shop/profile:1.0.1');
    const ra = await outcomeOf(ns, 'profile', 2, 'succeeded');
    expect(ra.status?.phase).toBe('Verified');
    expect(ra.status?.verification?.state).toBe('passed');
    // Fresh pods may have an interval without data yet; never a failure.
    expect(ra.status?.verification?.steps?.some((s) => s.verdict === 'fail')).toBe(false);
    expect(ra.status?.verification?.steps?.filter((s) => s.verdict === 'pass').length).toBeGreaterThanOrEqual(2);
    // The record names each metric's query once, in its first step, while the query stays the same.
    for (const metric of ['error-rate', 'latency']) {
      const steps = ra.status?.verification?.steps?.filter((s) => s.metric === metric) ?? [];
      expect(steps.length).toBeGreaterThanOrEqual(2);
      expect(steps[0]?.query).toContain(`namespace="${ns}"`);
      expect(steps[0]?.query).toContain('profile');
      expect(steps.slice(1).filter((s) => s.query !== undefined)).toEqual([]);
    }
    expect(ra.status?.actions?.map((a) => a.type)).toContain('verified');
    // Passing intervals were not written one by one (--quiet-write-period, 30 s by default, is longer than this
    // whole verification), yet the record holds each of them: the 12 s window alone is six 2 s intervals.
    const metrics = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
    const carried = /^rollguard_verification_intervals_carried_total (\d+)/m.exec(metrics)?.[1];
    expect(Number(carried)).toBeGreaterThan(0);
    const judgedAt = new Set(ra.status?.verification?.steps?.map((s) => s.at));
    expect(judgedAt.size).toBeGreaterThanOrEqual(6);
    const d = await getDeployment(ns, 'profile');
    expect(d.metadata.annotations?.['rollguard.io/verification']).toBe('passed: revision 2');
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
    expect((await eventsOf(ns, 'profile')).some((e) => e.reason === 'VerificationPassed')).toBe(true);
  });

  it('holds, never rolls back, while Prometheus is down, and resumes when it is back', async () => {
    await applyPolicy(ns, 'outage', policy('outage', { verification: { errorLimit: 2 } }));
    await release(ns, 'inventory', 'outage', good, 'shop/inventory:1.0.0');
    await outcomeOf(ns, 'inventory', 1, 'succeeded');
    await release(ns, 'inventory', 'outage', good, 'shop/inventory:1.1.0');
    await waitFor('verification of revision 2 to start', async () =>
      (await assessmentOf(ns, 'inventory', 2))?.status?.verification?.startedAt ? true : undefined,
    );
    await stopPrometheus();
    try {
      const held = await waitFor('verification to hold', async () => {
        const a = await assessmentOf(ns, 'inventory', 2);
        return a?.status?.verification?.state === 'held' ? a : undefined;
      });
      expect(held.status?.outcome).toBe('running');
      expect(held.status?.verification?.steps?.some((s) => s.verdict === 'error')).toBe(true);
      const holdEvent = (await eventsOf(ns, 'inventory')).find(
        (e) => e.reason === 'VerificationHeld' && e.message.includes('revision 2'),
      );
      expect(holdEvent?.message).toMatch(/nothing is rolled back/);
      expect(holdEvent?.message).toMatch(/Prometheus/);
      expect((await getDeployment(ns, 'inventory')).metadata.annotations?.['deployment.kubernetes.io/revision']).toBe(
        '2',
      );
    } finally {
      await startPrometheus();
    }
    // Verification resumes and the good version passes
    const ra = await outcomeOf(ns, 'inventory', 2, 'succeeded', 90_000);
    expect(ra.status?.actions?.map((a) => a.type)).toEqual(expect.arrayContaining(['verification-held', 'verified']));
    expect(
      (await getDeployment(ns, 'inventory')).metadata.annotations?.['rollguard.io/rolled-back-from'],
    ).toBeUndefined();
  });

  it('treats empty data as the policy says: hold by default, roll back when onNoData is fail', async () => {
    const missing = {
      errorRate: {
        query:
          'sum by (deployment, pod_template_hash) (rate(no_such_metric_total{namespace="{{namespace}}",deployment=~"{{deploymentRegex}}"}[{{window}}]))',
      },
    };
    await applyPolicy(ns, 'nodata-hold', policy('nodata-hold', { metrics: missing }));
    await applyPolicy(
      ns,
      'nodata-fail',
      policy('nodata-fail', { metrics: missing, verification: { onNoData: 'fail' } }),
    );
    await release(ns, 'held', 'nodata-hold', good, 'shop/held:1.0.0');
    await release(ns, 'failing', 'nodata-fail', good, 'shop/failing:1.0.0');
    await release(ns, 'held', 'nodata-hold', good, 'shop/held:1.1.0');
    await release(ns, 'failing', 'nodata-fail', good, 'shop/failing:1.1.0');
    // onNoData: fail — revision 2 is rolled back for want of data
    const failed = await outcomeOf(ns, 'failing', 2, 'rolled-back');
    expect(failed.status?.verification?.steps?.some((s) => s.verdict === 'no-data')).toBe(true);
    // onNoData: hold (the default) — held, never rolled back
    const held = await waitFor('the no-data hold', async () => {
      const a = await assessmentOf(ns, 'held', 2);
      return a?.status?.verification?.state === 'held' ? a : undefined;
    });
    expect(held.status?.outcome).toBe('running');
    expect(held.status?.verification?.message).toMatch(/no data|no series|data/i);
    expect((await getDeployment(ns, 'held')).metadata.annotations?.['rollguard.io/rolled-back-from']).toBeUndefined();
  });

  it('respects the cap on automatic rollbacks', async () => {
    await applyPolicy(ns, 'capped', policy('capped', { rollback: { maxRollbacks: 1, window: '24h' } }));
    await release(ns, 'payments', 'capped', good, 'shop/payments:1.0.0');
    await outcomeOf(ns, 'payments', 1, 'succeeded');
    await release(ns, 'payments', 'capped', errors, 'shop/payments:1.1.0');
    await outcomeOf(ns, 'payments', 2, 'rolled-back');
    await kubectl(['-n', ns, 'rollout', 'status', 'deployment/payments', '--timeout=60s']);
    // A second bad version within the window: failed, but not rolled back
    await release(ns, 'payments', 'capped', errors, 'shop/payments:1.2.0');
    const ra = await outcomeOf(ns, 'payments', 4, 'failed');
    expect(ra.status?.actions?.map((a) => a.type)).toContain('skipped-rollback');
    const skipped = (await eventsOf(ns, 'payments')).find((e) => e.reason === 'RollbackSkipped');
    expect(skipped?.message).toMatch(/maxRollbacks=1/);
    expect((await getDeployment(ns, 'payments')).metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('4');
  });

  it('records a manual undo during verification instead of fighting it', async () => {
    await applyPolicy(ns, 'manual', policy('manual', { verification: { interval: '2s' } }));
    await release(ns, 'reviews', 'manual', good, 'shop/reviews:1.0.0');
    await outcomeOf(ns, 'reviews', 1, 'succeeded');
    await release(ns, 'reviews', 'manual', good, 'shop/reviews:1.1.0');
    await waitFor('verification of revision 2 to start', async () =>
      (await assessmentOf(ns, 'reviews', 2))?.status?.verification?.startedAt ? true : undefined,
    );
    await kubectl(['-n', ns, 'rollout', 'undo', 'deployment/reviews']);
    const ra = await outcomeOf(ns, 'reviews', 2, 'rolled-back');
    expect(ra.status?.actions?.map((a) => a.type)).toContain('rolled-back-by-hand');
    expect(ra.status?.actions?.map((a) => a.type)).not.toContain('rolled-back');
    expect((await eventsOf(ns, 'reviews')).some((e) => e.reason === 'RolloutUndoneByHand')).toBe(true);
    // The undo (revision 3) is verified, not rolled back
    await outcomeOf(ns, 'reviews', 3, 'succeeded');
  });
});

describe('verification across a controller restart', () => {
  let ns = '';
  beforeAll(async () => {
    ns = await createNamespace('verify-restart');
  });
  afterAll(async () => {
    await deleteNamespace(ns);
  });

  it('carries on from the record and rolls back exactly once', async () => {
    await applyPolicy(ns, 'restart', policy('restart', { verification: { failureLimit: 3 } }));
    const first = await startOperator();
    await release(ns, 'shipping', 'restart', good, 'shop/shipping:1.0.0');
    await outcomeOf(ns, 'shipping', 1, 'succeeded');
    await release(ns, 'shipping', 'restart', errors, 'shop/shipping:1.1.0');
    // Kill it after its first failed interval is on record
    await waitFor(
      'a failed interval on record',
      async () =>
        ((await assessmentOf(ns, 'shipping', 2))?.status?.verification?.consecutiveFailures ?? 0) >= 1
          ? true
          : undefined,
      { intervalMs: 100 },
    );
    await first.kill();
    const second = await startOperator();
    try {
      const ra = await outcomeOf(ns, 'shipping', 2, 'rolled-back');
      expect(ra.status?.actions?.filter((a) => a.type === 'rolled-back')).toHaveLength(1);
      await kubectl(['-n', ns, 'rollout', 'status', 'deployment/shipping', '--timeout=60s']);
      await new Promise((resolve) => setTimeout(resolve, 4000));
      const d = await getDeployment(ns, 'shipping');
      expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
      expect((await eventsOf(ns, 'shipping')).filter((e) => e.reason === 'RolledBack')).toHaveLength(1);
    } finally {
      await second.stop();
    }
  });
});
