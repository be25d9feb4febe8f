// The statistics behind the count-based verdict, as pure functions: exact tail probabilities for counts,
// the error budget spent at each look, and latency histograms (Prometheus's cumulative `le` buckets).
//
// Why counts: at a few requests per second an interval holds a handful of errors, and a ratio over one
// interval is mostly noise. Counting errors (or requests slower than a bucket bound) since verification began
// and testing them exactly stays valid at any sample size. Why a budget per look: judging the growing counts
// every interval with a fixed-level test would add up false alarms over a long window; giving each look its
// own share of the budget, with shares that add up to at most the whole over any number of looks (a union
// bound), keeps the guarantee however long verification runs and however many intervals are looked at.
//
// The tail of the binomial comes from @stdlib's regularized incomplete beta, which keeps full precision far
// into the tail where 1 − CDF would cancel to 0.
import betainc from '@stdlib/math-base-special-betainc';

/** P(X ≥ k) for X ~ Binomial(n, p), exact: I_p(k, n − k + 1). */
export function binomialUpperTail(k: number, n: number, p: number): number {
  if (k <= 0) return 1;
  if (k > n || p <= 0) return 0;
  if (p >= 1) return 1;
  return betainc(p, k, n - k + 1);
}

/** The share of the budget kept for looks beyond the planned ones (a rollout slower than planned, a streak). */
export const BEYOND_PLAN_SHARE = 0.1;
/** The share spent early, as 1/(k(k+1)) at look k, so heavy traffic shows a clear regression at once. */
export const EARLY_SHARE = 0.4;

/**
 * The share of the error budget spent at look `look` (1, 2, 3, …) when about `planned` looks are expected
 * (the window over the interval, plus the rollout). Three parts: 40 % front-loaded as 1/(k(k+1)) (half of it
 * at the first look), so heavy traffic proves a clear regression at once; 50 % in even shares over the
 * planned looks, since counts grow with time and a late look has the most data; and 10 % for looks beyond
 * the plan, planned/(k(k+1)) each. Over every look there can ever be the shares add up to at most 1, so a
 * test run at each look with its share of α fails a good version with probability at most α in total,
 * however long verification runs (a union bound: no assumption about how the looks relate).
 */
export function lookShare(look: number, planned: number): number {
  const k = Math.max(1, Math.floor(look));
  const n = Math.max(1, Math.floor(planned));
  const early = EARLY_SHARE / (k * (k + 1));
  const even = 1 - EARLY_SHARE - BEYOND_PLAN_SHARE;
  return early + (k <= n ? even / n : (BEYOND_PLAN_SHARE * n) / (k * (k + 1)));
}

/**
 * One-sided exact test that events (errors, or requests slower than a bound) are more than `margin` times as
 * frequent among the new pods' requests as among the reference's. Given the total of both, the new pods'
 * share of the events is Binomial(m, s) at the edge of "no worse than margin×", with
 * s = margin·n₁ / (margin·n₁ + n₀): exact for Poisson arrivals, conservative for binomial ones. Returns the
 * p-value (1 when there is nothing to compare).
 */
export function excessTest(
  current: { readonly events: number; readonly total: number },
  reference: { readonly events: number; readonly total: number },
  margin: number,
): number {
  const m = current.events + reference.events;
  if (m <= 0 || current.total <= 0) return 1;
  if (reference.total <= 0) return 1;
  const s = (margin * current.total) / (margin * current.total + reference.total);
  return binomialUpperTail(current.events, m, s);
}

/** One-sided exact test that events are more frequent than `limit` (a fraction): P(Binomial(n, limit) ≥ events). */
export function aboveLimitTest(events: number, total: number, limit: number): number {
  if (total <= 0) return 1;
  return binomialUpperTail(events, total, limit);
}

/** A latency histogram: finite bucket bounds (seconds, ascending), cumulative counts, and the total (+Inf). */
export interface Histogram {
  readonly bounds: readonly number[];
  readonly cumulative: readonly number[];
  readonly total: number;
}

/**
 * A histogram from Prometheus's `le` buckets: counts rounded (increase() extrapolates to fractions), made
 * non-decreasing (a counter reset can leave a bucket below the one before it) and capped by the +Inf bucket.
 * Undefined without a +Inf bucket, which every Prometheus histogram has.
 */
export function histogramFromBuckets(
  buckets: readonly { readonly le: number; readonly count: number }[],
): Histogram | undefined {
  const sorted = [...buckets].filter((b) => !Number.isNaN(b.le)).sort((a, b) => a.le - b.le);
  const inf = sorted.at(-1);
  if (inf?.le !== Infinity) return undefined;
  const total = Math.max(0, Math.round(Number.isFinite(inf.count) ? inf.count : 0));
  const bounds: number[] = [];
  const cumulative: number[] = [];
  let running = 0;
  for (const b of sorted.slice(0, -1)) {
    if (bounds.at(-1) === b.le) continue;
    running = Math.min(total, Math.max(running, Math.round(Number.isFinite(b.count) ? b.count : 0)));
    bounds.push(b.le);
    cumulative.push(running);
  }
  return { bounds, cumulative, total };
}

/** Two histograms added bound by bound, over the bounds both have. */
export function addHistograms(a: Histogram, b: Histogram): Histogram {
  const bounds: number[] = [];
  const cumulative: number[] = [];
  a.bounds.forEach((bound, i) => {
    const j = b.bounds.indexOf(bound);
    if (j < 0) return;
    bounds.push(bound);
    cumulative.push((a.cumulative[i] ?? 0) + (b.cumulative[j] ?? 0));
  });
  return { bounds, cumulative, total: a.total + b.total };
}

/** Requests slower than `bound`, which must be one of the histogram's bounds (undefined otherwise). */
export function slowerThan(h: Histogram, bound: number): number | undefined {
  const i = h.bounds.indexOf(bound);
  const at = h.cumulative[i];
  return i < 0 || at === undefined ? undefined : h.total - at;
}

/**
 * The q-quantile the way Prometheus's histogram_quantile estimates it: linear within the bucket it falls in,
 * the highest finite bound when it lies beyond it, NaN without requests.
 */
export function histogramQuantile(q: number, h: Histogram): number {
  if (h.total <= 0) return NaN;
  const rank = q * h.total;
  let lower = 0;
  let below = 0;
  for (let i = 0; i < h.bounds.length; i++) {
    const upper = h.bounds[i] ?? 0;
    const count = h.cumulative[i] ?? 0;
    if (count >= rank) {
      const inBucket = count - below;
      return inBucket <= 0 ? upper : lower + (upper - lower) * ((rank - below) / inBucket);
    }
    lower = upper;
    below = count;
  }
  // Beyond the highest finite bound: Prometheus answers that bound.
  return h.bounds.at(-1) ?? Infinity;
}

/**
 * The smallest bound below which at least a fraction q of the reference's requests fall: the bucket edge just
 * above its q-quantile. Comparing how many requests are slower than that edge compares the tails.
 */
export function boundAtQuantile(q: number, h: Histogram): number | undefined {
  if (h.total <= 0) return undefined;
  const i = h.cumulative.findIndex((c) => c >= q * h.total);
  return i < 0 ? undefined : h.bounds[i];
}

/** The smallest bound at or above `seconds`: requests slower than it are surely slower than `seconds`. */
export function boundAtOrAbove(seconds: number, h: Histogram): number | undefined {
  return h.bounds.find((b) => b >= seconds);
}
