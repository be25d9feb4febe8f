// Table-driven tests for the verdict: one interval's checks, then whole verifications interval by interval.
import { describe, expect, it } from 'vitest';
import { emptyResult, singleValue, type SingleResult } from '../prometheus/types.js';
import {
  INITIAL_COUNTERS,
  checkInterval,
  nextVerificationState,
  type DecisionLimits,
  type IntervalObservations,
  type MetricCheck,
  type MetricLimits,
  type VerificationClock,
  type VerificationDecision,
} from './verdict.js';

const v = (n: number): SingleResult => singleValue(n);
const unreachable: SingleResult = {
  kind: 'unreachable',
  reason: 'refused',
  message: 'Prometheus at http://prometheus.monitoring:9090 refused the connection',
};

const limits: MetricLimits = {
  errorRate: { maxAbsolute: 0.05, maxIncrease: 0.02 },
  latency: { maxAbsoluteSeconds: 1, maxRelative: 1.5 },
};

const withStats: MetricLimits = { ...limits, statisticalTest: { enabled: true, confidence: 0.995 } };

describe('checkInterval', () => {
  it.each<{
    name: string;
    limits?: MetricLimits;
    observations: IntervalObservations;
    expected: Partial<MetricCheck>[];
    message?: RegExp;
  }>([
    {
      name: 'error jump above the absolute limit fails, in words',
      observations: { errorRate: { current: v(0.31), baseline: 0.01 } },
      expected: [{ metric: 'errorRate', verdict: 'fail', value: 0.31, baseline: 0.01, limit: 0.05 }],
      message: /^error ratio 0\.31 is above the limit 0\.05 \(baseline 0\.01\)$/,
    },
    {
      name: 'error increase over the baseline fails below the absolute limit',
      observations: { errorRate: { current: v(0.04), baseline: 0.01 } },
      expected: [{ verdict: 'fail', limit: 0.03, baselineSource: 'before-rollout' }],
      message: /error ratio 0\.04 is more than 0\.02 above the baseline 0\.01 \(limit 0\.03\)/,
    },
    {
      name: 'a small error ratio passes',
      observations: { errorRate: { current: v(0.012), baseline: 0.01 } },
      expected: [{ verdict: 'pass', limit: 0.03 }],
      message: /error ratio 0\.012 is within the limit 0\.03 \(baseline 0\.01\)/,
    },
    {
      name: 'latency jump above the absolute limit fails',
      observations: { latency: { current: v(1.4), baseline: 0.3 } },
      expected: [{ metric: 'latency', verdict: 'fail', value: 1.4, limit: 1 }],
      message: /^latency 1\.4s is above the limit 1s \(baseline 0\.3s\)$/,
    },
    {
      name: 'latency above maxRelative × baseline fails',
      observations: { latency: { current: v(0.5), baseline: 0.3 } },
      expected: [{ verdict: 'fail', limit: 0.45 }],
      message: /more than 1\.5× the baseline 0\.3s \(limit 0\.45s\)/,
    },
    {
      name: 'latency beyond the highest bucket (+Inf) fails',
      observations: { latency: { current: singleValue(Infinity), baseline: 0.3 } },
      expected: [{ verdict: 'fail', value: null, limit: 1 }],
      message: /latency \+Inf \(beyond the highest histogram bucket\) is above the limit 1s/,
    },
    {
      name: 'the old pods are compared in preference to the baseline',
      observations: { errorRate: { current: v(0.04), oldReplicaSet: v(0.01), baseline: 0.035 } },
      expected: [{ verdict: 'fail', baseline: 0.01, baselineSource: 'old-replicaset', limit: 0.03 }],
      message: /above the old pods' 0\.01/,
    },
    {
      name: 'new and old pods failing alike do not blame the new version',
      observations: { errorRate: { current: v(0.3), oldReplicaSet: v(0.29), baseline: 0.01 } },
      expected: [{ verdict: 'inconclusive', value: 0.3, baseline: 0.29 }],
      message: /above the limit 0\.05, but the old pods show 0\.29 at the same time: the new version is no worse/,
    },
    {
      name: 'a partial hotfix during an incident is not rolled back',
      observations: { errorRate: { current: v(0.1), baseline: 0.2 } },
      expected: [{ verdict: 'inconclusive' }],
      message: /but it was already 0\.2 before the rollout/,
    },
    {
      name: 'no reference: only the absolute limit applies',
      observations: { errorRate: { current: v(0.04), baseline: emptyResult() } },
      expected: [{ verdict: 'pass', baseline: null, limit: 0.05 }],
    },
    {
      name: 'a zero-latency baseline does not make everything a failure',
      observations: { latency: { current: v(0.2), baseline: 0 } },
      expected: [{ verdict: 'pass', limit: 1 }],
    },
    {
      name: 'empty result is no data',
      observations: { errorRate: { current: emptyResult() } },
      expected: [{ verdict: 'no-data', value: null, source: 'empty' }],
      message: /no error ratio for the new pods/,
    },
    {
      name: 'NaN (0/0) is no data',
      observations: { errorRate: { current: singleValue(NaN) } },
      expected: [{ verdict: 'no-data', source: 'not-a-number' }],
      message: /no requests to the new pods/,
    },
    {
      name: 'an error ratio of +Inf cannot be judged',
      observations: { errorRate: { current: singleValue(Infinity) } },
      expected: [{ verdict: 'inconclusive' }],
    },
    {
      name: 'several series where one was expected is inconclusive',
      observations: {
        errorRate: {
          current: { kind: 'multiple-series', count: 2, examples: [], message: 'the query returned 2 series' },
        },
      },
      expected: [{ verdict: 'inconclusive', source: 'multiple-series' }],
    },
    {
      name: 'an unreachable Prometheus is an error, not a failure',
      observations: { errorRate: { current: unreachable }, latency: { current: unreachable } },
      expected: [
        { metric: 'errorRate', verdict: 'error', source: 'unreachable' },
        { metric: 'latency', verdict: 'error', source: 'unreachable' },
      ],
      message: /could not read the error ratio: Prometheus at .* refused the connection/,
    },
    {
      name: 'a metric without limits is not checked',
      limits: { errorRate: { maxAbsolute: 0.05 } },
      observations: { errorRate: { current: v(0.01) }, latency: { current: v(9) } },
      expected: [{ metric: 'errorRate', verdict: 'pass' }],
    },
    {
      name: 'statistical test on: the plain readings are not judged, only counts',
      limits: withStats,
      observations: { errorRate: { current: v(0.3), baseline: 0.01 } },
      expected: [],
    },
    {
      name: 'statistical test on: the counts are judged instead of the ratio',
      limits: withStats,
      observations: {
        errorRate: { current: v(0.3), baseline: 0.01 },
        counts: {
          look: 3,
          plannedLooks: 36,
          errorRate: {
            current: { kind: 'counted', value: { requests: 1000, errors: 11 } },
            baseline: { requests: 5000, errors: 50 },
          },
        },
      },
      expected: [{ metric: 'errorRate', verdict: 'pass', value: 0.011, baseline: 0.01 }],
      message:
        /^error rate 1\.1 % \(11 of 1,000 requests\) against 1 % \(50 of 5,000\) for the old version before the rollout: no proven rise/,
    },
  ])('$name', ({ limits: l, observations, expected, message }) => {
    const checks = checkInterval(l ?? limits, observations);
    expect(checks).toHaveLength(expected.length);
    expected.forEach((e, i) => {
      expect(checks[i]).toMatchObject(e);
    });
    if (message) expect(checks[0]?.message).toMatch(message);
  });
});

