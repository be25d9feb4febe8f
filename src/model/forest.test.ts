// Proof that our typed-array predictor votes exactly as ml-random-forest does, tree by tree: on our trainer's
// forests, on the library's own, and on the shipped model with the real data it was trained on; and that the
// adapter refuses damaged models.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

import { APACHEJIT_TO_CONTRACT, SHIPPED_DATA_FILE } from './apachejit.js';
import { toContractRows } from './contract.js';
import { loadDataset, parseCsv } from './csv.js';

import { toFeatureVector } from './contract.js';
import { libraryVotes, loadForest, trainWithLibrary } from './forest.js';
import { fromForestJson, ModelFormatError, toForestJson, type ForestJson } from './library-json.js';
import { syntheticRows } from './testing.js';
import { forestVotes, scoreRow, scoreRows, trainForest, type CompactTree } from './train.js';

describe('our forests in ml-random-forest', () => {
  const cases = [
    { name: 'defaults', options: { trees: 25, seed: 1 } },
    { name: 'fully grown', options: { trees: 15, seed: 2, minSamplesLeaf: 1 } },
    { name: 'shallow, all features', options: { trees: 10, seed: 3, maxDepth: 2, maxFeatures: 'all' as const } },
    { name: 'few bins', options: { trees: 10, seed: 4, maxBins: 4 } },
  ];
  const train = syntheticRows(500, 11, 6, 0.15);
  // Unseen rows, including values between and beyond the training values, and missing ones.
  const probe = [
    ...syntheticRows(300, 12, 6, 0.15).rows,
    ...Array.from({ length: 50 }, (_, i) => Array.from({ length: 6 }, (_, c) => ((i * 7.3 + c * 13.1) % 140) - 20)),
    Array.from({ length: 6 }, () => -1),
  ];

  it.each(cases)('$name: same votes tree by tree, same scores', ({ options }) => {
    const forest = trainForest(train.rows, train.labels, options);
    const json = JSON.parse(JSON.stringify(toForestJson(forest))) as unknown;
    const loaded = loadForest(json);
    expect(loaded.treeCount).toBe(forest.trees.length);
    const reference = libraryVotes(json, probe);
    expect(loaded.votes(probe)).toEqual(reference);
    probe.forEach((row, r) => {
      expect(reference[r]).toEqual(forestVotes(forest, row));
    });
    expect(loaded.scoreRows(probe)).toEqual(scoreRows(forest, probe));
    expect(loaded.score(probe[0] ?? [])).toBe(scoreRow(forest, probe[0] ?? []));
  });

  it('reads back into the same trees (votes and thresholds)', () => {
    const forest = trainForest(train.rows, train.labels, { trees: 5, seed: 5 });
    const read = fromForestJson(JSON.parse(JSON.stringify(toForestJson(forest))));
    expect(read.featureCount).toBe(6);
    // Node numbering may differ (the trainer numbers siblings together, the reader in preorder); the trees not.
    const preorder = (tree: CompactTree, node = 0): number[][] =>
      (tree.feature[node] ?? -1) < 0
        ? [[-1]]
        : [
            [tree.feature[node] ?? -1, tree.threshold[node] ?? 0],
            ...preorder(tree, tree.left[node] ?? -1),
            ...preorder(tree, tree.right[node] ?? -1),
          ];
    read.trees.forEach((tree, t) => {
      const original = forest.trees[t];
      expect(original && preorder(tree)).toEqual(original && preorder(original));
    });
    for (const row of probe) expect(forestVotes(read, row)).toEqual(forestVotes(forest, row));
  });

  it('writes the shape ml-cart writes', () => {
    const json = toForestJson(trainForest(train.rows, train.labels, { trees: 2, seed: 6 }));
    expect(json.name).toBe('RFClassifier');
    expect(json.baseModel.indexes).toEqual([
      [0, 1, 2, 3, 4, 5],
      [0, 1, 2, 3, 4, 5],
    ]);
    const tree = json.baseModel.estimators[0];
    expect(tree?.name).toBe('DTClassifier');
    expect(tree?.options).toMatchObject({ kind: 'classifier', gainFunction: 'gini', splitFunction: 'mean' });
    const root = tree?.root;
    expect(root).toHaveProperty('splitColumn');
    expect(root).toHaveProperty('splitValue');
    expect(root).toHaveProperty('gain');
    expect(root).toHaveProperty('numberSamples');
  });

  it('scores contract vectors of the operator', () => {
    const rows = train.rows.map((row) => toFeatureVector({ files_changed: row[0] ?? 0, lines_added: row[1] ?? 0 }));
    const forest = trainForest(rows, train.labels, { trees: 10 });
    const loaded = loadForest(toForestJson(forest));
    const row = toFeatureVector({ files_changed: 90, lines_added: 120 });
    expect(loaded.score(row)).toBe(scoreRow(forest, row));
    expect(loaded.score(row)).toBeGreaterThan(0.5);
    expect(() => loaded.score([1, 2])).toThrow(RangeError);
  });
});

