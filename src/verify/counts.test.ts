// Table-driven tests of the count statistics: exact binomial tails, the budget per look, histogram helpers.
import { describe, expect, it } from 'vitest';
import {
  aboveLimitTest,
  addHistograms,
  binomialUpperTail,
  boundAtOrAbove,
  boundAtQuantile,
  excessTest,
  histogramFromBuckets,
  histogramQuantile,
  lookShare,
  slowerThan,
  type Histogram,
} from './counts.js';

describe('binomialUpperTail', () => {
  it.each([
    { k: 8, n: 10, p: 0.5, expected: 56 / 1024 },
    { k: 0, n: 10, p: 0.5, expected: 1 },
    { k: 11, n: 10, p: 0.5, expected: 0 },
    { k: 1, n: 3, p: 0.1, expected: 1 - 0.9 ** 3 },
    { k: 3, n: 3, p: 0.1, expected: 0.001 },
    { k: 2, n: 5, p: 0, expected: 0 },
    { k: 2, n: 5, p: 1, expected: 1 },
  ])('P(Binomial($n, $p) ≥ $k) = $expected', ({ k, n, p, expected }) => {
    expect(binomialUpperTail(k, n, p)).toBeCloseTo(expected, 12);
  });

  it('keeps precision far in the tail, where 1 − CDF would round to 0', () => {
    // P(Binomial(1000, 0.01) ≥ 60): about 1e-25
    const tail = binomialUpperTail(60, 1000, 0.01);
    expect(tail).toBeGreaterThan(0);
    expect(tail).toBeLessThan(1e-20);
  });
});

describe('lookShare', () => {
  it.each([1, 6, 36, 200])('adds up to at most the whole budget over any number of looks (%i planned)', (planned) => {
    let sum = 0;
    for (let k = 1; k <= 100_000; k++) sum += lookShare(k, planned);
    expect(sum).toBeLessThanOrEqual(1);
    expect(sum).toBeGreaterThan(0.94);
  });
  it('front-loads a part, spreads most evenly over the planned looks, and keeps some for later', () => {
    expect(lookShare(1, 10)).toBeCloseTo(0.4 / 2 + 0.5 / 10, 15);
    expect(lookShare(10, 10)).toBeCloseTo(0.4 / 110 + 0.5 / 10, 15);
    expect(lookShare(11, 10)).toBeCloseTo(0.4 / 132 + (0.1 * 10) / 132, 15);
    expect(lookShare(0, 10)).toBe(lookShare(1, 10));
  });
});

describe('excessTest', () => {
  it.each([
    { name: 'nothing to compare', cur: [0, 100], ref: [0, 100], margin: 1, expected: 1 },
    { name: 'equal shares, every event new', cur: [3, 100], ref: [0, 100], margin: 1, expected: 1 / 8 },
    { name: 'a margin makes the same evidence weaker', cur: [3, 100], ref: [0, 100], margin: 3, expected: 0.75 ** 3 },
    { name: 'no reference requests', cur: [3, 100], ref: [0, 0], margin: 1, expected: 1 },
  ])('$name', ({ cur, ref, margin, expected }) => {
    const [e1 = 0, n1 = 0] = cur;
    const [e0 = 0, n0 = 0] = ref;
    expect(excessTest({ events: e1, total: n1 }, { events: e0, total: n0 }, margin)).toBeCloseTo(expected, 12);
  });

  it('finds a doubled error rate on enough traffic and not the same rate', () => {
    expect(excessTest({ events: 200, total: 10_000 }, { events: 100, total: 10_000 }, 1.2)).toBeLessThan(1e-4);
    expect(excessTest({ events: 100, total: 10_000 }, { events: 100, total: 10_000 }, 1.2)).toBeGreaterThan(0.5);
  });
});

describe('aboveLimitTest', () => {
  it('is the binomial tail at the limit', () => {
    expect(aboveLimitTest(3, 3, 0.1)).toBeCloseTo(0.001, 12);
    expect(aboveLimitTest(1, 0, 0.1)).toBe(1);
  });
});

const h = (bounds: number[], cumulative: number[], total: number): Histogram => ({ bounds, cumulative, total });

describe('histograms', () => {
  it.each([
    {
      name: 'rounds, sorts and caps Prometheus buckets',
      buckets: [
        { le: Infinity, count: 10.2 },
        { le: 0.1, count: 4.6 },
        { le: 0.05, count: 2.1 },
      ],
      expected: h([0.05, 0.1], [2, 5], 10),
    },
    {
      name: 'a bucket below the one before it (a counter reset) is raised to it',
      buckets: [
        { le: 0.05, count: 6 },
        { le: 0.1, count: 4 },
        { le: Infinity, count: 8 },
      ],
      expected: h([0.05, 0.1], [6, 6], 8),
    },
    { name: 'no +Inf bucket', buckets: [{ le: 0.1, count: 3 }], expected: undefined },
  ])('histogramFromBuckets: $name', ({ buckets, expected }) => {
    expect(histogramFromBuckets(buckets)).toEqual(expected);
  });

  const sample = h([0.01, 0.02, 0.05], [10, 90, 99], 100);

  it.each([
    { q: 0.5, expected: 0.01 + 0.01 * (40 / 80) },
    { q: 0.05, expected: 0.005 },
    { q: 0.99, expected: 0.05 },
    { q: 0.999, expected: 0.05 },
  ])('histogramQuantile($q) interpolates as Prometheus does', ({ q, expected }) => {
    expect(histogramQuantile(q, sample)).toBeCloseTo(expected, 12);
  });

  it('has no quantile without requests', () => {
    expect(histogramQuantile(0.5, h([0.1], [0], 0))).toBeNaN();
  });

  it('reads tails at bucket bounds', () => {
    expect(slowerThan(sample, 0.02)).toBe(10);
    expect(slowerThan(sample, 0.03)).toBeUndefined();
    expect(boundAtQuantile(0.5, sample)).toBe(0.02);
    expect(boundAtQuantile(0.99, sample)).toBe(0.05);
    expect(boundAtQuantile(0.999, sample)).toBeUndefined();
    expect(boundAtOrAbove(0.015, sample)).toBe(0.02);
    expect(boundAtOrAbove(0.06, sample)).toBeUndefined();
  });

  it('adds histograms over the bounds both have', () => {
    expect(addHistograms(sample, h([0.02, 0.05, 0.1], [1, 2, 3], 4))).toEqual(h([0.02, 0.05], [91, 101], 104));
  });
});
