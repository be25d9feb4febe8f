// The count-based checks of one look (policy `metrics.statisticalTest.enabled`), as pure functions. They
// yield the same MetricCheck as the plain thresholds, so the counters and decisions of verdict.ts apply
// unchanged; what differs is the evidence:
//
// - Error rate: errors and requests of the new pods since verification began, against the old version's
//   (its pods serving at the same time, plus the window before the rollout). The new version fails a look
//   when its error rate is above `margin` × the old one's with an exact test at the look's share of the
//   budget (counts.ts). Too few requests to the new pods is no data, never a failure.
// - Latency: the histograms' buckets, not one quantile. The tails are compared at the bucket bounds just
//   above the old version's median, 90th and 99th percentile: the share of requests slower than each bound is
//   a count like errors, tested the same way.
// - The absolute limits stay hard floors: an error rate above errorRate.maxAbsolute, or more than 1 % of
//   requests slower than latency.maxAbsoluteSeconds (a p99 above it), fails whatever the old version does,
//   unless the old version is just as bad (rolling back would not help), once the counts prove it.
//
// The budget α = 1 − confidence is split evenly between four families (error comparison, error floor,
// latency comparison, latency floor) and spread over looks by lookShare, so a good version fails any look at
// all with probability at most α over the whole verification (a union bound: it does not assume the looks
// or the families are independent).
import { formatValue, type SingleResult, type ValueResult } from '../prometheus/types.js';
import {
  aboveLimitTest,
  addHistograms,
  boundAtOrAbove,
  boundAtQuantile,
  excessTest,
  histogramQuantile,
  lookShare,
  slowerThan,
  type Histogram,
} from './counts.js';
import type { MetricCheck, MetricLimits } from './check.js';

export interface ErrorCounts {
  readonly requests: number;
  readonly errors: number;
}

/** A reading that is not counts: no data, several series, or the provider's failure. */
export type Unread = Exclude<SingleResult, ValueResult>;

export type Counted<T> = { readonly kind: 'counted'; readonly value: T } | Unread;

export interface CountObservation<T> {
  /** The new pods since verification began. */
  readonly current: Counted<T>;
  /** The old pods over the same time, while they served. */
  readonly oldReplicaSet?: T | undefined;
  /** The old version in the window before the rollout (statisticalTest.baselineWindow). */
  readonly baseline?: T | undefined;
}

export interface CountObservations {
  /** Which look this is, from 1: the interval's index since verification began. */
  readonly look: number;
  /** About how many looks verification is expected to take (window over interval, plus the rollout). */
  readonly plannedLooks: number;
  readonly errorRate?: CountObservation<ErrorCounts> | undefined;
  readonly latency?: CountObservation<Histogram> | undefined;
}

export const DEFAULT_CONFIDENCE = 0.995;
export const DEFAULT_MARGIN = 1.1;
export const DEFAULT_MIN_REQUESTS = 100;
/** A latency floor is a p99: more than 1 % of requests slower than the limit breaches it. */
const FLOOR_QUANTILE = 0.99;
/** Where the latency tails are compared: the reference's median, 90th and 99th percentile. */
const TAIL_QUANTILES = [0.5, 0.9, 0.99] as const;
/**
 * How the look's budget is split: most to the comparisons with the old version, where a good version's
 * noise could show; less to the floors, which a good version within its limits is far from.
 */
const BUDGET = { errorRate: 0.5, latency: 0.4, errorFloor: 0.05, latencyFloor: 0.05 } as const;
/** Looks planned for the rollout itself, before the window starts: a minute at the default interval. */
const ROLLOUT_LOOKS = 6;

/** About how many looks a verification takes: the window over the interval, plus the rollout. */
export function plannedLooks(limits: { readonly intervalMs: number; readonly windowMs: number }): number {
  return Math.ceil(limits.windowMs / Math.max(1, limits.intervalMs)) + ROLLOUT_LOOKS;
}

interface Settings {
  readonly alpha: number;
  readonly margin: number;
  readonly minRequests: number;
  readonly look: number;
}

function settingsOf(limits: MetricLimits, look: number, planned: number): Settings {
  const st = limits.statisticalTest;
  return {
    alpha: (1 - (st?.confidence ?? DEFAULT_CONFIDENCE)) * lookShare(look, planned),
    margin: st?.margin ?? DEFAULT_MARGIN,
    minRequests: st?.minRequests ?? DEFAULT_MIN_REQUESTS,
    look,
  };
}

const pct = (x: number): string => `${formatValue(Number((100 * x).toPrecision(3)))} %`;
const grouped = new Intl.NumberFormat('en-US');
const count = (n: number): string => grouped.format(n);
const pValue = (p: number): string => (p < 1e-4 ? p.toExponential(1) : formatValue(Number(p.toPrecision(2))));
const seconds = (s: number): string => `${formatValue(s)}s`;

