// The verdict, as pure functions: first each metric of one interval is checked against the policy's limits
// (plain thresholds on the interval's ratio and quantile, or, with metrics.statisticalTest, the count-based
// tests of sequential.ts), then the interval's checks
// advance the verification's consecutive counters and yield one decision: continue, roll back, hold or pass.
//
// Principles, after Flagger and Argo Rollouts but safer by default: "no data" is not a failure; a provider
// error is not a failure; separate consecutive limits for failures, no-data and errors; and unless the
// policy says otherwise (onNoData: fail, onProviderError: fail) neither ever leads to a rollback — the
// verification holds and says why. A failure streak resets only on a passing interval: intervals without
// information neither lengthen nor forgive it.
import { formatValue, isProviderFailure, type SingleResult } from '../prometheus/types.js';
import type { OnNoData, OnProviderError } from './levels.js';
import type { CheckVerdict, ErrorRateLimits, LatencyLimits, MetricCheck, MetricLimits, MetricName } from './check.js';
import { checkCounts, type CountObservations } from './sequential.js';

export type {
  CheckVerdict,
  ErrorRateLimits,
  LatencyLimits,
  MetricCheck,
  MetricLimits,
  MetricName,
  StatisticalTestSpec,
} from './check.js';

export interface MetricObservation {
  /** The new ReplicaSet's reading this interval. */
  readonly current: SingleResult;
  /** The metric over the window before the rollout began: a number, or how reading it went. */
  readonly baseline?: SingleResult | number | undefined;
  /** The old ReplicaSet's reading this interval, while both serve. Preferred over the baseline. */
  readonly oldReplicaSet?: SingleResult | number | undefined;
}

export interface IntervalObservations {
  readonly errorRate?: MetricObservation | undefined;
  readonly latency?: MetricObservation | undefined;
  /** Counts since verification began, which the statistical test judges instead of the readings above. */
  readonly counts?: CountObservations | undefined;
}

interface Reference {
  readonly value: number;
  readonly source: 'old-replicaset' | 'before-rollout';
  /** How a comparison names it, e.g. "the old pods' 0.01". */
  readonly phrase: string;
  /** How a parenthesis names it, e.g. "old pods 0.01". */
  readonly short: string;
  /** How "it is just as bad" reads, e.g. "the old pods show 0.29 at the same time". */
  readonly asBad: string;
}

/** What differs between the two metrics: names, units, and how a relative limit turns into a number. */
interface Rule {
  readonly metric: MetricName;
  readonly label: string;
  readonly format: (v: number) => string;
  readonly absolute: number | undefined;
  /** The highest acceptable value given the reference, when a relative limit is configured and meaningful. */
  readonly allowed: ((ref: number) => number | undefined) | undefined;
  readonly relativePhrase: (ref: Reference) => string;
}

function errorRateRule(limits: ErrorRateLimits): Rule {
  const inc = limits.maxIncrease;
  return {
    metric: 'errorRate',
    label: 'error ratio',
    format: formatValue,
    absolute: limits.maxAbsolute,
    allowed: inc === undefined ? undefined : (ref) => ref + inc,
    relativePhrase: (ref) => `more than ${formatValue(inc ?? 0)} above ${ref.phrase}`,
  };
}

function latencyRule(limits: LatencyLimits): Rule {
  const rel = limits.maxRelative;
  return {
    metric: 'latency',
    // The query is the policy's (p99 by default), so the message does not name a quantile.
    label: 'latency',
    format: (v) =>
      Number.isFinite(v) ? `${formatValue(v)}s` : `${formatValue(v)} (beyond the highest histogram bucket)`,
    absolute: limits.maxAbsoluteSeconds,
    // A reference of 0 s (no measurable latency) would make every request a failure: no relative check then.
    allowed: rel === undefined ? undefined : (ref) => (ref > 0 ? ref * rel : undefined),
    relativePhrase: (ref) => `more than ${formatValue(rel ?? 0)}× ${ref.phrase}`,
  };
}

