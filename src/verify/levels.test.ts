// Table-driven tests for the effective verification limits per risk level, and for duration parsing.
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from './duration.js';
import { verificationLimitsFor, type RiskLevel, type VerificationLimits, type VerificationPolicy } from './levels.js';

const contractDefaults: VerificationPolicy = {
  levels: {
    safe: { pause: false, verificationWindow: '2m', failureLimit: 3 },
    monitor: { pause: false, verificationWindow: '5m', failureLimit: 2 },
    rollbackReady: { pause: false, verificationWindow: '10m', failureLimit: 1 },
    block: { pause: true, verificationWindow: '15m', failureLimit: 1 },
  },
  verification: {
    interval: '10s',
    failureLimit: 2,
    inconclusiveLimit: 6,
    errorLimit: 6,
    onNoData: 'hold',
    onProviderError: 'hold',
  },
};

describe('verificationLimitsFor', () => {
  it.each([
    ['safe', 120_000, 3],
    ['monitor', 300_000, 2],
    ['rollback-ready', 600_000, 1],
    ['block', 900_000, 1],
  ] as [RiskLevel, number, number][])('%s: window %i ms, failure limit %i', (level, windowMs, failureLimit) => {
    for (const policy of [contractDefaults, {}]) {
      expect(verificationLimitsFor(level, policy)).toEqual({
        level,
        intervalMs: 10_000,
        windowMs,
        failureLimit,
        inconclusiveLimit: 6,
        errorLimit: 6,
        onNoData: 'hold',
        onProviderError: 'hold',
        notes: [],
      });
    }
  });

  it('a level without a failure limit takes verification.failureLimit', () => {
    const limits = verificationLimitsFor('monitor', {
      levels: { monitor: { verificationWindow: '5m' } },
      verification: { failureLimit: 1 },
    });
    expect(limits.failureLimit).toBe(1);
  });

  it('takes the policy verification settings', () => {
    const limits = verificationLimitsFor('safe', {
      verification: {
        interval: '30s',
        inconclusiveLimit: 3,
        errorLimit: 10,
        onNoData: 'fail',
        onProviderError: 'fail',
      },
    });
    expect(limits).toMatchObject({
      intervalMs: 30_000,
      inconclusiveLimit: 3,
      errorLimit: 10,
      onNoData: 'fail',
      onProviderError: 'fail',
    });
  });

  it.each<[string, RiskLevel, VerificationPolicy, Partial<VerificationLimits>, RegExp]>([
    [
      'a riskier level with a shorter window gets the safer level’s',
      'rollback-ready',
      { levels: { ...contractDefaults.levels, rollbackReady: { verificationWindow: '1m', failureLimit: 1 } } },
      { windowMs: 300_000, failureLimit: 1 },
      /shorter than level monitor's; using 5m/,
    ],
    [
      'a riskier level with a higher failure limit gets the safer level’s',
      'block',
      { levels: { ...contractDefaults.levels, block: { verificationWindow: '15m', failureLimit: 5 } } },
      { windowMs: 900_000, failureLimit: 1 },
      /more lenient than level rollback-ready's; using 1/,
    ],
    [
      'an invalid window falls back to the level default',
      'monitor',
      { levels: { monitor: { verificationWindow: 'five minutes' } } },
      { windowMs: 300_000 },
      /"five minutes" is not a duration; using 5m/,
    ],
    [
      'a failure limit of 0 becomes 1',
      'safe',
      { levels: { safe: { failureLimit: 0 } } },
      { failureLimit: 1 },
      /not a whole number of at least 1/,
    ],
    [
      'an interval below a second becomes a second',
      'safe',
      { verification: { interval: '100ms' } },
      { intervalMs: 1000 },
      /below 1s/,
    ],
  ])('%s', (_name, level, policy, expected, note) => {
    const limits = verificationLimitsFor(level, policy);
    expect(limits).toMatchObject(expected);
    expect(limits.notes.join('\n')).toMatch(note);
  });
});

describe('parseDuration / formatDuration', () => {
  it.each([
    ['10s', 10_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1h', 3_600_000],
    ['2h15m', 8_100_000],
    ['', undefined],
    ['10', undefined],
    ['1d', undefined],
    ['-1s', undefined],
  ])('parseDuration(%j) = %s', (text, ms) => {
    expect(parseDuration(text)).toBe(ms);
  });

  it.each([
    [90_000, '1m30s'],
    [600_000, '10m'],
    [1500, '1s500ms'],
    [0, '0s'],
  ])('formatDuration(%i) = %s', (ms, text) => {
    expect(formatDuration(ms)).toBe(text);
  });
});
