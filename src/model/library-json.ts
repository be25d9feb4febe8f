// The JSON of ml-random-forest's RandomForestClassifier (what its toJSON() writes and load() reads), written
// from our trained trees and read back into them, so our trainer's forests are loaded and scored by the library.
//
// The format, from ml-random-forest 2.1 and ml-cart 2.1 sources: the forest holds per tree `indexes[t]`, the
// input columns that tree sees (we give every tree all columns, in order, so `splitColumn` is the input column
// itself) and `estimators[t]`, ml-cart's DecisionTreeClassifier JSON. A tree node is a leaf when it has a
// `distribution` — [[p0]] or [[p0, p1]] class shares, as long as the highest class present plus one, like
// ml-cart writes it — and a split otherwise: `splitColumn`, `splitValue` (row[splitColumn] < splitValue goes
// left), `gain`, `numberSamples`, `left`, `right`. A tree votes for the first class with the highest share.
//
// ml-cart also copies its tree options (kind, gainFunction, ...) into every node; load() ignores them (each
// node takes the options of the tree it is loaded into), so we leave them out: they would triple model.json.
// Numbers are rounded (shares to 6 decimals, gains to 4 significant digits) to keep the model small; a
// rounded share can never change a vote (see leafDistribution).

import type { CompactTree, ForestOptions, TrainedForest, TreeEnsemble } from './train.js';

export interface LeafJson {
  readonly distribution: number[][];
}

export interface SplitJson {
  readonly splitValue: number;
  readonly splitColumn: number;
  readonly gain: number;
  readonly numberSamples: number;
  readonly left: NodeJson;
  readonly right: NodeJson;
}

export type NodeJson = LeafJson | SplitJson;

/** ml-cart's tree options, as it records them (maxDepth Infinity becomes null in JSON). */
export interface TreeOptionsJson {
  readonly gainFunction: 'gini';
  readonly splitFunction: 'mean';
  readonly minNumSamples: number;
  readonly maxDepth: number | null;
  readonly gainThreshold: number;
  readonly kind: 'classifier';
}

export interface TreeJson {
  readonly options: TreeOptionsJson;
  readonly root: NodeJson;
  readonly name: 'DTClassifier';
}

export interface ForestJson {
  readonly name: 'RFClassifier';
  readonly baseModel: {
    readonly indexes: number[][];
    readonly n: number;
    readonly replacement: boolean;
    readonly maxFeatures: number;
    readonly nEstimators: number;
    readonly treeOptions: TreeOptionsJson;
    readonly isClassifier: true;
    readonly seed: number;
    readonly estimators: TreeJson[];
    readonly useSampleBagging: boolean;
  };
}

function roundTo(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

function significant(value: number, digits: number): number {
  return value === 0 ? 0 : Number(value.toPrecision(digits));
}

/**
 * A leaf's class shares as ml-cart writes them. Rounding to 6 decimals cannot flip the vote: shares differ by
 * at least 1/(rows in the leaf), far more than 1e-6 for any data set we train on; the check is a guard.
 */
function leafDistribution(negatives: number, positives: number): number[][] {
  const total = negatives + positives;
  if (positives === 0) return [[1]];
  const exact = [negatives / total, positives / total];
  const rounded = exact.map((share) => roundTo(share, 6));
  const [n0 = 0, n1 = 0] = rounded;
  const keepsVote = positives > negatives ? n1 > n0 : n0 >= n1;
  return [keepsVote ? rounded : exact];
}

function treeOptions(options: ForestOptions): TreeOptionsJson {
  return {
    gainFunction: 'gini',
    splitFunction: 'mean',
    minNumSamples: options.minSamplesSplit,
    maxDepth: Number.isFinite(options.maxDepth) ? options.maxDepth : null,
    gainThreshold: 0,
    kind: 'classifier',
  };
}

function nodeJson(tree: CompactTree, node: number): NodeJson {
  const negatives = tree.negatives[node] ?? 0;
  const positives = tree.positives[node] ?? 0;
  const column = tree.feature[node] ?? -1;
  if (column < 0) return { distribution: leafDistribution(negatives, positives) };
  return {
    splitValue: tree.threshold[node] ?? 0,
    splitColumn: column,
    gain: significant(tree.gain[node] ?? 0, 4),
    numberSamples: negatives + positives,
    left: nodeJson(tree, tree.left[node] ?? -1),
    right: nodeJson(tree, tree.right[node] ?? -1),
  };
}

/** The forest as ml-random-forest's RandomForestClassifier.load() takes it. */
export function toForestJson(forest: TrainedForest): ForestJson {
  const columns = Array.from({ length: forest.featureCount }, (_, i) => i);
  const options = treeOptions(forest.options);
  return {
    name: 'RFClassifier',
    baseModel: {
      indexes: forest.trees.map(() => [...columns]),
      n: forest.featureCount,
      // In the library's terms every tree sees all columns (maxFeatures 1.0 = all, drawn without replacement);
      // our per-node feature sampling is recorded in meta.json.
      replacement: false,
      maxFeatures: 1,
      nEstimators: forest.trees.length,
      treeOptions: options,
      isClassifier: true,
      seed: forest.options.seed,
      estimators: forest.trees.map((tree) => ({ options, root: nodeJson(tree, 0), name: 'DTClassifier' })),
      useSampleBagging: true,
    },
  };
}

/** Invalid model JSON; the message says where. */
export class ModelFormatError extends Error {
  override name = 'ModelFormatError';
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isNumberArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'number' && Number.isFinite(item));
}