interface Reference<T> {
  readonly value: T;
  readonly source: 'old-replicaset' | 'before-rollout';
  readonly name: string;
}

function referenceOf<T>(
  obs: CountObservation<T>,
  add: (a: T, b: T) => T,
  size: (t: T) => number,
): Reference<T> | undefined {
  const old = obs.oldReplicaSet !== undefined && size(obs.oldReplicaSet) > 0 ? obs.oldReplicaSet : undefined;
  const before = obs.baseline !== undefined && size(obs.baseline) > 0 ? obs.baseline : undefined;
  if (old !== undefined && before !== undefined) {
    return { value: add(old, before), source: 'old-replicaset', name: 'the old version (its pods now and before)' };
  }
  if (old !== undefined) return { value: old, source: 'old-replicaset', name: 'the old pods' };
  if (before !== undefined)
    return { value: before, source: 'before-rollout', name: 'the old version before the rollout' };
  return undefined;
}

const reported = (n: number | undefined): number | null =>
  n === undefined || !Number.isFinite(n) ? null : Number(n.toPrecision(12));

function unread(metric: MetricCheck['metric'], label: string, reading: Unread): MetricCheck {
  const base = { metric, value: null, baseline: null, baselineSource: null, limit: null, source: reading.kind };
  switch (reading.kind) {
    case 'empty':
      return { ...base, verdict: 'no-data', message: `no ${label} for the new pods: ${reading.message}` };
    case 'not-a-number':
      return { ...base, verdict: 'no-data', message: `no ${label} for the new pods: ${reading.message}` };
    case 'multiple-series':
      return { ...base, verdict: 'inconclusive', message: `${label}: ${reading.message}` };
    default:
      return { ...base, verdict: 'error', message: `could not read the ${label}: ${reading.message}` };
  }
}

function tooFew(metric: MetricCheck['metric'], requests: number, s: Settings): MetricCheck {
  return {
    metric,
    verdict: 'no-data',
    value: null,
    baseline: null,
    baselineSource: null,
    limit: null,
    source: 'value',
    message: `only ${count(requests)} requests to the new pods since verification began; judging needs ${count(s.minRequests)} (statisticalTest.minRequests)`,
  };
}

const addCounts = (a: ErrorCounts, b: ErrorCounts): ErrorCounts => ({
  requests: a.requests + b.requests,
  errors: a.errors + b.errors,
});

function errorRateCheck(limits: MetricLimits, obs: CountObservation<ErrorCounts>, s: Settings): MetricCheck {
  if (obs.current.kind !== 'counted') return unread('errorRate', 'error counts', obs.current);
  const now = obs.current.value;
  if (now.requests < s.minRequests) return tooFew('errorRate', now.requests, s);
  const rate = now.errors / now.requests;
  const ref = referenceOf(obs, addCounts, (c) => c.requests);
  const refRate = ref === undefined ? undefined : ref.value.errors / ref.value.requests;
  const mine = `error rate ${pct(rate)} (${count(now.errors)} of ${count(now.requests)} requests)`;
  const theirs =
    ref === undefined || refRate === undefined
      ? ''
      : `against ${pct(refRate)} (${count(ref.value.errors)} of ${count(ref.value.requests)}) for ${ref.name}`;
  const need = (share: number) => `needs p < ${pValue(s.alpha * share)} at look ${s.look}`;
  const check = (verdict: MetricCheck['verdict'], limit: number | undefined, message: string): MetricCheck => ({
    metric: 'errorRate',
    verdict,
    value: reported(rate),
    baseline: reported(refRate),
    baselineSource: ref?.source ?? null,
    limit: reported(limit),
    source: 'value',
    message,
    ...(verdict === 'fail' ? { conclusive: true as const } : {}),
  });

  const floor = limits.errorRate?.maxAbsolute;
  if (floor !== undefined) {
    const p = aboveLimitTest(now.errors, now.requests, floor);
    if (p < s.alpha * BUDGET.errorFloor) {
      if (refRate !== undefined && refRate >= floor) {
        return check(
          'inconclusive',
          floor,
          `${mine} is above the limit ${pct(floor)}, ${theirs}: the new version is no worse than what it replaces`,
        );
      }
      return check(
        'fail',
        floor,
        `${mine} is above the limit ${pct(floor)} (p=${pValue(p)}, ${need(BUDGET.errorFloor)})`,
      );
    }
  }
  if (ref === undefined || refRate === undefined || ref.value.requests < s.minRequests) {
    const why = ref === undefined ? 'no reference to compare with' : `too few requests in ${ref.name} to compare`;
    return check('pass', floor, `${mine}${floor === undefined ? '' : ` is within the limit ${pct(floor)}`}; ${why}`);
  }
  const p = excessTest(
    { events: now.errors, total: now.requests },
    { events: ref.value.errors, total: ref.value.requests },
    s.margin,
  );
  const relative = s.margin * refRate;
  if (p < s.alpha * BUDGET.errorRate) {
    return check(
      'fail',
      relative,
      `${mine} ${theirs}: more than ${formatValue(s.margin)}× theirs (p=${pValue(p)}, ${need(BUDGET.errorRate)})`,
    );
  }
  return check(
    'pass',
    floor === undefined ? relative : Math.min(floor, relative),
    `${mine} ${theirs}: no proven rise above ${formatValue(s.margin)}× (p=${pValue(p)}, ${need(BUDGET.errorRate)})`,
  );
}