// ---- whole verifications ----

const defaults: DecisionLimits = {
  failureLimit: 2,
  inconclusiveLimit: 6,
  errorLimit: 6,
  onNoData: 'hold',
  onProviderError: 'hold',
};

/** One interval's observations, by shorthand. */
const good: IntervalObservations = {
  errorRate: { current: v(0.01), baseline: 0.01 },
  latency: { current: v(0.2), baseline: 0.2 },
};
const badErrors: IntervalObservations = { ...good, errorRate: { current: v(0.31), baseline: 0.01 } };
const slow: IntervalObservations = { ...good, latency: { current: v(1.8), baseline: 0.2 } };
const down: IntervalObservations = { errorRate: { current: unreachable }, latency: { current: unreachable } };
const empty: IntervalObservations = { errorRate: { current: emptyResult() }, latency: { current: emptyResult() } };
const rejected: SingleResult = {
  kind: 'promql-error',
  status: 400,
  errorType: 'bad_data',
  error: 'parse error: unexpected end of input',
  message: 'Prometheus rejected the query (bad_data): parse error: unexpected end of input',
};
const badQuery: IntervalObservations = { ...good, errorRate: { current: rejected } };

interface Interval {
  observations: IntervalObservations;
  clock?: Partial<VerificationClock>;
}

