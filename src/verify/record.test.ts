// A rollout's progress as the Deployment and ReplicaSet statuses report it, and how one interval's checks are
// recorded in the assessment and told in an Event.
import type { V1Deployment, V1DeploymentCondition, V1DeploymentStatus, V1ReplicaSet } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { maxVerificationSteps, type VerificationStatus, type VerificationStep } from '../api/assessment.js';
import { stableHash } from '../shard/hash.js';
import {
  appendSteps,
  describeFailure,
  mustWriteInterval,
  queriesRun,
  rolloutProgress,
  type RolloutProgress,
} from './record.js';
import type { MetricCheck } from './verdict.js';

interface DeploymentState {
  replicas?: number;
  generation?: number;
  paused?: boolean;
  status?: V1DeploymentStatus;
}

function deployment(state: DeploymentState): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      name: 'web',
      namespace: 'shop',
      ...(state.generation === undefined ? {} : { generation: state.generation }),
    },
    spec: {
      ...(state.replicas === undefined ? {} : { replicas: state.replicas }),
      ...(state.paused === undefined ? {} : { paused: state.paused }),
      selector: { matchLabels: { app: 'web' } },
      template: { spec: { containers: [{ name: 'web', image: 'shop:1.2' }] } },
    },
    ...(state.status ? { status: state.status } : {}),
  };
}

const done: V1DeploymentStatus = {
  observedGeneration: 4,
  replicas: 3,
  updatedReplicas: 3,
  readyReplicas: 3,
  availableReplicas: 3,
};

function replicaSet(readyReplicas: number | undefined, availableReplicas = readyReplicas): V1ReplicaSet {
  return {
    metadata: { name: 'web-x' },
    status: {
      replicas: 3,
      ...(readyReplicas === undefined ? {} : { readyReplicas }),
      ...(availableReplicas === undefined ? {} : { availableReplicas }),
    },
  };
}

const progressing = (status: string, reason: string): V1DeploymentCondition => ({
  type: 'Progressing',
  status,
  reason,
});

describe('rolloutProgress: completed', () => {
  it.each<[string, DeploymentState, boolean]>([
    ['every replica updated, ready and available', { replicas: 3, generation: 4, status: done }, true],
    ['the controller has not observed the latest generation', { replicas: 3, generation: 5, status: done }, false],
    ['the observed generation is ahead of the cache (read race)', { replicas: 3, generation: 3, status: done }, true],
    ['paused with every replica updated', { replicas: 3, generation: 4, paused: true, status: done }, false],
    ['2 of 3 replicas updated', { replicas: 3, generation: 4, status: { ...done, updatedReplicas: 2 } }, false],
    [
      'an old pod still terminating (4 replicas for 3)',
      { replicas: 3, generation: 4, status: { ...done, replicas: 4 } },
      false,
    ],
    [
      'updated but not all ready and available',
      { replicas: 3, generation: 4, status: { ...done, readyReplicas: 2, availableReplicas: 2 } },
      false,
    ],
    [
      'ready but not yet available (minReadySeconds)',
      { replicas: 3, generation: 4, status: { ...done, availableReplicas: 2 } },
      false,
    ],
    [
      'spec.replicas unset means one replica',
      {
        generation: 1,
        status: { observedGeneration: 1, replicas: 1, updatedReplicas: 1, readyReplicas: 1, availableReplicas: 1 },
      },
      true,
    ],
    ['spec.replicas unset but three running', { generation: 4, status: done }, false],
    ['scaled to zero', { replicas: 0, generation: 2, status: { observedGeneration: 2 } }, true],
    ['no status yet', { replicas: 3, generation: 1 }, false],
    ['more replicas desired than the status has', { replicas: 5, generation: 4, status: done }, false],
  ])('%s → %s', (_what, state, completed) => {
    expect(rolloutProgress(deployment(state), undefined, undefined).completed).toBe(completed);
  });
});

