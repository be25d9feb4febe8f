// The traffic model the workload simulator serves and the verification-quality benchmark draws from, so both
// see the same noise: requests arrive as a Poisson process at the pod's rate, each fails independently with
// the pod's error probability, and latencies follow a log-normal distribution (median and sigma, the
// "spread"). Requests are split into histogram buckets by thinning: the requests of each bucket and outcome
// are independent Poisson draws, which is exactly a Poisson number of requests each landing in a bucket at
// random. A seed makes a run repeatable. The exact mode gives every bucket its expected share instead, for
// tests that assert exact figures.
import poisson from '@stdlib/random-base-poisson';

/** The simulator's histogram bucket bounds, in seconds (Prometheus's le labels; +Inf comes on top). */
export const latencyBuckets = [
  0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10,
];

export interface TrafficModel {
  /** Requests per second. */
  readonly requestRate: number;
  /** Probability that a request fails (0..1). */
  readonly errorRate: number;
  /** Median latency in seconds. */
  readonly latencySeconds: number;
  /** Sigma of the log-normal latency: 0.25 puts the p99 at about 1.8× the median. */
  readonly latencySpread: number;
}

/** Requests over some time: successes, failures, and all requests per bucket region (one more than bounds). */
export interface Traffic {
  readonly ok: number;
  readonly errors: number;
  /** Requests with latency in (bounds[i-1], bounds[i]]; the last entry is above the highest bound. */
  readonly regions: readonly number[];
  /** Sum of the latencies, in seconds. */
  readonly sumSeconds: number;
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 through erf), accurate to about 1e-7. */
export function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? (1 + erf) / 2 : (1 - erf) / 2;
}

/** The share of requests in each bucket region under a log-normal latency. */
export function regionShares(model: TrafficModel, bounds: readonly number[] = latencyBuckets): number[] {
  const sigma = Math.max(1e-6, model.latencySpread);
  const below = bounds.map((b) => normalCdf(Math.log(b / model.latencySeconds) / sigma));
  return [...below, 1].map((c, i) => Math.max(0, c - (i === 0 ? 0 : (below[i - 1] ?? 0))));
}

function meanLatency(model: TrafficModel): number {
  return model.latencySeconds * Math.exp((model.latencySpread * model.latencySpread) / 2);
}

/** Expected traffic, as fractions: the deterministic mode. */
export function expectedTraffic(
  model: TrafficModel,
  seconds: number,
  bounds: readonly number[] = latencyBuckets,
): Traffic {
  const requests = Math.max(0, seconds) * model.requestRate;
  return {
    ok: requests * (1 - model.errorRate),
    errors: requests * model.errorRate,
    regions: regionShares(model, bounds).map((s) => s * requests),
    sumSeconds: requests * meanLatency(model),
  };
}

export type Draw = (mean: number) => number;

/** 32-bit FNV-1a of a string, never 0 (the generator's seeds start at 1). */
function hash32(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h === 0 ? 1 : h;
}

/** A seeded Poisson generator; the same seed and name give the same stream. */
export function poissonStream(seed: number | string, name = ''): Draw {
  const draw = poisson.factory({ seed: hash32(`${String(seed)}/${name}`) });
  // @stdlib answers NaN for a mean of 0; no requests is the right answer.
  return (mean) => (mean > 0 && Number.isFinite(mean) ? draw(mean) : 0);
}

/** Random traffic over `seconds`: Poisson arrivals, Bernoulli failures, log-normal latencies. */
export function drawTraffic(
  draw: Draw,
  model: TrafficModel,
  seconds: number,
  bounds: readonly number[] = latencyBuckets,
): Traffic {
  const requests = Math.max(0, seconds) * model.requestRate;
  let ok = 0;
  let errors = 0;
  const regions = regionShares(model, bounds).map((share) => {
    const e = draw(requests * share * model.errorRate);
    const o = draw(requests * share * (1 - model.errorRate));
    errors += e;
    ok += o;
    return e + o;
  });
  return { ok, errors, regions, sumSeconds: (ok + errors) * meanLatency(model) };
}
