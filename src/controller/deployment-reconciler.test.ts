// The Deployment reconciler over an in-memory cluster (testing.ts): what a new rollout leaves behind — the
// RolloutAssessment, the Deployment's annotations and pause, the Events — and what it costs in API calls and
// status writes; that a second pass over the same state writes nothing; that approval resumes the rollout;
// and that the verification pass is queued and routed to the verifier with the assessment's record.
import type { V1Container, V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import pino from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { AssessmentObject, PolicyObject } from '../api/objects.js';
import { DeploymentEvents } from '../kube/events.js';
import { OperatorMetrics } from '../telemetry/metrics.js';
import { DeploymentReconciler } from './deployment-reconciler.js';
import type { LiveSignalSource } from './revision-assessor.js';
import { PrefetchingLiveSignals } from './live-signal-prefetch.js';
import type { PrometheusAccess } from './prometheus-access.js';
import { MemoryCluster } from './testing.js';
import { VerificationBatcher } from './verification-batcher.js';
import { Verifier } from './verifier.js';

const now = new Date('2026-12-01T10:00:00Z');
const owner = { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u1', controller: true };

function template(containers: V1Container[]) {
  return { metadata: { labels: { app: 'web' } }, spec: { containers } };
}

const safe = [{ name: 'web', image: 'shop/web:1.4.2' }];
const upgraded = [{ name: 'web', image: 'shop/web:1.5.0' }];
const withPassword = [
  { name: 'web', image: 'shop/web:1.4.2', env: [{ name: 'DB_PASSWORD', value: 'hunter2-is-long' }] },
];

function replicaSet(revision: number, hash: string, containers: V1Container[]): V1ReplicaSet {
  const t = template(containers);
  return {
    metadata: {
      name: `web-${hash}`,
      namespace: 'shop',
      labels: { app: 'web', 'pod-template-hash': hash },
      annotations: { 'deployment.kubernetes.io/revision': String(revision) },
      ownerReferences: [owner],
    },
    spec: { selector: {}, template: { ...t, metadata: { labels: { app: 'web', 'pod-template-hash': hash } } } },
  };
}

function deployment(revision: number, containers: V1Container[]): V1Deployment {
  return {
    metadata: {
      name: 'web',
      namespace: 'shop',
      uid: 'u1',
      labels: { app: 'web' },
      annotations: { 'deployment.kubernetes.io/revision': String(revision) },
    },
    spec: { replicas: 2, selector: {}, template: template(containers) },
  };
}

const policy: PolicyObject = {
  apiVersion: 'rollguard.io/v1alpha1',
  kind: 'DeploymentRiskPolicy',
  metadata: { name: 'guard', namespace: 'shop', creationTimestamp: new Date('2026-11-01T00:00:00Z') },
  spec: { selector: { matchLabels: { app: 'web' } }, mode: 'enforce' },
};

/**
 * A cluster with revision 1 running and revision 2 (`next`) just created by the Deployment controller, or with
 * `pending`, the template changed to `next` and its ReplicaSet not yet created.
 */
function setup(
  next: V1Container[],
  clock: () => Date = () => now,
  options: { live?: LiveSignalSource; policy?: PolicyObject; pending?: boolean } = {},
) {
  const cluster = new MemoryCluster();
  cluster.putPolicy(options.policy ?? policy);
  cluster.putReplicaSet(replicaSet(1, 'old111', safe));
  if (options.pending === true) {
    cluster.putDeployment(deployment(1, next));
  } else {
    cluster.putReplicaSet(replicaSet(2, 'new222', next));
    cluster.putDeployment(deployment(2, next));
  }
  const verifications: string[] = [];
  const events = new DeploymentEvents(cluster);
  const metrics = new OperatorMetrics();
  const verifier = new Verifier({
    caches: cluster,
    writer: cluster,
    events,
    access: { providerFor: () => Promise.reject(new Error('no Prometheus here')) } as unknown as PrometheusAccess,
    batcher: new VerificationBatcher(),
    metrics,
    clock: () => now,
  });
  const reconciler = new DeploymentReconciler({
    caches: cluster,
    writer: cluster,
    events,
    live: options.live ?? { sample: () => Promise.resolve({ unavailable: 'not asked' }) },
    model: { current: () => undefined },
    metrics,
    logger: pino({ level: 'silent' }),
    clock,
    verifier,
    requestVerification: (namespace, name) => verifications.push(`${namespace}/${name}`),
  });
  return { cluster, reconciler, verifications, metrics };
}

describe('DeploymentReconciler: a new rollout', () => {
  it('records the assessment, annotates the Deployment and says so, in a counted number of API calls', async () => {
    const t = setup(safe);
    expect(await t.reconciler.reconcile('shop', 'web')).toEqual({});

    const assessment = t.cluster.assessment('shop', 'web-2');
    expect(assessment?.spec).toMatchObject({
      deployment: 'web',
      revision: 2,
      podTemplateHash: 'new222',
      policy: 'guard',
    });
    expect(assessment?.status).toMatchObject({ outcome: 'running', mode: 'enforce', scorer: 'rules' });
    expect(assessment?.status?.actions?.map((a) => a.type)).toEqual(['annotated']);
    const annotations = t.cluster.deployment('shop', 'web')?.metadata?.annotations ?? {};
    expect(annotations['rollguard.io/assessment']).toBe('web-2');
    expect(annotations['rollguard.io/risk-level']).toBe(assessment?.status?.level);
    expect(t.cluster.deployment('shop', 'web')?.spec?.paused).toBeUndefined();
    expect(t.cluster.events.map((e) => e.reason)).toEqual(['RiskAssessed']);
    expect(t.verifications).toEqual(['shop/web']);

    // What one new rollout costs: the assessment created and its status written once (the score with the
    // action), the Deployment patched once, one Event. No read.
    expect(t.cluster.count({ resource: 'rolloutassessments', verb: 'create' })).toBe(1);
    expect(t.cluster.count({ resource: 'rolloutassessments', verb: 'patch-status' })).toBe(1);
    expect(t.cluster.count({ resource: 'rolloutassessments', verb: 'get' })).toBe(0);
    expect(t.cluster.count({ resource: 'deployments' })).toBe(1);
    expect(t.cluster.count({ resource: 'events' })).toBe(1);
    expect(t.cluster.count()).toBe(4);
  });

  /** Changed to `upgraded`, its ReplicaSet not made yet, under a policy with Prometheus; records what is read. */
  function pendingWithPrometheus() {
    const asked: string[][] = [];
    const live = new PrefetchingLiveSignals({
      sample: (_policy, _namespace, _deployment, hashes) => {
        asked.push([...hashes]);
        return Promise.resolve({ errorRate: 0.012, latencyP99Seconds: 0.3 });
      },
    });
    const withPrometheus: PolicyObject = {
      ...policy,
      spec: {
        selector: { matchLabels: { app: 'web' } },
        mode: 'enforce',
        prometheus: { address: 'http://prometheus:9090' },
      },
    };
    return { asked, live, ...setup(upgraded, () => now, { live, policy: withPrometheus, pending: true }) };
  }

  it('reads the service’s signals when the template changes, and assesses the new revision with that reading', async () => {
    const t = pendingWithPrometheus();
    // The template changed; its ReplicaSet does not exist yet. Nothing is written, the old version is read.
    expect(await t.reconciler.reconcile('shop', 'web')).toEqual({});
    await t.reconciler.reconcile('shop', 'web');
    expect(t.cluster.count()).toBe(0);
    expect(t.asked).toEqual([['old111']]);

    // The Deployment controller creates it: the assessment takes that reading, and reads nothing more.
    t.cluster.putReplicaSet(replicaSet(2, 'new222', upgraded));
    t.cluster.putDeployment(deployment(2, upgraded));
    await t.reconciler.reconcile('shop', 'web');
    expect(t.asked).toEqual([['old111']]);
    expect(t.cluster.assessment('shop', 'web-2')?.status?.features).toMatchObject({
      error_rate_before: 0.012,
      latency_p99_before: 0.3,
    });
    expect(t.live.waiting).toBe(0);
  });

  it('does not read the service for a changed template while the Deployment is paused', async () => {
    const t = pendingWithPrometheus();
    const paused = t.cluster.deployment('shop', 'web');
    if (paused?.spec) paused.spec.paused = true;
    await t.reconciler.reconcile('shop', 'web');
    expect(t.asked).toEqual([]);
    expect(t.cluster.count()).toBe(0);
  });

  it('changes nothing on a second pass over the same state', async () => {
    const t = setup(safe);
    await t.reconciler.reconcile('shop', 'web');
    t.cluster.resetCalls();
    await t.reconciler.reconcile('shop', 'web');
    expect(t.cluster.calls.filter((c) => c.verb !== 'get')).toEqual([]);
    expect(t.cluster.events).toHaveLength(1);
  });

  it('pauses a blocked rollout for approval, and resumes it when the revision is approved', async () => {
    const t = setup(withPassword);
    await t.reconciler.reconcile('shop', 'web');
    const paused = t.cluster.deployment('shop', 'web');
    expect(paused?.spec?.paused).toBe(true);
    expect(paused?.metadata?.annotations?.['rollguard.io/paused-revision']).toBe('2');
    expect(t.cluster.assessment('shop', 'web-2')?.status).toMatchObject({ level: 'block', phase: 'Paused' });
    expect(t.cluster.events.map((e) => e.reason)).toEqual(['RiskAssessed', 'RolloutPaused']);
    // The pause costs no more status writes than a safe rollout: it is recorded with the annotation.
    expect(t.cluster.count({ resource: 'rolloutassessments', verb: 'patch-status' })).toBe(2);
    expect(t.cluster.count()).toBe(6);

    await t.cluster.mergePatchDeployment('shop', 'web', { metadata: { annotations: { 'rollguard.io/approve': '2' } } });
    await t.reconciler.reconcile('shop', 'web');
    const resumed = t.cluster.deployment('shop', 'web');
    expect(resumed?.spec?.paused).toBe(false);
    expect(resumed?.metadata?.annotations?.['rollguard.io/paused-revision']).toBeUndefined();
    expect(t.cluster.assessment('shop', 'web-2')?.status?.actions?.map((a) => a.type)).toEqual([
      'annotated',
      'paused',
      'approved',
    ]);
    expect(t.cluster.events.map((e) => e.reason)).toContain('RolloutApproved');
  });

  it('does nothing for a Deployment no policy covers', async () => {
    const t = setup(safe);
    await t.cluster.mergePatchDeployment('shop', 'web', { metadata: { labels: { app: 'other' } } });
    t.cluster.resetCalls();
    expect(await t.reconciler.reconcile('shop', 'web')).toEqual({});
    expect(t.cluster.calls).toEqual([]);
    expect(t.cluster.assessments('shop')).toEqual([]);
  });
});

/** Holds the next status write of an assessment until released; it then goes to the cluster, or fails. */
function holdNextStatusWrite(cluster: MemoryCluster) {
  const write = cluster.mergePatchAssessmentStatus.bind(cluster);
  let release: (outcome: 'write' | 'fail') => void = () => undefined;
  const released = new Promise<'write' | 'fail'>((resolve) => (release = resolve));
  const spy = vi.spyOn(cluster, 'mergePatchAssessmentStatus').mockImplementationOnce(async (...args) => {
    if ((await released) === 'fail') throw Object.assign(new Error('etcdserver: request timed out'), { code: 500 });
    return write(...args);
  });
  return {
    release,
    restore: () => {
      spy.mockRestore();
    },
  };
}

describe('DeploymentReconciler: the order of the writes', () => {
  it('annotates the Deployment and sends the Event while the score is being recorded with the action', async () => {
    const t = setup(safe);
    const held = holdNextStatusWrite(t.cluster);
    const reconciled = t.reconciler.reconcile('shop', 'web');
    await vi.waitFor(() => {
      expect(t.cluster.count({ resource: 'deployments', verb: 'patch' })).toBe(1);
      expect(t.cluster.events).toHaveLength(1);
    });
    expect(t.cluster.deployment('shop', 'web')?.metadata?.annotations?.['rollguard.io/assessment']).toBe('web-2');
    // The Event is out before the record says so: an action on record is never carried out again.
    expect(t.cluster.assessment('shop', 'web-2')?.status?.score).toBeUndefined();

    held.release('write');
    expect(await reconciled).toEqual({});
    const status = t.cluster.assessment('shop', 'web-2')?.status;
    expect(t.cluster.deployment('shop', 'web')?.metadata?.annotations?.['rollguard.io/risk-score']).toBe(
      status?.score?.toFixed(2),
    );
    expect(status?.actions?.map((a) => a.type)).toEqual(['annotated']);
    expect(t.cluster.events.map((e) => e.reason)).toEqual(['RiskAssessed']);
    expect(t.cluster.count({ resource: 'rolloutassessments', verb: 'patch-status' })).toBe(1);
    expect(t.cluster.count()).toBe(4);
  });

  it('annotates the Deployment before its record has been created, and records the score once it has', async () => {
    const t = setup(safe);
    const create = t.cluster.createAssessment.bind(t.cluster);
    const created = Promise.withResolvers<undefined>();
    vi.spyOn(t.cluster, 'createAssessment').mockImplementationOnce(async (...args) => {
      await created.promise;
      return create(...args);
    });
    const reconciled = t.reconciler.reconcile('shop', 'web');
    await vi.waitFor(() => {
      expect(t.cluster.count({ resource: 'deployments', verb: 'patch' })).toBe(1);
    });
    const annotations = t.cluster.deployment('shop', 'web')?.metadata?.annotations ?? {};
    expect(annotations['rollguard.io/assessment']).toBe('web-2');
    expect(annotations['rollguard.io/risk-score']).toMatch(/^\d\.\d\d$/);
    expect(t.cluster.assessments('shop')).toEqual([]);
    // The Event names the record, so it waits for it.
    expect(t.cluster.events).toEqual([]);

    created.resolve(undefined);
    expect(await reconciled).toEqual({});
    const status = t.cluster.assessment('shop', 'web-2')?.status;
    expect(status?.score?.toFixed(2)).toBe(annotations['rollguard.io/risk-score']);
    expect(status?.actions?.map((a) => a.type)).toEqual(['annotated']);
    expect(t.cluster.events.map((e) => e.reason)).toEqual(['RiskAssessed']);
    expect(t.cluster.count()).toBe(4);
  });

  it('when another writer created the record meanwhile, keeps its score and the annotations follow it', async () => {
    const t = setup(safe);
    const create = t.cluster.createAssessment.bind(t.cluster);
    vi.spyOn(t.cluster, 'createAssessment').mockImplementationOnce(async (namespace, body) => {
      // Another replica (one that held this namespace's shard a moment ago) got there first.
      t.cluster.putAssessment({
        ...(body as AssessmentObject),
        status: { score: 0.07, level: 'safe', reasons: [], outcome: 'running', mode: 'enforce', scorer: 'rules' },
      });
      return create(namespace, body);
    });
    expect(await t.reconciler.reconcile('shop', 'web')).toEqual({ requeueAfterMs: 1000 });
    const ours = t.cluster.deployment('shop', 'web')?.metadata?.annotations?.['rollguard.io/risk-score'];
    expect(ours).not.toBe('0.07');
    expect(t.cluster.count({ resource: 'rolloutassessments', verb: 'patch-status' })).toBe(0);
    expect(t.cluster.events).toEqual([]);

    expect(await t.reconciler.reconcile('shop', 'web')).toEqual({});
    expect(t.cluster.deployment('shop', 'web')?.metadata?.annotations?.['rollguard.io/risk-score']).toBe('0.07');
    const status = t.cluster.assessment('shop', 'web-2')?.status;
    expect(status?.score).toBe(0.07);
    expect(status?.actions?.map((a) => a.type)).toEqual(['annotated']);
    expect(t.cluster.events.map((e) => e.reason)).toEqual(['RiskAssessed']);
    expect(t.cluster.assessments('shop')).toHaveLength(1);
  });

  it('when the expected name is taken by a record the cache did not show, moves the annotations to the name it got', async () => {
    // The plain name belongs to an assessment of an earlier Deployment called web, deleted and created again.
    const t = setup(safe);
    const earlier = t.cluster.putAssessment({
      apiVersion: 'rollguard.io/v1alpha1',
      kind: 'RolloutAssessment',
      metadata: { name: 'web-2', namespace: 'shop' },
      spec: { deployment: 'web', deploymentUID: 'u0', revision: 2, podTemplateHash: 'aaa000', policy: 'guard' },
      status: { score: 0.5, level: 'monitor', outcome: 'succeeded', mode: 'enforce' },
    });
    const lookup = t.cluster.assessment.bind(t.cluster);
    vi.spyOn(t.cluster, 'assessment').mockImplementationOnce(() => undefined);
    expect(await t.reconciler.reconcile('shop', 'web')).toEqual({ requeueAfterMs: 200 });
    const got = t.cluster.assessments('shop').find((a) => a.spec?.deploymentUID === 'u1');
    const name = got?.metadata?.name ?? '';
    expect(name).toMatch(/^web-2-[0-9a-f]{8}$/);
    expect(got?.status?.score).toBeDefined();
    expect(got?.status?.actions ?? []).toEqual([]);
    expect(t.cluster.events).toEqual([]);

    expect(await t.reconciler.reconcile('shop', 'web')).toEqual({});
    const annotations = t.cluster.deployment('shop', 'web')?.metadata?.annotations ?? {};
    expect(annotations['rollguard.io/assessment']).toBe(name);
    expect(annotations['rollguard.io/risk-score']).toBe(got?.status?.score?.toFixed(2));
    expect(lookup('shop', name)?.status?.actions?.map((a) => a.type)).toEqual(['annotated']);
    expect(t.cluster.events.map((e) => e.reason)).toEqual(['RiskAssessed']);
    expect(lookup('shop', 'web-2')).toEqual(earlier);
  });

  it('pauses a risky rollout only once its score is on the record', async () => {
    const t = setup(withPassword);
    const held = holdNextStatusWrite(t.cluster);
    const reconciled = t.reconciler.reconcile('shop', 'web');
    await vi.waitFor(() => {
      expect(t.cluster.count({ resource: 'rolloutassessments', verb: 'create' })).toBe(1);
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(t.cluster.count({ resource: 'deployments' })).toBe(0);

    held.release('write');
    await reconciled;
    expect(t.cluster.deployment('shop', 'web')?.spec?.paused).toBe(true);
    expect(t.cluster.assessment('shop', 'web-2')?.status).toMatchObject({ level: 'block', phase: 'Paused' });
  });

  it('records a pause on a Deployment someone else paused only once its patch landed', async () => {
    // Paused already (by a person, or held at admission): the plan marks it as waiting for approval with an
    // annotation rather than a pause. Should that patch find the Deployment changed, nothing of the pause may
    // be on the record, or the next pass would take it as done and never mark the rollout as waiting.
    const t = setup(withPassword);
    await t.cluster.mergePatchDeployment('shop', 'web', { spec: { paused: true } });
    const patch = t.cluster.jsonPatchDeployment.bind(t.cluster);
    const spy = vi
      .spyOn(t.cluster, 'jsonPatchDeployment')
      .mockImplementationOnce(() =>
        Promise.reject(Object.assign(new Error('the object has been modified'), { code: 409 })),
      )
      .mockImplementation(patch);
    expect(await t.reconciler.reconcile('shop', 'web')).toEqual({ requeueAfterMs: 200 });
    const first = t.cluster.assessment('shop', 'web-2')?.status;
    expect(first?.level).toBe('block');
    expect(first?.actions ?? []).toEqual([]);
    expect(t.cluster.events).toEqual([]);

    expect(await t.reconciler.reconcile('shop', 'web')).toEqual({});
    spy.mockRestore();
    const waiting = t.cluster.deployment('shop', 'web');
    expect(waiting?.spec?.paused).toBe(true);
    expect(waiting?.metadata?.annotations?.['rollguard.io/paused-revision']).toBe('2');
    expect(t.cluster.assessment('shop', 'web-2')?.status?.actions?.map((a) => a.type)).toEqual(['annotated', 'paused']);
    expect(t.cluster.events.map((e) => e.reason)).toEqual(['RiskAssessed', 'RolloutPaused']);
  });

  it('when the record write fails after the annotations landed, assesses again and the annotations follow the record', async () => {
    // Weekday morning, then Saturday night: the second assessment scores differently from the first.
    let clock = now;
    const t = setup(safe, () => clock);
    const held = holdNextStatusWrite(t.cluster);
    const reconciled = t.reconciler.reconcile('shop', 'web');
    await vi.waitFor(() => {
      expect(t.cluster.count({ resource: 'deployments', verb: 'patch' })).toBe(1);
    });
    const first = t.cluster.deployment('shop', 'web')?.metadata?.annotations?.['rollguard.io/risk-score'];
    held.release('fail');
    await expect(reconciled).rejects.toThrow('etcdserver: request timed out');
    expect(t.cluster.assessment('shop', 'web-2')?.status?.score).toBeUndefined();
    // The Event of the first score went out before the write that failed.
    expect(t.cluster.events.map((e) => e.note)).toEqual([expect.stringContaining(`scored ${first ?? ''} `)]);

    held.restore();
    clock = new Date('2026-12-05T23:30:00Z');
    expect(await t.reconciler.reconcile('shop', 'web')).toEqual({});
    const status = t.cluster.assessment('shop', 'web-2')?.status;
    const annotations = t.cluster.deployment('shop', 'web')?.metadata?.annotations ?? {};
    expect(annotations['rollguard.io/risk-score']).not.toBe(first);
    expect(annotations['rollguard.io/risk-score']).toBe(status?.score?.toFixed(2));
    expect(annotations['rollguard.io/risk-level']).toBe(status?.level);
    expect(status?.actions?.map((a) => a.type)).toEqual(['annotated']);
    // Its Event is keyed by the score: the score on record is said too, in an Event of its own.
    expect(t.cluster.events.map((e) => e.reason)).toEqual(['RiskAssessed', 'RiskAssessed']);
    expect(t.cluster.events[1]?.note).toContain(`scored ${status?.score?.toFixed(2) ?? ''} `);
    expect(t.cluster.assessments('shop')).toHaveLength(1);
  });
});

describe('DeploymentReconciler: the verification pass', () => {
  it('waits for the assessment, then hands the record to the verifier, which stops for a policy without Prometheus', async () => {
    const t = setup(safe);
    expect(await t.reconciler.verify('shop', 'web')).toEqual({});
    await t.reconciler.reconcile('shop', 'web');
    t.cluster.resetCalls();
    expect(await t.reconciler.verify('shop', 'web')).toEqual({});
    expect(t.cluster.calls).toEqual([]);
  });
});