describe("the library's own forests", () => {
  it('are read by fromForestJson with the same votes as the library', () => {
    const train = syntheticRows(120, 21, 3);
    const { forest, json } = trainWithLibrary(train.rows, train.labels, { trees: 5, seed: 3 });
    const read = fromForestJson(json);
    const probe = syntheticRows(60, 22, 3).rows;
    const votes = libraryVotes(json, probe);
    expect(forest.votes(probe)).toEqual(votes);
    probe.forEach((row, r) => {
      expect(forestVotes(read, row)).toEqual(votes[r]);
    });
  });
});

describe('the shipped model', () => {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
  const json = JSON.parse(readFileSync(path.join(root, 'models/default/model.json'), 'utf8')) as unknown;

  it('votes as ml-random-forest does on every row of the data it was trained on', () => {
    const text = readFileSync(path.join(root, SHIPPED_DATA_FILE), 'utf8');
    const header = parseCsv(text.slice(0, text.indexOf('\n')))[0]?.fields ?? [];
    const exclude = header.filter(
      (name) => !(name in APACHEJIT_TO_CONTRACT) && name !== 'buggy' && name !== 'author_date',
    );
    const dataset = loadDataset(text, { label: 'buggy', time: 'author_date', exclude });
    const rows = toContractRows(
      dataset.featureNames.map((name) => APACHEJIT_TO_CONTRACT[name] ?? name),
      dataset.rows,
    );
    expect(rows?.length).toBeGreaterThan(7000);
    // Plus rows where a learned feature is unknown (-1), as the operator scores a change without CI metadata.
    const probe = [...(rows ?? []), ...(rows ?? []).slice(0, 200).map((row) => row.map((v, c) => (c % 3 ? v : -1)))];
    const loaded = loadForest(json);
    expect(loaded.treeCount).toBe(100);
    expect(loaded.votes(probe)).toEqual(libraryVotes(json, probe));
  });
});

describe('damaged model JSON', () => {
  const good = (): ForestJson =>
    JSON.parse(
      JSON.stringify(toForestJson(trainForest([[1], [2], [3], [4]], [0, 0, 1, 1], { trees: 2 }))),
    ) as ForestJson;
  const cases: { name: string; damage: (json: Record<string, unknown>) => unknown; message: RegExp }[] = [
    { name: 'not a forest', damage: () => ({ name: 'RFRegression' }), message: /not an ml-random-forest classifier/ },
    {
      name: 'no trees',
      damage: (json) => ({ ...json, baseModel: { ...(json.baseModel as object), estimators: [] } }),
      message: /estimators is empty/,
    },
    {
      name: 'tree count',
      damage: (json) => ({ ...json, baseModel: { ...(json.baseModel as object), nEstimators: 3 } }),
      message: /nEstimators does not match/,
    },
    {
      name: 'bad leaf',
      damage: (json) => {
        const base = json.baseModel as ForestJson['baseModel'];
        return {
          ...json,
          baseModel: {
            ...base,
            estimators: [{ ...base.estimators[0], root: { distribution: 'x' } }, base.estimators[1]],
          },
        };
      },
      message: /tree 0 leaf root: has no/,
    },
    {
      name: 'column out of range',
      damage: (json) => {
        const base = json.baseModel as ForestJson['baseModel'];
        const root = {
          splitColumn: 4,
          splitValue: 1,
          gain: 0,
          numberSamples: 1,
          left: { distribution: [[1]] },
          right: { distribution: [[1]] },
        };
        return { ...json, baseModel: { ...base, estimators: [{ ...base.estimators[0], root }, base.estimators[1]] } };
      },
      message: /splits on a column the tree does not have/,
    },
  ];
  it.each(cases)('$name', ({ damage, message }) => {
    const json = damage(good() as unknown as Record<string, unknown>);
    expect(() => loadForest(json)).toThrow(ModelFormatError);
    expect(() => loadForest(json)).toThrow(message);
  });
});