describe('rolloutProgress: progress deadline', () => {
  it.each<[string, V1DeploymentCondition[], boolean]>([
    ['ProgressDeadlineExceeded', [progressing('False', 'ProgressDeadlineExceeded')], true],
    ['still progressing', [progressing('True', 'ReplicaSetUpdated')], false],
    ['finished', [progressing('True', 'NewReplicaSetAvailable')], false],
    ['Progressing False for another reason', [progressing('False', 'ReplicaSetCreateError')], false],
    [
      'the reason on another condition type',
      [{ type: 'Available', status: 'False', reason: 'ProgressDeadlineExceeded' }],
      false,
    ],
    ['no conditions', [], false],
  ])('%s → %s', (_what, conditions, exceeded) => {
    const d = deployment({ replicas: 3, generation: 4, status: { ...done, conditions } });
    expect(rolloutProgress(d, undefined, undefined).progressDeadlineExceeded).toBe(exceeded);
  });

  // A condition left from the previous revision must never roll back the new one.
  const timedOut = (rs: string): V1DeploymentCondition => ({
    ...progressing('False', 'ProgressDeadlineExceeded'),
    message: `ReplicaSet "${rs}" has timed out progressing.`,
  });
  it.each<[string, number, V1DeploymentCondition, boolean]>([
    ['about the new ReplicaSet, generation observed', 4, timedOut('web-x'), true],
    ['left from the previous revision: generation not yet observed', 5, timedOut('web-x'), false],
    ['about the previous ReplicaSet', 4, timedOut('web-old'), false],
  ])('%s → %s', (_what, generation, condition, exceeded) => {
    const d = deployment({ replicas: 3, generation, status: { ...done, conditions: [condition] } });
    expect(rolloutProgress(d, replicaSet(0), undefined).progressDeadlineExceeded).toBe(exceeded);
  });
});

describe('rolloutProgress: which pods serve', () => {
  it.each<
    [
      string,
      V1ReplicaSet | undefined,
      V1ReplicaSet | undefined,
      Pick<RolloutProgress, 'newPodsServing' | 'oldPodsServing'>,
    ]
  >([
    ['both have ready pods', replicaSet(1), replicaSet(2), { newPodsServing: true, oldPodsServing: true }],
    ['new pods not ready yet', replicaSet(0), replicaSet(3), { newPodsServing: false, oldPodsServing: true }],
    ['old ReplicaSet scaled down', replicaSet(3), replicaSet(0), { newPodsServing: true, oldPodsServing: false }],
    [
      'ready counts, not available (ready pods take traffic)',
      replicaSet(1, 0),
      replicaSet(undefined),
      { newPodsServing: true, oldPodsServing: false },
    ],
    [
      'no status counts',
      replicaSet(undefined),
      replicaSet(undefined),
      { newPodsServing: false, oldPodsServing: false },
    ],
    ['no old ReplicaSet (first rollout)', replicaSet(2), undefined, { newPodsServing: true, oldPodsServing: false }],
    ['no ReplicaSets at all', undefined, undefined, { newPodsServing: false, oldPodsServing: false }],
  ])('%s', (_what, newRs, oldRs, expected) => {
    const progress = rolloutProgress(deployment({ replicas: 3, generation: 4, status: done }), newRs, oldRs);
    expect({ newPodsServing: progress.newPodsServing, oldPodsServing: progress.oldPodsServing }).toEqual(expected);
  });
});

function check(overrides: Partial<MetricCheck> = {}): MetricCheck {
  return {
    metric: 'errorRate',
    verdict: 'fail',
    value: 0.12,
    baseline: 0.01,
    baselineSource: 'old-replicaset',
    limit: 0.05,
    message: 'error ratio 0.12 is above the limit 0.05',
    source: 'value',
    ...overrides,
  };
}

const at = new Date('2025-06-02T12:00:10Z');
const queries = { errorRate: 'sum(rate(errors[1m]))', latency: 'histogram_quantile(0.99, x)' };

function oldSteps(count: number): VerificationStep[] {
  return Array.from({ length: count }, (_, i) => ({
    at: new Date(Date.UTC(2025, 5, 2, 11, 0, i)).toISOString(),
    metric: 'error-rate',
    verdict: 'pass',
    message: `old step ${i}`,
  }));
}

