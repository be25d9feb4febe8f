// Scores with a random forest in ml-random-forest's JSON (ours or the library's own), and keeps the one
// place that touches ml-random-forest: its trainer (for the benchmark) and its predictor (the reference our
// predictor is tested against). The library's bundled .d.ts does not compile on its own, so its types stay
// here, cast to the few members we call.
//
// Why a forest is scored from typed arrays, not by the library's classifier: loaded into the library, the
// shipped model (100 trees, 60,000 nodes) holds 21 MiB of heap in ml-cart node objects, about a tenth of the
// memory the controller is allowed at 5,000 Deployments; the same trees as typed arrays (train.ts's
// CompactTree, read by library-json.ts) take 2.6 MB. The votes are the library's: forest.test.ts checks them
// tree by tree against its predictionValues() on our forests, on its own forests and on the shipped model with
// the real data it was trained on.
//
// Scores are the share of trees voting risky. (The library's own predictProbability() starts its reduce at the
// first tree's vote instead of 0, so it drops that tree; we never used it.)

import * as library from 'ml-random-forest';

import { fromForestJson } from './library-json.js';
import { forestVotes, scoreRow } from './train.js';

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
  const ensemble = fromForestJson(json);
  const { featureCount } = ensemble;
  const treeCount = ensemble.trees.length;
  const checkWidth = (row: readonly number[]): readonly number[] => {
    // Shorter rows would silently read undefined (which goes right at every split).
    if (row.length < featureCount) {
      throw new RangeError(`row has ${row.length} values, the model reads ${featureCount}`);
    }
    return row;
  };
  const score = (row: readonly number[]): number => scoreRow(ensemble, checkWidth(row));
  return {
    treeCount,
    featureCount,
    votes: (rows) => rows.map((row) => forestVotes(ensemble, checkWidth(row))),
    scoreRows: (rows) => rows.map(score),
    score,
  };
}

/** Each tree's vote for each row as ml-random-forest itself predicts them: the reference for tests and benches. */
export function libraryVotes(json: unknown, rows: readonly (readonly number[])[]): number[][] {
  if (rows.length === 0) return [];
  const values = RandomForestClassifier.load(json).predictionValues(rows.map((row) => [...row]));
  return Array.from({ length: values.rows }, (_, r) =>
    Array.from({ length: values.columns }, (_, t) => values.get(r, t)),
  );
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
