// Durations: what parses, to how many milliseconds, what the schema refuses, and how milliseconds are written back.
import { describe, expect, it } from 'vitest';
import { durationMs, durationSchema, formatDuration, parseDuration, positiveDurationSchema } from './duration.js';

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

describe('durationMs', () => {
  it.each([
    ['10s', 10_000],
    ['2h15m', 8_100_000],
    ['', undefined],
    ['10', undefined],
    ['1d', undefined],
    ['-1s', undefined],
    ['9999999999999999h', undefined],
  ])('durationMs(%j) = %s', (text, ms) => {
    expect(durationMs(text)).toBe(ms);
  });
});

describe('formatDuration', () => {
  it.each([
    [90_000, '1m30s'],
    [600_000, '10m'],
    [1500, '1s500ms'],
    [3_600_000, '1h'],
    [5_400_000, '1h30m'],
    [3_723_004, '1h2m3s4ms'],
    [250, '250ms'],
    [1499.6, '1s500ms'],
    [0, '0s'],
    [0.4, '0s'],
    [-5000, '0s'],
    [Number.NaN, '0s'],
  ])('formatDuration(%d) = %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });

  it.each([1, 999, 1000, 61_001, 86_400_000, 90_061_001])('parseDuration reads formatDuration(%i) back', (ms) => {
    expect(parseDuration(formatDuration(ms))).toBe(ms);
  });
});

describe('the duration schemas', () => {
  it.each([
    ['10s', true],
    ['0s', true],
    ['10 seconds', false],
    ['1000000000000000000000000000000h', false],
    ['596h', true],
    ['596h1ms', false],
    ['2147483647ms', false],
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