describe('appendSteps', () => {
  it.each<[string, MetricCheck, VerificationStep]>([
    [
      'a failing error-rate check with every number',
      check(),
      {
        at: '2025-06-02T12:00:10.000Z',
        metric: 'error-rate',
        verdict: 'fail',
        message: 'error ratio 0.12 is above the limit 0.05',
        query: 'sum(rate(errors[1m]))',
        value: 0.12,
        baseline: 0.01,
        limit: 0.05,
      },
    ],
    [
      'a latency check without data: the null numbers are left out',
      check({
        metric: 'latency',
        verdict: 'no-data',
        value: null,
        baseline: null,
        baselineSource: null,
        limit: null,
        message: 'no series for the new pods yet',
        source: 'empty',
      }),
      {
        at: '2025-06-02T12:00:10.000Z',
        metric: 'latency',
        verdict: 'no-data',
        message: 'no series for the new pods yet',
        query: 'histogram_quantile(0.99, x)',
      },
    ],
    [
      'a zero value is kept (it is not missing)',
      check({ verdict: 'pass', value: 0, baseline: 0, limit: 0.02, message: 'ok' }),
      {
        at: '2025-06-02T12:00:10.000Z',
        metric: 'error-rate',
        verdict: 'pass',
        message: 'ok',
        query: 'sum(rate(errors[1m]))',
        value: 0,
        baseline: 0,
        limit: 0.02,
      },
    ],
  ])('records %s', (_what, c, step) => {
    expect(appendSteps([], [c], queries, at)).toStrictEqual([step]);
  });

  it('names an empty query when none was sent', () => {
    const [step] = appendSteps([], [check({ verdict: 'error', message: 'template error' })], { errorRate: '' }, at);
    expect(step?.query).toBe('');
  });

  it('bounds the message and the query', () => {
    const [step] = appendSteps([], [check({ message: 'm'.repeat(10_000) })], { errorRate: 'q'.repeat(20_000) }, at);
    expect(step?.message).toHaveLength(4096);
    expect(step?.query).toHaveLength(8192);
  });

  it.each<[number, number, number]>([
    // existing steps, checks added, steps kept
    [0, 2, 2],
    [48, 2, 50],
    [49, 2, 50],
    [50, 2, 50],
    [maxVerificationSteps + 10, 1, 50],
  ])('with %i steps recorded and %i added keeps the last %i', (existing, added, kept) => {
    const before = oldSteps(existing);
    const checks = Array.from({ length: added }, (_, i) => check({ message: `new ${i}` }));
    const steps = appendSteps(before, checks, queries, at);
    expect(maxVerificationSteps).toBe(50);
    expect(steps).toHaveLength(kept);
    // The newest are always kept, oldest first, and the dropped ones are the oldest.
    expect(steps.slice(-added).map((s) => s.message)).toEqual(checks.map((c) => c.message));
    const keptOld = kept - added;
    expect(steps.slice(0, keptOld)).toEqual(before.slice(before.length - keptOld));
  });

  it('does not modify the steps it was given', () => {
    const before = oldSteps(50);
    const copy = structuredClone(before);
    appendSteps(before, [check()], queries, at);
    expect(before).toEqual(copy);
  });

  it('records the interval’s checks in order, both metrics', () => {
    const steps = appendSteps(
      [],
      [check(), check({ metric: 'latency', verdict: 'pass', message: 'p99 ok' })],
      queries,
      at,
    );
    expect(steps.map((s) => [s.metric, s.verdict, s.query])).toEqual([
      ['error-rate', 'fail', queries.errorRate],
      ['latency', 'pass', queries.latency],
    ]);
  });
});

