import { Gauge, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import type { ModelBundle } from '../model/store.js';
import type { AssessmentObject, PolicyObject } from '../api/objects.js';
import { buildDashboardState, readFeatureDrift } from './dashboard-state.js';

function assessment(
  namespace: string,
  deployment: string,
  revision: number,
  assessedAt: string,
  status: AssessmentObject['status'] = {},
): AssessmentObject {
  return {
    metadata: { namespace, name: `${deployment}-${revision}` },
    spec: { deployment, revision, podTemplateHash: 'abc', policy: 'payments' },
    status: { assessedAt, ...status },
  };
}

const rolledBack = assessment('shop', 'cart', 2, '2025-03-04T10:05:00Z', {
  phase: 'RolledBack',
  outcome: 'rolled-back',
  score: 0.72,
  level: 'rollback-ready',
  scorer: 'model',
  modelVersion: 'm-1',
  mode: 'enforce',
  reasons: ['lines added = 1,200 (model: +20 points)'],
  hardRules: [],
  actions: [
    { type: 'annotated', at: '2025-03-04T10:05:00Z', message: 'annotated' },
    {
      type: 'rolled-back',
      at: '2025-03-04T10:06:10Z',
      message: 'Rolled back revision 2 to revision 1',
      by: 'rollguard',
    },
  ],
  verification: {
    state: 'failed',
    completedAt: '2025-03-04T10:06:09Z',
    steps: [
      { at: '2025-03-04T10:06:00Z', metric: 'error-rate', value: 0.3, limit: 0.05, verdict: 'fail' },
      { at: '2025-03-04T10:06:02Z', metric: 'latency', verdict: 'no-data' },
    ],
  },
});

const policies: PolicyObject[] = [
  {
    metadata: { namespace: 'shop', name: 'payments' },
    spec: { selector: {}, mode: 'advisory' },
    status: {
      conditions: [
        {
          type: 'Ready',
          status: 'True',
          reason: 'Valid',
          message: 'in force',
          lastTransitionTime: '2025-03-04T10:00:00Z',
        },
      ],
      coveredDeployments: 1,
      assessments: 2,
      rollbacks: 1,
    },
  },
  { metadata: { namespace: 'shop', name: 'broken' }, spec: { selector: {}, mode: 'loud' } },
];

const bundle = {
  forest: {},
  meta: {
    modelVersion: 'm-1',
    trainedAt: '2025-01-01T00:00:00Z',
    data: { description: 'test data', rows: 100, positives: 20 },
    importances: { lines_added: 0.2, is_fix: 0.5, authors: 0 },
    learnedFeatures: ['lines_added', 'is_fix'],
    evaluation: {
      method: 'time-ordered',
      auc: 0.86,
      precision: 0.43,
      recall: 0.5,
      f1: 0.46,
      threshold: 0.5,
      testRows: 30,
    },
  },
} as unknown as ModelBundle;

describe('buildDashboardState', () => {
  const state = buildDashboardState({
    assessments: [
      assessment('shop', 'cart', 1, '2025-03-04T10:00:00Z', { outcome: 'succeeded', level: 'safe', score: 0.1 }),
      rolledBack,
      assessment('other', 'api', 1, '2025-03-04T09:00:00Z'),
    ],
    policies,
    bundle,
    drift: [
      { feature: 'lines_added', value: 0.1 },
      { feature: 'is_fix', value: 0.4 },
    ],
    now: new Date('2025-03-04T10:07:00Z'),
    limit: 2,
  });

  it('lists the newest rollouts first, up to the limit, and counts them all', () => {
    expect(state.rollouts.map((r) => r.key)).toEqual(['shop/cart-2', 'shop/cart-1']);
    expect(state.totalRollouts).toBe(3);
    expect(state.generatedAt).toBe('2025-03-04T10:07:00.000Z');
    expect(state.synced).toBe(true);
  });

  it('carries what a person needs of a rollout, and the moment of its rollback', () => {
    expect(state.rollouts[0]).toMatchObject({
      deployment: 'cart',
      revision: 2,
      level: 'rollback-ready',
      outcome: 'rolled-back',
      score: 0.72,
      reasons: ['lines added = 1,200 (model: +20 points)'],
      rollbackAt: '2025-03-04T10:06:10Z',
      verification: {
        state: 'failed',
        steps: [
          { metric: 'error-rate', value: 0.3, limit: 0.05, verdict: 'fail' },
          { metric: 'latency', verdict: 'no-data' },
        ],
      },
    });
    // No undefined fields: a step without data has no value at all.
    expect(state.rollouts[0]?.verification?.steps[1]).not.toHaveProperty('value');
    expect(state.rollouts[1]).not.toHaveProperty('rollbackAt');
  });

  it('falls back to the end of verification for a rollback without its action', () => {
    const only = buildDashboardState({
      assessments: [
        assessment('shop', 'x', 3, '2025-03-04T10:00:00Z', {
          outcome: 'rolled-back',
          verification: { completedAt: '2025-03-04T10:01:00Z' },
        }),
      ],
      policies: [],
      bundle: undefined,
      drift: [],
      now: new Date(),
      limit: 10,
    });
    expect(only.rollouts[0]?.rollbackAt).toBe('2025-03-04T10:01:00Z');
  });

  it("shows each policy's conditions and counts, and why a broken one cannot be used", () => {
    expect(state.policies).toEqual([
      {
        key: 'shop/broken',
        namespace: 'shop',
        name: 'broken',
        mode: 'loud',
        specProblems: [expect.stringMatching(/^spec\.mode: must be one of enforce, advisory, shadow/) as unknown],
        conditions: [],
      },
      {
        key: 'shop/payments',
        namespace: 'shop',
        name: 'payments',
        mode: 'advisory',
        conditions: [
          {
            type: 'Ready',
            status: 'True',
            reason: 'Valid',
            message: 'in force',
            lastTransitionTime: '2025-03-04T10:00:00Z',
          },
        ],
        coveredDeployments: 1,
        assessments: 2,
        rollbacks: 1,
      },
    ]);
  });

  it('has the model card: version, quality, importances and drift, strongest first', () => {
    expect(state.model).toEqual({
      loaded: true,
      version: 'm-1',
      trainedAt: '2025-01-01T00:00:00Z',
      data: { description: 'test data', rows: 100, positives: 20 },
      evaluation: {
        method: 'time-ordered',
        auc: 0.86,
        precision: 0.43,
        recall: 0.5,
        f1: 0.46,
        threshold: 0.5,
        testRows: 30,
      },
      learnedFeatures: ['lines_added', 'is_fix'],
      importances: [
        { feature: 'is_fix', value: 0.5 },
        { feature: 'lines_added', value: 0.2 },
        { feature: 'authors', value: 0 },
      ],
      drift: [
        { feature: 'is_fix', value: 0.4 },
        { feature: 'lines_added', value: 0.1 },
      ],
    });
  });

  it('filters by namespace', () => {
    const other = buildDashboardState({
      assessments: [rolledBack, assessment('other', 'api', 1, '2025-03-04T09:00:00Z')],
      policies,
      bundle: undefined,
      drift: [],
      now: new Date(),
      namespace: 'other',
      limit: 10,
    });
    expect(other.rollouts.map((r) => r.key)).toEqual(['other/api-1']);
    expect(other.policies).toEqual([]);
    expect(other.model).toEqual({ loaded: false, drift: [] });
    expect(other.namespace).toBe('other');
  });
});

describe('readFeatureDrift', () => {
  it('reads the rollguard_feature_drift gauge, and nothing when it is absent', async () => {
    const registry = new Registry();
    expect(await readFeatureDrift(registry)).toEqual([]);
    expect(await readFeatureDrift(undefined)).toEqual([]);
    const gauge = new Gauge({
      name: 'rollguard_feature_drift',
      help: 'drift',
      labelNames: ['feature'] as const,
      registers: [registry],
    });
    gauge.set({ feature: 'lines_added' }, 0.31);
    expect(await readFeatureDrift(registry)).toEqual([{ feature: 'lines_added', value: 0.31 }]);
  });
});
