// The trainer: binning, thresholds, options, determinism, and that the forests it grows learn.
import { describe, expect, it } from 'vitest';

import { auc } from './evaluate.js';
import { createRandom, deriveSeed } from './random.js';
import { syntheticRows } from './testing.js';
import {
  binFeature,
  forestVotes,
  nodeCount,
  scoreRow,
  scoreRows,
  shortThreshold,
  trainForest,
  TrainingError,
  type CompactTree,
} from './train.js';

function depth(tree: CompactTree, node = 0): number {
  const left = tree.left[node] ?? -1;
  return left < 0 ? 0 : 1 + Math.max(depth(tree, left), depth(tree, tree.right[node] ?? -1));
}

function leafSizes(tree: CompactTree): number[] {
  const sizes: number[] = [];
  tree.feature.forEach((feature, node) => {
    if (feature < 0) sizes.push((tree.negatives[node] ?? 0) + (tree.positives[node] ?? 0));
  });
  return sizes;
}

describe('random', () => {
  it('is deterministic per seed and spread over [0, 1)', () => {
    const a = createRandom(42);
    const b = createRandom(42);
    const values = Array.from({ length: 1000 }, () => a());
    expect(values).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(Math.min(...values)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...values)).toBeLessThan(1);
    expect(values.reduce((s, v) => s + v, 0) / values.length).toBeCloseTo(0.5, 1);
    expect(deriveSeed(1, 0)).not.toBe(deriveSeed(1, 1));
    expect(deriveSeed(1, 0)).toBe(deriveSeed(1, 0));
  });
});

describe('binFeature', () => {
  it('gives every distinct value its own bin when there are few', () => {
    const binned = binFeature(Float64Array.from([3, -1, 3, 0, 7]), 256);
    expect(Array.from(binned.codes)).toEqual([2, 0, 2, 1, 3]);
    expect(Array.from(binned.low)).toEqual([-1, 0, 3, 7]);
    expect(binned.bins).toBe(4);
  });

  it('makes at most maxBins ordered quantile bins and never splits a value', () => {
    const values = Float64Array.from({ length: 1000 }, (_, i) => (i < 300 ? -1 : i));
    const binned = binFeature(values, 16);
    expect(binned.bins).toBeLessThanOrEqual(16);
    expect(new Set(Array.from(binned.codes.slice(0, 300)))).toEqual(new Set([0]));
    for (let i = 1; i < values.length; i++) {
      expect(binned.codes[i] ?? 0).toBeGreaterThanOrEqual(binned.codes[i - 1] ?? 0);
    }
    for (let b = 1; b < binned.bins; b++) expect(binned.low[b] ?? 0).toBeGreaterThan(binned.high[b - 1] ?? 0);
  });
});

describe('shortThreshold', () => {
  it.each([
    [1, 2, 1.5],
    [2, 3, 2.5],
    [10, 20, 15],
    [0.581676297, 0.6, 0.59],
    [-1, 0, -0.5],
    [0.1, 0.1000001, 0.10000005],
    [1, 1 + 2 ** -52, 1 + 2 ** -52],
  ])('between %d and %d: %d', (below, above, expected) => {
    const threshold = shortThreshold(below, above);
    expect(threshold).toBe(expected);
    expect(threshold).toBeGreaterThan(below);
    expect(threshold).toBeLessThanOrEqual(above);
  });
});

