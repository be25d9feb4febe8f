// What follows one verification interval, by decision, mode and rollback settings: the status written, the
// actions recorded, the Deployment's change (and whether it comes before the record), the Events and the
// rollback metric. Table-driven over every branch; the verifier only carries these plans out.
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { PolicyMode } from '../api/policy.js';
import type { MetricCheck } from './check.js';
import { formatInterval, intervalRecord, planActs, planVerification, type VerificationPlanInput } from './plan.js';
import { INITIAL_COUNTERS, type VerificationDecision } from './verdict.js';

const now = new Date('2026-12-01T10:00:00Z');
const at = now.toISOString();

function replicaSet(revision: number, hash: string, image: string): V1ReplicaSet {
  return {
    metadata: {
      name: `web-${hash}`,
      namespace: 'shop',
      labels: { 'pod-template-hash': hash },
      annotations: { 'deployment.kubernetes.io/revision': String(revision) },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'Deployment', name: 'web', uid: 'u1', controller: true }],
    },
    spec: {
      selector: {},
      template: {
        metadata: { labels: { app: 'web', 'pod-template-hash': hash } },
        spec: { containers: [{ name: 'web', image }] },
      },
    },
  };
}

const deployment: V1Deployment = {
  metadata: {
    name: 'web',
    namespace: 'shop',
    uid: 'u1',
    resourceVersion: '42',
    annotations: { 'deployment.kubernetes.io/revision': '2' },
  },
  spec: {
    selector: {},
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'web', image: 'web:2' }] } },
  },
};

const failing: MetricCheck = {
  metric: 'errorRate',
  verdict: 'fail',
  value: 0.2,
  baseline: 0.01,
  baselineSource: 'old-replicaset',
  limit: 0.05,
  message: 'error rate 20 % is above the limit of 5 %',
  source: 'value',
};

const decisions = {
  continue: { action: 'continue', message: 'all checks pass so far' },
  hold: { action: 'hold', cause: 'provider-error', message: 'Prometheus is unreachable' },
  pass: { action: 'pass', message: 'healthy for the whole window' },
  metrics: { action: 'rollback', cause: 'metrics', checks: [failing], message: 'error rate too high' },
  deadline: { action: 'rollback', cause: 'progress-deadline', checks: [], message: 'the rollout stopped progressing' },
} satisfies Record<string, VerificationDecision>;

const rollbackContext = {
  deployment,
  replicaSets: [replicaSet(1, 'old111', 'web:1'), replicaSet(2, 'new222', 'web:2')],
  badRevisionIsRollback: false,
  previousRollbacks: [],
  maxRollbacks: 3,
  windowMs: 86_400_000,
  gitOps: 'pause',
  now,
} as const;

function input(decision: VerificationDecision, over: Partial<VerificationPlanInput> = {}): VerificationPlanInput {
  return {
    decision,
    mode: 'enforce',
    rollbackEnabled: true,
    rollback: rollbackContext,
    deploymentName: 'web',
    revision: 2,
    phase: 'Verifying',
    verification: { state: 'running', lastCheckAt: at },
    queries: { errorRate: 'sum(rate(errors[1m]))' },
    intervalMs: 30_000,
    firstOfStreak: true,
    previousCheckAt: '2026-12-01T09:59:30Z',
    now,
    ...over,
  };
}

describe('planVerification: an interval that goes on', () => {
  it.each<[string, string | undefined, string]>([
    ['a rollout being verified', 'Verifying', 'Verifying'],
    ['a rollout assessed a moment ago', 'Assessed', 'Verifying'],
    ['a rollout paused for approval', 'Paused', 'Paused'],
  ])('continues %s: only the record, phase %s → %s', (_what, phase, expected) => {
    const plan = planVerification(input(decisions.continue, { phase }));
    expect(plan).toEqual({
      status: { phase: expected, verification: { state: 'running', lastCheckAt: at } },
      actions: [],
      deploymentFirst: false,
      events: [],
      finished: false,
    });
  });

  it.each<[PolicyMode, boolean, number, number]>([
    ['enforce', true, 1, 1],
    ['advisory', true, 1, 1],
    ['shadow', true, 0, 0],
  ])('holds in %s mode: one Event per streak, the action once', (mode, firstOfStreak, events, actions) => {
    const plan = planVerification(input(decisions.hold, { mode, firstOfStreak }));
    expect(plan.finished).toBe(false);
    expect(plan.deployment).toBeUndefined();
    expect(plan.events).toHaveLength(events);
    expect(plan.actions).toHaveLength(actions);
    if (events === 0) return;
    expect(plan.events[0]).toMatchObject({ type: 'Warning', reason: 'VerificationHeld' });
    expect(plan.actions[0]).toEqual({ type: 'verification-held', at, message: 'Prometheus is unreachable' });
  });

  it('names a hold streak by its start, or by the interval before it once the streak runs', () => {
    const start = planVerification(input(decisions.hold, { firstOfStreak: true }));
    const later = planVerification(input(decisions.hold, { firstOfStreak: false }));
    expect(start.events[0]?.dedupeKey).toBe('held/web/2/provider-error/start');
    expect(later.events[0]?.dedupeKey).toBe('held/web/2/provider-error/2026-12-01T09:59:30Z');
  });
});

