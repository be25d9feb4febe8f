// Durations: what parses, to how many milliseconds, and what the schema refuses.
import { describe, expect, it } from 'vitest';
import { durationSchema, parseDuration, positiveDurationSchema } from './duration.js';

describe('parseDuration', () => {
  it.each([
    ['250ms', 250],
    ['30s', 30_000],
    ['5m', 300_000],
    ['24h', 86_400_000],
    ['1h30m', 5_400_000],
    ['1m30s500ms', 90_500],
    ['0s', 0],
    ['90m', 5_400_000],
    ['007s', 7000],
  ])('reads %s as %i ms', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each(['', '10', 's', '1.5s', '-1s', '1d', '1 m', ' 1m', '1m ', '1H', '5mins'])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(RangeError);
  });

  it('refuses a duration too long to count in milliseconds exactly', () => {
    expect(() => parseDuration('9999999999999999h')).toThrow(/too long/);
  });
});

describe('the duration schemas', () => {
  it.each([
    ['10s', true],
    ['0s', true],
    ['10 seconds', false],
    ['1000000000000000000000000000000h', false],
  ])('durationSchema on %j: valid %s', (text, valid) => {
    expect(durationSchema.safeParse(text).success).toBe(valid);
  });

  it.each([
    ['10s', true],
    ['1ms', true],
    ['0s', false],
    ['0h0m0ms', false],
    ['bad', false],
  ])('positiveDurationSchema on %j: valid %s', (text, valid) => {
    expect(positiveDurationSchema('x').safeParse(text).success).toBe(valid);
  });
});