describe('trainForest', () => {
  const train = syntheticRows(600, 1);
  const test = syntheticRows(400, 2);

  it('learns the deciding feature', () => {
    const forest = trainForest(train.rows, train.labels, { trees: 30, seed: 3 });
    expect(auc(scoreRows(forest, test.rows), test.labels)).toBeGreaterThan(0.85);
    expect(forest.importances.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 9);
    const top = forest.importances.indexOf(Math.max(...forest.importances));
    expect(top).toBe(0);
  });

  it('is deterministic for a seed and different across seeds', () => {
    const a = trainForest(train.rows, train.labels, { trees: 5, seed: 9 });
    const b = trainForest(train.rows, train.labels, { trees: 5, seed: 9 });
    const c = trainForest(train.rows, train.labels, { trees: 5, seed: 10 });
    expect(a.trees).toEqual(b.trees);
    expect(a.trees).not.toEqual(c.trees);
  });

  it('scores are the share of trees voting risky', () => {
    const forest = trainForest(train.rows, train.labels, { trees: 7, seed: 1 });
    for (const row of test.rows.slice(0, 20)) {
      const votes = forestVotes(forest, row);
      expect(votes).toHaveLength(7);
      expect(scoreRow(forest, row)).toBe(votes.filter((vote) => vote === 1).length / 7);
    }
  });

  const limits = [
    {
      name: 'maxDepth',
      options: { maxDepth: 3 },
      check: (tree: CompactTree) => {
        expect(depth(tree)).toBeLessThanOrEqual(3);
      },
    },
    {
      name: 'minSamplesLeaf (bootstrap weights ≥ distinct rows)',
      options: { minSamplesLeaf: 20 },
      check: (tree: CompactTree) => {
        expect(Math.min(...leafSizes(tree))).toBeGreaterThanOrEqual(20);
      },
    },
  ];
  it.each(limits)('respects $name', ({ options, check }) => {
    const forest = trainForest(train.rows, train.labels, { trees: 5, seed: 2, ...options });
    for (const tree of forest.trees) check(tree);
  });

  it('grows until every leaf is pure when rows can be told apart', () => {
    const rows = Array.from({ length: 200 }, (_, i) => [i, (i * 7) % 13]);
    const labels = rows.map((_, i) => ((i * 31) % 7 < 3 ? 1 : 0));
    const forest = trainForest(rows, labels, { trees: 5, minSamplesLeaf: 1 });
    for (const tree of forest.trees) {
      tree.feature.forEach((feature, node) => {
        if (feature < 0) expect(Math.min(tree.negatives[node] ?? 0, tree.positives[node] ?? 0)).toBe(0);
      });
    }
  });

  it('fewer nodes with larger leaves', () => {
    const small = trainForest(train.rows, train.labels, { trees: 5, minSamplesLeaf: 1 });
    const large = trainForest(train.rows, train.labels, { trees: 5, minSamplesLeaf: 10 });
    expect(nodeCount(large)).toBeLessThan(nodeCount(small));
  });

  it('never splits on a column constant in the training data', () => {
    const rows = train.rows.map((row) => [...row, -1]);
    const forest = trainForest(rows, train.labels, { trees: 5, maxFeatures: 'all' });
    expect(forest.usedFeatures).toEqual([0, 1, 2, 3]);
    for (const tree of forest.trees) expect(Array.from(tree.feature)).not.toContain(4);
    expect(forest.importances[4]).toBe(0);
  });

  it('gives a single leaf for one class', () => {
    const forest = trainForest([[1], [2], [3]], [0, 0, 0], { trees: 2 });
    expect(forest.trees.map((tree) => tree.feature.length)).toEqual([1, 1]);
    expect(scoreRow(forest, [5])).toBe(0);
  });

  const invalid: { name: string; rows: number[][]; labels: number[]; options?: object; message: string }[] = [
    { name: 'no rows', rows: [], labels: [], message: 'no training rows' },
    { name: 'label 2', rows: [[1], [2]], labels: [0, 2], message: 'label of row 1 is 2, not 0 or 1' },
    { name: 'labels count', rows: [[1], [2]], labels: [0], message: '2 rows but 1 labels' },
    { name: 'ragged', rows: [[1, 2], [2]], labels: [0, 1], message: 'row 1 has 1 values, row 0 has 2' },
    { name: 'NaN', rows: [[1], [NaN]], labels: [0, 1], message: 'row 1 column 0 is NaN; fill missing with -1' },
    {
      name: 'trees 0',
      rows: [[1]],
      labels: [0],
      options: { trees: 0 },
      message: 'trees must be a positive integer, not 0',
    },
    {
      name: 'bins 300',
      rows: [[1]],
      labels: [0],
      options: { maxBins: 300 },
      message: 'maxBins must be an integer in 2..256, not 300',
    },
    {
      name: 'maxFeatures 1.5',
      rows: [[1]],
      labels: [0],
      options: { maxFeatures: 1.5 },
      message: "maxFeatures must be 'sqrt', 'all', a count or a fraction in (0,1), not 1.5",
    },
  ];
  it.each(invalid)('rejects $name', ({ rows, labels, options, message }) => {
    expect(() => trainForest(rows, labels, options)).toThrow(new TrainingError(message));
  });
});
