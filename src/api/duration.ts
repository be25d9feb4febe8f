// Durations as rollguard's resources spell them ("30s", "5m", "1h30m"): the zod schema, the parser, and the
// formatter that writes milliseconds back in the same syntax for messages.
import { z } from 'zod';

/** The duration syntax from docs/contracts.md: one or more `<digits><unit>` parts, units ms, s, m, h. */
export const durationPattern = /^([0-9]+(ms|s|m|h))+$/;

// Longer strings are never useful and an upper bound keeps the API server's CEL cost estimate small.
const maxDurationLength = 32;

const unitMs: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Milliseconds in a duration such as "1h30m" or "250ms". Throws a RangeError for anything else, including a
 * duration too long to count exactly in milliseconds.
 */
export function parseDuration(text: string): number {
  if (!durationPattern.test(text)) {
    throw new RangeError(`"${text}" is not a duration; write digits and a unit (ms, s, m, h), e.g. 30s, 5m, 1h30m`);
  }
  let total = 0;
  for (const [, digits = '', unit = ''] of text.matchAll(/([0-9]+)(ms|s|m|h)/g)) {
    total += Number(digits) * (unitMs[unit] ?? Number.NaN);
  }
  if (!Number.isSafeInteger(total)) throw new RangeError(`duration "${text}" is too long`);
  return total;
}

/** parseDuration without the throw, for validation code that reports problems instead. */
export function durationMs(text: string): number | undefined {
  try {
    return parseDuration(text);
  } catch {
    return undefined;
  }
}

const formatUnits = [
  ['h', 3_600_000],
  ['m', 60_000],
  ['s', 1000],
  ['ms', 1],
] as const;

/**
 * Milliseconds as a duration in the same syntax, largest units first: 90000 → "1m30s", 1500 → "1s500ms".
 * Rounds to whole milliseconds; zero, negative and non-finite amounts give "0s". parseDuration reads the
 * result back to the rounded amount.
 */
export function formatDuration(ms: number): string {
  let rest = Number.isFinite(ms) ? Math.round(ms) : 0;
  if (rest <= 0) return '0s';
  const parts: string[] = [];
  for (const [unit, size] of formatUnits) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}

const durationFormatMessage = 'must be a duration: digits and a unit (ms, s, m, h), e.g. 30s, 5m, 1h30m';

/**
 * The longest duration any field accepts. Node.js fires a timer set longer than 2^31-1 ms (about 596.5 h)
 * after 1 ms, so a longer interval would spin the work queue and a longer timeout would abort every call.
 */
export const maxDurationMs = 596 * 3_600_000;
export const maxDurationText = '596h';

/** Any duration up to maxDurationText, zero included. */
export const durationSchema = z
  .string()
  .max(maxDurationLength)
  .regex(durationPattern, { error: durationFormatMessage })
  .refine((text) => !durationPattern.test(text) || durationMs(text) !== undefined, { error: 'is too long' })
  .refine((text) => (durationMs(text) ?? 0) <= maxDurationMs, {
    error: `must be at most ${maxDurationText}: Node.js timers cannot wait longer`,
  });

// The API server checks the same things with these rules. CEL's duration() reads Go's syntax, of which ours is
// a subset; the guard keeps a malformed value to the pattern's message instead of a CEL evaluation error.
const zeroDurationRule = "!self.matches('^(0+(ms|s|m|h))+$')";
const maxDurationRule = `!self.matches('${durationPattern.source}') || duration(self) <= duration('${maxDurationText}')`;

/** Prometheus reads a duration only with its units largest first, each at most once ("1m30s", never "30s1m"). */
export const prometheusDurationPattern = /^([0-9]+h)?([0-9]+m)?([0-9]+s)?([0-9]+ms)?$/;

export interface DurationFieldOptions {
  /** Zero is refused. */
  positive?: boolean;
  /** The value goes into PromQL (e.g. a rate window), so it must be in the order Prometheus reads. */
  prometheus?: boolean;
}

/** A duration field; `field` names it in the API server's messages. Every one is bounded by maxDurationText. */
export function durationFieldSchema(field: string, options: DurationFieldOptions = {}) {
  let schema = durationSchema;
  const rules = [{ rule: maxDurationRule, message: `${field} must be at most ${maxDurationText}` }];
  if (options.positive === true) {
    schema = schema.refine((text) => (durationMs(text) ?? 1) > 0, { error: 'must be longer than zero' });
    rules.push({ rule: zeroDurationRule, message: `${field} must be longer than zero` });
  }
  if (options.prometheus === true) {
    schema = schema.refine((text) => !durationPattern.test(text) || prometheusDurationPattern.test(text), {
      error: 'must list its units largest first, each once, as Prometheus reads it: 1m30s, not 30s1m',
    });
    rules.push({
      rule: `self.matches('${prometheusDurationPattern.source}')`,
      message: `${field} must list its units largest first, each once, as Prometheus reads it: 1m30s, not 30s1m`,
    });
  }
  return schema.meta({ 'x-kubernetes-validations': rules });
}

/** A duration that must be longer than zero; `field` names it in the API server's message. */
export function positiveDurationSchema(field: string) {
  return durationFieldSchema(field, { positive: true });
}