describe('appendSteps names each query once', () => {
  const both = [
    check({ verdict: 'pass', message: 'ok' }),
    check({ metric: 'latency', verdict: 'pass', message: 'ok' }),
  ];
  const interval = (n: number) => new Date(at.getTime() + n * 10_000);
  function verify(intervals: number, queriesAt: (n: number) => Record<string, string>) {
    let steps: VerificationStep[] = [];
    for (let n = 0; n < intervals; n++) steps = appendSteps(steps, both, queriesAt(n), interval(n));
    return steps;
  }

  it('names a query in the first step of its metric only, while it stays the same', () => {
    const steps = verify(10, () => queries);
    expect(steps.filter((s) => s.query !== undefined).map((s) => [s.metric, s.query])).toEqual([
      ['error-rate', queries.errorRate],
      ['latency', queries.latency],
    ]);
    expect(queriesRun(steps)).toEqual(
      steps.map((s) => (s.metric === 'error-rate' ? queries.errorRate : queries.latency)),
    );
  });

  it('names it again when it changes, and when it comes back', () => {
    const other = { ...queries, errorRate: 'sum(rate(errors{deployment=~"web|api"}[1m]))' };
    const steps = verify(6, (n) => (n === 2 || n === 3 ? other : queries));
    const named = steps.flatMap((s, i) =>
      s.metric === 'error-rate' && s.query !== undefined ? [[i / 2, s.query]] : [],
    );
    expect(named).toEqual([
      [0, queries.errorRate],
      [2, other.errorRate],
      [4, queries.errorRate],
    ]);
  });

  it('keeps the query on the oldest kept step when the step that named it is dropped', () => {
    const steps = verify(60, () => queries);
    expect(steps).toHaveLength(maxVerificationSteps);
    expect(steps[0]?.at).toBe(interval(35).toISOString());
    expect(steps.filter((s) => s.query !== undefined).map((s) => s.metric)).toEqual(['error-rate', 'latency']);
    expect(new Set(queriesRun(steps))).toEqual(new Set([queries.errorRate, queries.latency]));
  });

  it('tells an interval that sent nothing from one that sent the same query', () => {
    const steps = verify(4, (n) => (n === 1 ? { errorRate: '', latency: queries.latency } : queries));
    const errorRate = steps.filter((s) => s.metric === 'error-rate');
    expect(errorRate.map((s) => s.query)).toEqual([queries.errorRate, '', queries.errorRate, undefined]);
    expect(queriesRun(steps).filter((_, i) => steps[i]?.metric === 'error-rate')).toEqual([
      queries.errorRate,
      '',
      queries.errorRate,
      queries.errorRate,
    ]);
  });

  it('keeps a full record of 50 steps to a few kB with a batched query', () => {
    const regex = Array.from({ length: 20 }, (_, i) => `checkout-service-${i}`).join('|');
    const long = {
      errorRate: `sum by (deployment, pod_template_hash) (rate(http_requests_total{namespace="shop",deployment=~"${regex}",code=~"5.."}[1m])) / sum by (deployment, pod_template_hash) (rate(http_requests_total{namespace="shop",deployment=~"${regex}"}[1m]))`,
      latency: `histogram_quantile(0.99, sum by (deployment, pod_template_hash, le) (rate(http_request_duration_seconds_bucket{namespace="shop",deployment=~"${regex}"}[1m])))`,
    };
    const steps = verify(60, () => long);
    const bytes = JSON.stringify(steps).length;
    const named = queriesRun(steps);
    const everyStepNamed = JSON.stringify(steps.map((s, i) => ({ ...s, query: named[i] }))).length;
    // 50 steps of about 120 bytes, the two queries once: a fifth of what a query in every step weighed.
    expect(bytes).toBeLessThan(10_000);
    expect(everyStepNamed).toBeGreaterThan(5 * bytes);
  });

  it('reads a record written before queries were named once: every step names its own', () => {
    const before = oldSteps(3).map((s) => ({ ...s, query: queries.errorRate }));
    const steps = appendSteps(before, [check()], queries, at);
    expect(steps.map((s) => s.query)).toEqual([queries.errorRate, undefined, undefined, undefined]);
  });
});

describe('describeFailure', () => {
  it.each<[string, MetricCheck[], Record<string, string>, string]>([
    [
      'one failing check with its query',
      [check()],
      queries,
      'error ratio 0.12 is above the limit 0.05 [checked every 10s; query: sum(rate(errors[1m]))]',
    ],
    [
      'two failing checks',
      [check(), check({ metric: 'latency', message: 'p99 2.1s is above 1s' })],
      queries,
      'error ratio 0.12 is above the limit 0.05 [checked every 10s; query: sum(rate(errors[1m]))] ' +
        'p99 2.1s is above 1s [checked every 10s; query: histogram_quantile(0.99, x)]',
    ],
    ['a check without a query', [check()], {}, 'error ratio 0.12 is above the limit 0.05 [checked every 10s]'],
    ['nothing failing', [], queries, ''],
  ])('%s', (_what, checks, q, expected) => {
    expect(describeFailure(checks, q, '10s')).toBe(expected);
  });
});

