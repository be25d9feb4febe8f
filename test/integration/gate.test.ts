// The admission gate on a real control plane, in policy mode (a MutatingAdmissionPolicy, Kubernetes 1.36):
// the operator runs with --gate under an identity of its own and installs the gate; every test watches the
// Deployment's Pods from the moment of the apply. A blocked change, a hard-coded credential and a template
// rolled back before start not one Pod until approved; a safe change goes and is verified; replica-only,
// annotation-only and uncovered changes are never paused; a change made while the operator is down waits,
// visibly, and goes once it is back; a bypass ships at once and is recorded.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { riskyChange, safeChange } from '../support/changes.js';
import { operatorIdentity, removeGateObjects, watchPods, type OperatorIdentity } from '../support/gate.js';
import { kubectl, kubectlJson } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import {
  applyPolicy,
  assessmentOf,
  assessmentOutcome,
  deploymentManifest,
  eventsOf,
  getDeployment,
  type DeploymentOptions,
} from '../support/objects.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

const exact = { 'sim.rollguard.io/exact': 'true' };
const good = { ...exact, 'sim.rollguard.io/error-rate': '0.0', 'sim.rollguard.io/latency-ms': '20' };
const errors = { ...exact, 'sim.rollguard.io/error-rate': '0.3', 'sim.rollguard.io/latency-ms': '20' };

/** Fast verification; block pauses for approval (the default), no other level does. */
function policy() {
  const window = { verificationWindow: '10s' };
  return {
    selector: { matchLabels: { team: 'gated' } },
    mode: 'enforce',
    thresholds: { monitor: 0.3, rollbackReady: 0.45, block: 0.6 },
    prometheus: { address: inject('prometheusUrl'), timeout: '2s' },
    metrics: { rateWindow: '10s' },
    verification: { interval: '2s', failureLimit: 2, errorLimit: 2, inconclusiveLimit: 2 },
    levels: {
      safe: window,
      monitor: { ...window, pause: false },
      rollbackReady: { ...window, pause: false },
      block: { ...window, pause: true },
    },
  };
}

/** A Deployment as applied by a user, with the gate's team label and, optionally, Deployment annotations. */
async function apply(o: Omit<DeploymentOptions, 'namespace'> & { deploymentAnnotations?: Record<string, string> }) {
  const manifest = JSON.parse(deploymentManifest({ namespace: ns, labels: { team: 'gated', ...o.labels }, ...o })) as {
    metadata: { annotations?: Record<string, string> };
  };
  if (o.deploymentAnnotations) manifest.metadata.annotations = o.deploymentAnnotations;
  await kubectl(['apply', '-f', '-'], JSON.stringify(manifest));
}

async function rolledOut(name: string) {
  await kubectl(['-n', ns, 'rollout', 'status', `deployment/${name}`, '--timeout=90s']);
}

async function imagesOfReplicaSets(name: string): Promise<string[]> {
  const list = await kubectlJson<{ items: { spec: { template: { spec: { containers: { image: string }[] } } } }[] }>([
    '-n',
    ns,
    'get',
    'replicasets',
    '-l',
    `app=${name}`,
  ]);
  return list.items.map((rs) => rs.spec.template.spec.containers[0]?.image ?? '');
}

async function gateState(name: string, state: string) {
  return waitFor(
    `Deployment ${name} to show rollguard.io/gate=${state}`,
    async () => {
      const d = await getDeployment(ns, name);
      return d.metadata.annotations?.['rollguard.io/gate'] === state ? d : undefined;
    },
    { timeoutMs: 30_000, intervalMs: 200 },
  );
}

let ns = '';
let systemNs = '';
let dir = '';
let identity: OperatorIdentity;
let operator: RunningOperator | undefined;

const gateFlags = {
  policy: ['--gate', '--gate-mode=policy'],
  webhook: ['--gate', '--gate-mode=webhook', '--webhook-address=127.0.0.1:0'],
} as const;