/**
 * Checks model JSON and reads it into our tree arrays (leaf class shares in negatives/positives). Throws
 * ModelFormatError on anything ml-random-forest could not load or would score wrongly: another model kind,
 * per-tree column lists that are not lists of columns, a node that is neither a leaf nor a complete split.
 */
export function fromForestJson(json: unknown): TreeEnsemble {
  if (!isRecord(json) || json.name !== 'RFClassifier')
    throw new ModelFormatError('not an ml-random-forest classifier (name is not RFClassifier)');
  const base = json.baseModel;
  if (!isRecord(base)) throw new ModelFormatError('baseModel is missing');
  const { estimators, indexes } = base;
  if (!Array.isArray(estimators) || estimators.length === 0)
    throw new ModelFormatError('baseModel.estimators is empty');
  if (!Array.isArray(indexes) || indexes.length !== estimators.length) {
    throw new ModelFormatError('baseModel.indexes must list the columns of every tree');
  }
  if (base.nEstimators !== estimators.length)
    throw new ModelFormatError('baseModel.nEstimators does not match the trees');
  let featureCount = 0;
  const trees = estimators.map((estimator: unknown, t) => {
    const columns: unknown = indexes[t];
    if (!isNumberArray(columns) || columns.some((c) => !Number.isInteger(c) || c < 0)) {
      throw new ModelFormatError(`baseModel.indexes[${t}] is not a list of columns`);
    }
    for (const column of columns) featureCount = Math.max(featureCount, column + 1);
    if (!isRecord(estimator) || estimator.name !== 'DTClassifier' || !isRecord(estimator.options)) {
      throw new ModelFormatError(`tree ${t} is not an ml-cart DTClassifier`);
    }
    return readTree(estimator.root, columns, t);
  });
  return { featureCount, trees };
}

function readTree(root: unknown, columns: readonly number[], t: number): CompactTree {
  const feature: number[] = [];
  const threshold: number[] = [];
  const left: number[] = [];
  const right: number[] = [];
  const negatives: number[] = [];
  const positives: number[] = [];
  const gain: number[] = [];
  const visit = (node: unknown, path: string): number => {
    if (!isRecord(node)) throw new ModelFormatError(`tree ${t} node ${path} is not an object`);
    const id = feature.length;
    feature.push(-1);
    threshold.push(0);
    left.push(-1);
    right.push(-1);
    gain.push(0);
    if (node.distribution !== undefined) {
      const distribution = node.distribution;
      const shares: unknown = Array.isArray(distribution) ? distribution[0] : undefined;
      if (!isNumberArray(shares) || shares.length === 0 || shares.length > 2) {
        throw new ModelFormatError(`tree ${t} leaf ${path} has no [[p0]] or [[p0, p1]] distribution`);
      }
      negatives.push(shares[0] ?? 0);
      positives.push(shares[1] ?? 0);
      return id;
    }
    const { splitColumn, splitValue } = node;
    if (typeof splitColumn !== 'number' || !Number.isInteger(splitColumn) || columns[splitColumn] === undefined) {
      throw new ModelFormatError(`tree ${t} node ${path} splits on a column the tree does not have`);
    }
    if (typeof splitValue !== 'number' || !Number.isFinite(splitValue)) {
      throw new ModelFormatError(`tree ${t} node ${path} has no numeric splitValue`);
    }
    feature[id] = columns[splitColumn] ?? -1;
    threshold[id] = splitValue;
    gain[id] = typeof node.gain === 'number' ? node.gain : 0;
    const samples = typeof node.numberSamples === 'number' ? node.numberSamples : 0;
    negatives.push(samples);
    positives.push(0);
    left[id] = visit(node.left, `${path}L`);
    right[id] = visit(node.right, `${path}R`);
    return id;
  };
  visit(root, 'root:');
  return {
    feature: Int32Array.from(feature),
    threshold: Float64Array.from(threshold),
    left: Int32Array.from(left),
    right: Int32Array.from(right),
    negatives: Float64Array.from(negatives),
    positives: Float64Array.from(positives),
    gain: Float64Array.from(gain),
  };
}