describe('mustWriteInterval', () => {
  const recorded: VerificationStatus = {
    startedAt: '2026-12-01T09:59:30.000Z',
    lastCheckAt: '2026-12-01T10:00:00.000Z',
    state: 'running',
    consecutiveFailures: 0,
    consecutiveErrors: 0,
    consecutiveNoData: 0,
    baselineErrorRate: 0.001,
    baselineCounts: { requests: 100, errors: 1 },
    steps: [{ at: '2026-12-01T10:00:00.000Z', metric: 'error-rate', verdict: 'pass', message: 'ok' }],
    message: 'within limits',
  };
  const quiet: VerificationStatus = {
    ...recorded,
    lastCheckAt: '2026-12-01T10:00:10.000Z',
    steps: [
      ...(recorded.steps ?? []),
      { at: '2026-12-01T10:00:10.000Z', metric: 'error-rate', verdict: 'pass', message: 'ok' },
    ],
    message: 'still within limits',
  };
  const at = (iso: string) => new Date(iso);
  const cases: {
    name: string;
    next?: VerificationStatus;
    acts?: boolean;
    period?: number;
    now?: string;
    want: boolean;
  }[] = [
    { name: 'a new reading only, inside the period', want: false },
    { name: 'a new reading only, the record the period old', now: '2026-12-01T10:00:30.000Z', want: true },
    { name: 'a new reading only, past the period', now: '2026-12-01T10:05:00.000Z', want: true },
    { name: 'period 0 writes every interval', period: 0, want: true },
    { name: 'the interval acts', acts: true, want: true },
    { name: 'a failure counted', next: { ...quiet, consecutiveFailures: 1 }, want: true },
    { name: 'no-data counted', next: { ...quiet, consecutiveNoData: 1 }, want: true },
    { name: 'the state changes', next: { ...quiet, state: 'held' }, want: true },
    { name: 'the rollout completed', next: { ...quiet, rolloutCompletedAt: '2026-12-01T10:00:10.000Z' }, want: true },
    { name: 'a deadline set', next: { ...quiet, deadline: '2026-12-01T10:10:10.000Z' }, want: true },
    {
      name: 'baseline counts changed',
      next: { ...quiet, baselineCounts: { requests: 100, errors: 2 } },
      want: true,
    },
    {
      name: 'baseline counts equal, another object',
      next: { ...quiet, baselineCounts: { requests: 100, errors: 1 } },
      want: false,
    },
    { name: 'a field dropped', next: (({ baselineErrorRate: _, ...rest }) => rest)(quiet), want: true },
  ];
  it.each(cases)('$name: $want', ({ next, acts, period, now, want }) => {
    expect(
      mustWriteInterval({
        recorded,
        next: next ?? quiet,
        acts: acts ?? false,
        quietPeriodMs: period ?? 30_000,
        now: at(now ?? '2026-12-01T10:00:10.000Z'),
      }),
    ).toBe(want);
  });

  it.each([
    { name: 'its turn, inside the period', tick: 3, slot: 0, want: true },
    { name: 'its turn by slot, inside the period', tick: 4, slot: 2, want: true },
    { name: 'not its turn', tick: 4, slot: 0, want: false },
    { name: 'a period of one interval has no turns', tick: 3, slot: 0, interval: 20_000, want: false },
  ])('$name: $want', ({ tick, slot, interval, want }) => {
    expect(
      mustWriteInterval({
        recorded,
        next: quiet,
        acts: false,
        quietPeriodMs: 30_000,
        now: at('2026-12-01T10:00:10.000Z'),
        turn: { tick, intervalMs: interval ?? 10_000, slot },
      }),
    ).toBe(want);
  });

  it('spreads the quiet writes of 300 rollouts started together evenly over the intervals of a period', () => {
    // All first written in the same interval (tick 0), then quiet: the period is 3 intervals of 10 s.
    const intervalMs = 10_000;
    const names = Array.from({ length: 300 }, (_, i) => `shop-${i % 30}/service-${i}-7`);
    const last = new Map(names.map((n) => [n, 0]));
    const writesPerTick: number[] = [];
    const gaps = new Set<number>();
    for (let tick = 1; tick <= 12; tick++) {
      const now = new Date(tick * intervalMs + 150);
      let writes = 0;
      for (const name of names) {
        const lastTick = last.get(name) ?? 0;
        const write = mustWriteInterval({
          recorded: { ...recorded, lastCheckAt: new Date(lastTick * intervalMs + 150).toISOString() },
          next: quiet,
          acts: false,
          quietPeriodMs: 30_000,
          now,
          turn: { tick, intervalMs, slot: stableHash(name) },
        });
        if (!write) continue;
        writes++;
        if (tick > 3) gaps.add(tick - lastTick);
        last.set(name, tick);
      }
      writesPerTick.push(writes);
    }
    // Each record once per period, never 300 at once: about a third in each interval.
    expect(gaps).toEqual(new Set([3]));
    for (const writes of writesPerTick) {
      expect(writes).toBeGreaterThanOrEqual(70);
      expect(writes).toBeLessThanOrEqual(130);
    }
  });

  it('writes when a streak ends, when the record has never been written, or its time does not parse', () => {
    const args = { next: quiet, acts: false, quietPeriodMs: 30_000, now: at('2026-12-01T10:00:10.000Z') };
    const { lastCheckAt: _, ...never } = recorded;
    expect(mustWriteInterval({ ...args, recorded: never })).toBe(true);
    expect(mustWriteInterval({ ...args, recorded: { ...recorded, lastCheckAt: 'yesterday' } })).toBe(true);
    expect(mustWriteInterval({ ...args, recorded: { ...recorded, consecutiveFailures: 1 } })).toBe(true);
  });
});
