// What `rollguard status` tells a person about a rollout, and when following it (-w) ends with which exit
// code, for the states a rollout passes through: Deployments and assessments shaped as the API returns them.
import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { parsePolicySpec, type PolicySpec } from '../api/policy.js';
import type { AssessmentObject } from '../api/objects.js';
import { renderStatus, rolloutProgress, rolloutStatus, type Stage, type StatusInput } from './rollout-status.js';

const now = new Date('2026-06-02T12:00:00Z');

function deployment(
  o: {
    paused?: boolean;
    pausedRevision?: string;
    updated?: number;
    total?: number;
    available?: number;
    generation?: number;
    observed?: number;
    deadlineExceeded?: boolean;
    assessed?: boolean;
  } = {},
): V1Deployment {
  return {
    metadata: {
      name: 'checkout',
      namespace: 'shop',
      generation: o.generation ?? 4,
      annotations: {
        'deployment.kubernetes.io/revision': '7',
        ...(o.pausedRevision ? { 'rollguard.io/paused-revision': o.pausedRevision } : {}),
        ...(o.assessed === false ? {} : { 'rollguard.io/assessed-revision': '7' }),
      },
    },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'checkout' } },
      template: {},
      ...(o.paused === undefined ? {} : { paused: o.paused }),
    },
    status: {
      observedGeneration: o.observed ?? 4,
      replicas: o.total ?? 3,
      updatedReplicas: o.updated ?? 3,
      availableReplicas: o.available ?? 3,
      ...(o.deadlineExceeded
        ? {
            conditions: [
              { type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded', message: 'timed out' },
            ],
          }
        : {}),
    },
  };
}

function assessment(status: NonNullable<AssessmentObject['status']>): AssessmentObject {
  return {
    metadata: { name: 'checkout-7', namespace: 'shop' },
    spec: { deployment: 'checkout', revision: 7, policy: 'guard' },
    status: { score: 0.83, level: 'block', mode: 'enforce', reasons: ['412 lines added'], ...status },
  };
}

function policy(spec: object = { prometheus: { address: 'http://prometheus:9090' } }): { spec: PolicySpec } {
  const parsed = parsePolicySpec({ selector: {}, ...spec });
  if (!parsed.ok) throw new Error('bad policy in test');
  return { spec: parsed.value };
}

function input(overrides: Partial<StatusInput> = {}): StatusInput {
  return {
    namespace: 'shop',
    name: 'checkout',
    deployment: deployment(),
    revision: 7,
    policy: policy(),
    command: 'kubectl rollguard',
    now,
    ...overrides,
  };
}

