// Feature drift, pure: how far the inputs the model is asked to score now have moved from the data it was
// trained on. Numbers are compared with the two-sample Kolmogorov–Smirnov test (score = D, the largest gap
// between the two distribution functions), categories with the chi-square test (score = Cramér's V); both
// scores are in 0..1, so one threshold fits all features.
//
// The training side is a compact ReferenceSummary, not the rows: it is kept beside the model in its ConfigMap
// (which holds at most 1 MiB, nearly all of it for the forest) and built from the CSV for the shipped model.
// Values are compared as the model sees them, missing = -1 included: a feature that stopped being annotated is
// drift the model feels (its trees route -1 as "below every value"). Only features the model learned from are
// checked; one that was constant or missing throughout training moves no score, however much it drifts.
import { FEATURE_NAMES, MISSING_VALUE, type FeatureName } from '../model/contract.js';
import { chiSquareTest, ksTest, weightedSample } from './stats.js';

/** Contract features whose numbers are codes, not quantities: compared by category, not by order. */
export const CATEGORICAL_FEATURES: ReadonlySet<FeatureName> = new Set<FeatureName>([
  'change_type',
  'day_of_week',
  'is_fix',
]);

export interface NumericReference {
  readonly kind: 'numeric';
  /** Training rows the summary stands for. */
  readonly n: number;
  /** Distinct values (or quantile points), ascending. */
  readonly values: number[];
  /** How many training rows each value stands for; they add up to n. */
  readonly weights: number[];
}

export interface CategoricalReference {
  readonly kind: 'categorical';
  readonly n: number;
  /** Training rows per value, keyed by the value as a string ("-1" = missing). */
  readonly counts: Record<string, number>;
}

export type FeatureReference = NumericReference | CategoricalReference;

export interface ReferenceSummary {
  readonly version: 1;
  /** What the training data was, in words. */
  readonly source: string;
  readonly rows: number;
  readonly features: Partial<Record<FeatureName, FeatureReference>>;
}

/** Quantile points kept per numeric feature: the distribution function is off by less than 1/128 anywhere. */
export const DEFAULT_REFERENCE_POINTS = 128;

/** Six significant digits keep the JSON short and change no comparison that matters at 1/128 resolution. */
function compact(value: number): number {
  return Number(value.toPrecision(6));
}

/**
 * A numeric column as at most maxPoints weighted values. Columns with few distinct values (counts, flags, -1)
 * are kept exactly; others as the order statistics at ranks ⌈j·n/k⌉, each weighted by the rows since the
 * previous point, so the summary's distribution function never differs from the data's by more than 1/k.
 */
function summariseNumeric(column: readonly number[], maxPoints: number): NumericReference {
  const exact = weightedSample(column.map(compact));
  if (exact.values.length <= maxPoints) {
    return { kind: 'numeric', n: column.length, values: [...exact.values], weights: [...exact.weights] };
  }
  const sorted = [...column].sort((a, b) => a - b);
  const n = sorted.length;
  const values: number[] = [];
  const weights: number[] = [];
  let previousRank = 0;
  for (let j = 1; j <= maxPoints; j++) {
    const rank = Math.ceil((j * n) / maxPoints);
    if (rank === previousRank) continue;
    const value = compact(sorted[rank - 1] ?? 0);
    if (values.length > 0 && values[values.length - 1] === value) {
      weights[weights.length - 1] = (weights.at(-1) ?? 0) + (rank - previousRank);
    } else {
      values.push(value);
      weights.push(rank - previousRank);
    }
    previousRank = rank;
  }
  return { kind: 'numeric', n, values, weights };
}

function summariseCategorical(column: readonly number[]): CategoricalReference {
  const counts: Record<string, number> = {};
  for (const value of column) counts[String(value)] = (counts[String(value)] ?? 0) + 1;
  return { kind: 'categorical', n: column.length, counts };
}

/** The summary of contract rows (as training used them, missing = -1). */
export function summariseReference(
  rows: readonly (readonly number[])[],
  source: string,
  maxPoints = DEFAULT_REFERENCE_POINTS,
): ReferenceSummary {
  const features: Partial<Record<FeatureName, FeatureReference>> = {};
  FEATURE_NAMES.forEach((name, column) => {
    const values = rows.map((row) => row[column] ?? MISSING_VALUE);
    features[name] = CATEGORICAL_FEATURES.has(name)
      ? summariseCategorical(values)
      : summariseNumeric(values, maxPoints);
  });
  return { version: 1, source, rows: rows.length, features };
}

function isNumberArray(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'number' && Number.isFinite(item));
}

/** Checks a summary read back from the cluster; undefined when it is not one this rollguard wrote. */
export function parseReferenceSummary(json: unknown): ReferenceSummary | undefined {
  if (typeof json !== 'object' || json === null) return undefined;
  const { version, source, rows, features } = json as Record<string, unknown>;
  if (version !== 1 || typeof source !== 'string' || typeof rows !== 'number') return undefined;
  if (typeof features !== 'object' || features === null) return undefined;
  const checked: Partial<Record<FeatureName, FeatureReference>> = {};
  for (const name of FEATURE_NAMES) {
    const entry = (features as Record<string, unknown>)[name];
    if (entry === undefined) continue;
    if (typeof entry !== 'object' || entry === null) return undefined;
    const { kind, n, values, weights, counts } = entry as Record<string, unknown>;
    if (typeof n !== 'number') return undefined;
    if (kind === 'numeric' && isNumberArray(values) && isNumberArray(weights) && values.length === weights.length) {
      checked[name] = { kind, n, values, weights };
    } else if (kind === 'categorical' && typeof counts === 'object' && counts !== null) {
      if (!Object.values(counts).every((count) => typeof count === 'number')) return undefined;
      checked[name] = { kind, n, counts: counts as Record<string, number> };
    } else return undefined;
  }
  return { version, source, rows, features: checked };
}