describe('planActs: whether an interval does more than read', () => {
  it.each<[string, VerificationDecision, Partial<VerificationPlanInput>, string | undefined, boolean]>([
    ['going on while verifying', decisions.continue, {}, 'Verifying', false],
    ['going on while paused for approval', decisions.continue, { phase: 'Paused' }, 'Paused', false],
    ['going on, first interval after the assessment', decisions.continue, { phase: 'Assessed' }, 'Assessed', true],
    ['a hold (action and Event)', decisions.hold, {}, 'Verifying', true],
    ['a hold in shadow mode (nothing said)', decisions.hold, { mode: 'shadow' }, 'Verifying', false],
    ['a pass', decisions.pass, {}, 'Verifying', true],
    ['a pass in shadow mode', decisions.pass, { mode: 'shadow' }, 'Verifying', true],
    ['a rollback', decisions.metrics, {}, 'Verifying', true],
  ])('%s', (_what, decision, over, phaseBefore, acts) => {
    expect(planActs(planVerification(input(decision, over)), phaseBefore)).toBe(acts);
  });
});

describe('planVerification: a pass', () => {
  it.each<[PolicyMode, boolean]>([
    ['enforce', true],
    ['advisory', true],
    ['shadow', false],
  ])('in %s mode records it; annotates and tells only when not shadow (%s)', (mode, visible) => {
    const plan = planVerification(input(decisions.pass, { mode }));
    expect(plan.status).toEqual({
      phase: 'Verified',
      outcome: 'succeeded',
      verification: { state: 'running', lastCheckAt: at, completedAt: at },
    });
    expect(plan.actions).toEqual([
      { type: 'verified', at, message: 'revision 2 verified: healthy for the whole window' },
    ]);
    expect(plan.finished).toBe(true);
    expect(plan.deploymentFirst).toBe(false);
    expect(plan.rollbackResult).toBeUndefined();
    expect(plan.deployment).toEqual(
      visible
        ? { kind: 'merge', patch: { metadata: { annotations: { 'rollguard.io/verification': 'passed: revision 2' } } } }
        : undefined,
    );
    expect(plan.events.map((e) => e.reason)).toEqual(visible ? ['VerificationPassed'] : []);
  });
});

