// Durations as rollguard's resources spell them ("30s", "5m", "1h30m"): the zod schema and the parser.
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

const durationFormatMessage = 'must be a duration: digits and a unit (ms, s, m, h), e.g. 30s, 5m, 1h30m';

/** Any duration, zero included. */
export const durationSchema = z
  .string()
  .max(maxDurationLength)
  .regex(durationPattern, { error: durationFormatMessage })
  .refine((text) => !durationPattern.test(text) || durationMs(text) !== undefined, { error: 'is too long' });

// The API server checks the same thing with this rule: a duration whose every part is zero.
const zeroDurationRule = "!self.matches('^(0+(ms|s|m|h))+$')";

/** A duration that must be longer than zero; `field` names it in the API server's message. */
export function positiveDurationSchema(field: string) {
  return durationSchema
    .refine((text) => (durationMs(text) ?? 1) > 0, { error: 'must be longer than zero' })
    .meta({ 'x-kubernetes-validations': [{ rule: zeroDurationRule, message: `${field} must be longer than zero` }] });
}
