// Table-driven tests of turning Prometheus's answers into the counts the statistical test judges.
import { describe, expect, it } from 'vitest';
import type { BucketsReading } from '../prometheus/batch.js';
import { emptyResult, singleValue, type SingleResult } from '../prometheus/types.js';
import { baselineCountsOf, countObservations, type CountsRead } from './count-readings.js';

const v = (n: number): SingleResult => singleValue(n);
const buckets = (pairs: [number, number][]): BucketsReading => ({
  kind: 'buckets',
  buckets: pairs.map(([le, count]) => ({ le, count })),
});
const down: SingleResult = { kind: 'unreachable', reason: 'refused', message: 'refused' };
const read = (over: Partial<CountsRead> = {}): CountsRead => ({
  requests: { current: v(1000.4), old: v(2000) },
  errors: { current: v(9.6), old: emptyResult() },
  latencyBuckets: {
    current: buckets([
      [0.1, 900.2],
      [Infinity, 1000.4],
    ]),
  },
  ...over,
});

describe('countObservations', () => {
  it('rounds increase() fractions and reads no error series as no errors', () => {
    const obs = countObservations(read(), undefined, 3, 36);
    expect(obs).toMatchObject({ look: 3, plannedLooks: 36 });
    expect(obs.errorRate?.current).toEqual({ kind: 'counted', value: { requests: 1000, errors: 10 } });
    expect(obs.errorRate?.oldReplicaSet).toEqual({ requests: 2000, errors: 0 });
    expect(obs.latency?.current).toEqual({
      kind: 'counted',
      value: { bounds: [0.1], cumulative: [900], total: 1000 },
    });
  });

  it.each<{ name: string; over: Partial<CountsRead>; errorKind: string; latencyKind: string }>([
    {
      name: 'no requests series is no data, not zero',
      over: { requests: { current: emptyResult('no series') } },
      errorKind: 'empty',
      latencyKind: 'counted',
    },
    {
      name: 'an outage of the errors query stays an outage',
      over: { errors: { current: down } },
      errorKind: 'unreachable',
      latencyKind: 'counted',
    },
    {
      name: 'a histogram without +Inf cannot be read',
      over: { latencyBuckets: { current: buckets([[0.1, 5]]) } },
      errorKind: 'counted',
      latencyKind: 'invalid-response',
    },
    {
      name: 'a single number where buckets belong cannot be read',
      over: { latencyBuckets: { current: v(3) } },
      errorKind: 'counted',
      latencyKind: 'invalid-response',
    },
  ])('$name', ({ over, errorKind, latencyKind }) => {
    const obs = countObservations(read(over), undefined, 1, 36);
    expect(obs.errorRate?.current.kind).toBe(errorKind);
    expect(obs.latency?.current.kind).toBe(latencyKind);
  });

  it('never counts more errors than requests', () => {
    const obs = countObservations(read({ errors: { current: v(1500) } }), undefined, 1, 36);
    expect(obs.errorRate?.current).toEqual({ kind: 'counted', value: { requests: 1000, errors: 1000 } });
  });

  it('uses the baseline kept in status, and drops a histogram that does not fit together', () => {
    const obs = countObservations(
      read(),
      { requests: 6000, errors: 60, latencyBounds: [0.1, 0.2], latencyCumulative: [5000], latencyTotal: 6000 },
      1,
      36,
    );
    expect(obs.errorRate?.baseline).toEqual({ requests: 6000, errors: 60 });
    expect(obs.latency?.baseline).toBeUndefined();
  });
});

describe('baselineCountsOf', () => {
  it('keeps counts and the histogram for status', () => {
    expect(
      baselineCountsOf({
        requests: v(6000),
        errors: v(59.7),
        latencyBuckets: buckets([
          [0.1, 5400],
          [Infinity, 6000],
        ]),
      }),
    ).toEqual({ requests: 6000, errors: 60, latencyBounds: [0.1], latencyCumulative: [5400], latencyTotal: 6000 });
  });
  it('leaves out a histogram finer than the status holds', () => {
    const fine = buckets([
      ...Array.from({ length: 80 }, (_, i): [number, number] => [0.001 * (i + 1), i]),
      [Infinity, 80],
    ]);
    expect(baselineCountsOf({ requests: v(80), errors: v(1), latencyBuckets: fine })).toEqual({
      requests: 80,
      errors: 1,
    });
  });
  it('has no baseline when the requests cannot be read', () => {
    expect(baselineCountsOf({ requests: down, errors: down, latencyBuckets: down })).toBeUndefined();
  });
  it('keeps the error counts without a readable histogram', () => {
    expect(baselineCountsOf({ requests: v(10), errors: emptyResult(), latencyBuckets: down })).toEqual({
      requests: 10,
      errors: 0,
    });
  });
});
