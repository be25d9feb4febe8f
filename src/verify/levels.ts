// From an assessed risk level and the policy to the effective verification limits: how long to watch, how
// many failed intervals to tolerate, and what no-data and provider errors do. The policy's defaults and the
// fallback of a level's failureLimit to verification.failureLimit come from src/api (parsePolicySpec,
// resolveLevelAction); this adds that strictness follows risk: a riskier level never gets a shorter window or
// a higher failure limit than a safer one, even when a policy says otherwise (the adjustment is reported in
// `notes`, so nobody is surprised by it), and that the interval is at least a second. Pure.
import { formatDuration, parseDuration } from '../api/duration.js';
import {
  levelSpecKey,
  resolveLevelAction,
  riskLevels,
  type noDataBehaviours,
  type PolicySpec,
  type providerErrorBehaviours,
  type RiskLevel,
} from '../api/policy.js';

export type OnNoData = (typeof noDataBehaviours)[number];
export type OnProviderError = (typeof providerErrorBehaviours)[number];

/** Everything the verdict needs to decide, resolved for one level. */
export interface VerificationLimits {
  readonly level: RiskLevel;
  readonly intervalMs: number;
  /** How long to keep verifying after the rollout completes. */
  readonly windowMs: number;
  /** Consecutive failed intervals that trigger a rollback. */
  readonly failureLimit: number;
  /** Consecutive no-data/inconclusive intervals before `onNoData` applies. */
  readonly inconclusiveLimit: number;
  /** Consecutive provider-error intervals before `onProviderError` applies. */
  readonly errorLimit: number;
  readonly onNoData: OnNoData;
  readonly onProviderError: OnProviderError;
  /** Each adjustment made to what the policy said, in words. */
  readonly notes: readonly string[];
}

/** The shortest interval accepted: faster would only load Prometheus, rate() windows are coarser anyway. */
const MIN_INTERVAL_MS = 1000;

interface LevelStrictness {
  readonly level: RiskLevel;
  readonly windowMs: number;
  readonly failureLimit: number;
}

/** A level's own window and failure limit, before strictness is made monotonic across levels. */
function ownStrictness(level: RiskLevel, spec: Pick<PolicySpec, 'levels' | 'verification'>): LevelStrictness {
  const { verificationWindowMs, failureLimit } = resolveLevelAction(spec, level);
  return { level, windowMs: verificationWindowMs, failureLimit };
}

/**
 * The verification limits for a rollout at `level` under a parsed policy spec (parsePolicySpec's output, every
 * default filled in).
 */
export function verificationLimitsFor(
  level: RiskLevel,
  spec: Pick<PolicySpec, 'levels' | 'verification'>,
): VerificationLimits {
  const notes: string[] = [];
  const key = levelSpecKey[level];
  let { windowMs, failureLimit } = ownStrictness(level, spec);
  const safer = riskLevels.slice(0, riskLevels.indexOf(level)).map((l) => ownStrictness(l, spec));
  const longest = safer.reduce<LevelStrictness | undefined>(
    (best, s) => (s.windowMs > (best?.windowMs ?? windowMs) ? s : best),
    undefined,
  );
  if (longest !== undefined) {
    notes.push(
      `levels.${key}.verificationWindow ${formatDuration(windowMs)} is shorter than level ${longest.level}'s; ` +
        `using ${formatDuration(longest.windowMs)} (strictness follows risk)`,
    );
    windowMs = longest.windowMs;
  }
  const lowest = safer.reduce<LevelStrictness | undefined>(
    (best, s) => (s.failureLimit < (best?.failureLimit ?? failureLimit) ? s : best),
    undefined,
  );
  if (lowest !== undefined) {
    const field =
      spec.levels[key].failureLimit === undefined ? 'verification.failureLimit' : `levels.${key}.failureLimit`;
    notes.push(
      `${field} ${failureLimit} is more lenient than level ${lowest.level}'s; ` +
        `using ${lowest.failureLimit} (strictness follows risk)`,
    );
    failureLimit = lowest.failureLimit;
  }
  const v = spec.verification;
  let intervalMs = parseDuration(v.interval);
  if (intervalMs < MIN_INTERVAL_MS) {
    notes.push(`verification.interval ${formatDuration(intervalMs)} is below 1s; using 1s`);
    intervalMs = MIN_INTERVAL_MS;
  }
  return {
    level,
    intervalMs,
    windowMs,
    failureLimit,
    inconclusiveLimit: v.inconclusiveLimit,
    errorLimit: v.errorLimit,
    onNoData: v.onNoData,
    onProviderError: v.onProviderError,
    notes,
  };
}