/** A number as reported in status: float noise such as 0.44999999999999996 trimmed, non-finite as null. */
function reported(n: number | undefined): number | null {
  if (n === undefined || !Number.isFinite(n)) return null;
  return Number(n.toPrecision(12));
}

function numberOf(reading: SingleResult | number | undefined): number | undefined {
  if (reading === undefined) return undefined;
  if (typeof reading === 'number') return Number.isFinite(reading) ? reading : undefined;
  return reading.kind === 'value' ? reading.value : undefined;
}

/** The old pods' concurrent value when known (it shares the moment's conditions), else the baseline. */
function referenceOf(rule: Rule, observation: MetricObservation): Reference | undefined {
  const old = numberOf(observation.oldReplicaSet);
  if (old !== undefined) {
    const x = rule.format(old);
    return {
      value: old,
      source: 'old-replicaset',
      phrase: `the old pods' ${x}`,
      short: `old pods ${x}`,
      asBad: `the old pods show ${x} at the same time`,
    };
  }
  const before = numberOf(observation.baseline);
  if (before !== undefined) {
    const x = rule.format(before);
    return {
      value: before,
      source: 'before-rollout',
      phrase: `the baseline ${x}`,
      short: `baseline ${x}`,
      asBad: `it was already ${x} before the rollout`,
    };
  }
  return undefined;
}

function check(rule: Rule, observation: MetricObservation): MetricCheck | undefined {
  if (rule.absolute === undefined && rule.allowed === undefined) return undefined;
  const reading = observation.current;
  const ref = referenceOf(rule, observation);
  const base = {
    metric: rule.metric,
    baseline: reported(ref?.value),
    baselineSource: ref?.source ?? null,
    source: reading.kind,
  };
  const noValue = (verdict: CheckVerdict, message: string): MetricCheck => ({
    ...base,
    verdict,
    value: null,
    limit: reported(rule.absolute),
    message,
  });

  if (isProviderFailure(reading)) return noValue('error', `could not read the ${rule.label}: ${reading.message}`);
  if (reading.kind === 'empty') return noValue('no-data', `no ${rule.label} for the new pods: ${reading.message}`);
  if (reading.kind === 'multiple-series') return noValue('inconclusive', `${rule.label}: ${reading.message}`);
  if (reading.kind === 'not-a-number') {
    if (Number.isNaN(reading.value)) {
      return noValue('no-data', `no requests to the new pods in the window (the ${rule.label} is NaN)`);
    }
    // histogram_quantile answers +Inf when the quantile lies beyond the highest bucket: real and very slow.
    if (rule.metric !== 'latency' || reading.value < 0) {
      return noValue('inconclusive', `the ${rule.label} is ${formatValue(reading.value)}, which cannot be judged`);
    }
  }
  const value = reading.value;

  const refText = ref === undefined ? '' : ` (${ref.short})`;
  const allowed = ref === undefined ? undefined : rule.allowed?.(ref.value);
  const absoluteBreach = rule.absolute !== undefined && value > rule.absolute;
  const relativeBreach = allowed !== undefined && value > allowed;
  const v = rule.format(value);
  const result = (verdict: CheckVerdict, limit: number | undefined, message: string): MetricCheck => ({
    ...base,
    verdict,
    value: reported(value),
    limit: reported(limit),
    message,
  });

  if (absoluteBreach) {
    const limit = rule.absolute;
    // Above the limit but no worse than what it replaces (an incident already under way, a hotfix that
    // helps only partly): rolling back would not help, so it is not the new version's failure.
    if (ref !== undefined && value <= (allowed ?? ref.value)) {
      return result(
        'inconclusive',
        limit,
        `${rule.label} ${v} is above the limit ${rule.format(limit)}, but ${ref.asBad}: ` +
          `the new version is no worse than what it replaces`,
      );
    }
    return result('fail', limit, `${rule.label} ${v} is above the limit ${rule.format(limit)}${refText}`);
  }
  if (relativeBreach && ref !== undefined) {
    return result('fail', allowed, `${rule.label} ${v} is ${rule.relativePhrase(ref)} (limit ${rule.format(allowed)})`);
  }
  const limits = [rule.absolute, allowed].filter((x): x is number => x !== undefined);
  const tightest = limits.length === 0 ? undefined : Math.min(...limits);
  const within = tightest === undefined ? '' : ` is within the limit ${rule.format(tightest)}`;
  return result('pass', tightest, `${rule.label} ${v}${within}${refText}`);
}

