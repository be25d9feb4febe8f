import { describe, expect, it } from 'vitest';
import {
  chiSquareSurvival,
  chiSquareTest,
  kolmogorovQ,
  ksStatistic,
  ksTest,
  ksTwoSample,
  logGamma,
  regularisedGamma,
  weightedSample,
} from './stats.js';

// erfc by its own series, only to check the chi-square tail with 1 degree of freedom: P(χ²₁ > x) = erfc(√(x/2)).
function erfc(x: number): number {
  // Abramowitz & Stegun 7.1.26 is only good to 1e-7; the series of erf is exact enough for x < 3.
  let sum = 0;
  let term = x;
  for (let n = 0; n < 80; n++) {
    sum += term / (2 * n + 1);
    term *= (-x * x) / (n + 1);
  }
  return 1 - (2 / Math.sqrt(Math.PI)) * sum;
}

describe('weightedSample', () => {
  it.each([
    { observations: [], values: [], weights: [] },
    { observations: [3, 1, 3, 2, 3], values: [1, 2, 3], weights: [1, 1, 3] },
    { observations: [-1, -1, 0.5, NaN], values: [-1, 0.5], weights: [2, 1] },
  ])('$observations → $values × $weights', ({ observations, values, weights }) => {
    expect(weightedSample(observations)).toEqual({ values, weights });
  });
});

describe('ksStatistic', () => {
  it.each([
    { a: [1, 2, 3, 4, 5], b: [6, 7, 8, 9, 10], d: 1 },
    { a: [1, 2, 3], b: [3, 2, 1], d: 0 },
    // F_a jumps to 0.5 at 1 while F_b is 0 until 2.
    { a: [1, 1, 2, 2], b: [2, 2, 2, 2], d: 0.5 },
    { a: [1, 2, 3, 4], b: [2.5], d: 0.5 },
    // Ties across samples move together: at 0 both reach their share before comparing.
    { a: [0, 0, 0, 1], b: [0, 1, 1, 1], d: 0.5 },
  ])('D($a, $b) = $d', ({ a, b, d }) => {
    expect(ksStatistic(weightedSample(a), weightedSample(b))).toBeCloseTo(d, 12);
  });

  it('is NaN when a sample is empty', () => {
    expect(ksStatistic(weightedSample([]), weightedSample([1]))).toBeNaN();
  });

  it('reads weights as counts', () => {
    const expanded = ksStatistic(weightedSample([1, 1, 1, 2]), weightedSample([1, 2, 2, 2]));
    const weighted = ksStatistic({ values: [1, 2], weights: [3, 1] }, { values: [1, 2], weights: [1, 3] });
    expect(weighted).toBeCloseTo(expanded, 12);
  });
});

describe('kolmogorovQ', () => {
  // The Kolmogorov distribution's upper tail 1 − K(λ), from the alternating series summed to 200 terms.
  it.each([
    { lambda: 0, q: 1 },
    { lambda: 0.3, q: 0.99999 },
    { lambda: 0.5, q: 0.963945 },
    { lambda: 1.0, q: 0.27 },
    // The critical values of the test at α = 0.10, 0.05 and 0.01.
    { lambda: 1.22385, q: 0.1 },
    { lambda: 1.3581, q: 0.05 },
    { lambda: 1.62762, q: 0.01 },
    { lambda: 2.5, q: 7.4533e-6 },
  ])('Q($lambda) ≈ $q', ({ lambda, q }) => {
    expect(kolmogorovQ(lambda)).toBeCloseTo(q, 5);
  });

  it('is continuous where it switches series (λ = 1.18)', () => {
    // Both series at the same λ: evaluate just below and just above, 1e-12 apart.
    expect(kolmogorovQ(1.18 - 1e-12)).toBeCloseTo(kolmogorovQ(1.18), 11);
  });

  it('falls as λ grows', () => {
    const values = [0.2, 0.4, 0.8, 1.0, 1.17, 1.19, 1.5, 2, 3].map(kolmogorovQ);
    values.slice(1).forEach((value, i) => {
      expect(value).toBeLessThanOrEqual(values[i] ?? 1);
    });
  });
});

describe('ksTest', () => {
  it('gives p ≈ 1 for the same sample and a tiny p for disjoint large samples', () => {
    const same = Array.from({ length: 50 }, (_, i) => i);
    expect(ksTwoSample(same, same)).toEqual({ statistic: 0, pValue: 1, n: 50, m: 50 });
    const low = Array.from({ length: 100 }, (_, i) => i);
    const high = low.map((value) => value + 1000);
    const result = ksTwoSample(low, high);
    expect(result.statistic).toBe(1);
    expect(result.pValue).toBeLessThan(1e-20);
  });

  it("uses Stephens' correction: D = 0.3 with n = m = 50 gives p ≈ 0.0172", () => {
    // √(25) = 5; λ = (5 + 0.12 + 0.022)·0.3 = 1.5426; Q(1.5426) = 0.01722.
    const a = Array.from({ length: 50 }, (_, i) => i);
    const b = a.map((value) => value + 15);
    const result = ksTwoSample(a, b);
    expect(result.statistic).toBeCloseTo(0.3, 12);
    expect(result.pValue).toBeCloseTo(kolmogorovQ((5 + 0.12 + 0.11 / 5) * 0.3), 12);
    expect(result.pValue).toBeCloseTo(0.0172, 3);
  });

  it('takes the sample sizes a summary stands for', () => {
    const summary = { values: [1, 2], weights: [1, 1] };
    const recent = weightedSample([2, 2, 2, 2]);
    expect(ksTest(summary, recent, 10_000, 4).n).toBe(10_000);
    expect(ksTest(summary, recent, 10_000, 4).pValue).toBeLessThan(ksTest(summary, recent).pValue);
  });
});

