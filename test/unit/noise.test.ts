// The simulator's traffic model: repeatable with a seed, right on average, exact when asked.
import { describe, expect, it } from 'vitest';
import { drawTraffic, expectedTraffic, latencyBuckets, poissonStream, regionShares } from '../harness/noise.js';

const model = { requestRate: 50, errorRate: 0.02, latencySeconds: 0.05, latencySpread: 0.3 };

describe('traffic model', () => {
  it('gives the same traffic for the same seed and pod, and other traffic for another pod', () => {
    const a = drawTraffic(poissonStream(7, 'ns/pod-a'), model, 10);
    expect(drawTraffic(poissonStream(7, 'ns/pod-a'), model, 10)).toEqual(a);
    expect(drawTraffic(poissonStream(7, 'ns/pod-b'), model, 10)).not.toEqual(a);
  });

  it('matches the expected counts on average: Poisson arrivals, Bernoulli failures', () => {
    const draw = poissonStream(1, 'average');
    let requests = 0;
    let errors = 0;
    for (let i = 0; i < 200; i++) {
      const t = drawTraffic(draw, model, 10);
      requests += t.ok + t.errors;
      errors += t.errors;
      expect(t.regions.reduce((x, y) => x + y, 0)).toBe(t.ok + t.errors);
    }
    // 100,000 requests expected (sd 316) and 2,000 errors (sd 45)
    expect(requests).toBeGreaterThan(98_500);
    expect(requests).toBeLessThan(101_500);
    expect(errors).toBeGreaterThan(1_800);
    expect(errors).toBeLessThan(2_200);
  });

  it('is exact when asked: every bucket its expected share', () => {
    const t = expectedTraffic(model, 10);
    expect(t.ok + t.errors).toBeCloseTo(500, 9);
    expect(t.errors).toBeCloseTo(10, 9);
    expect(t.regions.reduce((x, y) => x + y, 0)).toBeCloseTo(500, 9);
  });

  it('puts the log-normal median at the median and the p99 about e^(2.326 sigma) above it', () => {
    const shares = regionShares(model);
    const below = (bound: number) => shares.slice(0, latencyBuckets.indexOf(bound) + 1).reduce((x, y) => x + y, 0);
    expect(below(0.05)).toBeCloseTo(0.5, 6);
    // p99 = 0.05 · e^(2.326 · 0.3) ≈ 0.1004 s: just above the 0.1 bucket
    expect(below(0.1)).toBeGreaterThan(0.985);
    expect(below(0.1)).toBeLessThan(0.99);
  });

  it('draws nothing from a pod without traffic', () => {
    const t = drawTraffic(poissonStream(1, 'idle'), { ...model, requestRate: 0 }, 10);
    expect(t.ok + t.errors).toBe(0);
  });
});