export interface DriftThresholds {
  /** A feature drifts when its score (KS D or Cramér's V) is above this... */
  readonly score: number;
  /** ...with a p-value below this... */
  readonly pValue: number;
  /** ...and at least this many values on both sides. */
  readonly minSamples: number;
}

export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = { score: 0.3, pValue: 0.01, minSamples: 30 };

export interface FeatureDrift {
  readonly feature: FeatureName;
  readonly test: 'ks' | 'chi-square';
  /** 0..1: KS D, or Cramér's V. */
  readonly score: number;
  /** KS D, or the chi-square statistic. */
  readonly statistic: number;
  readonly pValue: number;
  /** Degrees of freedom of the chi-square test. */
  readonly dof?: number;
  readonly referenceCount: number;
  readonly recentCount: number;
  readonly drifted: boolean;
}

export interface DriftReport {
  readonly high: boolean;
  readonly message: string;
  /** Checked features, highest score first. */
  readonly features: readonly FeatureDrift[];
  readonly recentCount: number;
}

function compare(
  feature: FeatureName,
  reference: FeatureReference,
  recent: readonly number[],
  thresholds: DriftThresholds,
): FeatureDrift {
  const base = { feature, referenceCount: reference.n, recentCount: recent.length };
  const enough = reference.n >= thresholds.minSamples && recent.length >= thresholds.minSamples;
  if (reference.kind === 'numeric') {
    // The summary's weights stand for reference.n rows, which is what the p-value needs.
    const result = ksTest(reference, weightedSample(recent), reference.n, recent.length);
    return {
      ...base,
      test: 'ks',
      score: result.statistic,
      statistic: result.statistic,
      pValue: result.pValue,
      drifted: enough && result.statistic > thresholds.score && result.pValue < thresholds.pValue,
    };
  }
  const recentCounts = new Map<string, number>();
  for (const value of recent) recentCounts.set(String(value), (recentCounts.get(String(value)) ?? 0) + 1);
  const categories = [...new Set([...Object.keys(reference.counts), ...recentCounts.keys()])];
  const result = chiSquareTest([
    categories.map((category) => reference.counts[category] ?? 0),
    categories.map((category) => recentCounts.get(category) ?? 0),
  ]);
  return {
    ...base,
    test: 'chi-square',
    score: result.cramersV,
    statistic: result.statistic,
    pValue: result.pValue,
    dof: result.dof,
    drifted: enough && result.cramersV > thresholds.score && result.pValue < thresholds.pValue,
  };
}

/** A reference column with nothing to learn from: every training row had the same value (or none). */
function isConstant(reference: FeatureReference): boolean {
  return reference.kind === 'numeric'
    ? reference.values.length < 2
    : Object.values(reference.counts).filter((count) => count > 0).length < 2;
}

function describe(drift: FeatureDrift): string {
  const p = drift.pValue < 0.001 ? 'p < 0.001' : `p ${drift.pValue.toFixed(3)}`;
  const measure = drift.test === 'ks' ? `KS D ${drift.score.toFixed(2)}` : `Cramér's V ${drift.score.toFixed(2)}`;
  return `${drift.feature} (${measure}, ${p})`;
}

/**
 * Compares the recent rows (contract order) with the reference on the given features (the model's learned
 * ones), skipping those the reference has no spread for. High when any feature drifted (see DriftThresholds).
 */
export function driftReport(
  reference: ReferenceSummary,
  recentRows: readonly (readonly number[])[],
  features: readonly FeatureName[],
  thresholds: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS,
): DriftReport {
  const recentCount = recentRows.length;
  const results: FeatureDrift[] = [];
  for (const feature of features) {
    const summary = reference.features[feature];
    if (summary === undefined || isConstant(summary)) continue;
    const column = FEATURE_NAMES.indexOf(feature);
    if (column < 0 || recentCount === 0) continue;
    results.push(
      compare(
        feature,
        summary,
        recentRows.map((row) => row[column] ?? MISSING_VALUE),
        thresholds,
      ),
    );
  }
  results.sort((a, b) => b.score - a.score || (a.feature < b.feature ? -1 : 1));
  const drifted = results.filter((result) => result.drifted);
  let message: string;
  if (results.length === 0) {
    message =
      recentCount === 0
        ? 'no assessed rollouts yet to compare with the training data'
        : 'no learned feature with spread in the training data to compare';
  } else if (drifted.length > 0) {
    message =
      `${drifted.length} of ${results.length} features drifted from the training data over the last ` +
      `${recentCount} rollouts: ${drifted.map(describe).join(', ')}`;
  } else if (recentCount < thresholds.minSamples) {
    message = `only ${recentCount} recent rollouts, need ${thresholds.minSamples} to judge drift`;
  } else {
    const largest = results[0];
    message =
      `no drift over the last ${recentCount} rollouts in ${results.length} features` +
      (largest ? `; the largest is ${describe(largest)}` : '');
  }
  return { high: drifted.length > 0, message, features: results, recentCount };
}