describe.each(['policy', 'webhook'] as const)('the admission gate (%s mode)', (mode) => {
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'rollguard-gate-'));
    systemNs = await createNamespace('gate-system');
    ns = await createNamespace('gate');
    identity = await operatorIdentity(systemNs, dir);
    await applyPolicy(ns, 'guard', policy());
    operator = await startOperator([...gateFlags[mode]], {}, { kubeconfig: identity.kubeconfig });
    const kind = mode === 'policy' ? 'mutatingadmissionpolicybinding' : 'mutatingwebhookconfiguration';
    await waitFor('the gate to be installed', async () =>
      (await kubectl(['get', kind, '-o', 'name'])).includes('rollguard-gate') ? true : undefined,
    );
  });
  afterAll(async () => {
    await operator?.stop();
    await removeGateObjects();
    await identity.cleanup();
    await deleteNamespace(ns);
    await deleteNamespace(systemNs);
    await rm(dir, { recursive: true, force: true });
  });

  it('holds a block-level change before its first Pod until it is approved, then completes it', async () => {
    await apply({ name: 'checkout', annotations: safeChange, image: 'shop/checkout:1.0.0' });
    await rolledOut('checkout');
    const pods = await watchPods(ns, 'checkout');
    try {
      // When a sprawling, untested hotfix is applied
      await apply({ name: 'checkout', annotations: riskyChange, image: 'shop/checkout:1.1.0' });
      // Then the API server paused it in the same request, and rollguard holds it for approval
      const held = await gateState('checkout', 'held');
      expect(held.spec.paused).toBe(true);
      expect(held.metadata.annotations?.['rollguard.io/risk-level']).toBe('block');
      expect(held.metadata.annotations?.['rollguard.io/paused-revision']).toBe('2');
      expect(held.metadata.annotations?.['rollguard.io/gate-pending-since']).toMatch(/^\d{4}-\d\d-\d\dT/);
      const paused = (await eventsOf(ns, 'checkout')).find((e) => e.reason === 'RolloutPaused');
      expect(paused?.message).toContain('kubectl annotate deployment/checkout rollguard.io/approve=2');
      const ra = await assessmentOf(ns, 'checkout', 2);
      expect(ra?.spec.podTemplateHash).toBe('pending');
      expect(ra?.status?.actions?.map((a) => a.type)).toEqual(expect.arrayContaining(['paused', 'gate-held']));
      // Not one Pod and no ReplicaSet of the new template, a while after the hold
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(await imagesOfReplicaSets('checkout')).not.toContain('shop/checkout:1.1.0');
      expect(pods.withImage('shop/checkout:1.1.0')).toEqual([]);

      // When someone approves revision 2
      await kubectl(['-n', ns, 'annotate', 'deployment/checkout', 'rollguard.io/approve=2', '--overwrite']);
      // Then it rolls out, as revision 2, and its assessment learns the real pod-template-hash
      await rolledOut('checkout');
      expect(pods.withImage('shop/checkout:1.1.0').length).toBeGreaterThan(0);
      const passed = await gateState('checkout', 'passed');
      expect(passed.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
      const adopted = await waitFor('the assessment to carry the ReplicaSet hash', async () => {
        const a = await assessmentOf(ns, 'checkout', 2);
        return a && a.spec.podTemplateHash !== 'pending' ? a : undefined;
      });
      expect(adopted.status?.approval?.revision).toBe(2);
      expect([...pods.seen().values()].some((p) => p.hash === adopted.spec.podTemplateHash)).toBe(true);
    } finally {
      await pods.stop();
    }
  });

  it('holds a template with a hard-coded credential before its first Pod', async () => {
    await apply({ name: 'billing', annotations: safeChange, image: 'shop/billing:1.0.0' });
    await rolledOut('billing');
    const pods = await watchPods(ns, 'billing');
    try {
      await apply({
        name: 'billing',
        annotations: safeChange,
        image: 'shop/billing:1.0.1',
        env: [{ name: 'AWS_ACCESS_KEY_ID', value: 'AKIAIOSFODNN7EXAMPLE' }],
      });
      const held = await gateState('billing', 'held');
      expect(held.spec.paused).toBe(true);
      expect(held.metadata.annotations?.['rollguard.io/risk-reasons']).toContain('AWS_ACCESS_KEY_ID');
      expect(held.metadata.annotations?.['rollguard.io/risk-reasons']).not.toContain('AKIAIOSFODNN7EXAMPLE');
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(await imagesOfReplicaSets('billing')).not.toContain('shop/billing:1.0.1');
      expect(pods.withImage('shop/billing:1.0.1')).toEqual([]);
      await kubectl(['-n', ns, 'annotate', 'deployment/billing', 'rollguard.io/approve=2', '--overwrite']);
      await rolledOut('billing');
      expect(pods.withImage('shop/billing:1.0.1').length).toBeGreaterThan(0);
    } finally {
      await pods.stop();
    }
  });

  it('lets a safe change through at once; it completes and is verified as without the gate', async () => {
    await apply({ name: 'catalog', annotations: { ...safeChange, ...good }, image: 'shop/catalog:1.0.0' });
    await assessmentOutcome(ns, 'catalog', 1, 'succeeded');
    await apply({ name: 'catalog', annotations: { ...safeChange, ...good }, image: 'shop/catalog:1.1.0' });
    const passed = await gateState('catalog', 'passed');
    expect(passed.metadata.annotations?.['rollguard.io/gate-pending-since']).toBeUndefined();
    await rolledOut('catalog');
    const ra = await assessmentOutcome(ns, 'catalog', 2, 'succeeded');
    expect(ra.spec.podTemplateHash).not.toBe('pending');
    expect(ra.status?.actions?.map((a) => a.type)).toContain('gate-passed');
    expect(ra.status?.verification?.state).toBe('passed');
    expect((await eventsOf(ns, 'catalog')).some((e) => e.reason === 'GatePassed')).toBe(true);
  });

  it('never pauses replica-only or annotation-only changes, nor Deployments no policy covers', async () => {
    await apply({ name: 'search', annotations: safeChange, image: 'shop/search:1.0.0' });
    await rolledOut('search');
    await apply({ name: 'search', annotations: safeChange, image: 'shop/search:1.0.0', replicas: 3 });
    let d = await getDeployment(ns, 'search');
    expect(d.spec.paused).not.toBe(true);
    expect(d.metadata.annotations?.['rollguard.io/gate']).toBeUndefined();
    await kubectl(['-n', ns, 'annotate', 'deployment/search', 'owner=search-team']);
    await kubectl(['-n', ns, 'label', 'deployment/search', 'tier=backend']);
    d = await getDeployment(ns, 'search');
    expect(d.spec.paused).not.toBe(true);
    expect(d.metadata.annotations?.['rollguard.io/gate']).toBeUndefined();

    // A Deployment no policy covers (another team's label) rolls out untouched.
    await apply({ name: 'ledger', labels: { team: 'finance' }, annotations: riskyChange, image: 'shop/ledger:1' });
    await rolledOut('ledger');
    await apply({ name: 'ledger', labels: { team: 'finance' }, annotations: riskyChange, image: 'shop/ledger:2' });
    d = await getDeployment(ns, 'ledger');
    expect(d.spec.paused).not.toBe(true);
    expect(d.metadata.annotations?.['rollguard.io/gate']).toBeUndefined();
    await rolledOut('ledger');
  });

  it('holds a template rolled back before when it is applied again, with the reason', async () => {
    await apply({ name: 'cart', annotations: { ...safeChange, ...good }, image: 'shop/cart:1.0.0' });
    await assessmentOutcome(ns, 'cart', 1, 'succeeded');
    // A version that answers 30 % of requests with errors goes out (its description says safe) ...
    await apply({ name: 'cart', annotations: { ...safeChange, ...errors }, image: 'shop/cart:1.1.0' });
    // ... and rollguard rolls it back (its own undo passes the gate)
    await assessmentOutcome(ns, 'cart', 2, 'rolled-back');
    await rolledOut('cart');
    await waitFor('the bad version to be gone', async () => {
      const list = await kubectlJson<{ items: { spec: { containers: { image: string }[] } }[] }>([
        '-n',
        ns,
        'get',
        'pods',
        '-l',
        'app=cart',
      ]);
      return list.items.every((p) => p.spec.containers[0]?.image !== 'shop/cart:1.1.0') ? true : undefined;
    });
    const pods = await watchPods(ns, 'cart');
    try {
      // When a GitOps re-sync (or a CI retry) applies the bad template again
      await apply({ name: 'cart', annotations: { ...safeChange, ...errors }, image: 'shop/cart:1.1.0' });
      // Then the gate holds it, saying when and why it was rolled back
      const held = await gateState('cart', 'held');
      expect(held.spec.paused).toBe(true);
      expect(held.metadata.annotations?.['rollguard.io/risk-reasons']).toMatch(/was rolled back at .* as revision 2/);
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(pods.withImage('shop/cart:1.1.0')).toEqual([]);
      const ra = await assessmentOf(ns, 'cart', 4);
      expect(ra?.status?.hardRules?.[0]).toMatch(/rolled back/);
    } finally {
      await pods.stop();
    }
  });

  it('with the operator down a change waits, paused and marked pending (policy), or goes ungated (webhook, Ignore); once back it is assessed', async () => {
    await apply({ name: 'profile', annotations: safeChange, image: 'shop/profile:1.0.0' });
    await rolledOut('profile');
    await operator?.stop();
    operator = undefined;
    if (mode === 'webhook') {
      // failurePolicy Ignore: a stopped operator blocks nobody; the change is assessed once rollguard is back.
      await apply({ name: 'profile', annotations: safeChange, image: 'shop/profile:1.1.0' });
      const through = await getDeployment(ns, 'profile');
      expect(through.spec.paused).not.toBe(true);
      expect(through.metadata.annotations?.['rollguard.io/gate']).toBeUndefined();
      await rolledOut('profile');
      operator = await startOperator([...gateFlags[mode]], {}, { kubeconfig: identity.kubeconfig });
      const assessed = await waitFor('revision 2 to be assessed once rollguard is back', async () => {
        const a = await assessmentOf(ns, 'profile', 2);
        return a?.status?.level ? a : undefined;
      });
      expect(assessed.status?.level).toBe('safe');
      return;
    }
    const pods = await watchPods(ns, 'profile');
    try {
      await apply({ name: 'profile', annotations: safeChange, image: 'shop/profile:1.1.0' });
      const waiting = await getDeployment(ns, 'profile');
      expect(waiting.spec.paused).toBe(true);
      expect(waiting.metadata.annotations?.['rollguard.io/gate']).toBe('pending');
      expect(waiting.metadata.annotations?.['rollguard.io/gate-pending-since']).toMatch(/^\d{4}-\d\d-\d\dT/);
      const status = await kubectl(['-n', ns, 'get', 'deployment', 'profile', '-o', 'wide']);
      expect(status).toContain('profile');
      await new Promise((resolve) => setTimeout(resolve, 3000));
      expect(pods.withImage('shop/profile:1.1.0')).toEqual([]);

      operator = await startOperator([...gateFlags[mode]], {}, { kubeconfig: identity.kubeconfig });
      await gateState('profile', 'passed');
      await rolledOut('profile');
      expect(pods.withImage('shop/profile:1.1.0').length).toBeGreaterThan(0);
    } finally {
      await pods.stop();
    }
  });

  it('a bypass in the same apply ships at once, and is recorded on the assessment and as a Warning', async () => {
    await apply({ name: 'payments', annotations: safeChange, image: 'shop/payments:1.0.0' });
    await rolledOut('payments');
    await apply({
      name: 'payments',
      annotations: riskyChange,
      image: 'shop/payments:1.0.1',
      deploymentAnnotations: { 'rollguard.io/gate-bypass': 'INC-4711: card payments down, hotfix' },
    });
    const d = await getDeployment(ns, 'payments');
    expect(d.spec.paused).not.toBe(true);
    await rolledOut('payments');
    const bypassed = await gateState('payments', 'bypassed');
    expect(bypassed.spec.paused).not.toBe(true);
    const ra = await waitFor('the bypass to be recorded', async () => {
      const a = await assessmentOf(ns, 'payments', 2);
      return a?.status?.actions?.some((x) => x.type === 'gate-bypassed') ? a : undefined;
    });
    expect(ra.status?.level).toBe('block');
    expect(ra.status?.actions?.find((x) => x.type === 'gate-bypassed')?.message).toContain('INC-4711');
    const warning = (await eventsOf(ns, 'payments')).find((e) => e.reason === 'GateBypassed');
    expect(warning?.type).toBe('Warning');
    expect(warning?.message).toContain('INC-4711');
  });
});