describe('rolloutStatus', () => {
  it.each<[string, Partial<StatusInput>, Stage, boolean, number, string[]]>([
    [
      'paused for approval',
      {
        deployment: deployment({ paused: true, pausedRevision: '7', updated: 0 }),
        assessment: assessment({ outcome: 'running', phase: 'Paused' }),
      },
      'waiting-for-approval',
      false,
      0,
      [
        'paused, waiting for approval',
        'kubectl rollguard approve deploy/checkout -n shop',
        'gate: paused for approval',
      ],
    ],
    [
      'approved and rolling out',
      {
        deployment: deployment({ updated: 1, total: 4, available: 3 }),
        assessment: assessment({
          outcome: 'running',
          approval: { by: 'alice', at: '2026-06-02T11:59:00Z', revision: 7 },
        }),
      },
      'rolling-out',
      false,
      0,
      ['1 of 3 new replicas updated', 'gate: approved by alice', 'verification starts when the new pods serve'],
    ],
    [
      'verifying with failures counted against the limit',
      {
        assessment: assessment({
          outcome: 'running',
          verification: {
            state: 'running',
            consecutiveFailures: 0,
            deadline: '2026-06-02T12:10:00Z',
            steps: [{ at: '2026-06-02T11:59:50Z', metric: 'error-rate', value: 0.001, limit: 0.05, verdict: 'pass' }],
          },
        }),
      },
      'verifying',
      false,
      0,
      ['verifying on live metrics', '0 of 1 failed intervals in a row roll back', 'ends in 10m', 'error-rate 0.001'],
    ],
    [
      'held on a Prometheus outage',
      { assessment: assessment({ outcome: 'running', verification: { state: 'held', message: 'unreachable' } }) },
      'held',
      false,
      0,
      ['nothing is rolled back', 'resumes by itself'],
    ],
    [
      'verified',
      { assessment: assessment({ outcome: 'succeeded', verification: { state: 'passed' } }) },
      'succeeded',
      true,
      0,
      ['verified and rolled out'],
    ],
    [
      'rolled back by rollguard',
      {
        assessment: assessment({
          outcome: 'rolled-back',
          actions: [
            { type: 'rolled-back', at: '2026-06-02T11:59:00Z', message: 'rolled back checkout from revision 7' },
          ],
        }),
      },
      'rolled-back',
      true,
      1,
      ['rolled back: rolled back checkout from revision 7', 'kubectl rollguard explain checkout/7 -n shop'],
    ],
    [
      'aborted by a person',
      {
        assessment: assessment({
          outcome: 'rolled-back',
          actions: [
            { type: 'aborted', at: '2026-06-02T11:59:00Z', message: 'aborted by alice: EU errors', by: 'alice' },
          ],
        }),
      },
      'rolled-back',
      true,
      1,
      ['aborted by alice: EU errors'],
    ],
    [
      'failed without a rollback',
      {
        assessment: assessment({
          outcome: 'failed',
          actions: [{ type: 'skipped-rollback', at: '2026-06-02T11:59:00Z', message: 'cap reached' }],
        }),
      },
      'failed',
      true,
      1,
      ['failed verification: cap reached', 'kubectl rollguard abort deploy/checkout -n shop'],
    ],
    [
      'rolled out under a policy without Prometheus',
      { policy: policy({}), assessment: assessment({ outcome: 'running' }) },
      'succeeded',
      true,
      0,
      ['no verification: the policy names no Prometheus', 'verification: off'],
    ],
    [
      'a shadow-mode rollout that completed',
      { assessment: assessment({ outcome: 'running', mode: 'shadow' }) },
      'succeeded',
      true,
      0,
      ['shadow mode: recorded only'],
    ],
    [
      'a policy that cannot be read',
      { policy: { problem: 'policy guard: forbidden' }, assessment: assessment({ outcome: 'running' }) },
      'rolling-out',
      false,
      0,
      ['verification: unknown (policy guard: forbidden)'],
    ],
    [
      'a progress deadline exceeded',
      { deployment: deployment({ deadlineExceeded: true }), assessment: assessment({ outcome: 'running' }) },
      'rollout-failed',
      true,
      1,
      ['exceeded its progress deadline'],
    ],
    [
      'a Deployment no policy covers, rolled out',
      { deployment: deployment({ assessed: false }), policy: undefined },
      'not-assessed',
      true,
      0,
      ['not assessed by rollguard', 'kubectl get drp -n shop'],
    ],
    [
      'a covered Deployment whose new revision is not assessed yet',
      { deployment: deployment({ updated: 0 }), policy: undefined },
      'not-assessed',
      false,
      0,
      ['has not assessed revision 7 yet'],
    ],
  ])('%s', (_what, overrides, stage, done, exitCode, mentions) => {
    const status = rolloutStatus(input(overrides));
    expect(status.stage).toBe(stage);
    expect(status.done).toBe(done);
    expect(status.exitCode).toBe(exitCode);
    const text = renderStatus(status);
    for (const m of mentions) expect(text).toContain(m);
  });

  it('names the level and score and the first reasons', () => {
    const text = renderStatus(rolloutStatus(input({ assessment: assessment({ outcome: 'running' }) })));
    expect(text).toMatch(/^checkout revision 7 \(block\): /);
    expect(text).toContain('risk: block (score 0.83), policy guard in enforce mode');
    expect(text).toContain('reasons: 412 lines added');
  });
});

describe('rolloutProgress', () => {
  it.each<[string, Parameters<typeof deployment>[0], boolean, string]>([
    ['complete', {}, true, 'rolled out: 3 of 3'],
    ['not observed yet', { generation: 5, observed: 4 }, false, 'spec update to be observed'],
    ['updating', { updated: 2 }, false, '2 of 3 new replicas updated'],
    ['paused mid-way', { paused: true, updated: 1 }, false, 'paused: 1 of 3'],
    ['old pods terminating', { total: 5 }, false, '2 old replicas pending termination'],
    ['waiting for availability', { available: 1 }, false, '1 of 3 updated replicas available'],
  ])('%s', (_what, o, complete, message) => {
    const p = rolloutProgress(deployment(o));
    expect(p.complete).toBe(complete);
    expect(p.message).toContain(message);
  });
});
