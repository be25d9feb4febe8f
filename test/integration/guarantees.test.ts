// The promise that every new revision of a covered Deployment is guarded, tried the way a careful reviewer
// would break it, on the real control plane (and a real Prometheus for verification): a Deployment deleted and
// created again under the same name is assessed anew; the same Deployment name in two namespaces gets its own
// Events; the Event that carries the approve command survives a crash; a template that was rolled back is held
// when it comes back; a query the policy got wrong holds verification and says so on the policy, never rolls
// back; a reading a little below zero never stalls a rollout's record; rollouts that start together in one
// namespace each get their own service's live signals, though they may share the queries that read them.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { riskyChange, safeChange } from '../support/changes.js';
import { kubectl, kubectlJson } from '../support/kubectl.js';
import { startHangableProxy } from '../harness/tcp-proxy.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import {
  applyDeployment,
  applyPolicy,
  assessmentOf,
  assessmentOutcome as outcomeOf,
  assessmentsOf,
  deploymentManifest,
  getDeployment,
  type DeploymentView,
} from '../support/objects.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

interface EventWithUid {
  reason: string;
  message: string;
  involvedObject: { uid?: string };
}

/** rollguard's Events about a Deployment, with the uid of the Deployment each is about. */
async function rollguardEvents(namespace: string, name: string): Promise<EventWithUid[]> {
  const list = await kubectlJson<{ items: (EventWithUid & { reportingComponent?: string })[] }>([
    '-n',
    namespace,
    'get',
    'events',
    '--field-selector',
    `involvedObject.kind=Deployment,involvedObject.name=${name}`,
  ]);
  return list.items.filter((e) => e.reportingComponent === 'rollguard.io/controller');
}

async function uidOf(namespace: string, name: string): Promise<string> {
  return (await kubectlJson<{ metadata: { uid: string } }>(['-n', namespace, 'get', 'deployment', name])).metadata.uid;
}

