// Table-driven tests of the count-based checks: minimum sample, the floors, the comparison with the old
// version, the budget per look, latency tails from histogram buckets, and unreadable answers.
import { describe, expect, it } from 'vitest';
import { emptyResult } from '../prometheus/types.js';
import type { Histogram } from './counts.js';
import { checkCounts, type CountObservations, type ErrorCounts } from './sequential.js';
import type { MetricCheck, MetricLimits } from './verdict.js';

const limits: MetricLimits = {
  errorRate: { maxAbsolute: 0.05 },
  latency: { maxAbsoluteSeconds: 1 },
  statisticalTest: { enabled: true, confidence: 0.995, margin: 1.2, minRequests: 100 },
};
const planned = { plannedLooks: 36 };

const counted = <T>(value: T) => ({ kind: 'counted' as const, value });
const errors = (requests: number, errs: number): ErrorCounts => ({ requests, errors: errs });

/** A histogram with buckets at 10, 20, 40, 80 ms and 1 s, from the number of requests in each. */
function latency(inBuckets: [number, number, number, number, number, number]): Histogram {
  const bounds = [0.01, 0.02, 0.04, 0.08, 1];
  let running = 0;
  const cumulative = bounds.map((_, i) => (running += inBuckets[i] ?? 0));
  return { bounds, cumulative, total: running + inBuckets[5] };
}

