// RolloutAssessment: its name per Deployment revision, and what its spec and status accept.
import { describe, expect, it } from 'vitest';
import { labelValue, parseAssessmentSpec, parseAssessmentStatus, rolloutAssessmentName } from './assessment.js';
import { dnsSubdomainPattern } from './meta.js';

const long = (length: number, char = 'a') => char.repeat(length);

describe('rolloutAssessmentName', () => {
  it.each<[string, number, string]>([
    ['web', 2, 'web-2'],
    ['payments.api', 17, 'payments.api-17'],
    [long(251), 1, `${long(251)}-1`],
  ])('%s revision %i is %s', (deployment, revision, name) => {
    expect(rolloutAssessmentName(deployment, revision)).toBe(name);
  });

  it.each<[string, string, number]>([
    ['a name one character too long', long(251), 10],
    ['the longest Deployment name', long(253), 123456],
    ['a cut that lands on a dash', `${long(236)}----------------x`, 3],
    ['a cut that lands on a dot', `${long(236)}.b.c.d.e.f.g.h.i.j`, 3],
  ])('%s is cut to a valid name that ends in a hash and the revision', (_why, deployment, revision) => {
    const name = rolloutAssessmentName(deployment, revision);
    expect(name.length).toBeLessThanOrEqual(253);
    expect(name).toMatch(dnsSubdomainPattern);
    expect(name).toMatch(new RegExp(`-[0-9a-f]{10}-${revision}$`));
    expect(deployment.startsWith(name.replace(/-[0-9a-f]{10}-\d+$/, ''))).toBe(true);
  });

  it('keeps long names that start alike apart', () => {
    const a = rolloutAssessmentName(`${long(250)}-x`, 1);
    const b = rolloutAssessmentName(`${long(250)}-y`, 1);
    expect(a).not.toBe(b);
  });

  it('gives the same name every time', () => {
    expect(rolloutAssessmentName(long(253), 9)).toBe(rolloutAssessmentName(long(253), 9));
  });

  it.each([0, -1, 1.5, Number.NaN])('refuses revision %d', (revision) => {
    expect(() => rolloutAssessmentName('web', revision)).toThrow(RangeError);
  });
});

describe('parseAssessmentSpec', () => {
  const spec = { deployment: 'web', revision: 2, podTemplateHash: '5d8f6c7b9', policy: 'default' };

  it.each<[string, unknown, boolean]>([
    ['a first rollout', spec, true],
    ['a rollout with its predecessor', { ...spec, previousRevision: 1, previousPodTemplateHash: '7c9a' }, true],
    ['a previous revision that is not earlier', { ...spec, previousRevision: 2 }, false],
    ['revision 0', { ...spec, revision: 0 }, false],
    ['a Deployment name with capitals', { ...spec, deployment: 'Web' }, false],
    ['an empty pod-template-hash', { ...spec, podTemplateHash: '' }, false],
    ['no policy', { deployment: 'web', revision: 2, podTemplateHash: 'abc' }, false],
  ])('%s: valid %s', (_name, raw, valid) => {
    expect(parseAssessmentSpec(raw).ok).toBe(valid);
  });

  it('names the previous revision when it is not earlier', () => {
    const result = parseAssessmentSpec({ ...spec, previousRevision: 3 });
    expect(result.ok ? [] : result.errors).toEqual([
      { path: 'spec.previousRevision', message: 'previousRevision must be lower than revision' },
    ]);
  });
});

describe('parseAssessmentStatus', () => {
  const status = {
    phase: 'Verifying',
    outcome: 'running',
    score: 0.72,
    level: 'rollback-ready',
    scorer: 'model',
    modelVersion: 'jit-apachejit-v1',
    features: { files_changed: 12, hour_of_day: 14 },
    missingFeatures: ['test_coverage'],
    reasons: ['12 files changed'],
    hardRules: [],
    actions: [{ type: 'annotated', at: '2025-01-31T12:00:00Z', message: 'risk 0.72', by: 'rollguard' }],
    approval: { by: 'alice', at: '2025-01-31T12:05:00.123Z', revision: 2 },
    verification: {
      startedAt: '2025-01-31T12:00:10Z',
      state: 'running',
      consecutiveFailures: 1,
      consecutiveErrors: 0,
      consecutiveNoData: 0,
      steps: [
        { at: '2025-01-31T12:00:20Z', metric: 'error-rate', value: 0.1, baseline: 0.01, limit: 0.05, verdict: 'fail' },
      ],
    },
  };

  it('reads what the controller writes', () => {
    expect(parseAssessmentStatus(status)).toEqual({ ok: true, value: status });
  });

  it.each<[string, unknown, string]>([
    ['a level not in the list', { level: 'critical' }, 'status.level'],
    ['a score above 1', { score: 1.2 }, 'status.score'],
    ['a negative feature', { features: { files_changed: -1 } }, 'status.features.files_changed'],
    [
      'a verdict not in the list',
      { verification: { steps: [{ at: '2025-01-31T12:00:20Z', metric: 'x', verdict: 'ok' }] } },
      'status.verification.steps[0].verdict',
    ],
    [
      'a time without zone',
      { actions: [{ type: 'event', at: '2025-01-31 12:00', message: 'm' }] },
      'status.actions[0].at',
    ],
    ['an outcome not in the list', { outcome: 'done' }, 'status.outcome'],
  ])('refuses %s at %s', (_name, raw, path) => {
    const result = parseAssessmentStatus(raw);
    expect(result.ok ? [] : result.errors.map((e) => e.path)).toEqual([path]);
  });

  it('keeps at most 50 verification steps', () => {
    const step = { at: '2025-01-31T12:00:20Z', metric: 'latency', verdict: 'pass' };
    expect(parseAssessmentStatus({ verification: { steps: Array.from({ length: 50 }, () => step) } }).ok).toBe(true);
    expect(parseAssessmentStatus({ verification: { steps: Array.from({ length: 51 }, () => step) } }).ok).toBe(false);
  });
});

describe('labelValue', () => {
  const long = `${'checkout-service-'.repeat(10)}eu`;
  it.each([
    ['web', 'web'],
    ['a'.repeat(63), 'a'.repeat(63)],
  ])('keeps a name that fits: %s', (name, expected) => {
    expect(labelValue(name)).toBe(expected);
  });
  it('shortens a long name to a valid label value that keeps its start and tells names apart', () => {
    const value = labelValue(long);
    expect(value.length).toBeLessThanOrEqual(63);
    expect(value).toMatch(/^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
    expect(value.startsWith('checkout-service-')).toBe(true);
    expect(labelValue(`${long}x`)).not.toBe(value);
    expect(labelValue(long)).toBe(value);
  });
});