/**
 * Checks every metric that has both limits and an observation this interval. With the statistical test on,
 * the counts are judged instead (sequential.ts); without them there is nothing to judge, which is no data.
 */
export function checkInterval(limits: MetricLimits, observations: IntervalObservations): MetricCheck[] {
  if (limits.statisticalTest?.enabled === true) {
    return observations.counts === undefined ? [] : checkCounts(limits, observations.counts);
  }
  const checks: MetricCheck[] = [];
  if (limits.errorRate !== undefined && observations.errorRate !== undefined) {
    const c = check(errorRateRule(limits.errorRate), observations.errorRate);
    if (c !== undefined) checks.push(c);
  }
  if (limits.latency !== undefined && observations.latency !== undefined) {
    const c = check(latencyRule(limits.latency), observations.latency);
    if (c !== undefined) checks.push(c);
  }
  return checks;
}

// ---- The state across intervals ----

export interface VerificationCounters {
  readonly consecutiveFailures: number;
  readonly consecutiveErrors: number;
  /** No-data and inconclusive intervals. */
  readonly consecutiveNoData: number;
}

export const INITIAL_COUNTERS: VerificationCounters = {
  consecutiveFailures: 0,
  consecutiveErrors: 0,
  consecutiveNoData: 0,
};

export interface DecisionLimits {
  readonly failureLimit: number;
  readonly inconclusiveLimit: number;
  readonly errorLimit: number;
  readonly onNoData: OnNoData;
  readonly onProviderError: OnProviderError;
}

export interface VerificationClock {
  /** The rollout has completed and the level's verification window after it has elapsed. */
  readonly windowElapsed: boolean;
  /** The Deployment reports ProgressDeadlineExceeded: the rollout counts as failed. */
  readonly progressDeadlineExceeded?: boolean | undefined;
  /** The provider's health, when checked this interval; false keeps its numbers from causing a rollback. */
  readonly providerHealthy?: boolean | undefined;
}

/** The interval as a whole: any failure fails it; otherwise any error, then any missing data, wins over pass. */
export type IntervalOutcome = 'pass' | 'fail' | 'error' | 'no-data';

export function intervalOutcome(checks: readonly MetricCheck[]): IntervalOutcome {
  const verdicts = new Set(checks.map((c) => c.verdict));
  if (verdicts.has('fail')) return 'fail';
  if (verdicts.has('error')) return 'error';
  // Every configured metric must be read for an interval to pass: verifying on half the metrics silently
  // would hide, say, a latency query that never works.
  if (checks.length === 0 || verdicts.has('no-data') || verdicts.has('inconclusive')) return 'no-data';
  return 'pass';
}

export type VerificationDecision =
  | { readonly action: 'continue'; readonly message: string }
  | {
      readonly action: 'rollback';
      readonly cause: 'metrics' | 'no-data' | 'provider-error' | 'progress-deadline';
      /** The checks behind it (the failing ones for `metrics`). */
      readonly checks: readonly MetricCheck[];
      readonly message: string;
    }
  | {
      readonly action: 'hold';
      readonly cause: 'no-data' | 'provider-error' | 'provider-unhealthy' | 'policy-error';
      readonly message: string;
    }
  | { readonly action: 'pass'; readonly message: string };

