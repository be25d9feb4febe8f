import { describe, expect, it } from 'vitest';
import type { AssessmentStatus } from '../api/assessment.js';
import type { AssessmentObject } from '../api/objects.js';
import { FEATURE_NAMES, MISSING_VALUE } from '../model/contract.js';
import {
  examplesFrom,
  featuresOf,
  labelOf,
  latestOutcome,
  newOutcomes,
  recentRows,
  timeOf,
  type LearningExample,
} from './examples.js';

function assessment(
  name: string,
  status: Partial<AssessmentStatus> | undefined,
  creationTimestamp?: string | Date,
): AssessmentObject {
  return {
    apiVersion: 'rollguard.io/v1alpha1',
    kind: 'RolloutAssessment',
    metadata: {
      name,
      namespace: 'shop',
      ...(creationTimestamp ? { creationTimestamp: creationTimestamp as Date } : {}),
    },
    ...(status ? { status } : {}),
  };
}

const ms = (iso: string): number => Date.parse(iso);

describe('labelOf', () => {
  it.each([
    { outcome: 'rolled-back', label: 1 },
    { outcome: 'failed', label: 1 },
    { outcome: 'succeeded', label: 0 },
    { outcome: 'running', label: undefined },
    { outcome: 'superseded', label: undefined },
    { outcome: undefined, label: undefined },
    { outcome: 'something-new', label: undefined },
  ])('$outcome → $label', ({ outcome, label }) => {
    expect(labelOf(outcome)).toBe(label);
  });
});

describe('timeOf', () => {
  it.each([
    {
      name: 'assessedAt wins',
      status: { assessedAt: '2025-03-01T10:00:00Z' },
      created: '2025-02-01T00:00:00Z',
      time: ms('2025-03-01T10:00:00Z'),
    },
    {
      name: 'creationTimestamp (string) without assessedAt',
      status: {},
      created: '2025-02-01T00:00:00Z',
      time: ms('2025-02-01T00:00:00Z'),
    },
    {
      name: 'creationTimestamp as a Date',
      status: {},
      created: new Date('2025-02-02T00:00:00Z'),
      time: ms('2025-02-02T00:00:00Z'),
    },
    {
      name: 'an unreadable assessedAt falls back',
      status: { assessedAt: 'yesterday' },
      created: '2025-02-01T00:00:00Z',
      time: ms('2025-02-01T00:00:00Z'),
    },
    { name: 'neither', status: {}, created: undefined, time: undefined },
  ])('$name', ({ status, created, time }) => {
    expect(timeOf(assessment('a', status, created))).toBe(time);
  });
});

describe('featuresOf', () => {
  it.each([
    { name: 'no features', features: undefined, result: {} },
    {
      name: 'contract features kept',
      features: { lines_added: 120, is_fix: 1 },
      result: { lines_added: 120, is_fix: 1 },
    },
    { name: 'unknown names dropped', features: { lines_added: 3, cosmic_rays: 9 }, result: { lines_added: 3 } },
    {
      name: 'negative, NaN, infinite and non-numbers dropped',
      features: { lines_added: -4, lines_deleted: NaN, files_changed: Infinity, authors: '2', test_coverage: 80 },
      result: { test_coverage: 80 },
    },
  ])('$name', ({ features, result }) => {
    expect(featuresOf(assessment('a', { features: features as Record<string, number> }))).toEqual(result);
  });
});

