// The time-ordered evaluation and the meta.json it feeds, with a fake clock.
import { describe, expect, it } from 'vitest';

import { buildBundle, evaluateTimeOrdered, trainToFit } from './pipeline.js';
import { blobSize, ModelTooLargeError } from './store.js';
import { syntheticRows } from './testing.js';
import { trainForest, TrainingError } from './train.js';

describe('evaluateTimeOrdered', () => {
  const data = syntheticRows(400, 3);
  const times = data.rows.map((_, i) => 1000 - i); // the last rows are the oldest

  it('trains on the oldest share and tests on the newest', () => {
    let clock = 0;
    const { evaluation, forest } = evaluateTimeOrdered(data, times, {
      trainFraction: 0.75,
      timeName: 'when',
      forest: { trees: 10 },
      now: () => (clock += 40),
    });
    expect(evaluation).toMatchObject({ trainRows: 300, testRows: 100, trainMs: 40, rows: 100, threshold: 0.5 });
    expect(evaluation.method).toBe('time-ordered: trained on the oldest 75 % by when, tested on the newest 25 %');
    // the newest 100 rows are the first 100 of the file
    expect(evaluation.positives).toBe(data.labels.slice(0, 100).filter((label) => label === 1).length);
    expect(evaluation.auc).toBeGreaterThan(0.8);
    expect(forest.trees).toHaveLength(10);
  });

  it.each([
    ['newest', (i: number) => (i < 100 ? 0 : undefined), /newest 25 % \(100 rows\) has only safe rows/],
    ['oldest', (i: number) => (i >= 100 ? 1 : undefined), /oldest 75 % \(300 rows\) has only risky rows/],
  ] as const)('refuses a one-class %s part', (_, force, message) => {
    const labels = data.labels.map((label, i) => force(i) ?? label);
    expect(() =>
      evaluateTimeOrdered({ rows: data.rows, labels }, times, { trainFraction: 0.75, timeName: 't', forest: {} }),
    ).toThrow(TrainingError);
    expect(() =>
      evaluateTimeOrdered({ rows: data.rows, labels }, times, { trainFraction: 0.75, timeName: 't', forest: {} }),
    ).toThrow(message);
  });
});

describe('buildBundle', () => {
  it('records the trainer settings, data and importances by name', () => {
    const data = syntheticRows(200, 4);
    const forest = trainForest(data.rows, data.labels, { trees: 4, seed: 8, maxDepth: 6 });
    const { meta } = buildBundle(forest, data, {
      name: 'mine',
      featureNames: ['a', 'b', 'c', 'd'],
      followsContract: false,
      dataDescription: 'test rows',
      evaluation: null,
      trainedAt: new Date(0),
    });
    expect(meta).toMatchObject({
      contractVersion: null,
      featureNames: ['a', 'b', 'c', 'd'],
      learnedFeatures: ['a', 'b', 'c', 'd'],
      data: { description: 'test rows', rows: 200, positives: data.labels.filter((l) => l === 1).length },
      trainer: { trees: 4, seed: 8, maxDepth: 6, minSamplesLeaf: 5, maxFeatures: 'sqrt', maxBins: 256 },
      evaluation: null,
      trainedAt: '1970-01-01T00:00:00.000Z',
      trees: 4,
    });
    expect(Object.keys(meta.importances)).toEqual(['a', 'b', 'c', 'd']);
    expect(meta.nodes).toBeGreaterThan(4);
  });
});

describe('trainToFit', () => {
  const data = syntheticRows(600, 9);
  const bundleOf = (forest: ReturnType<typeof trainForest>) =>
    buildBundle(forest, data, {
      name: 'fit',
      featureNames: ['a', 'b', 'c', 'd'],
      followsContract: false,
      dataDescription: 'synthetic',
      evaluation: null,
      trainedAt: new Date(0),
    });

  it('keeps the settings when the model fits', () => {
    const { forest, blobBytes } = trainToFit(data, { trees: 5, minSamplesLeaf: 1 }, bundleOf);
    expect(forest.options.minSamplesLeaf).toBe(1);
    expect(blobBytes).toBeGreaterThan(0);
  });

  it('doubles minSamplesLeaf until the blob fits', () => {
    const full = blobSize(bundleOf(trainForest(data.rows, data.labels, { trees: 20, minSamplesLeaf: 1 })));
    const { forest, blobBytes } = trainToFit(data, { trees: 20, minSamplesLeaf: 1 }, bundleOf, full * 0.6);
    expect(forest.options.minSamplesLeaf).toBeGreaterThan(1);
    expect(blobBytes).toBeLessThanOrEqual(full * 0.6);
  });

  it('gives up with the size', () => {
    expect(() => trainToFit(data, { trees: 5 }, bundleOf, 100, 2)).toThrow(ModelTooLargeError);
    expect(() => trainToFit(data, { trees: 5 }, bundleOf, 100, 2)).toThrow(/with minSamplesLeaf 10, over 0 KiB/);
  });
});
