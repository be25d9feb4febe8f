// Training as the CLI and `make model` run it: a time-ordered held-out evaluation, then the model itself, and
// its meta.json. Clocks are injected so the figures and the model are reproducible in tests.

import { FEATURE_CONTRACT_VERSION } from './contract.js';
import { evaluateScores, pick, timeOrderedSplit } from './evaluate.js';
import { toForestJson } from './library-json.js';
import {
  blobSize,
  MAX_BLOB_BYTES,
  ModelTooLargeError,
  modelVersionOf,
  type EvaluationSummary,
  type ModelBundle,
} from './store.js';
import {
  DEFAULT_FOREST_OPTIONS,
  nodeCount,
  scoreRows,
  trainForest,
  TrainingError,
  type ForestOptions,
  type TrainedForest,
} from './train.js';

export interface LabelledRows {
  readonly rows: readonly (readonly number[])[];
  readonly labels: readonly (0 | 1)[];
}

export interface HoldoutOptions {
  /** Share of rows, oldest first, to train on; the newer rest is the test set. */
  readonly trainFraction: number;
  /** What the time column is called, for the description. */
  readonly timeName: string;
  readonly forest: Partial<ForestOptions>;
  /** Milliseconds, for the training time; performance.now by default. */
  readonly now?: () => number;
}

function percent(share: number): string {
  return `${Math.round(share * 100)} %`;
}

/**
 * Trains on the oldest trainFraction of the rows and evaluates on the newer rest. Both parts need risky and
 * safe rows, or the figures mean nothing.
 */
export function evaluateTimeOrdered(
  data: LabelledRows,
  times: readonly number[],
  options: HoldoutOptions,
): { readonly evaluation: EvaluationSummary; readonly forest: TrainedForest } {
  const now = options.now ?? (() => performance.now());
  const split = timeOrderedSplit(times, options.trainFraction);
  const trainLabels = pick(data.labels, split.train);
  const testLabels = pick(data.labels, split.test);
  const describe = (part: string, rows: number): string => `the ${part} (${rows} rows)`;
  for (const [part, labels] of [
    [describe(`oldest ${percent(options.trainFraction)}`, split.train.length), trainLabels],
    [describe(`newest ${percent(1 - options.trainFraction)}`, split.test.length), testLabels],
  ] as const) {
    const risky = labels.filter((label) => label === 1).length;
    if (risky === 0 || risky === labels.length) {
      throw new TrainingError(
        `${part} has only ${risky === 0 ? 'safe' : 'risky'} rows; choose another --train-fraction`,
      );
    }
  }
  const started = now();
  const forest = trainForest(pick(data.rows, split.train), trainLabels, options.forest);
  const trainMs = now() - started;
  const scores = scoreRows(forest, pick(data.rows, split.test));
  return {
    forest,
    evaluation: {
      ...evaluateScores(scores, testLabels, 0.5),
      method:
        `time-ordered: trained on the oldest ${percent(options.trainFraction)} by ${options.timeName}, ` +
        `tested on the newest ${percent(1 - options.trainFraction)}`,
      trainRows: split.train.length,
      testRows: split.test.length,
      trainMs,
    },
  };
}

export interface BundleInfo {
  /** Start of the model version, e.g. "jit-apachejit-v1". */
  readonly name: string;
  readonly featureNames: readonly string[];
  /** True when featureNames are the feature contract's, in its order. */
  readonly followsContract: boolean;
  readonly dataDescription: string;
  readonly evaluation: EvaluationSummary | null;
  readonly trainedAt: Date;
}

function round(value: number, decimals: number): number {
  const factor = 10 ** decimals;
  return Math.round(value * factor) / factor;
}

/** The model files' content for a trained forest. */
export function buildBundle(forest: TrainedForest, data: LabelledRows, info: BundleInfo): ModelBundle {
  const forestJson = toForestJson(forest);
  const options = forest.options;
  return {
    forest: forestJson,
    meta: {
      modelVersion: modelVersionOf(forestJson, info.name),
      contractVersion: info.followsContract ? FEATURE_CONTRACT_VERSION : null,
      featureNames: [...info.featureNames],
      learnedFeatures: forest.usedFeatures.map((column) => info.featureNames[column] ?? `column ${column}`),
      data: {
        description: info.dataDescription,
        rows: data.rows.length,
        positives: data.labels.filter((label) => label === 1).length,
      },
      trainer: {
        trees: options.trees,
        seed: options.seed,
        maxDepth: Number.isFinite(options.maxDepth) ? options.maxDepth : null,
        minSamplesLeaf: options.minSamplesLeaf,
        minSamplesSplit: options.minSamplesSplit,
        maxFeatures: options.maxFeatures,
        maxBins: options.maxBins,
      },
      importances: Object.fromEntries(
        info.featureNames.map((name, column) => [name, round(forest.importances[column] ?? 0, 4)]),
      ),
      evaluation: info.evaluation,
      trainedAt: info.trainedAt.toISOString(),
      trees: forest.trees.length,
      nodes: nodeCount(forest),
    },
  };
}

/**
 * Trains a model that fits a ConfigMap: when the compressed bundle is over maxBytes, trains again with twice the
 * minSamplesLeaf (a forest's size falls about in proportion), up to `attempts` times. For retraining in the
 * cluster, where the data grows and with it the trees. Throws ModelTooLargeError when even the last one is too big.
 */
export function trainToFit(
  data: LabelledRows,
  options: Partial<ForestOptions>,
  bundleOf: (forest: TrainedForest) => ModelBundle,
  maxBytes = MAX_BLOB_BYTES,
  attempts = 6,
): { readonly forest: TrainedForest; readonly bundle: ModelBundle; readonly blobBytes: number } {
  let minSamplesLeaf = options.minSamplesLeaf ?? DEFAULT_FOREST_OPTIONS.minSamplesLeaf;
  for (let attempt = 1; ; attempt++) {
    const forest = trainForest(data.rows, data.labels, { ...options, minSamplesLeaf });
    const bundle = bundleOf(forest);
    const blobBytes = blobSize(bundle);
    if (blobBytes <= maxBytes) return { forest, bundle, blobBytes };
    if (attempt >= attempts) {
      throw new ModelTooLargeError(
        `compressed model is ${Math.ceil(blobBytes / 1024)} KiB with minSamplesLeaf ${minSamplesLeaf}, ` +
          `over ${Math.floor(maxBytes / 1024)} KiB; train fewer trees`,
      );
    }
    minSamplesLeaf *= 2;
  }
}
