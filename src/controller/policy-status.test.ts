// A policy's status as `kubectl get drp -o yaml` shows it: the Ready condition with a reason and message a
// person can act on, the counts, and no rewrite when nothing changed.
import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parsePolicySpec, type PolicySpec } from '../api/policy.js';
import { computePolicyStatus, policyStatusChanged, type Condition, type PolicyStatusInput } from './policy-status.js';
import type { AssessmentObject } from '../api/objects.js';

function spec(raw: Record<string, unknown>): PolicySpec {
  const result = parsePolicySpec({ selector: { matchLabels: { tier: 'web' } }, ...raw });
  if (!result.ok) throw new Error(JSON.stringify(result.errors));
  return result.value;
}

const deployment = (name: string): V1Deployment => ({ metadata: { name, namespace: 'shop' } });

function assessment(name: string, ...actions: string[]): AssessmentObject {
  return {
    metadata: { name, namespace: 'shop' },
    status: {
      actions: actions.map((type) => ({ type, at: '2024-05-01T00:00:00Z', message: type })),
    } as NonNullable<AssessmentObject['status']>,
  };
}

const t0 = new Date('2024-05-01T08:00:00Z');
const t1 = new Date('2024-05-01T09:00:00Z');

function input(overrides: Partial<PolicyStatusInput> = {}): PolicyStatusInput {
  return {
    name: 'default',
    generation: 3,
    parsed: { ok: true, value: spec({ prometheus: { address: 'http://prometheus.monitoring:9090' } }) },
    governed: [deployment('web'), deployment('api')],
    overruledBy: [],
    assessments: [],
    previousConditions: [],
    now: t1,
    ...overrides,
  };
}

describe('computePolicyStatus: the Ready condition', () => {
  it('is False with reason QueryRejected, saying why, while Prometheus refuses a query of the policy', () => {
    const problem =
      'spec.metrics.errorRate.query: Prometheus rejected the query (bad_data): 1:45: parse error: unexpected end of input';
    const ready = computePolicyStatus(input({ queryProblem: problem })).conditions.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({ status: 'False', reason: 'QueryRejected', observedGeneration: 3 });
    expect(ready?.message).toContain(problem);
    expect(ready?.message).toMatch(/on hold .* nothing is rolled back/);
    // Fixed: Ready again.
    expect(computePolicyStatus(input()).conditions[0]?.status).toBe('True');
  });

  it('is False with reason InvalidSpec and each field path when the spec cannot be used', () => {
    const parsed = parsePolicySpec({
      selector: {},
      thresholds: { monitor: 0.9, rollbackReady: 0.6, block: 0.8 },
      verification: { interval: 'soon' },
    });
    if (parsed.ok) throw new Error('expected an invalid spec');
    const status = computePolicyStatus(input({ parsed }));
    const ready = status.conditions.find((c) => c.type === 'Ready');
    expect(ready).toMatchObject({
      type: 'Ready',
      status: 'False',
      reason: 'InvalidSpec',
      observedGeneration: 3,
      lastTransitionTime: t1.toISOString(),
    });
    expect(ready?.message).toMatch(/^This policy cannot be used, so the Deployments it selects are not guarded: /);
    expect(ready?.message).toContain('spec.thresholds');
    expect(ready?.message).toContain('spec.verification.interval');
  });

  it('names the field and the problem for a hand-written error list', () => {
    const status = computePolicyStatus(
      input({
        parsed: { ok: false, errors: [{ path: 'spec.timeZone', message: 'is not a time zone known to rollguard' }] },
      }),
    );
    expect(status.conditions[0]?.message).toBe(
      'This policy cannot be used, so the Deployments it selects are not guarded: spec.timeZone: is not a time zone known to rollguard',
    );
  });

  it.each<[string, Partial<PolicyStatusInput>, string, string]>([
    [
      'enforce, two Deployments, Prometheus set',
      {},
      'Guarding',
      '2 Deployments are assessed, paused when too risky, and verified.',
    ],
    [
      'enforce, one Deployment',
      { governed: [deployment('web')] },
      'Guarding',
      '1 Deployment is assessed, paused when too risky, and verified.',
    ],
    [
      'advisory',
      { parsed: { ok: true, value: spec({ mode: 'advisory', prometheus: { address: 'http://p:9090' } }) } },
      'Guarding',
      '2 Deployments are assessed and annotated (advisory: never paused or rolled back).',
    ],
    [
      'shadow without Prometheus',
      { parsed: { ok: true, value: spec({ mode: 'shadow' }) } },
      'Guarding',
      '2 Deployments are assessed and recorded only (shadow mode: nothing on the Deployments changes). No Prometheus address is set, so live metrics are neither used for scoring nor verified.',
    ],
    [
      'no Deployment selected',
      { governed: [] },
      'NoDeploymentsSelected',
      'No Deployment in this namespace matches the selector yet.',
    ],
    [
      'one Deployment governed by another policy',
      { governed: [deployment('web')], overruledBy: [{ deployment: 'api', policy: 'strict' }] },
      'Guarding',
      '1 Deployment is assessed, paused when too risky, and verified. 1 more Deployment matches but is governed by another policy (strict).',
    ],
    [
      'several Deployments governed by other policies, each policy named once',
      {
        governed: [],
        overruledBy: [
          { deployment: 'api', policy: 'strict' },
          { deployment: 'cart', policy: 'strict' },
          { deployment: 'search', policy: 'lenient' },
        ],
      },
      'NoDeploymentsSelected',
      'No Deployment in this namespace matches the selector yet. 3 more Deployments match but are governed by another policy (strict, lenient).',
    ],
  ])('is True for %s', (_what, overrides, reason, message) => {
    const ready = computePolicyStatus(input(overrides)).conditions[0];
    expect(ready).toEqual({
      type: 'Ready',
      status: 'True',
      reason,
      message,
      lastTransitionTime: t1.toISOString(),
      observedGeneration: 3,
    });
  });

  it('leaves observedGeneration out when the policy has no generation', () => {
    const status = computePolicyStatus(input({ generation: undefined }));
    expect(status).not.toHaveProperty('observedGeneration');
    expect(status.conditions[0]).not.toHaveProperty('observedGeneration');
  });
});

