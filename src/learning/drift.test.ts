import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES, MISSING_VALUE, toFeatureVector, type FeatureName } from '../model/contract.js';
import { createRandom } from '../model/random.js';
import {
  DEFAULT_DRIFT_THRESHOLDS,
  driftReport,
  parseReferenceSummary,
  summariseReference,
  type NumericReference,
} from './drift.js';
import { ksStatistic, weightedSample } from './stats.js';

type Features = Partial<Record<FeatureName, number>>;

/** Seeded rows: lines_added log-normal-ish around `scale`, change_type drawn from `types`, is_fix 0/1. */
function rows(count: number, seed: number, scale: number, types: readonly number[], missingShare = 0): number[][] {
  const random = createRandom(seed);
  return Array.from({ length: count }, () => {
    const features: Features = {
      lines_added: random() < missingShare ? undefined : Math.round(scale * Math.exp(random() * 2)),
      test_coverage: Math.round(random() * 100),
      change_type: types[Math.floor(random() * types.length)] ?? 0,
      is_fix: random() < 0.3 ? 1 : 0,
      authors: 1,
    } as Features;
    return toFeatureVector(features);
  });
}

const column = (name: FeatureName, data: number[][]): number[] =>
  data.map((row) => row[FEATURE_NAMES.indexOf(name)] ?? NaN);

describe('summariseReference', () => {
  const training = rows(10_000, 1, 50, [0, 1, 3]);
  const reference = summariseReference(training, 'test data');

  it('covers every contract feature and counts the rows', () => {
    expect(Object.keys(reference.features)).toEqual([...FEATURE_NAMES]);
    expect(reference.rows).toBe(10_000);
    expect(reference.source).toBe('test data');
  });

  it('keeps few distinct values exactly', () => {
    expect(reference.features.authors).toEqual({ kind: 'numeric', n: 10_000, values: [1], weights: [10_000] });
    expect(reference.features.files_changed).toEqual({
      kind: 'numeric',
      n: 10_000,
      values: [MISSING_VALUE],
      weights: [10_000],
    });
  });

  it('summarises many distinct values in at most 128 points within 1/128 of the data', () => {
    const summary = reference.features.lines_added as NumericReference;
    expect(summary.values.length).toBeLessThanOrEqual(128);
    expect(summary.weights.reduce((a, b) => a + b, 0)).toBe(10_000);
    const d = ksStatistic(summary, weightedSample(column('lines_added', training)));
    expect(d).toBeLessThanOrEqual(1 / 128 + 1e-12);
  });

  it('counts categories', () => {
    const summary = reference.features.change_type;
    expect(summary?.kind).toBe('categorical');
    if (summary?.kind !== 'categorical') return;
    expect(Object.keys(summary.counts).sort()).toEqual(['0', '1', '3']);
    expect(Object.values(summary.counts).reduce((a, b) => a + b, 0)).toBe(10_000);
  });

  it('survives a JSON round trip through parseReferenceSummary', () => {
    expect(parseReferenceSummary(JSON.parse(JSON.stringify(reference)))).toEqual(reference);
  });

  it.each([
    { name: 'not an object', json: 'x' },
    { name: 'another version', json: { ...reference, version: 2 } },
    { name: 'a feature of unknown kind', json: { ...reference, features: { lines_added: { kind: 'x', n: 1 } } } },
    {
      name: 'values and weights of different lengths',
      json: { ...reference, features: { lines_added: { kind: 'numeric', n: 1, values: [1, 2], weights: [1] } } },
    },
  ])('parseReferenceSummary refuses $name', ({ json }) => {
    expect(parseReferenceSummary(json)).toBeUndefined();
  });
});

describe('driftReport', () => {
  const reference = summariseReference(rows(2_000, 1, 50, [0, 1, 3]), 'training');
  const learned: FeatureName[] = ['lines_added', 'test_coverage', 'change_type', 'is_fix', 'authors'];

  it.each([
    {
      name: 'the same distribution',
      recent: rows(200, 2, 50, [0, 1, 3]),
      high: false,
      drifted: [],
      message: /^no drift over the last 200 rollouts in 4 features; the largest is /,
    },
    {
      name: 'much larger changes',
      recent: rows(200, 2, 500, [0, 1, 3]),
      high: true,
      drifted: ['lines_added'],
      message:
        /^1 of 4 features drifted from the training data over the last 200 rollouts: lines_added \(KS D \d\.\d\d, p < 0\.001\)$/,
    },
    {
      name: 'new change types',
      recent: rows(200, 2, 50, [4, 5]),
      high: true,
      drifted: ['change_type'],
      message: /change_type \(Cramér's V 1\.00, p < 0\.001\)/,
    },
    {
      name: 'annotations gone missing',
      recent: rows(200, 2, 50, [0, 1, 3], 1),
      high: true,
      drifted: ['lines_added'],
      message: /lines_added \(KS D 1\.00, p < 0\.001\)/,
    },
    {
      name: 'too few recent rollouts to judge',
      recent: rows(20, 2, 500, [4, 5]),
      high: false,
      drifted: [],
      message: /^only 20 recent rollouts, need 30 to judge drift$/,
    },
    { name: 'no recent rollouts', recent: [], high: false, drifted: [], message: /^no assessed rollouts yet/ },
  ])('$name', ({ recent, high, drifted, message }) => {
    const report = driftReport(reference, recent, learned);
    expect(report.high).toBe(high);
    expect(report.features.filter((f) => f.drifted).map((f) => f.feature)).toEqual(drifted);
    expect(report.message).toMatch(message);
    expect(report.recentCount).toBe(recent.length);
  });

  it('skips features the model did not learn and features constant in training', () => {
    const report = driftReport(reference, rows(100, 3, 50, [0]), ['authors', 'files_changed', 'is_fix']);
    expect(report.features.map((f) => f.feature)).toEqual(['is_fix']);
    expect(driftReport(reference, rows(100, 3, 50, [0]), ['authors']).message).toBe(
      'no learned feature with spread in the training data to compare',
    );
  });

  it('scores in 0..1 with the test named, highest first', () => {
    const report = driftReport(reference, rows(200, 2, 500, [4, 5]), learned);
    const scores = report.features.map((f) => f.score);
    expect([...scores].sort((a, b) => b - a)).toEqual(scores);
    for (const feature of report.features) {
      expect(feature.score).toBeGreaterThanOrEqual(0);
      expect(feature.score).toBeLessThanOrEqual(1);
      expect(feature.test).toBe(
        feature.feature === 'change_type' || feature.feature === 'is_fix' ? 'chi-square' : 'ks',
      );
      expect(feature.referenceCount).toBe(2_000);
    }
    expect(report.features.find((f) => f.feature === 'change_type')?.dof).toBe(4);
  });

  it('needs both a large score and a small p-value', () => {
    const strict = { ...DEFAULT_DRIFT_THRESHOLDS, pValue: 1e-300 };
    expect(driftReport(reference, rows(40, 2, 500, [0, 1, 3]), learned, strict).high).toBe(false);
    // D is 1 here (no overlap), which is not above a threshold of 1.
    const maxScore = { ...DEFAULT_DRIFT_THRESHOLDS, score: 1 };
    expect(driftReport(reference, rows(200, 2, 500, [0, 1, 3]), learned, maxScore).high).toBe(false);
  });
});
