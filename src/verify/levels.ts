// From an assessed risk level and the policy to the effective verification limits: how long to watch, how
// many failed intervals to tolerate, and what no-data and provider errors do. Strictness follows risk: a
// riskier level never gets a shorter window or a higher failure limit than a safer one, even when a policy
// says otherwise (the adjustment is reported in `notes`, so nobody is surprised by it). Pure.
import { formatDuration, parseDuration } from './duration.js';

export type RiskLevel = 'safe' | 'monitor' | 'rollback-ready' | 'block';

/** From the safest to the riskiest. */
export const RISK_LEVELS: readonly RiskLevel[] = ['safe', 'monitor', 'rollback-ready', 'block'];

export type OnNoData = 'hold' | 'pass' | 'fail';
export type OnProviderError = 'hold' | 'fail';

// The input shapes follow docs/contracts.md field by field, all optional and `| undefined`-tolerant, so the
// controller can pass the parsed policy's `levels` and `verification` objects as they are.

export interface LevelSettings {
  readonly pause?: boolean | undefined;
  readonly verificationWindow?: string | undefined;
  readonly failureLimit?: number | undefined;
}

export interface LevelsSpec {
  readonly safe?: LevelSettings | undefined;
  readonly monitor?: LevelSettings | undefined;
  readonly rollbackReady?: LevelSettings | undefined;
  readonly block?: LevelSettings | undefined;
}

export interface VerificationSpec {
  readonly interval?: string | undefined;
  readonly failureLimit?: number | undefined;
  readonly inconclusiveLimit?: number | undefined;
  readonly errorLimit?: number | undefined;
  readonly onNoData?: OnNoData | undefined;
  readonly onProviderError?: OnProviderError | undefined;
}

export interface VerificationPolicy {
  readonly levels?: LevelsSpec | undefined;
  readonly verification?: VerificationSpec | undefined;
}

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

/** The defaults of docs/contracts.md. */
export const DEFAULT_LEVELS: Readonly<Record<RiskLevel, { verificationWindow: string; failureLimit: number }>> = {
  safe: { verificationWindow: '2m', failureLimit: 3 },
  monitor: { verificationWindow: '5m', failureLimit: 2 },
  'rollback-ready': { verificationWindow: '10m', failureLimit: 1 },
  block: { verificationWindow: '15m', failureLimit: 1 },
};

export const DEFAULT_VERIFICATION = {
  interval: '10s',
  failureLimit: 2,
  inconclusiveLimit: 6,
  errorLimit: 6,
  onNoData: 'hold',
  onProviderError: 'hold',
} as const;

/** The policy's key for a level: `rollback-ready` is spelled `rollbackReady` in the spec. */
export function levelKey(level: RiskLevel): keyof LevelsSpec {
  return level === 'rollback-ready' ? 'rollbackReady' : level;
}

/** The shortest interval accepted: faster would only load Prometheus, rate() windows are coarser anyway. */
const MIN_INTERVAL_MS = 1000;

function count(value: number | undefined, fallback: number, field: string, notes: string[]): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    const used = Math.max(1, Math.floor(Number.isFinite(value) ? value : fallback));
    notes.push(`${field} ${value} is not a whole number of at least 1; using ${used}`);
    return used;
  }
  return value;
}

function duration(value: string | undefined, fallback: string, field: string, notes: string[]): number {
  const fallbackMs = parseDuration(fallback) ?? 0;
  if (value === undefined) return fallbackMs;
  const ms = parseDuration(value);
  if (ms === undefined) {
    notes.push(`${field} ${JSON.stringify(value)} is not a duration; using ${fallback}`);
    return fallbackMs;
  }
  return ms;
}

/** A level's own settings, before strictness is made monotonic across levels. */
function ownSettings(
  level: RiskLevel,
  policy: VerificationPolicy,
  notes: string[],
): { windowMs: number; failureLimit: number } {
  const key = levelKey(level);
  const own = policy.levels?.[key];
  const builtIn = DEFAULT_LEVELS[level];
  const inherited = policy.verification?.failureLimit;
  return {
    windowMs: duration(own?.verificationWindow, builtIn.verificationWindow, `levels.${key}.verificationWindow`, notes),
    failureLimit: count(
      own?.failureLimit ?? inherited,
      builtIn.failureLimit,
      own?.failureLimit === undefined ? 'verification.failureLimit' : `levels.${key}.failureLimit`,
      notes,
    ),
  };
}

export function verificationLimitsFor(level: RiskLevel, policy: VerificationPolicy = {}): VerificationLimits {
  const notes: string[] = [];
  const index = RISK_LEVELS.indexOf(level);
  // Settings of this level and every safer one; only this level's own problems are worth a note.
  const own = ownSettings(level, policy, notes);
  const safer = RISK_LEVELS.slice(0, index).map((l) => ({ level: l, ...ownSettings(l, policy, []) }));
  let { windowMs, failureLimit } = own;
  const longest = safer.reduce<(typeof safer)[number] | undefined>(
    (best, s) => (s.windowMs > (best?.windowMs ?? windowMs) ? s : best),
    undefined,
  );
  if (longest !== undefined) {
    notes.push(
      `verificationWindow ${formatDuration(windowMs)} is shorter than level ${longest.level}'s; ` +
        `using ${formatDuration(longest.windowMs)} (strictness follows risk)`,
    );
    windowMs = longest.windowMs;
  }
  const lowest = safer.reduce<(typeof safer)[number] | undefined>(
    (best, s) => (s.failureLimit < (best?.failureLimit ?? failureLimit) ? s : best),
    undefined,
  );
  if (lowest !== undefined) {
    notes.push(
      `failureLimit ${failureLimit} is more lenient than level ${lowest.level}'s; ` +
        `using ${lowest.failureLimit} (strictness follows risk)`,
    );
    failureLimit = lowest.failureLimit;
  }
  const v = policy.verification ?? {};
  let intervalMs = duration(v.interval, DEFAULT_VERIFICATION.interval, 'verification.interval', notes);
  if (intervalMs < MIN_INTERVAL_MS) {
    notes.push(`verification.interval ${formatDuration(intervalMs)} is below 1s; using 1s`);
    intervalMs = MIN_INTERVAL_MS;
  }
  return {
    level,
    intervalMs,
    windowMs,
    failureLimit,
    inconclusiveLimit: count(
      v.inconclusiveLimit,
      DEFAULT_VERIFICATION.inconclusiveLimit,
      'verification.inconclusiveLimit',
      notes,
    ),
    errorLimit: count(v.errorLimit, DEFAULT_VERIFICATION.errorLimit, 'verification.errorLimit', notes),
    onNoData: v.onNoData ?? DEFAULT_VERIFICATION.onNoData,
    onProviderError: v.onProviderError ?? DEFAULT_VERIFICATION.onProviderError,
    notes,
  };
}