describe('examplesFrom', () => {
  const items = [
    assessment('late-ok', { outcome: 'succeeded', assessedAt: '2025-03-03T00:00:00Z', features: { lines_added: 5 } }),
    assessment('early-bad', {
      outcome: 'rolled-back',
      assessedAt: '2025-03-01T00:00:00Z',
      features: { lines_added: 900, test_coverage: 20 },
      actions: [
        { type: 'paused', at: '2025-03-01T00:01:00Z', message: 'paused' },
        { type: 'rolled-back', at: '2025-03-04T00:00:00Z', message: 'rolled back' },
      ],
    }),
    assessment(
      'mid-failed',
      { outcome: 'failed', verification: { completedAt: '2025-03-02T12:00:00Z' } },
      '2025-03-02T00:00:00Z',
    ),
    assessment('running', { outcome: 'running', assessedAt: '2025-03-05T00:00:00Z' }),
    assessment('superseded', { outcome: 'superseded', assessedAt: '2025-03-05T00:00:00Z' }),
    assessment('no-status', undefined, '2025-03-05T00:00:00Z'),
    assessment('no-time', { outcome: 'succeeded' }),
  ];
  const examples = examplesFrom(items);

  it('keeps finished rollouts with a time, oldest first', () => {
    expect(examples.map((example) => [example.key, example.outcome, example.label])).toEqual([
      ['shop/early-bad', 'rolled-back', 1],
      ['shop/mid-failed', 'failed', 1],
      ['shop/late-ok', 'succeeded', 0],
    ]);
  });

  it('puts the features in contract order with missing = -1', () => {
    const row = examples[0]?.row ?? [];
    expect(row).toHaveLength(FEATURE_NAMES.length);
    expect(row[FEATURE_NAMES.indexOf('lines_added')]).toBe(900);
    expect(row[FEATURE_NAMES.indexOf('test_coverage')]).toBe(20);
    expect(row[FEATURE_NAMES.indexOf('files_changed')]).toBe(MISSING_VALUE);
    expect(examples[1]?.row.every((value) => value === MISSING_VALUE)).toBe(true);
  });

  it('dates the outcome by the latest action or verification end', () => {
    expect(examples.map((example) => [example.time, example.outcomeAt])).toEqual([
      [ms('2025-03-01T00:00:00Z'), ms('2025-03-04T00:00:00Z')],
      [ms('2025-03-02T00:00:00Z'), ms('2025-03-02T12:00:00Z')],
      [ms('2025-03-03T00:00:00Z'), ms('2025-03-03T00:00:00Z')],
    ]);
  });

  it('orders ties by key, whatever the input order', () => {
    const tie = [
      assessment('b', { outcome: 'succeeded', assessedAt: '2025-01-01T00:00:00Z' }),
      assessment('a', { outcome: 'failed', assessedAt: '2025-01-01T00:00:00Z' }),
    ];
    expect(examplesFrom(tie).map((example) => example.key)).toEqual(['shop/a', 'shop/b']);
    expect(examplesFrom([...tie].reverse()).map((example) => example.key)).toEqual(['shop/a', 'shop/b']);
  });
});

describe('recentRows', () => {
  const items = [
    assessment('r1', { outcome: 'running', assessedAt: '2025-01-03T00:00:00Z', features: { lines_added: 3 } }),
    assessment('r0', { outcome: 'succeeded', assessedAt: '2025-01-01T00:00:00Z', features: { lines_added: 1 } }),
    assessment('r2', { outcome: 'superseded', assessedAt: '2025-01-04T00:00:00Z' }),
    assessment('unassessed', {}, '2025-01-05T00:00:00Z'),
  ];
  const linesAdded = (rows: number[][]) => rows.map((row) => row[FEATURE_NAMES.indexOf('lines_added')]);

  it.each([
    { limit: 10, values: [1, 3, MISSING_VALUE] },
    { limit: 2, values: [3, MISSING_VALUE] },
    { limit: 0, values: [] },
  ])('the newest $limit assessed rollouts, any outcome', ({ limit, values }) => {
    expect(linesAdded(recentRows(items, limit))).toEqual(values);
  });
});

describe('newOutcomes and latestOutcome', () => {
  const example = (outcomeAt: number): LearningExample => ({
    key: `k${outcomeAt}`,
    outcome: 'succeeded',
    label: 0,
    features: {},
    row: [],
    time: 0,
    outcomeAt,
  });
  const examples = [example(10), example(20), example(30)];

  it.each([
    { through: undefined, count: 3 },
    { through: 5, count: 3 },
    { through: 20, count: 1 },
    { through: 30, count: 0 },
  ])('after $through: $count', ({ through, count }) => {
    expect(newOutcomes(examples, through)).toBe(count);
  });

  it('latest is the newest outcome, undefined for none', () => {
    expect(latestOutcome(examples)).toBe(30);
    expect(latestOutcome([])).toBeUndefined();
  });
});