describe('computePolicyStatus: lastTransitionTime and other conditions', () => {
  const previousReady = (status: Condition['status'], message = 'old message'): Condition => ({
    type: 'Ready',
    status,
    reason: status === 'True' ? 'Guarding' : 'InvalidSpec',
    message,
    lastTransitionTime: t0.toISOString(),
    observedGeneration: 2,
  });

  it.each<[string, Condition['status'], string]>([
    ['keeps the time when Ready stays True, even if the message changes', 'True', t0.toISOString()],
    ['moves the time when Ready goes from False to True', 'False', t1.toISOString()],
    ['moves the time when Ready goes from Unknown to True', 'Unknown', t1.toISOString()],
  ])('%s', (_what, before, expected) => {
    const ready = computePolicyStatus(input({ previousConditions: [previousReady(before)] })).conditions[0];
    expect(ready?.status).toBe('True');
    expect(ready?.lastTransitionTime).toBe(expected);
    expect(ready?.observedGeneration).toBe(3);
  });

  it('moves the time when Ready goes from True to False', () => {
    const status = computePolicyStatus(
      input({
        parsed: { ok: false, errors: [{ path: 'spec.mode', message: 'must be one of enforce, advisory, shadow' }] },
        previousConditions: [previousReady('True')],
      }),
    );
    expect(status.conditions[0]?.lastTransitionTime).toBe(t1.toISOString());
  });

  it('keeps conditions it does not own, after Ready', () => {
    const drift: Condition = {
      type: 'ModelDrift',
      status: 'True',
      reason: 'Drift',
      message: 'lines_added drifted',
      lastTransitionTime: t0.toISOString(),
    };
    const status = computePolicyStatus(input({ previousConditions: [drift, previousReady('True')] }));
    expect(status.conditions.map((c) => c.type)).toEqual(['Ready', 'ModelDrift']);
    expect(status.conditions[1]).toEqual(drift);
  });
});