/** One interval's move: the counters after it, how the interval counted, and the decision. */
export interface VerificationTransition {
  readonly counters: VerificationCounters;
  readonly outcome: IntervalOutcome;
  readonly decision: VerificationDecision;
}

function nextCounters(state: VerificationCounters, outcome: IntervalOutcome): VerificationCounters {
  switch (outcome) {
    case 'pass':
      return INITIAL_COUNTERS;
    case 'fail':
      return { consecutiveFailures: state.consecutiveFailures + 1, consecutiveErrors: 0, consecutiveNoData: 0 };
    case 'error':
      // No answer says nothing about the rollout: the failure and no-data streaks stand as they are.
      return { ...state, consecutiveErrors: state.consecutiveErrors + 1 };
    case 'no-data':
      return { ...state, consecutiveErrors: 0, consecutiveNoData: state.consecutiveNoData + 1 };
  }
}

/** What kept the provider from answering, in a few words, from the first error check. */
function outageWords(checks: readonly MetricCheck[]): string {
  switch (checks.find((c) => c.verdict === 'error')?.source) {
    case 'unreachable':
      return 'Prometheus unreachable';
    case 'timeout':
      return 'Prometheus too slow to answer';
    case 'http-error':
      return 'Prometheus answering with HTTP errors';
    case 'promql-error':
      return 'Prometheus rejecting the query';
    case 'invalid-response':
      return "Prometheus's answers unreadable";
    default:
      return 'metrics unavailable';
  }
}

function intervals(n: number): string {
  return n === 1 ? '1 interval' : `${n} intervals`;
}

function detail(checks: readonly MetricCheck[], verdicts: readonly CheckVerdict[]): string {
  return checks
    .filter((c) => verdicts.includes(c.verdict))
    .map((c) => c.message)
    .join('; ');
}

/**
 * Advances the verification by one interval. Rollback needs `failureLimit` consecutive failed intervals, or
 * one failure of the statistical test (its error is bounded over all looks), or the policy's explicit
 * onNoData/onProviderError: fail; a pass needs the window elapsed and a passing
 * interval with no failure streak open. While a streak is open after the window, verification goes on until
 * it either passes or reaches the limit. A hold is not sticky: the next readable interval resumes.
 */
