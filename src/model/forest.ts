// The one place that touches ml-random-forest: loads model JSON into the library's RandomForestClassifier
// (the prediction engine) behind a small typed interface. The library's bundled .d.ts does not compile on its
// own, so its types stay here, cast to the few members we call.
//
// Scores are the share of trees voting risky, computed from predictionValues(): the library's own
// predictProbability() starts its reduce at the first tree's vote instead of 0, so it drops that tree.

import * as library from 'ml-random-forest';

import { fromForestJson } from './library-json.js';

/** What we use of the library's classifier. */
interface LibraryClassifier {
  /** Per row (matrix rows), each tree's predicted class (matrix columns). */
  predictionValues(rows: number[][]): {
    readonly rows: number;
    readonly columns: number;
    get(row: number, column: number): number;
  };
}

interface LibraryClassifierClass {
  new (options: Record<string, unknown>): LibraryClassifier & {
    train(rows: number[][], labels: number[]): void;
    toJSON(): unknown;
  };
  load(json: unknown): LibraryClassifier;
}

const RandomForestClassifier = (library as unknown as { RandomForestClassifier: LibraryClassifierClass })
  .RandomForestClassifier;

export interface LoadedForest {
  readonly treeCount: number;
  /** Columns the trees read: rows need at least this many (the contract's 25 for rollguard's models). */
  readonly featureCount: number;
  /** Each tree's class (0 safe, 1 risky) for each row: votes[row][tree]. */
  votes(rows: readonly (readonly number[])[]): number[][];
  /** The share of trees voting risky, per row. */
  scoreRows(rows: readonly (readonly number[])[]): number[];
  /** The share of trees voting risky for one row. */
  score(row: readonly number[]): number;
}

/**
 * Loads ml-random-forest classifier JSON (a ForestJson of ours, or the library's own). The JSON is checked first, so a damaged
 * model fails here with ModelFormatError instead of scoring garbage later.
 */
export function loadForest(json: unknown): LoadedForest {
  const { featureCount, trees } = fromForestJson(json);
  const classifier = RandomForestClassifier.load(json);
  const treeCount = trees.length;
  const checkWidth = (row: readonly number[]): number[] => {
    // Shorter rows would silently read undefined (which goes right at every split).
    if (row.length < featureCount) {
      throw new RangeError(`row has ${row.length} values, the model reads ${featureCount}`);
    }
    return [...row];
  };
  const votes = (rows: readonly (readonly number[])[]): number[][] => {
    if (rows.length === 0) return [];
    const values = classifier.predictionValues(rows.map(checkWidth));
    return Array.from({ length: values.rows }, (_, r) =>
      Array.from({ length: values.columns }, (_, t) => values.get(r, t)),
    );
  };
  const scoreRows = (rows: readonly (readonly number[])[]): number[] =>
    votes(rows).map((row) => row.reduce((risky, vote) => risky + (vote === 1 ? 1 : 0), 0) / treeCount);
  return {
    treeCount,
    featureCount,
    votes,
    scoreRows,
    score: (row) => scoreRows([row])[0] ?? NaN,
  };
}

/**
 * Trains with ml-random-forest's own trainer (its defaults: every tree on a bootstrap sample with all
 * features, ml-cart trees with at least 3 rows per leaf), for the benchmark only: it is quadratic in rows.
 * Out-of-bag estimation is off, as it can throw "input must not be empty".
 */
export function trainWithLibrary(
  rows: readonly (readonly number[])[],
  labels: readonly number[],
  options: { readonly trees: number; readonly seed: number },
): { readonly forest: LoadedForest; readonly json: unknown } {
  const classifier = new RandomForestClassifier({ nEstimators: options.trees, seed: options.seed, noOOB: true });
  classifier.train(
    rows.map((row) => [...row]),
    [...labels],
  );
  const json = JSON.parse(JSON.stringify(classifier.toJSON())) as unknown;
  return { forest: loadForest(json), json };
}