function latencyCheck(limits: MetricLimits, obs: CountObservation<Histogram>, s: Settings): MetricCheck {
  if (obs.current.kind !== 'counted') return unread('latency', 'latency histogram', obs.current);
  const now = obs.current.value;
  if (now.total < s.minRequests) return tooFew('latency', now.total, s);
  const p99 = histogramQuantile(0.99, now);
  const ref = referenceOf(obs, addHistograms, (h) => h.total);
  const refP99 = ref === undefined ? undefined : histogramQuantile(0.99, ref.value);
  const mine = `latency p99 ~${seconds(p99)} (${count(now.total)} requests)`;
  const check = (verdict: MetricCheck['verdict'], limit: number | undefined, message: string): MetricCheck => ({
    metric: 'latency',
    verdict,
    value: reported(p99),
    baseline: reported(refP99),
    baselineSource: ref?.source ?? null,
    limit: reported(limit),
    source: 'value',
    message,
    ...(verdict === 'fail' ? { conclusive: true as const } : {}),
  });
  const need = (share: number) => `needs p < ${pValue(s.alpha * share)} at look ${s.look}`;

  const floor = limits.latency?.maxAbsoluteSeconds;
  const floorBound = floor === undefined ? undefined : boundAtOrAbove(floor, now);
  if (floor !== undefined && floorBound !== undefined) {
    const slow = slowerThan(now, floorBound) ?? 0;
    const p = aboveLimitTest(slow, now.total, 1 - FLOOR_QUANTILE);
    if (p < s.alpha * BUDGET.latencyFloor) {
      const refSlow = ref === undefined ? undefined : slowerThan(ref.value, floorBound);
      const what = `${pct(slow / now.total)} of requests to the new pods took over ${seconds(floorBound)}, so the p99 is above the limit ${seconds(floor)}`;
      if (ref !== undefined && refSlow !== undefined && refSlow / ref.value.total > 1 - FLOOR_QUANTILE) {
        return check(
          'inconclusive',
          floor,
          `${what}, but ${pct(refSlow / ref.value.total)} did for ${ref.name} too: the new version is no worse than what it replaces`,
        );
      }
      return check('fail', floor, `${what} (p=${pValue(p)}, ${need(BUDGET.latencyFloor)})`);
    }
  }
  if (ref === undefined || ref.value.total < s.minRequests) {
    const why = ref === undefined ? 'no reference to compare with' : `too few requests in ${ref.name} to compare`;
    return check('pass', floor, `${mine}; ${why}`);
  }
  const bounds = [...new Set(TAIL_QUANTILES.map((q) => boundAtQuantile(q, ref.value)).filter((b) => b !== undefined))];
  const share = BUDGET.latency / Math.max(1, bounds.length);
  let worst: { bound: number; p: number; mine: number; theirs: number } | undefined;
  for (const bound of bounds) {
    const slowNow = slowerThan(now, bound);
    const slowRef = slowerThan(ref.value, bound);
    if (slowNow === undefined || slowRef === undefined) continue;
    const p = excessTest({ events: slowNow, total: now.total }, { events: slowRef, total: ref.value.total }, s.margin);
    if (worst === undefined || p < worst.p) {
      worst = { bound, p, mine: slowNow / now.total, theirs: slowRef / ref.value.total };
    }
  }
  if (worst === undefined) return check('pass', floor, `${mine}; no histogram bucket in common with ${ref.name}`);
  const tail = `${pct(worst.mine)} of requests to the new pods took over ${seconds(worst.bound)}, against ${pct(worst.theirs)} for ${ref.name}`;
  if (worst.p < s.alpha * share) {
    return check(
      'fail',
      refP99 === undefined ? floor : s.margin * refP99,
      `${tail}: more than ${formatValue(s.margin)}× theirs (p=${pValue(worst.p)}, ${need(share)})`,
    );
  }
  return check('pass', floor, `${mine}; ${tail}: no proven slowdown (p=${pValue(worst.p)}, ${need(share)})`);
}

/** The count-based checks of one look, for each metric observed. */
export function checkCounts(limits: MetricLimits, observations: CountObservations): MetricCheck[] {
  const s = settingsOf(limits, observations.look, observations.plannedLooks);
  const checks: MetricCheck[] = [];
  if (observations.errorRate !== undefined) checks.push(errorRateCheck(limits, observations.errorRate, s));
  if (observations.latency !== undefined) checks.push(latencyCheck(limits, observations.latency, s));
  return checks;
}