describe('planVerification: a failure', () => {
  it.each<[string, Partial<VerificationPlanInput>, VerificationDecision, string, string, string | undefined, string[]]>(
    [
      ['enforce: undone', {}, decisions.metrics, 'RolledBack', 'rolled-back', 'done', ['RolledBack']],
      [
        'enforce with rollback off',
        { rollbackEnabled: false },
        decisions.metrics,
        'Failed',
        'skipped-rollback',
        'skipped-disabled',
        ['VerificationFailed'],
      ],
      [
        'advisory',
        { mode: 'advisory' },
        decisions.metrics,
        'Failed',
        'skipped-rollback',
        'skipped-disabled',
        ['VerificationFailed'],
      ],
      ['shadow', { mode: 'shadow' }, decisions.metrics, 'Failed', 'skipped-rollback', undefined, []],
      [
        'a return to an older template',
        { rollback: { ...rollbackContext, badRevisionIsRollback: true } },
        decisions.metrics,
        'Failed',
        'skipped-rollback',
        'skipped-rollback-of-rollback',
        ['RollbackSkipped'],
      ],
      [
        'the cap reached',
        { rollback: { ...rollbackContext, maxRollbacks: 1, previousRollbacks: [now] } },
        decisions.metrics,
        'Failed',
        'skipped-rollback',
        'skipped-cap-reached',
        ['RollbackSkipped'],
      ],
      [
        'a GitOps-managed Deployment',
        {
          rollback: {
            ...rollbackContext,
            deployment: {
              ...deployment,
              metadata: {
                ...deployment.metadata,
                annotations: {
                  ...deployment.metadata?.annotations,
                  'argocd.argoproj.io/tracking-id': 'shop:apps/Deployment:shop/web',
                },
              },
            },
          },
        },
        decisions.metrics,
        'Failed',
        'gitops-paused',
        'gitops-paused',
        ['RollbackPausedForGitOps'],
      ],
      ['a stalled rollout, undone', {}, decisions.deadline, 'RolledBack', 'rolled-back', 'done', ['RolledBack']],
    ],
  )('%s', (_what, over, decision, phase, action, result, reasons) => {
    const plan = planVerification(input(decision, over));
    expect(plan.status.phase).toBe(phase);
    expect(plan.status.verification.completedAt).toBe(at);
    expect(plan.actions.map((a) => a.type)).toEqual([action]);
    expect(plan.rollbackResult).toBe(result);
    expect(plan.events.map((e) => e.reason)).toEqual(reasons);
    expect(plan.finished).toBe(true);
    // A rollback decision of rollguard's own changes the Deployment before it is recorded.
    expect(plan.deploymentFirst).toBe(over.mode === undefined && over.rollbackEnabled === undefined);
  });

  it('undoes with the guarded JSON patch and says which revision it went back to', () => {
    const plan = planVerification(input(decisions.metrics));
    expect(plan.deployment?.kind).toBe('json');
    const ops = plan.deployment?.kind === 'json' ? plan.deployment.ops : [];
    expect(ops[0]).toEqual({ op: 'test', path: '/metadata/resourceVersion', value: '42' });
    expect(plan.events[0]?.note).toMatch(/^Rolled back revision 2 to revision 1: /);
    expect(plan.events[0]?.dedupeKey).toBe('rolled-back/web/2');
    expect(plan.actions[0]?.by).toBe('rollguard');
    expect(plan.log).toMatchObject({ level: 'warn', message: 'rolled back', fields: { to: 1 } });
  });

  it('explains a metric failure with its checks and the interval, and any other cause in its own words', () => {
    const metric = planVerification(input(decisions.metrics, { mode: 'advisory' }));
    const stalled = planVerification(input(decisions.deadline, { mode: 'advisory' }));
    expect(metric.events[0]?.note).toContain('error rate 20 % is above the limit of 5 %');
    expect(stalled.events[0]?.note).toBe(
      'Revision 2 failed verification (advisory mode never rolls back): the rollout stopped progressing',
    );
  });

  it('keeps the annotation and the messages within their schema limits', () => {
    const long = { ...decisions.deadline, message: 'x'.repeat(10_000) };
    const plan = planVerification(input(long, { rollbackEnabled: false }));
    const annotation = plan.deployment?.kind === 'merge' ? plan.deployment.patch.metadata.annotations : {};
    expect(annotation['rollguard.io/verification']).toHaveLength(1000);
    expect(plan.actions[0]?.message).toHaveLength(4096);
  });
});

describe('intervalRecord', () => {
  const step = {
    counters: { ...INITIAL_COUNTERS, consecutiveFailures: 1 },
    outcome: 'fail',
    decision: decisions.continue,
  } as const;

  it('adds the interval to the previous record and keeps what it knew', () => {
    const record = intervalRecord({
      previous: { startedAt: '2026-12-01T09:59:00Z', baselineErrorRate: 0.01 },
      startedAt: '2026-12-01T09:59:00Z',
      rolloutCompletedAt: undefined,
      deadline: undefined,
      baseline: { errorRate: 0.01, latency: 0.2, note: 'the baseline latency was negative' },
      baselineCounts: undefined,
      step,
      checks: [failing],
      queries: { errorRate: 'q' },
      now,
    });
    expect(record).toMatchObject({
      startedAt: '2026-12-01T09:59:00Z',
      baselineErrorRate: 0.01,
      baselineLatencySeconds: 0.2,
      lastCheckAt: at,
      state: 'running',
      consecutiveFailures: 1,
      message: 'all checks pass so far (the baseline latency was negative)',
    });
    expect(record.steps).toHaveLength(1);
  });

  it.each([
    [30_000, '30s'],
    [60_000, '1m'],
    [90_000, '90s'],
  ])('formats an interval of %i ms as %s', (ms, text) => {
    expect(formatInterval(ms)).toBe(text);
  });
});