export function nextVerificationState(
  state: VerificationCounters,
  checks: readonly MetricCheck[],
  limits: DecisionLimits,
  clock: VerificationClock,
): VerificationTransition {
  const outcome = intervalOutcome(checks);
  // Prometheus refused the query itself (bad_data, execution) or the template could not be rendered: the
  // policy is wrong, not the rollout and not Prometheus. It says nothing about the rollout, so it moves no
  // counter, and no onProviderError setting turns it into a rollback.
  const errors = checks.filter((c) => c.verdict === 'error');
  const policyFault = outcome === 'error' && errors.every((c) => c.source === 'promql-error');
  const counters = policyFault ? state : nextCounters(state, outcome);
  const step = (decision: VerificationDecision): VerificationTransition => ({ counters, outcome, decision });
  const failing = checks.filter((c) => c.verdict === 'fail');
  // A sick Prometheus's numbers are not evidence: turn a rollback they would cause into a hold until it is well.
  const unlessUnhealthy = (decision: VerificationDecision): VerificationTransition => {
    if (clock.providerHealthy === false && decision.action === 'rollback') {
      return step({
        action: 'hold',
        cause: 'provider-unhealthy',
        message: `Prometheus reports it is not healthy, so its numbers are not trusted; verification paused, no rollback (${decision.message})`,
      });
    }
    return step(decision);
  };

  // failureLimit consecutive failed intervals guard plain thresholds against noise; a statistical test's
  // failure carries its own guard (see MetricCheck.conclusive), and waiting for a second one only delays.
  const conclusive = failing.some((c) => c.conclusive === true);
  if ((counters.consecutiveFailures >= limits.failureLimit || conclusive) && failing.length > 0) {
    const streak =
      counters.consecutiveFailures === 1 ? '' : ` for ${counters.consecutiveFailures} consecutive intervals`;
    return unlessUnhealthy({
      action: 'rollback',
      cause: 'metrics',
      checks: failing,
      message: `${detail(failing, ['fail'])}${streak}`,
    });
  }
  if (clock.progressDeadlineExceeded === true) {
    return step({
      action: 'rollback',
      cause: 'progress-deadline',
      checks: failing,
      message: 'the rollout exceeded its progress deadline without completing',
    });
  }

  switch (outcome) {
    case 'fail':
      return step({
        action: 'continue',
        message: `${detail(failing, ['fail'])}; failed interval ${counters.consecutiveFailures} of ${limits.failureLimit} before a rollback`,
      });
    case 'error': {
      const what = outageWords(checks);
      const why = detail(checks, ['error']);
      if (policyFault) {
        return step({
          action: 'hold',
          cause: 'policy-error',
          message: `the policy's query is at fault, not the rollout: ${why}; verification paused, no rollback, until spec.metrics is fixed`,
        });
      }
      if (counters.consecutiveErrors < limits.errorLimit) {
        return step({
          action: 'continue',
          message: `${why}; ${intervals(counters.consecutiveErrors)} of ${limits.errorLimit} before onProviderError (${limits.onProviderError}) applies`,
        });
      }
      if (limits.onProviderError === 'fail') {
        return step({
          action: 'rollback',
          cause: 'provider-error',
          checks: checks.filter((c) => c.verdict === 'error'),
          message: `${what} for ${intervals(counters.consecutiveErrors)} and the policy says onProviderError: fail (${why})`,
        });
      }
      return step({
        action: 'hold',
        cause: 'provider-error',
        message: `${what} for ${intervals(counters.consecutiveErrors)}; verification paused, no rollback (${why})`,
      });
    }
    case 'no-data': {
      const why = checks.length === 0 ? 'no metric was checked' : detail(checks, ['no-data', 'inconclusive']);
      if (counters.consecutiveNoData < limits.inconclusiveLimit) {
        return step({
          action: 'continue',
          message: `${why}; ${intervals(counters.consecutiveNoData)} of ${limits.inconclusiveLimit} before onNoData (${limits.onNoData}) applies`,
        });
      }
      if (limits.onNoData === 'fail') {
        return unlessUnhealthy({
          action: 'rollback',
          cause: 'no-data',
          checks: checks.filter((c) => c.verdict === 'no-data' || c.verdict === 'inconclusive'),
          message: `no usable data for ${intervals(counters.consecutiveNoData)} and the policy says onNoData: fail (${why})`,
        });
      }
      if (limits.onNoData === 'hold') {
        return step({
          action: 'hold',
          cause: 'no-data',
          message: `no usable data for ${intervals(counters.consecutiveNoData)}; verification paused, no rollback (${why})`,
        });
      }
      // onNoData: pass — silence counts as good news, but only once the window is over and no streak is open.
      return step(
        passOrContinue(
          counters,
          clock,
          `no usable data for ${intervals(counters.consecutiveNoData)}, which the policy accepts (onNoData: pass)`,
        ),
      );
    }
    case 'pass':
      return step(passOrContinue(counters, clock, detail(checks, ['pass'])));
  }
}

function passOrContinue(counters: VerificationCounters, clock: VerificationClock, why: string): VerificationDecision {
  if (clock.windowElapsed && counters.consecutiveFailures === 0) {
    return { action: 'pass', message: `verification window elapsed with no failure; ${why}` };
  }
  if (counters.consecutiveFailures > 0) {
    return { action: 'continue', message: `${why}; a failure streak of ${counters.consecutiveFailures} is still open` };
  }
  return { action: 'continue', message: why };
}