function run(intervals: Interval[], l: DecisionLimits = defaults): VerificationDecision[] {
  let counters = INITIAL_COUNTERS;
  return intervals.map(({ observations, clock }) => {
    const step = nextVerificationState(counters, checkInterval(limits, observations), l, {
      windowElapsed: false,
      ...clock,
    });
    counters = step.counters;
    return step.decision;
  });
}

const times = (n: number, observations: IntervalObservations, clock?: Partial<VerificationClock>): Interval[] =>
  Array.from({ length: n }, () => (clock === undefined ? { observations } : { observations, clock }));
const elapsed = { windowElapsed: true };

describe('nextVerificationState with the statistical test', () => {
  const counts = (errors: number) => ({
    counts: {
      look: 3,
      plannedLooks: 36,
      errorRate: {
        current: { kind: 'counted' as const, value: { requests: 20_000, errors } },
        oldReplicaSet: { requests: 20_000, errors: 200 },
      },
    },
  });
  const step = (observations: IntervalObservations, failureLimit: number) =>
    nextVerificationState(
      INITIAL_COUNTERS,
      checkInterval(withStats, observations),
      { ...defaults, failureLimit },
      {
        windowElapsed: false,
      },
    );

  it.each([2, 3, 5])(
    'a failure of the test rolls back at once, whatever failureLimit (%i) says: its error is bounded over all looks',
    (failureLimit) => {
      const decision = step(counts(400), failureLimit).decision;
      expect(decision).toMatchObject({ action: 'rollback', cause: 'metrics' });
      expect(decision.message).toMatch(/^error rate 2 % \(400 of 20,000 requests\) against 1 %/);
    },
  );

  it('the same counts with no proven rise continue', () => {
    expect(step(counts(205), 2).decision.action).toBe('continue');
  });

  it('a plain threshold failure still waits for failureLimit', () => {
    expect(step(badErrors, 2).decision.action).toBe('continue');
  });
});

