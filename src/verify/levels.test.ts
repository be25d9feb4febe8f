// Table-driven tests for the effective verification limits per risk level, on policy specs parsed by
// src/api so that they carry the real defaults.
import { describe, expect, it } from 'vitest';
import { formatFieldErrors } from '../api/issues.js';
import { parsePolicySpec, type PolicySpec, type PolicySpecInput, type RiskLevel } from '../api/policy.js';
import { verificationLimitsFor, type VerificationLimits } from './levels.js';

/** A policy spec as parsePolicySpec gives it, around an empty selector. */
function spec(raw: Omit<PolicySpecInput, 'selector'> = {}): PolicySpec {
  const result = parsePolicySpec({ selector: {}, ...raw });
  if (!result.ok) throw new Error(formatFieldErrors(result.errors));
  return result.value;
}

/** The defaults of docs/contracts.md, written out. */
const contractDefaults = spec({
  levels: {
    safe: { pause: false, verificationWindow: '2m', failureLimit: 2 },
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
});

describe('verificationLimitsFor', () => {
  it.each([
    ['safe', 120_000, 2],
    ['monitor', 300_000, 2],
    ['rollback-ready', 600_000, 1],
    ['block', 900_000, 1],
  ] as [RiskLevel, number, number][])('%s: window %i ms, failure limit %i', (level, windowMs, failureLimit) => {
    for (const policy of [contractDefaults, spec()]) {
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

  it('with the defaults, a failing rollout at any level is rolled back within two intervals', () => {
    for (const level of ['safe', 'monitor', 'rollback-ready', 'block'] as const) {
      expect(verificationLimitsFor(level, spec()).failureLimit).toBeLessThanOrEqual(2);
    }
  });

  it('takes the levels and verification of a whole spec, as the verifier passes them', () => {
    const policy = spec({ mode: 'advisory', verification: { interval: '20s' } });
    expect(verificationLimitsFor('monitor', { levels: policy.levels, verification: policy.verification })).toEqual(
      verificationLimitsFor('monitor', policy),
    );
  });

  it('a level written without a failure limit takes verification.failureLimit', () => {
    const limits = verificationLimitsFor(
      'monitor',
      spec({ levels: { monitor: { verificationWindow: '5m' } }, verification: { failureLimit: 1 } }),
    );
    expect(limits).toMatchObject({ failureLimit: 1, notes: [] });
  });

  it('a level left out keeps its own default failure limit, not verification.failureLimit', () => {
    expect(verificationLimitsFor('safe', spec({ verification: { failureLimit: 1 } })).failureLimit).toBe(2);
  });

  it('takes the policy verification settings', () => {
    const limits = verificationLimitsFor(
      'safe',
      spec({
        verification: {
          interval: '30s',
          inconclusiveLimit: 3,
          errorLimit: 10,
          onNoData: 'fail',
          onProviderError: 'fail',
        },
      }),
    );
    expect(limits).toMatchObject({
      intervalMs: 30_000,
      inconclusiveLimit: 3,
      errorLimit: 10,
      onNoData: 'fail',
      onProviderError: 'fail',
      notes: [],
    });
  });

  it.each<[string, RiskLevel, Omit<PolicySpecInput, 'selector'>, Partial<VerificationLimits>, RegExp]>([
    [
      'a riskier level with a shorter window gets the safer level’s',
      'rollback-ready',
      { levels: { rollbackReady: { verificationWindow: '1m', failureLimit: 1 } } },
      { windowMs: 300_000, failureLimit: 1 },
      /levels\.rollbackReady\.verificationWindow 1m is shorter than level monitor's; using 5m/,
    ],
    [
      'a riskier level with no window after the rollout gets the safer level’s',
      'monitor',
      { levels: { monitor: { verificationWindow: '0s' } } },
      { windowMs: 120_000 },
      /levels\.monitor\.verificationWindow 0s is shorter than level safe's; using 2m/,
    ],
    [
      'a riskier level with a higher failure limit gets the safer level’s',
      'block',
      { levels: { block: { verificationWindow: '15m', failureLimit: 5 } } },
      { windowMs: 900_000, failureLimit: 1 },
      /levels\.block\.failureLimit 5 is more lenient than level rollback-ready's; using 1/,
    ],
    [
      'a failure limit inherited from verification is held to the safer levels’ too',
      'monitor',
      { levels: { monitor: { pause: true } }, verification: { failureLimit: 4 } },
      { failureLimit: 2 },
      /verification\.failureLimit 4 is more lenient than level safe's; using 2/,
    ],
    [
      'a safer level made stricter makes the riskier ones as strict',
      'block',
      { levels: { safe: { verificationWindow: '1h', failureLimit: 1 } } },
      { windowMs: 3_600_000, failureLimit: 1 },
      /shorter than level safe's; using 1h/,
    ],
    [
      'an interval below a second becomes a second',
      'safe',
      { verification: { interval: '100ms' } },
      { intervalMs: 1000 },
      /verification\.interval 100ms is below 1s; using 1s/,
    ],
  ])('%s', (_name, level, raw, expected, note) => {
    const limits = verificationLimitsFor(level, spec(raw));
    expect(limits).toMatchObject(expected);
    expect(limits.notes.join('\n')).toMatch(note);
  });

  it('the safest level is never adjusted for strictness', () => {
    const limits = verificationLimitsFor(
      'safe',
      spec({ levels: { safe: { verificationWindow: '0s', failureLimit: 9 } } }),
    );
    expect(limits).toMatchObject({ windowMs: 0, failureLimit: 9, notes: [] });
  });
});