describe('checkCounts: error rate', () => {
  it.each<{ name: string; obs: CountObservations; expected: Partial<MetricCheck>; message: RegExp }>([
    {
      name: 'too few requests is no data, never a failure, even when all of them failed',
      obs: { look: 1, ...planned, errorRate: { current: counted(errors(40, 40)), baseline: errors(6000, 60) } },
      expected: { verdict: 'no-data', value: null },
      message: /^only 40 requests to the new pods since verification began; judging needs 100/,
    },
    {
      name: 'a doubled error rate on enough traffic fails against the old pods',
      obs: {
        look: 2,
        ...planned,
        errorRate: { current: counted(errors(20000, 400)), oldReplicaSet: errors(20000, 200) },
      },
      expected: { verdict: 'fail', value: 0.02, baseline: 0.01, baselineSource: 'old-replicaset', limit: 0.012 },
      message:
        /^error rate 2 % \(400 of 20,000 requests\) against 1 % \(200 of 20,000\) for the old pods: more than 1\.2× theirs \(p=1\.0e-9, needs p < 0\.0002 at look 2\)$/,
    },
    {
      name: 'the same rise at low traffic is noise: passes',
      obs: { look: 2, ...planned, errorRate: { current: counted(errors(200, 4)), oldReplicaSet: errors(200, 2) } },
      expected: { verdict: 'pass', value: 0.02 },
      message: /no proven rise above 1\.2×/,
    },
    {
      name: 'old pods and the window before the rollout are pooled',
      obs: {
        look: 1,
        ...planned,
        errorRate: {
          current: counted(errors(1000, 10)),
          oldReplicaSet: errors(1000, 10),
          baseline: errors(4000, 40),
        },
      },
      expected: { verdict: 'pass', baseline: 0.01, baselineSource: 'old-replicaset' },
      message: /against 1 % \(50 of 5,000\) for the old version \(its pods now and before\)/,
    },
    {
      name: 'the absolute limit is a hard floor even without a reference',
      obs: { look: 1, ...planned, errorRate: { current: counted(errors(500, 80)) } },
      expected: { verdict: 'fail', limit: 0.05, baselineSource: null },
      message: /^error rate 16 % \(80 of 500 requests\) is above the limit 5 % \(p=/,
    },
    {
      name: 'above the floor but the old version is just as bad: inconclusive, nothing to gain by rolling back',
      obs: { look: 1, ...planned, errorRate: { current: counted(errors(500, 80)), oldReplicaSet: errors(500, 85) } },
      expected: { verdict: 'inconclusive', limit: 0.05 },
      message: /no worse than what it replaces/,
    },
    {
      name: 'without a reference and under the floor it passes on the floor alone',
      obs: { look: 1, ...planned, errorRate: { current: counted(errors(500, 10)) } },
      expected: { verdict: 'pass', limit: 0.05 },
      message: /within the limit 5 %; no reference to compare with/,
    },
    {
      name: 'a reference with too few requests is not compared with',
      obs: { look: 1, ...planned, errorRate: { current: counted(errors(500, 10)), oldReplicaSet: errors(20, 0) } },
      expected: { verdict: 'pass' },
      message: /too few requests in the old pods to compare/,
    },
    {
      name: 'an empty answer is no data',
      obs: { look: 1, ...planned, errorRate: { current: emptyResult('no series') } },
      expected: { verdict: 'no-data', source: 'empty' },
      message: /^no error counts for the new pods/,
    },
    {
      name: 'Prometheus down is an error, not a failure',
      obs: {
        look: 1,
        ...planned,
        errorRate: { current: { kind: 'unreachable', reason: 'refused', message: 'refused the connection' } },
      },
      expected: { verdict: 'error', source: 'unreachable' },
      message: /could not read the error counts: refused/,
    },
  ])('$name', ({ obs, expected, message }) => {
    const [check] = checkCounts(limits, obs);
    expect(check).toMatchObject({ metric: 'errorRate', ...expected });
    expect(check?.message).toMatch(message);
  });

  it('spends less of the budget at later looks: the same evidence fails early and passes late', () => {
    const obs = (look: number): CountObservations => ({
      look,
      ...planned,
      errorRate: { current: counted(errors(4000, 80)), oldReplicaSet: errors(8000, 72) },
    });
    expect(checkCounts(limits, obs(1))[0]?.verdict).toBe('fail');
    expect(checkCounts(limits, obs(40))[0]?.verdict).toBe('pass');
  });

  it('a margin keeps a small real rise on heavy traffic from failing', () => {
    const obs: CountObservations = {
      look: 1,
      ...planned,
      errorRate: { current: counted(errors(1_000_000, 11_000)), oldReplicaSet: errors(1_000_000, 10_000) },
    };
    expect(checkCounts(limits, obs)[0]?.verdict).toBe('pass');
    const strict = { ...limits, statisticalTest: { ...limits.statisticalTest, margin: 1 } };
    expect(checkCounts(strict, obs)[0]?.verdict).toBe('fail');
  });
});

describe('checkCounts: latency', () => {
  const old = latency([400, 500, 90, 9, 1, 0]);
  it.each<{ name: string; obs: CountObservations; expected: Partial<MetricCheck>; message: RegExp }>([
    {
      name: 'the same distribution passes',
      obs: {
        look: 1,
        ...planned,
        latency: { current: counted(latency([390, 510, 88, 11, 1, 0])), oldReplicaSet: old },
      },
      expected: { verdict: 'pass', baselineSource: 'old-replicaset' },
      message: /no proven slowdown/,
    },
    {
      name: 'a longer tail with the same median fails, naming the bucket',
      obs: {
        look: 1,
        ...planned,
        latency: { current: counted(latency([400, 420, 100, 70, 10, 0])), oldReplicaSet: old },
      },
      expected: { verdict: 'fail' },
      message:
        /^8 % of requests to the new pods took over 0\.04s, against 1 % for the old pods: more than 1\.2× theirs/,
    },
    {
      name: 'more than 1 % of requests beyond the absolute limit fails (a p99 above it)',
      obs: { look: 1, ...planned, latency: { current: counted(latency([400, 450, 80, 20, 10, 40])) } },
      expected: { verdict: 'fail', limit: 1 },
      message: /^4 % of requests to the new pods took over 1s, so the p99 is above the limit 1s/,
    },
    {
      name: 'too few requests is no data',
      obs: { look: 1, ...planned, latency: { current: counted(latency([10, 10, 0, 0, 0, 30])), oldReplicaSet: old } },
      expected: { verdict: 'no-data' },
      message: /only 50 requests/,
    },
  ])('$name', ({ obs, expected, message }) => {
    const [check] = checkCounts(limits, obs);
    expect(check).toMatchObject({ metric: 'latency', ...expected });
    expect(check?.message).toMatch(message);
  });
});