describe('computePolicyStatus: counts', () => {
  it('counts governed Deployments, assessments, and assessments that paused or rolled back', () => {
    const status = computePolicyStatus(
      input({
        assessments: [
          assessment('web-1', 'annotated'),
          assessment('web-2', 'annotated', 'paused', 'approved'),
          assessment('web-3', 'annotated', 'rolled-back'),
          assessment('api-1', 'annotated', 'paused', 'resumed-by-hand', 'rolled-back'),
          { metadata: { name: 'api-2' } },
        ],
      }),
    );
    expect({ ...status, conditions: undefined }).toEqual({
      conditions: undefined,
      observedGeneration: 3,
      coveredDeployments: 2,
      assessments: 5,
      pauses: 2,
      rollbacks: 2,
    });
  });

  it('counts zero of everything for a new policy', () => {
    const status = computePolicyStatus(input({ governed: [] }));
    expect([status.coveredDeployments, status.assessments, status.pauses, status.rollbacks]).toEqual([0, 0, 0, 0]);
  });
});

describe('policyStatusChanged', () => {
  it('is true for a policy that has no status yet', () => {
    expect(policyStatusChanged(undefined, computePolicyStatus(input()))).toBe(true);
  });

  it('is false when the same state is computed again from what was written (no rewrite, no new time)', () => {
    const written = computePolicyStatus(input({ now: t0 }));
    const asStored = JSON.parse(JSON.stringify(written)) as Record<string, unknown>;
    const again = computePolicyStatus(input({ now: t1, previousConditions: written.conditions }));
    expect(again.conditions[0]?.lastTransitionTime).toBe(t0.toISOString());
    expect(policyStatusChanged(asStored, again)).toBe(false);
  });

  it('ignores key order and the order of conditions in the stored status', () => {
    const next = computePolicyStatus(
      input({
        previousConditions: [
          {
            type: 'ModelDrift',
            status: 'False',
            reason: 'NoDrift',
            message: 'ok',
            lastTransitionTime: t0.toISOString(),
          },
        ],
      }),
    );
    const stored = {
      rollbacks: next.rollbacks,
      pauses: next.pauses,
      conditions: [...next.conditions].reverse().map((c) => Object.fromEntries(Object.entries(c).reverse())),
      assessments: next.assessments,
      coveredDeployments: next.coveredDeployments,
      observedGeneration: next.observedGeneration,
    };
    expect(policyStatusChanged(stored, next)).toBe(false);
  });

  it.each<[string, Partial<PolicyStatusInput>]>([
    ['a new generation', { generation: 4 }],
    ['one more governed Deployment', { governed: [deployment('web'), deployment('api'), deployment('cart')] }],
    ['a new assessment', { assessments: [assessment('web-5', 'annotated')] }],
    ['a new pause', { assessments: [assessment('web-5', 'annotated', 'paused')] }],
    [
      'an invalid spec',
      { parsed: { ok: false, errors: [{ path: 'spec.priority', message: 'must be a whole number' }] } },
    ],
    [
      'only the message (another policy now wins a Deployment)',
      { overruledBy: [{ deployment: 'cart', policy: 'strict' }] },
    ],
  ])('is true after %s', (_what, overrides) => {
    const written = JSON.parse(JSON.stringify(computePolicyStatus(input({ now: t0 })))) as Record<string, unknown>;
    const previousConditions = (written.conditions as Condition[] | undefined) ?? [];
    const next = computePolicyStatus(input({ now: t1, previousConditions, ...overrides }));
    expect(policyStatusChanged(written, next)).toBe(true);
  });
});

describe('computePolicyStatus: the ModelDrift condition', () => {
  it.each([
    [{ high: true, message: 'lines_added drifted (KS 0.41)' }, 'True', 'FeaturesDrifted'],
    [{ high: false, message: 'no feature drifted' }, 'False', 'NoDrift'],
  ])('drift %j → ModelDrift %s (%s)', (drift, status, reason) => {
    const result = computePolicyStatus(input({ drift }));
    const condition = result.conditions.find((c) => c.type === 'ModelDrift');
    expect(condition).toMatchObject({ status, reason, message: drift.message });
    expect(result.conditions.filter((c) => c.type === 'ModelDrift')).toHaveLength(1);
  });

  it('keeps a previous ModelDrift condition when the learning loop has no verdict yet', () => {
    const previous: Condition = {
      type: 'ModelDrift',
      status: 'True',
      reason: 'FeaturesDrifted',
      message: 'x',
      lastTransitionTime: t0.toISOString(),
    };
    const result = computePolicyStatus(input({ previousConditions: [previous] }));
    expect(result.conditions.find((c) => c.type === 'ModelDrift')).toEqual(previous);
  });
});
