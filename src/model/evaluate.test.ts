// Metrics against hand-computed values, including ties, and the time-ordered split.
import { describe, expect, it } from 'vitest';

import {
  auc,
  caughtInRiskiest,
  confusionMatrix,
  evaluateScores,
  pick,
  thresholdMetrics,
  timeOrderedSplit,
} from './evaluate.js';

describe('auc', () => {
  const cases: { name: string; scores: number[]; labels: number[]; expected: number }[] = [
    { name: 'perfect', scores: [0.1, 0.2, 0.8, 0.9], labels: [0, 0, 1, 1], expected: 1 },
    { name: 'inverted', scores: [0.9, 0.8, 0.2, 0.1], labels: [0, 0, 1, 1], expected: 0 },
    { name: 'all tied', scores: [0.5, 0.5, 0.5, 0.5], labels: [0, 1, 0, 1], expected: 0.5 },
    // pairs (pos, neg): (0.8,0.1) win, (0.8,0.8) tie, (0.4,0.1) win, (0.4,0.8) loss → 2.5 / 4
    { name: 'one tie across classes', scores: [0.8, 0.4, 0.1, 0.8], labels: [1, 1, 0, 0], expected: 0.625 },
    { name: 'unsorted input', scores: [0.3, 0.9, 0.1, 0.7, 0.5], labels: [0, 1, 0, 1, 0], expected: 1 },
  ];
  it.each(cases)('$name', ({ scores, labels, expected }) => {
    expect(auc(scores, labels)).toBeCloseTo(expected, 12);
  });

  it('is NaN with one class', () => {
    expect(auc([0.1, 0.2], [1, 1])).toBeNaN();
  });

  it('matches the pairwise definition on random data', () => {
    const scores = Array.from({ length: 60 }, (_, i) => ((i * 37) % 11) / 10);
    const labels = scores.map((_, i) => ((i * 13) % 5 < 2 ? 1 : 0));
    let wins = 0;
    let pairs = 0;
    scores.forEach((p, i) => {
      if (labels[i] !== 1) return;
      scores.forEach((n, j) => {
        if (labels[j] !== 0) return;
        pairs++;
        wins += p > n ? 1 : p === n ? 0.5 : 0;
      });
    });
    expect(auc(scores, labels)).toBeCloseTo(wins / pairs, 12);
  });
});

describe('threshold metrics', () => {
  const scores = [0.9, 0.6, 0.5, 0.4, 0.2, 0.1];
  const labels = [1, 0, 1, 1, 0, 0];
  it('counts score >= threshold as risky', () => {
    expect(confusionMatrix(scores, labels, 0.5)).toEqual({
      truePositives: 2,
      falsePositives: 1,
      trueNegatives: 2,
      falseNegatives: 1,
    });
  });
  it.each([
    { threshold: 0.5, precision: 2 / 3, recall: 2 / 3, f1: 2 / 3 },
    { threshold: 0.95, precision: 0, recall: 0, f1: 0 },
    { threshold: 0, precision: 0.5, recall: 1, f1: 2 / 3 },
  ])('at $threshold', ({ threshold, precision, recall, f1 }) => {
    const metrics = thresholdMetrics(scores, labels, threshold);
    expect(metrics.precision).toBeCloseTo(precision, 12);
    expect(metrics.recall).toBeCloseTo(recall, 12);
    expect(metrics.f1).toBeCloseTo(f1, 12);
  });
});

describe('caughtInRiskiest', () => {
  const cases: { name: string; scores: number[]; labels: number[]; fraction: number; expected: number }[] = [
    {
      name: 'top 20 % of 10 holds 2 of 4 risky',
      scores: [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
      labels: [1, 1, 0, 0, 1, 0, 0, 1, 0, 0],
      fraction: 0.2,
      expected: 0.5,
    },
    {
      name: 'top 10 % of 10 holds 1 of 4 risky',
      scores: [9, 8, 7, 6, 5, 4, 3, 2, 1, 0],
      labels: [1, 1, 0, 0, 1, 0, 0, 1, 0, 0],
      fraction: 0.1,
      expected: 0.25,
    },
    // budget 2 rows, the 4 tied rows hold 2 risky: expected 2 × 2/4 = 1 of 2 risky
    {
      name: 'ties at the cut count in proportion',
      scores: [1, 1, 1, 1, 0, 0, 0, 0, 0, 0],
      labels: [1, 0, 1, 0, 0, 0, 0, 0, 0, 0],
      fraction: 0.2,
      expected: 0.5,
    },
    { name: 'everything', scores: [3, 2, 1], labels: [0, 1, 1], fraction: 1, expected: 1 },
  ];
  it.each(cases)('$name', ({ scores, labels, fraction, expected }) => {
    expect(caughtInRiskiest(scores, labels, fraction)).toBeCloseTo(expected, 12);
  });
});

describe('evaluateScores', () => {
  it('gathers every figure', () => {
    const result = evaluateScores([0.9, 0.1, 0.8, 0.3], [1, 0, 1, 0]);
    expect(result).toMatchObject({ auc: 1, precision: 1, recall: 1, f1: 1, rows: 4, positives: 2, threshold: 0.5 });
    expect(result.caughtTop20).toBeCloseTo(0.4, 12);
  });
});

describe('timeOrderedSplit', () => {
  const cases: { name: string; times: number[]; fraction: number; train: number[]; test: number[] }[] = [
    { name: 'oldest train', times: [40, 10, 30, 20, 50], fraction: 0.6, train: [1, 3, 2], test: [0, 4] },
    { name: 'ties keep file order', times: [1, 1, 1, 1], fraction: 0.5, train: [0, 1], test: [2, 3] },
    { name: 'at least one test row', times: [1, 2, 3], fraction: 0.99, train: [0, 1], test: [2] },
    { name: 'at least one training row', times: [1, 2, 3], fraction: 0.01, train: [0], test: [1, 2] },
  ];
  it.each(cases)('$name', ({ times, fraction, train, test }) => {
    expect(timeOrderedSplit(times, fraction)).toEqual({ train, test });
  });
  it.each([0, 1, 1.5, NaN])('rejects fraction %d', (fraction) => {
    expect(() => timeOrderedSplit([1, 2], fraction)).toThrow(RangeError);
  });
  it('picks by index', () => {
    expect(pick(['a', 'b', 'c'], [2, 0])).toEqual(['c', 'a']);
    expect(() => pick(['a'], [3])).toThrow(RangeError);
  });
});