async function annotated(namespace: string, name: string, revision: number): Promise<DeploymentView> {
  return waitFor(
    `Deployment ${name} to carry the assessment of revision ${revision}`,
    async () => {
      const d = await getDeployment(namespace, name);
      return d.metadata.annotations?.['rollguard.io/assessed-revision'] === String(revision) ? d : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

async function pausedWithEvent(namespace: string, name: string, revision: number): Promise<EventWithUid> {
  await waitFor(`${namespace}/${name} to be paused`, async () =>
    (await getDeployment(namespace, name)).spec.paused === true ? true : undefined,
  );
  return waitFor(`the RolloutPaused Event of ${namespace}/${name}`, async () =>
    (await rollguardEvents(namespace, name)).find(
      (e) => e.reason === 'RolloutPaused' && e.message.includes(`rollguard.io/approve=${revision}`),
    ),
  );
}

const enforce = {
  selector: { matchLabels: { 'rollguard.io/enabled': 'true' } },
  mode: 'enforce',
  thresholds: { monitor: 0.3, rollbackReady: 0.45, block: 0.6 },
};

describe('every revision guarded: identity, Events and crashes', () => {
  let ns = '';
  let other = '';
  let operator: RunningOperator;
  beforeAll(async () => {
    ns = await createNamespace('identity');
    other = await createNamespace('identity-b');
    await applyPolicy(ns, 'guard', enforce);
    await applyPolicy(other, 'guard', enforce);
    operator = await startOperator();
  });
  afterAll(async () => {
    await operator.stop();
    await deleteNamespace(ns);
    await deleteNamespace(other);
  });

  it('assesses a Deployment deleted and created again under the same name anew, and blocks its credential', async () => {
    // Given api, assessed at revisions 1 and 2, then deleted
    await applyDeployment({ namespace: ns, name: 'api', annotations: safeChange });
    await annotated(ns, 'api', 1);
    await applyDeployment({ namespace: ns, name: 'api', annotations: safeChange, image: 'shop/api:1.1.0' });
    await annotated(ns, 'api', 2);
    const oldUid = await uidOf(ns, 'api');
    await kubectl(['-n', ns, 'delete', 'deployment', 'api', '--wait=true']);

    // When it is created again, and its revision 2 hard-codes a credential
    await applyDeployment({ namespace: ns, name: 'api', annotations: safeChange });
    const first = await annotated(ns, 'api', 1);
    const newUid = await uidOf(ns, 'api');
    expect(newUid).not.toBe(oldUid);
    // Then revision 1 has an assessment of its own, beside the old one's
    const fresh = first.metadata.annotations?.['rollguard.io/assessment'] ?? '';
    expect(fresh).toMatch(/^api-1-[0-9a-f]{8}$/);
    const records = await assessmentsOf(ns, 'api');
    expect(
      records
        .filter((r) => r.spec.revision === 1)
        .map((r) => r.metadata.name)
        .sort(),
    ).toEqual(['api-1', fresh].sort());
    expect(records.find((r) => r.metadata.name === fresh)?.metadata.labels?.['rollguard.io/deployment-uid']).toBe(
      newUid,
    );

    await applyDeployment({
      namespace: ns,
      name: 'api',
      annotations: safeChange,
      image: 'shop/api:1.1.0',
      env: [{ name: 'AWS_ACCESS_KEY_ID', value: 'AKIAIOSFODNN7EXAMPLE' }],
    });
    // Then revision 2 is assessed anew: blocked by the hard rule, and paused with the approve command
    const d = await annotated(ns, 'api', 2);
    expect(d.metadata.annotations?.['rollguard.io/risk-level']).toBe('block');
    expect(d.metadata.annotations?.['rollguard.io/risk-reasons']).toContain('AWS_ACCESS_KEY_ID');
    const paused = await pausedWithEvent(ns, 'api', 2);
    expect(paused.involvedObject.uid).toBe(newUid);
  });

  it("pauses two namespaces' Deployments of the same name, each with its own RolloutPaused Event", async () => {
    await applyDeployment({ namespace: ns, name: 'orders', annotations: riskyChange });
    await applyDeployment({ namespace: other, name: 'orders', annotations: riskyChange });
    const [a, b] = await Promise.all([pausedWithEvent(ns, 'orders', 1), pausedWithEvent(other, 'orders', 1)]);
    expect(a.message).toContain('kubectl annotate deployment/orders rollguard.io/approve=1');
    expect(b.message).toContain('kubectl annotate deployment/orders rollguard.io/approve=1');
  });

  it('has the RolloutPaused Event after a crash between the pause and the Event', async () => {
    await applyDeployment({ namespace: ns, name: 'ledger', annotations: riskyChange });
    await pausedWithEvent(ns, 'ledger', 1);
    await waitFor('the pause to be recorded', async () =>
      (await assessmentOf(ns, 'ledger', 1))?.status?.actions?.some((a) => a.type === 'paused') ? true : undefined,
    );
    // What a crash right after the pause leaves behind: the pause and its record, and no Event.
    await operator.kill();
    await kubectl([
      '-n',
      ns,
      'delete',
      'events',
      '--field-selector',
      'involvedObject.name=ledger,reason=RolloutPaused',
    ]);
    expect((await rollguardEvents(ns, 'ledger')).some((e) => e.reason === 'RolloutPaused')).toBe(false);
    operator = await startOperator();
    const event = await pausedWithEvent(ns, 'ledger', 1);
    expect(event.message).toContain('kubectl annotate deployment/ledger rollguard.io/approve=1');
    // Still paused once, recorded once
    const ra = await assessmentOf(ns, 'ledger', 1);
    expect(ra?.status?.actions?.filter((a) => a.type === 'paused')).toHaveLength(1);
  });
});

// Verification: short intervals and windows so each case runs in about a minute.
const good = { 'sim.rollguard.io/error-rate': '0.0', 'sim.rollguard.io/latency-ms': '20' };
const errors = { 'sim.rollguard.io/error-rate': '0.3', 'sim.rollguard.io/latency-ms': '20' };
const describedChange = {
  'rollguard.io/change-type': 'feature',
  'rollguard.io/lines-added': '20',
  'rollguard.io/test-coverage': '90',
};

function verifyingPolicy(team: string, overrides: { metrics?: object; verification?: object } = {}) {
  const window = { verificationWindow: '12s', pause: false };
  return {
    selector: { matchLabels: { team } },
    mode: 'enforce',
    prometheus: { address: inject('prometheusUrl'), timeout: '2s' },
    metrics: { rateWindow: '10s', ...overrides.metrics },
    verification: { interval: '2s', failureLimit: 2, errorLimit: 2, inconclusiveLimit: 2, ...overrides.verification },
    // block pauses for approval, as by default; the other levels verify without a pause.
    levels: { safe: window, monitor: window, rollbackReady: window, block: { verificationWindow: '12s' } },
  };
}

async function release(namespace: string, name: string, team: string, behaviour: object, image: string) {
  await applyDeployment({
    namespace,
    name,
    labels: { team },
    annotations: { ...describedChange, ...behaviour },
    image,
  });
}

/** The live-signal queries the operator has sent, from its /metrics. */
async function liveSignalQueries(metricsUrl: string): Promise<number> {
  const text = await (await fetch(`${metricsUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter(
      (l) => l.startsWith('rollguard_prometheus_query_duration_seconds_count{') && l.includes('purpose="live-signals"'),
    )
    .reduce((sum, l) => sum + Number(l.split(' ').at(-1)), 0);
}

interface PolicyView {
  status?: { conditions?: { type: string; status: string; reason: string; message: string }[] };
}

describe('every revision guarded: verification', () => {
  let ns = '';
  let operator: RunningOperator;
  beforeAll(async () => {
    ns = await createNamespace('guarantees');
    operator = await startOperator();
  });
  afterAll(async () => {
    await operator.stop();
    await deleteNamespace(ns);
  });

  it('holds a template that was rolled back when CI applies it again, saying when and why', async () => {
    await applyPolicy(ns, 'again', verifyingPolicy('again'));
    await release(ns, 'cart', 'again', good, 'shop/cart:1.0.0');
    await outcomeOf(ns, 'cart', 1, 'succeeded');
    await release(ns, 'cart', 'again', errors, 'shop/cart:1.1.0');
    await outcomeOf(ns, 'cart', 2, 'rolled-back');
    await kubectl(['-n', ns, 'rollout', 'status', 'deployment/cart', '--timeout=60s']);
    // When the pipeline (or a GitOps sync) applies the bad version again
    await release(ns, 'cart', 'again', errors, 'shop/cart:1.1.0');
    // Then revision 4 is not waved through as "a rollback": block, paused, with when and why
    const d = await annotated(ns, 'cart', 4);
    expect(d.metadata.annotations?.['rollguard.io/risk-level']).toBe('block');
    expect(d.metadata.annotations?.['rollguard.io/risk-reasons']).toMatch(
      /this pod template was rolled back at \d{4}-\d\d-\d\dT[\d:.]+Z as revision 2: error ratio/,
    );
    const event = await pausedWithEvent(ns, 'cart', 4);
    expect(event.message).toMatch(/rolled back at .* as revision 2/);
    const ra = await assessmentOf(ns, 'cart', 4);
    expect(ra?.status?.hardRules?.[0]).toMatch(/^this pod template was rolled back at /);
  });

  it("holds verification on a query Prometheus rejects, and says so in the policy's Ready condition", async () => {
    // A query the schema accepts but Prometheus refuses (bad_data): a trailing operator.
    const broken =
      'sum by (deployment, pod_template_hash) (rate(http_requests_total{namespace="{{namespace}}",deployment=~"{{deploymentRegex}}"}[{{window}}])) +';
    await applyPolicy(
      ns,
      'badquery',
      verifyingPolicy('badquery', {
        metrics: { errorRate: { query: broken } },
        verification: { errorLimit: 1, onProviderError: 'fail' },
      }),
    );
    await release(ns, 'search', 'badquery', good, 'shop/search:1.0.0');
    const held = await waitFor(
      'verification to hold',
      async () => {
        const a = await assessmentOf(ns, 'search', 1);
        return a?.status?.verification?.state === 'held' ? a : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    );
    expect(held.status?.verification?.message).toMatch(/the policy's query is at fault, not the rollout/);
    const ready = await waitFor('the policy to say why', async () => {
      const p = await kubectlJson<PolicyView>(['-n', ns, 'get', 'drp', 'badquery']);
      const c = p.status?.conditions?.find((x) => x.type === 'Ready');
      return c?.reason === 'QueryRejected' ? c : undefined;
    });
    expect(ready.status).toBe('False');
    expect(ready.message).toMatch(/spec\.metrics\.errorRate\.query: .*bad_data/);
    // Intervals later, still no verdict against the rollout
    await new Promise((resolve) => setTimeout(resolve, 6000));
    const later = await assessmentOf(ns, 'search', 1);
    expect(later?.status?.outcome).toBe('running');
    expect(later?.status?.actions?.map((a) => a.type) ?? []).not.toContain('skipped-rollback');
  });

  it('gives each of several rollouts started together its own service’s latency, from queries they share', async () => {
    // Prometheus answers 0.4 s late here, so the three assessments' reads overlap, as they do on a busy cluster.
    const proxy = await startHangableProxy('127.0.0.1', Number(new URL(inject('prometheusUrl')).port));
    try {
      const spec = verifyingPolicy('together');
      await applyPolicy(ns, 'together', {
        ...spec,
        prometheus: { ...spec.prometheus, address: `http://${proxy.address}` },
      });
      // p99 about 1.8 × the median: near 36 ms, 180 ms and 540 ms, in three different histogram buckets.
      const medians = { fast: '20', middling: '100', slow: '300' };
      // Three kubectl applies at once, not one apply of a List: kubectl sends a List's items one after another,
      // and on a busy machine they can reach the operator further apart than one query takes.
      const applyAll = (version: string) =>
        Promise.all(
          Object.entries(medians).map(([name, latencyMs]) =>
            kubectl(
              ['apply', '-f', '-'],
              deploymentManifest({
                namespace: ns,
                name,
                labels: { team: 'together' },
                annotations: { ...describedChange, ...good, 'sim.rollguard.io/latency-ms': latencyMs },
                image: `shop/${name}:${version}`,
              }),
            ),
          ),
        );
      await applyAll('1.0.0');
      for (const name of Object.keys(medians)) await outcomeOf(ns, name, 1, 'succeeded');
      proxy.slow(200);
      const queriesBefore = await liveSignalQueries(operator.metricsUrl);
      // The three new revisions reach the operator within moments of each other.
      await applyAll('1.0.1');
      const before: Record<string, number | undefined> = {};
      for (const name of Object.keys(medians)) {
        const ra = await waitFor(`${name} revision 2 to be assessed`, async () => {
          const found = await assessmentOf(ns, name, 2);
          return found?.status?.score === undefined ? undefined : found;
        });
        before[name] = ra.status?.features?.latency_p99_before;
      }
      // Each reads its own service, not a neighbour's from the shared answer.
      expect(before.fast).toBeGreaterThan(0.01);
      expect(before.fast).toBeLessThanOrEqual(0.05);
      expect(before.middling).toBeGreaterThan(0.1);
      expect(before.middling).toBeLessThanOrEqual(0.3);
      expect(before.slow).toBeGreaterThan(0.3);
      expect(before.slow).toBeLessThanOrEqual(1);
      // Two metrics for three rollouts: six queries if each asked alone.
      const sent = (await liveSignalQueries(operator.metricsUrl)) - queriesBefore;
      expect(sent).toBeGreaterThanOrEqual(2);
      expect(sent).toBeLessThan(6);
    } finally {
      // Their verification would go on asking a proxy that is gone.
      await kubectl(['-n', ns, 'delete', 'deployment', 'fast', 'middling', 'slow', '--ignore-not-found']);
      await proxy.close();
    }
  });

  it('records a reading a little below zero as 0 and verifies the rollout', async () => {
    // `... - 0.001`: with no errors the error ratio reads -0.001, as two series scraped apart can.
    const dipping = {
      errorRate: {
        query:
          '(sum by (deployment, pod_template_hash) (rate(http_requests_total{namespace="{{namespace}}",deployment=~"{{deploymentRegex}}",code=~"5.."}[{{window}}])) / sum by (deployment, pod_template_hash) (rate(http_requests_total{namespace="{{namespace}}",deployment=~"{{deploymentRegex}}"}[{{window}}]))) - 0.001',
      },
    };
    await applyPolicy(ns, 'dip', verifyingPolicy('dip', { metrics: dipping }));
    await release(ns, 'profile', 'dip', good, 'shop/profile:1.0.0');
    await outcomeOf(ns, 'profile', 1, 'succeeded');
    await release(ns, 'profile', 'dip', good, 'shop/profile:1.0.1');
    const ra = await outcomeOf(ns, 'profile', 2, 'succeeded');
    expect(ra.status?.features?.error_rate_before).toBe(0);
    expect(ra.status?.verification?.state).toBe('passed');
    const steps = ra.status?.verification?.steps?.filter((s) => s.metric === 'error-rate' && s.verdict === 'pass');
    expect(steps?.[0]?.value).toBeCloseTo(-0.001, 6);
  });
});