describe('logGamma', () => {
  it.each([
    { x: 1, value: 0 },
    { x: 2, value: 0 },
    { x: 5, value: Math.log(24) },
    { x: 10, value: Math.log(362_880) },
    { x: 0.5, value: Math.log(Math.sqrt(Math.PI)) },
    { x: 0.1, value: Math.log(9.513507698668732) },
    // Γ(n + ½) = (2n)!·√π / (4ⁿ·n!) with n = 100.
    { x: 100.5, value: 863.2319871924054 + 0.5 * Math.log(Math.PI) - 100 * Math.log(4) - 363.73937555556347 },
  ])('ln Γ($x) = $value', ({ x, value }) => {
    expect(logGamma(x)).toBeCloseTo(value, 10);
  });

  it('is NaN outside x > 0', () => {
    expect(logGamma(0)).toBeNaN();
    expect(logGamma(-1)).toBeNaN();
  });
});

describe('regularisedGamma', () => {
  it.each([0.1, 0.5, 1, 2, 5, 20])('P(1, %f) = 1 − e^(−x) (series and continued fraction)', (x) => {
    const { p, q } = regularisedGamma(1, x);
    expect(p).toBeCloseTo(1 - Math.exp(-x), 13);
    expect(q).toBeCloseTo(Math.exp(-x), 13);
  });

  it('P(a, x) + Q(a, x) = 1 and both are in 0..1', () => {
    for (const a of [0.5, 1, 3.5, 10, 50]) {
      for (const x of [0, 0.01, 1, a, a + 1, 2 * a, 100]) {
        const { p, q } = regularisedGamma(a, x);
        expect(p + q).toBeCloseTo(1, 12);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(q).toBeLessThanOrEqual(1);
      }
    }
  });

  it('is NaN for a ≤ 0 or x < 0', () => {
    expect(regularisedGamma(0, 1).p).toBeNaN();
    expect(regularisedGamma(1, -1).q).toBeNaN();
  });
});

describe('chiSquareSurvival', () => {
  // Critical values from any chi-square table.
  it.each([
    { x: 3.841459, dof: 1, p: 0.05 },
    { x: 6.634897, dof: 1, p: 0.01 },
    { x: 5.991465, dof: 2, p: 0.05 },
    { x: 11.070498, dof: 5, p: 0.05 },
    { x: 15.086272, dof: 5, p: 0.01 },
    { x: 23.209251, dof: 10, p: 0.01 },
    { x: 124.342113, dof: 100, p: 0.05 },
    { x: 0, dof: 3, p: 1 },
  ])('P(χ²_$dof > $x) = $p', ({ x, dof, p }) => {
    expect(chiSquareSurvival(x, dof)).toBeCloseTo(p, 6);
  });

  it.each([0.1, 1, 2.7, 8])('with 1 degree of freedom equals erfc(√(x/2)) at x = %f', (x) => {
    expect(chiSquareSurvival(x, 1)).toBeCloseTo(erfc(Math.sqrt(x / 2)), 10);
  });

  it('with 2 degrees of freedom equals e^(−x/2)', () => {
    expect(chiSquareSurvival(7, 2)).toBeCloseTo(Math.exp(-3.5), 13);
  });
});

describe('chiSquareTest', () => {
  it.each([
    {
      name: '2×2 with expected 15 everywhere',
      table: [
        [10, 20],
        [20, 10],
      ],
      statistic: 100 / 15,
      dof: 1,
      v: 1 / 3,
    },
    {
      name: 'an unused category is dropped',
      table: [
        [10, 0, 20],
        [20, 0, 10],
      ],
      statistic: 100 / 15,
      dof: 1,
      v: 1 / 3,
    },
    {
      name: 'identical proportions',
      table: [
        [10, 20, 30],
        [1, 2, 3],
      ],
      statistic: 0,
      dof: 2,
      v: 0,
    },
    {
      name: 'completely different categories',
      table: [
        [30, 0],
        [0, 30],
      ],
      statistic: 60,
      dof: 1,
      v: 1,
    },
    { name: 'one category only', table: [[5], [7]], statistic: 0, dof: 0, v: 0 },
    {
      name: 'one sample empty',
      table: [
        [5, 5],
        [0, 0],
      ],
      statistic: 0,
      dof: 0,
      v: 0,
    },
  ])('$name', ({ table, statistic, dof, v }) => {
    const result = chiSquareTest(table);
    expect(result.statistic).toBeCloseTo(statistic, 10);
    expect(result.dof).toBe(dof);
    expect(result.cramersV).toBeCloseTo(v, 10);
    expect(result.pValue).toBeCloseTo(dof === 0 ? 1 : chiSquareSurvival(statistic, dof), 12);
  });

  it('gives p ≈ 0.0098 for the 2×2 table above (erfc(√(10/3)))', () => {
    const result = chiSquareTest([
      [10, 20],
      [20, 10],
    ]);
    expect(result.pValue).toBeCloseTo(erfc(Math.sqrt(100 / 30)), 10);
    expect(result.pValue).toBeCloseTo(0.0098, 4);
  });
});