describe('nextVerificationState', () => {
  it.each<{ name: string; intervals: Interval[]; limits?: DecisionLimits; actions: string[] }>([
    {
      name: 'error jump → rollback after failureLimit (2)',
      intervals: times(2, badErrors),
      actions: ['continue', 'rollback'],
    },
    {
      name: 'failureLimit 1 (rollback-ready) → rollback on the first failed interval',
      intervals: times(1, badErrors),
      limits: { ...defaults, failureLimit: 1 },
      actions: ['rollback'],
    },
    {
      name: 'latency jump → rollback',
      intervals: [...times(2, good), ...times(2, slow)],
      actions: ['continue', 'continue', 'continue', 'rollback'],
    },
    {
      name: 'good version passes when the window ends',
      intervals: [...times(3, good), ...times(1, good, elapsed)],
      actions: ['continue', 'continue', 'continue', 'pass'],
    },
    {
      name: 'a passing interval resets the failure streak',
      intervals: [...times(1, badErrors), ...times(1, good), ...times(1, badErrors), ...times(1, good)],
      actions: ['continue', 'continue', 'continue', 'continue'],
    },
    {
      name: 'an outage in between neither resets nor lengthens a failure streak',
      intervals: [...times(1, badErrors), ...times(2, down), ...times(1, badErrors)],
      actions: ['continue', 'continue', 'continue', 'rollback'],
    },
    {
      name: 'Prometheus down for many intervals → hold, never rollback; resumes and passes when back',
      intervals: [...times(10, down), ...times(1, good), ...times(1, good, elapsed)],
      actions: [...Array<string>(5).fill('continue'), ...Array<string>(5).fill('hold'), 'continue', 'pass'],
    },
    {
      name: 'Prometheus down past the window still holds, and passes once it answers well',
      intervals: [...times(8, down, elapsed), ...times(1, good, elapsed)],
      actions: [...Array<string>(5).fill('continue'), 'hold', 'hold', 'hold', 'pass'],
    },
    {
      name: 'onProviderError: fail rolls back after errorLimit',
      intervals: times(3, down),
      limits: { ...defaults, errorLimit: 3, onProviderError: 'fail' },
      actions: ['continue', 'continue', 'rollback'],
    },
    {
      name: 'a query Prometheus rejects (bad_data) holds at once, even with onProviderError: fail',
      intervals: times(4, badQuery),
      limits: { ...defaults, errorLimit: 1, onProviderError: 'fail' },
      actions: ['hold', 'hold', 'hold', 'hold'],
    },
    {
      name: 'a rejected query neither adds to nor forgives an outage streak',
      intervals: [...times(1, down), ...times(2, badQuery), ...times(1, down)],
      limits: { ...defaults, errorLimit: 2, onProviderError: 'fail' },
      actions: ['continue', 'hold', 'hold', 'rollback'],
    },
    {
      name: 'a rejected latency query does not hide a failing error rate',
      intervals: times(2, { ...badErrors, latency: { current: rejected } }),
      actions: ['continue', 'rollback'],
    },
    {
      name: 'empty data with onNoData: hold → hold, no rollback',
      intervals: times(7, empty, elapsed),
      actions: [...Array<string>(5).fill('continue'), 'hold', 'hold'],
    },
    {
      name: 'empty data with onNoData: pass → pass once the window has elapsed',
      intervals: [...times(6, empty), ...times(1, empty, elapsed)],
      limits: { ...defaults, onNoData: 'pass' },
      actions: [...Array<string>(6).fill('continue'), 'pass'],
    },
    {
      name: 'empty data with onNoData: fail → rollback after inconclusiveLimit',
      intervals: times(3, empty),
      limits: { ...defaults, inconclusiveLimit: 3, onNoData: 'fail' },
      actions: ['continue', 'continue', 'rollback'],
    },
    {
      name: 'an open failure streak at the window end keeps verifying',
      intervals: [...times(1, badErrors, elapsed), ...times(1, good, elapsed)],
      limits: { ...defaults, failureLimit: 3 },
      actions: ['continue', 'pass'],
    },
    {
      name: 'an unhealthy Prometheus turns a rollback into a hold until it is well',
      intervals: [
        ...times(1, badErrors),
        ...times(1, badErrors, { providerHealthy: false }),
        ...times(1, badErrors, { providerHealthy: true }),
      ],
      actions: ['continue', 'hold', 'rollback'],
    },
    {
      name: 'a rollout past its progress deadline counts as failed',
      intervals: [...times(1, good), ...times(1, empty, { progressDeadlineExceeded: true })],
      actions: ['continue', 'rollback'],
    },
  ])('$name', ({ intervals, limits: l, actions }) => {
    expect(run(intervals, l).map((d) => d.action)).toEqual(actions);
  });

  it('says why it rolls back, with the failing checks', () => {
    const [, decision] = run(times(2, badErrors));
    expect(decision).toMatchObject({
      action: 'rollback',
      cause: 'metrics',
      checks: [{ metric: 'errorRate', verdict: 'fail', value: 0.31, limit: 0.05 }],
    });
    expect(decision?.message).toBe(
      'error ratio 0.31 is above the limit 0.05 (baseline 0.01) for 2 consecutive intervals',
    );
  });

  it('says why it holds during an outage', () => {
    const decisions = run(times(6, down));
    expect(decisions[5]).toMatchObject({ action: 'hold', cause: 'provider-error' });
    expect(decisions[5]?.message).toMatch(
      /^Prometheus unreachable for 6 intervals; verification paused, no rollback \(could not read the error ratio: Prometheus at http:\/\/prometheus\.monitoring:9090 refused the connection/,
    );
    expect(decisions[0]?.message).toMatch(/1 interval of 6 before onProviderError \(hold\) applies$/);
  });

  it('says why it holds without data', () => {
    const decisions = run(times(6, empty));
    expect(decisions[5]).toMatchObject({ action: 'hold', cause: 'no-data' });
    expect(decisions[5]?.message).toMatch(/^no usable data for 6 intervals; verification paused, no rollback/);
  });

  it('counts failures, errors and no-data separately', () => {
    let counters = INITIAL_COUNTERS;
    const seen = [badErrors, down, down, empty, badErrors, good].map((o) => {
      counters = nextVerificationState(
        counters,
        checkInterval(limits, o),
        { ...defaults, failureLimit: 9 },
        {
          windowElapsed: false,
        },
      ).counters;
      return [counters.consecutiveFailures, counters.consecutiveErrors, counters.consecutiveNoData];
    });
    expect(seen).toEqual([
      [1, 0, 0],
      [1, 1, 0],
      [1, 2, 0],
      [1, 0, 1],
      [2, 0, 0],
      [0, 0, 0],
    ]);
  });

  it('treats an interval without any check as no data', () => {
    const step = nextVerificationState(INITIAL_COUNTERS, [], defaults, { windowElapsed: true });
    expect(step.outcome).toBe('no-data');
    expect(step.decision.action).toBe('continue');
  });
});
