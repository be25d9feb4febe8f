// Pure evaluation metrics for risk scores against 0/1 outcomes, and the time-ordered train/test split that
// keeps the future out of training (a random split flatters every model on commit data).

/** Area under the ROC curve: the chance a random risky row scores above a random safe one, ties counted half. */
export function auc(scores: readonly number[], labels: readonly number[]): number {
  if (scores.length !== labels.length) throw new RangeError(`${scores.length} scores but ${labels.length} labels`);
  const order = scores.map((_, i) => i).sort((a, b) => (scores[a] ?? 0) - (scores[b] ?? 0));
  // Mann–Whitney U with mid-ranks for tied scores.
  let positives = 0;
  let positiveRankSum = 0;
  let i = 0;
  while (i < order.length) {
    let j = i;
    const score = scores[order[i] ?? 0];
    while (j + 1 < order.length && scores[order[j + 1] ?? 0] === score) j++;
    const midRank = (i + j) / 2 + 1;
    for (let k = i; k <= j; k++) {
      if (labels[order[k] ?? 0] === 1) {
        positives++;
        positiveRankSum += midRank;
      }
    }
    i = j + 1;
  }
  const negatives = order.length - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (positiveRankSum - (positives * (positives + 1)) / 2) / (positives * negatives);
}

export interface ConfusionMatrix {
  /** Risky rows scored at or above the threshold. */
  readonly truePositives: number;
  /** Safe rows scored at or above the threshold. */
  readonly falsePositives: number;
  readonly trueNegatives: number;
  /** Risky rows scored below the threshold. */
  readonly falseNegatives: number;
}

/** Rows scored >= threshold count as predicted risky (the level thresholds use the same rule). */
export function confusionMatrix(
  scores: readonly number[],
  labels: readonly number[],
  threshold: number,
): ConfusionMatrix {
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  scores.forEach((score, i) => {
    const risky = labels[i] === 1;
    if (score >= threshold) {
      if (risky) tp++;
      else fp++;
    } else if (risky) fn++;
    else tn++;
  });
  return { truePositives: tp, falsePositives: fp, trueNegatives: tn, falseNegatives: fn };
}

export interface ThresholdMetrics {
  readonly threshold: number;
  /** Share of rows flagged risky that were risky; 0 when none was flagged. */
  readonly precision: number;
  /** Share of risky rows flagged; 0 when there are none. */
  readonly recall: number;
  /** Harmonic mean of precision and recall; 0 when both are 0. */
  readonly f1: number;
  readonly confusion: ConfusionMatrix;
}

export function thresholdMetrics(
  scores: readonly number[],
  labels: readonly number[],
  threshold: number,
): ThresholdMetrics {
  const confusion = confusionMatrix(scores, labels, threshold);
  const flagged = confusion.truePositives + confusion.falsePositives;
  const risky = confusion.truePositives + confusion.falseNegatives;
  const precision = flagged === 0 ? 0 : confusion.truePositives / flagged;
  const recall = risky === 0 ? 0 : confusion.truePositives / risky;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { threshold, precision, recall, f1, confusion };
}

/**
 * Share of all risky rows found among the riskiest `fraction` of rows (effort-aware: "review the top 20 %,
 * catch this much"). Rows tied with the cut-off score count in proportion, the expected value of breaking the
 * tie at random, so a score with few distinct values (vote shares) is neither favoured nor punished.
 */
export function caughtInRiskiest(scores: readonly number[], labels: readonly number[], fraction: number): number {
  const risky = labels.filter((label) => label === 1).length;
  if (risky === 0 || scores.length === 0) return NaN;
  const budget = fraction * scores.length;
  const order = scores.map((_, i) => i).sort((a, b) => (scores[b] ?? 0) - (scores[a] ?? 0));
  let taken = 0;
  let caught = 0;
  let i = 0;
  while (i < order.length && taken < budget) {
    let j = i;
    const score = scores[order[i] ?? 0];
    let riskyInGroup = 0;
    while (j < order.length && scores[order[j] ?? 0] === score) {
      if (labels[order[j] ?? 0] === 1) riskyInGroup++;
      j++;
    }
    const groupSize = j - i;
    const share = Math.min(1, (budget - taken) / groupSize);
    caught += riskyInGroup * share;
    taken += groupSize * share;
    i = j;
  }
  return caught / risky;
}

export interface Evaluation {
  readonly auc: number;
  readonly threshold: number;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly confusion: ConfusionMatrix;
  /** Share of risky rows caught in the riskiest 10 % and 20 % of rows. */
  readonly caughtTop10: number;
  readonly caughtTop20: number;
  readonly rows: number;
  readonly positives: number;
}

/** Every figure the CLI and the model card report, for one set of scores. */
export function evaluateScores(scores: readonly number[], labels: readonly number[], threshold = 0.5): Evaluation {
  const { precision, recall, f1, confusion } = thresholdMetrics(scores, labels, threshold);
  return {
    auc: auc(scores, labels),
    threshold,
    precision,
    recall,
    f1,
    confusion,
    caughtTop10: caughtInRiskiest(scores, labels, 0.1),
    caughtTop20: caughtInRiskiest(scores, labels, 0.2),
    rows: scores.length,
    positives: labels.filter((label) => label === 1).length,
  };
}

export interface Split {
  /** Row indices of the older part, oldest first. */
  readonly train: number[];
  /** Row indices of the newer rest, oldest first. */
  readonly test: number[];
}

/**
 * Orders rows by time (ties keep file order) and cuts them: the oldest floor(trainFraction · rows) train, the
 * rest test. Both parts get at least one row.
 */
export function timeOrderedSplit(times: readonly number[], trainFraction: number): Split {
  if (!(trainFraction > 0 && trainFraction < 1))
    throw new RangeError(`train fraction must be in (0, 1), not ${trainFraction}`);
  if (times.length < 2) throw new RangeError(`need at least 2 rows to split, not ${times.length}`);
  const order = times.map((_, i) => i).sort((a, b) => (times[a] ?? 0) - (times[b] ?? 0) || a - b);
  const cut = Math.min(times.length - 1, Math.max(1, Math.floor(trainFraction * times.length)));
  return { train: order.slice(0, cut), test: order.slice(cut) };
}

/** The elements of `values` at `indices`. */
export function pick<T>(values: readonly T[], indices: readonly number[]): T[] {
  return indices.map((i) => {
    const value = values[i];
    if (value === undefined) throw new RangeError(`index ${i} out of range`);
    return value;
  });
}
