// From what Prometheus answered to what the count-based checks judge, as pure functions: increase() answers
// fractions, so counts are rounded; a ReplicaSet with requests but no error series has had no errors; a
// histogram is read from its `le` buckets; anything else (no series, NaN, several series, an outage) stays
// what it was, so the check can tell no data from an outage. Also the old version's counts before the rollout
// as the assessment's status keeps them, so a restarted controller compares with the same reference.
import { maxBaselineBuckets } from '../api/assessment.js';
import type { BucketsReading } from '../prometheus/batch.js';
import type { SingleResult } from '../prometheus/types.js';
import { histogramFromBuckets, type Histogram } from './counts.js';
import type { Counted, CountObservations, ErrorCounts, Unread } from './sequential.js';

/** The counts read for one rollout since its verification began. */
export interface CountsRead {
  readonly requests: { readonly current: SingleResult; readonly old?: SingleResult | undefined };
  readonly errors: { readonly current: SingleResult; readonly old?: SingleResult | undefined };
  readonly latencyBuckets: { readonly current: BucketsReading; readonly old?: BucketsReading | undefined };
}

/** The old version's counts over statisticalTest.baselineWindow before the rollout, as kept in status. */
export interface BaselineCounts {
  requests: number;
  errors: number;
  latencyBounds?: number[] | undefined;
  latencyCumulative?: number[] | undefined;
  latencyTotal?: number | undefined;
}

const whole = (n: number): number => Math.max(0, Math.round(n));

function errorCounts(requests: SingleResult, errors: SingleResult): Counted<ErrorCounts> {
  if (requests.kind !== 'value') return requests;
  const total = whole(requests.value);
  // No error series for a ReplicaSet that served requests: none of them failed.
  if (errors.kind === 'empty') return { kind: 'counted', value: { requests: total, errors: 0 } };
  if (errors.kind !== 'value') return errors;
  return { kind: 'counted', value: { requests: total, errors: Math.min(total, whole(errors.value)) } };
}

function histogram(reading: BucketsReading): Counted<Histogram> {
  if (reading.kind === 'value') {
    return { kind: 'invalid-response', message: 'the histogram query returned one number, not buckets by le' };
  }
  if (reading.kind !== 'buckets') return reading;
  const h = histogramFromBuckets(reading.buckets);
  if (h === undefined) {
    return { kind: 'invalid-response', message: 'the histogram has no le="+Inf" bucket, so its total is unknown' };
  }
  return { kind: 'counted', value: h };
}

const valueOf = <T>(c: Counted<T> | undefined): T | undefined => (c?.kind === 'counted' ? c.value : undefined);

/** The baseline's histogram, when status holds one that fits together. */
function baselineHistogram(b: BaselineCounts | undefined): Histogram | undefined {
  if (b?.latencyBounds === undefined || b.latencyCumulative === undefined || b.latencyTotal === undefined) {
    return undefined;
  }
  if (b.latencyBounds.length !== b.latencyCumulative.length) return undefined;
  return { bounds: b.latencyBounds, cumulative: b.latencyCumulative, total: b.latencyTotal };
}

/** The observations of one look. The old ReplicaSet's counts are used whenever it had any in the window. */
export function countObservations(
  read: CountsRead,
  baseline: BaselineCounts | undefined,
  look: number,
  plannedLooks: number,
): CountObservations {
  const old = (r: SingleResult | undefined, e: SingleResult | undefined) =>
    r === undefined ? undefined : valueOf(errorCounts(r, e ?? { kind: 'empty', message: '' }));
  return {
    look,
    plannedLooks,
    errorRate: {
      current: errorCounts(read.requests.current, read.errors.current),
      oldReplicaSet: old(read.requests.old, read.errors.old),
      baseline: baseline === undefined ? undefined : { requests: baseline.requests, errors: baseline.errors },
    },
    latency: {
      current: histogram(read.latencyBuckets.current),
      oldReplicaSet: read.latencyBuckets.old === undefined ? undefined : valueOf(histogram(read.latencyBuckets.old)),
      baseline: baselineHistogram(baseline),
    },
  };
}

/** Both metrics unread for one reason, e.g. no Prometheus to ask. */
export function unreadCounts(reason: Unread, look: number, plannedLooks: number): CountObservations {
  return { look, plannedLooks, errorRate: { current: reason }, latency: { current: reason } };
}

/**
 * The old version's counts before the rollout, for status; undefined when its requests could not be read.
 * A histogram finer than the status can hold is left out.
 */
export function baselineCountsOf(read: {
  readonly requests: SingleResult;
  readonly errors: SingleResult;
  readonly latencyBuckets: BucketsReading;
}): BaselineCounts | undefined {
  const counts = valueOf(errorCounts(read.requests, read.errors));
  if (counts === undefined) return undefined;
  const h = valueOf(histogram(read.latencyBuckets));
  // The status holds so many buckets; without the histogram the old pods still serve as the reference.
  return {
    ...counts,
    ...(h === undefined || h.bounds.length > maxBaselineBuckets
      ? {}
      : { latencyBounds: [...h.bounds], latencyCumulative: [...h.cumulative], latencyTotal: h.total }),
  };
}
