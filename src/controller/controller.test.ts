// The controller's wiring without an API server: work-queue keys and where each kind goes, the policy
// reconciler over an in-memory cluster (the status it writes, once, and the query problem the verifier
// reports), and the retention pruner deleting what the rule names.
import type { V1Deployment } from '@kubernetes/client-node';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { AssessmentObject, PolicyObject } from '../api/objects.js';
import { OperatorMetrics } from '../telemetry/metrics.js';
import {
  backgroundWorkersOf,
  dispatchKey,
  isBackgroundKey,
  parseWorkKey,
  workKey,
  type KeyHandlers,
} from './controller.js';
import { PolicyReconciler } from './policy-reconciler.js';
import { RetentionPruner } from './retention-pruner.js';
import { MemoryCluster } from './testing.js';

const now = new Date('2026-12-01T10:00:00Z');

describe('work-queue keys', () => {
  it.each([
    ['deployment', 'shop', 'web'],
    ['verify', 'shop', 'web'],
    ['policy', 'team-a', 'guard'],
  ] as const)('%s keys carry namespace and name there and back', (kind, namespace, name) => {
    expect(workKey(kind, namespace, name)).toBe(`${kind}:${namespace}/${name}`);
    expect(parseWorkKey(workKey(kind, namespace, name))).toEqual({ kind, namespace, name });
  });

  it.each([
    ['deployment', false],
    ['verify', true],
    ['policy', true],
  ] as const)('%s keys wait in the background lane: %s', (kind, background) => {
    expect(isBackgroundKey(workKey(kind, 'shop', 'web'))).toBe(background);
  });

  it('hands each kind of key to its reconciler, passes on when to come back, and drops unknown kinds', async () => {
    const seen: string[] = [];
    const handlers: KeyHandlers = {
      deployment: (ns, name) => Promise.resolve(void seen.push(`deployment ${ns}/${name}`)).then(() => ({})),
      verify: (ns, name) => Promise.resolve(void seen.push(`verify ${ns}/${name}`)).then(() => ({ requeueAfterMs: 5 })),
      policy: (ns, name) => Promise.resolve(void seen.push(`policy ${ns}/${name}`)),
    };
    const metrics = new OperatorMetrics();
    expect(await dispatchKey('deployment:shop/web', handlers, metrics)).toEqual({});
    expect(await dispatchKey('verify:shop/web', handlers, metrics)).toEqual({ requeueAfterMs: 5 });
    expect(await dispatchKey('policy:shop/guard', handlers, metrics)).toBeUndefined();
    expect(await dispatchKey('nonsense', handlers, metrics)).toBeUndefined();
    expect(seen).toEqual(['deployment shop/web', 'verify shop/web', 'policy shop/guard']);
  });
});

function deployment(name: string, labels: Record<string, string>): V1Deployment {
  return { metadata: { name, namespace: 'shop', uid: `uid-${name}`, labels }, spec: { selector: {}, template: {} } };
}

function policy(name: string, spec: unknown, created = '2026-11-01T00:00:00Z'): PolicyObject {
  return { metadata: { name, namespace: 'shop', generation: 1, creationTimestamp: new Date(created) }, spec };
}

describe('backgroundWorkersOf', () => {
  it.each([
    [1, 1],
    [2, 1],
    [4, 3],
    [16, 12],
    [64, 48],
  ])('%d workers: verification passes hold at most %d', (workers, most) => {
    expect(backgroundWorkersOf(workers)).toBe(most);
  });
});

describe('PolicyReconciler', () => {
  function setup() {
    const cluster = new MemoryCluster();
    cluster.putDeployment(deployment('web', { app: 'web' }));
    cluster.putDeployment(deployment('cart', { app: 'cart' }));
    cluster.putPolicy(policy('guard', { selector: {} }));
    cluster.putPolicy(
      policy('carts', { selector: { matchLabels: { app: 'cart' } }, priority: 5 }, '2026-11-02T00:00:00Z'),
    );
    const requeued: string[] = [];
    const reconciler = new PolicyReconciler({
      caches: cluster,
      writer: cluster,
      clock: () => now,
      requeue: (ns, name) => requeued.push(`${ns}/${name}`),
    });
    return { cluster, reconciler, requeued };
  }

  it('writes what the policy governs and what another policy overrules, and nothing when it is unchanged', async () => {
    const t = setup();
    await t.reconciler.reconcile('shop', 'guard');
    const status = t.cluster.policies('shop').find((p) => p.metadata?.name === 'guard')?.status;
    expect(status).toMatchObject({ coveredDeployments: 1 });
    const ready = (status?.conditions as { type: string; status: string; message: string }[]).find(
      (c) => c.type === 'Ready',
    );
    expect(ready?.status).toBe('True');
    expect(ready?.message).toContain('carts');
    t.cluster.resetCalls();
    await t.reconciler.reconcile('shop', 'guard');
    expect(t.cluster.calls).toEqual([]);
  });

  it('says why Prometheus refused the queries, asks for the status again, and clears it once answered', async () => {
    const t = setup();
    t.reconciler.reportQueryProblem('shop/guard', 'spec.metrics.errorRate.query: bad_data');
    t.reconciler.reportQueryProblem('shop/guard', 'spec.metrics.errorRate.query: bad_data');
    expect(t.requeued).toEqual(['shop/guard']);
    await t.reconciler.reconcile('shop', 'guard');
    const conditions = () =>
      t.cluster.policies('shop').find((p) => p.metadata?.name === 'guard')?.status?.conditions as {
        type: string;
        reason: string;
      }[];
    expect(conditions().find((c) => c.type === 'Ready')?.reason).toBe('QueryRejected');
    t.reconciler.reportQueryProblem('shop/guard', undefined);
    await t.reconciler.reconcile('shop', 'guard');
    expect(conditions().find((c) => c.type === 'Ready')?.reason).not.toBe('QueryRejected');
  });

  it('leaves a deleted or missing policy alone', async () => {
    const t = setup();
    await t.reconciler.reconcile('shop', 'gone');
    expect(t.cluster.calls).toEqual([]);
  });
});

describe('RetentionPruner', () => {
  it('deletes the finished assessments past their age and keeps the running ones', async () => {
    const cluster = new MemoryCluster();
    const ra = (name: string, days: number, outcome: 'running' | 'succeeded'): AssessmentObject => ({
      metadata: { name, namespace: 'shop', creationTimestamp: new Date(now.getTime() - days * 86_400_000) },
      spec: { deployment: 'web', revision: Number(name.split('-')[1]) },
      status: { outcome },
    });
    cluster.putAssessment(ra('web-1', 120, 'succeeded'));
    cluster.putAssessment(ra('web-2', 100, 'running'));
    cluster.putAssessment(ra('web-3', 1, 'succeeded'));
    const pruner = new RetentionPruner({
      caches: cluster,
      writer: cluster,
      logger: pino({ level: 'silent' }),
      clock: () => now,
    });
    expect(await pruner.prune()).toBe(1);
    expect(cluster.assessments('shop').map((a) => a.metadata?.name)).toEqual(['web-2', 'web-3']);
  });
});
