// Tests for the Mann–Whitney U test against values from the textbook formula and scipy's documented example.
import { describe, expect, it } from 'vitest';
import { erfc, mannWhitneyU, normalCdf } from './mann-whitney.js';

describe('mannWhitneyU', () => {
  it.each([
    {
      // scipy.stats.mannwhitneyu documentation example (asymptotic, continuity-corrected): U=17, p=0.11134688653314041.
      name: 'scipy example, no ties',
      x: [19, 22, 16, 29, 24],
      y: [20, 11, 17, 12],
      u: 17,
      z: 1.5921683328090657,
      p: 0.11134688653314041,
      reliable: false,
    },
    {
      // Fully separated 8 vs 8: U=0, μ=32, σ=√(8·8·17/12), z=(0−32+0.5)/σ.
      name: 'fully separated',
      x: [1, 2, 3, 4, 5, 6, 7, 8],
      y: [9, 10, 11, 12, 13, 14, 15, 16],
      u: 0,
      z: -3.308161698516173,
      p: 0.0009391056991171905,
      reliable: true,
    },
    {
      // Tie groups (2s, 3s ×4, 4s ×3, 5s ×3, 6s) shrink σ through Σ(t³−t); computed from the textbook formula.
      name: 'with ties',
      x: [1, 2, 2, 3, 3, 3, 4, 5],
      y: [3, 4, 4, 5, 5, 6, 6, 7],
      u: 7.5,
      z: -2.5584085962673253,
      p: 0.010515245935858918,
      reliable: true,
    },
    {
      name: 'error ratios before and after a bad version',
      x: [0.011, 0.012, 0.01, 0.013, 0.011, 0.012, 0.014, 0.01, 0.011, 0.012],
      y: [0.03, 0.028, 0.035, 0.012, 0.031, 0.029, 0.033, 0.027, 0.03, 0.032],
      u: 3.5,
      z: -3.4983797075770102,
      p: 0.0004680941931588924,
      reliable: true,
    },
  ])('$name', ({ x, y, u, z, p, reliable }) => {
    const result = mannWhitneyU(x, y);
    expect(result?.u).toBe(u);
    expect(result?.z).toBeCloseTo(z, 9);
    // erfc is accurate to ~1e-7 relative.
    expect(Math.abs((result?.p ?? NaN) - p) / p).toBeLessThan(2e-7);
    expect(result?.reliable).toBe(reliable);
  });

  it('is symmetric: swapping the samples mirrors U and z, keeps p', () => {
    const a = [5, 7, 9, 11, 13, 2, 4, 6];
    const b = [8, 10, 12, 14, 16, 18, 1, 3];
    const ab = mannWhitneyU(a, b);
    const ba = mannWhitneyU(b, a);
    expect((ab?.u ?? 0) + (ba?.u ?? 0)).toBe(64);
    expect(ab?.z).toBeCloseTo(-(ba?.z ?? 0), 12);
    expect(ab?.p).toBeCloseTo(ba?.p ?? 0, 12);
  });

  it('gives p=1 when every value is tied', () => {
    expect(mannWhitneyU([1, 1, 1], [1, 1])).toMatchObject({ z: 0, p: 1 });
  });

  it('drops NaN and refuses an empty sample', () => {
    expect(mannWhitneyU([NaN], [1, 2])).toBeUndefined();
    expect(mannWhitneyU([], [1])).toBeUndefined();
    expect(mannWhitneyU([1, NaN, 2], [3])?.n1).toBe(2);
  });
});

describe('normal distribution helpers', () => {
  it.each([
    [0, 1],
    [0.5, 0.4795001221869535],
    [1, 0.15729920705028513],
    [2, 0.004677734981047266],
    [-1, 1.8427007929497148],
  ])('erfc(%f) ≈ %f', (x, expected) => {
    expect(Math.abs(erfc(x) - expected) / expected).toBeLessThan(2e-7);
  });

  it('normalCdf(1.959964) ≈ 0.975', () => {
    expect(normalCdf(1.959964)).toBeCloseTo(0.975, 6);
  });
});
