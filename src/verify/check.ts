// The shapes of one interval's checks: the limits a policy sets per metric and the verdict a check records.
// Their own module so the plain-limit verdict (verdict.ts) and the statistical test (sequential.ts) can both
// use them without importing each other.
import type { SingleResult } from '../prometheus/types.js';

export type MetricName = 'errorRate' | 'latency';
export type CheckVerdict = 'pass' | 'fail' | 'no-data' | 'error' | 'inconclusive';

// Input shapes follow docs/contracts.md (`spec.metrics`), `| undefined`-tolerant so the parsed policy fits.

export interface ErrorRateLimits {
  /** Highest acceptable error ratio (0..1). */
  readonly maxAbsolute?: number | undefined;
  /** Highest acceptable increase over the reference, in ratio points. */
  readonly maxIncrease?: number | undefined;
}

export interface LatencyLimits {
  readonly maxAbsoluteSeconds?: number | undefined;
  /** Highest acceptable new / reference ratio. */
  readonly maxRelative?: number | undefined;
}

export interface StatisticalTestSpec {
  readonly enabled?: boolean | undefined;
  /** E.g. 0.995: a good version fails verification with probability at most 1 − confidence. */
  readonly confidence?: number | undefined;
  /** How much worse than the old version counts as a regression, as a ratio (e.g. 1.2). */
  readonly margin?: number | undefined;
  /** Requests to the new pods before any judgement; fewer is no data. */
  readonly minRequests?: number | undefined;
}

export interface MetricLimits {
  readonly errorRate?: ErrorRateLimits | undefined;
  readonly latency?: LatencyLimits | undefined;
  readonly statisticalTest?: StatisticalTestSpec | undefined;
}

/** One metric's verdict for one interval: what the assessment's verification steps record. */
export interface MetricCheck {
  readonly metric: MetricName;
  readonly verdict: CheckVerdict;
  /** The new pods' value; null when there was none or it is not finite (the message says which). */
  readonly value: number | null;
  /** The reference compared with: the old pods' concurrent value, or the pre-rollout baseline. */
  readonly baseline: number | null;
  readonly baselineSource: 'old-replicaset' | 'before-rollout' | null;
  /** The limit that decided: the one breached, or the tightest one met. */
  readonly limit: number | null;
  readonly message: string;
  /** The kind of reading behind the verdict (`value`, `empty`, `unreachable`, ...), for holds and telemetry. */
  readonly source: SingleResult['kind'];
  /**
   * A failure of the statistical test: its chance of failing a version that is no worse is already bounded
   * over every look verification takes, so it needs no streak of failed intervals to be believed.
   */
  readonly conclusive?: true;
}
