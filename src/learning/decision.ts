// The decisions of the learning loop, pure: when to retrain, which outcomes to train on and which to hold out,
// and whether a retrained model replaces the one in use.
//
// What the candidate is trained on: the cluster's own outcomes only. The shipped model's training rows
// (ApacheJIT commits) are not in the cluster and mostly not in the image, and they would be the wrong data to
// mix in anyway: single commits labelled by SZZ ("introduced a defect"), not rollouts labelled by what happened
// to them, with 17 of the 25 contract features missing. Thousands of such rows would drown the few hundred
// outcomes that describe this cluster. So a retrained model learns only from here, and is kept only if it beats
// the shipped (or last accepted) model on this cluster's newest outcomes, the rows that matter. That needs
// enough outcomes of both kinds, which planTraining insists on.
import { auc } from '../model/evaluate.js';
import type { LearningExample } from './examples.js';

export interface RetrainThresholds {
  /** Outcomes known since the model in use was trained (or since the last attempt). */
  readonly minNewOutcomes: number;
  /** Outcomes in all, for a first training. */
  readonly minTotalOutcomes: number;
}

export interface RetrainDecision {
  readonly retrain: boolean;
  readonly reason: string;
}

export function shouldRetrain(
  counts: { readonly newSinceLastModel: number; readonly total: number },
  thresholds: RetrainThresholds,
): RetrainDecision {
  const { newSinceLastModel, total } = counts;
  if (total < thresholds.minTotalOutcomes) {
    return { retrain: false, reason: `${total} finished rollouts, need ${thresholds.minTotalOutcomes} in all` };
  }
  if (newSinceLastModel < thresholds.minNewOutcomes) {
    return {
      retrain: false,
      reason: `${newSinceLastModel} new outcomes since the last training, need ${thresholds.minNewOutcomes}`,
    };
  }
  return {
    retrain: true,
    reason: `${newSinceLastModel} new outcomes since the last training (of ${total} in all)`,
  };
}

export interface HoldoutOptions {
  /** Share of the outcomes, newest first, held out for the comparison. */
  readonly fraction: number;
  /** Fewest held-out outcomes: below it an AUC is mostly noise. */
  readonly minHoldout: number;
  /** Fewest risky and fewest safe outcomes among the training rows. */
  readonly minClassRows: number;
}

export const DEFAULT_HOLDOUT: HoldoutOptions = { fraction: 0.3, minHoldout: 10, minClassRows: 5 };

export type TrainingPlan =
  | { readonly ok: true; readonly train: readonly LearningExample[]; readonly test: readonly LearningExample[] }
  | { readonly ok: false; readonly reason: string };

function countRisky(examples: readonly LearningExample[]): number {
  return examples.filter((example) => example.label === 1).length;
}

/**
 * Time-ordered holdout: the newest max(minHoldout, ⌈fraction·n⌉) outcomes are the test rows, the older rest
 * trains. Holding out the newest (not a random share) asks the question that matters: does the model predict
 * what comes next? The training part needs minClassRows of each class; the held-out part may have one class
 * only (acceptCandidate then compares Brier scores). `examples` must be oldest first, as examplesFrom gives them.
 */
export function planTraining(examples: readonly LearningExample[], options: HoldoutOptions): TrainingPlan {
  const n = examples.length;
  const testCount = Math.max(options.minHoldout, Math.ceil(options.fraction * n));
  if (n - testCount < 2 * options.minClassRows) {
    return {
      ok: false,
      reason: `${n} outcomes leave ${Math.max(0, n - testCount)} to train on after holding out the newest ${testCount}`,
    };
  }
  const train = examples.slice(0, n - testCount);
  const test = examples.slice(n - testCount);
  const risky = countRisky(train);
  const safe = train.length - risky;
  if (risky < options.minClassRows || safe < options.minClassRows) {
    return {
      ok: false,
      reason:
        `the older ${train.length} outcomes hold ${risky} risky and ${safe} safe; ` +
        `need ${options.minClassRows} of each to learn from`,
    };
  }
  return { ok: true, train, test };
}

/**
 * Brier score: the mean squared difference between score and outcome, 0 best. Chosen over log loss for the
 * one-class fallback because scores are vote shares that are often exactly 0 or 1, where one confident miss
 * makes log loss infinite; Brier stays bounded and still rewards a calibrated, confident model.
 */
export function brierScore(scores: readonly number[], labels: readonly number[]): number {
  if (scores.length !== labels.length) throw new RangeError(`${scores.length} scores but ${labels.length} labels`);
  if (scores.length === 0) return NaN;
  let sum = 0;
  scores.forEach((score, i) => {
    sum += (score - (labels[i] ?? 0)) ** 2;
  });
  return sum / scores.length;
}

export interface HeldOutScores {
  /** Outcomes of the held-out rows, oldest first. */
  readonly labels: readonly (0 | 1)[];
  /** The model in use on those rows; undefined when none is in use (the rules score). */
  readonly current: readonly number[] | undefined;
  /** The candidate, trained on the older rows only, on the same rows. */
  readonly candidate: readonly number[];
}

export interface AcceptanceDecision {
  readonly accept: boolean;
  /** auc when the held-out rows have both outcomes, else brier. */
  readonly metric: 'auc' | 'brier';
  readonly current: number | undefined;
  readonly candidate: number;
  readonly reason: string;
}

const f3 = (value: number): string => value.toFixed(3);

/**
 * Switch only when the candidate is not worse than the model in use on the same held-out rows: AUC at least as
 * high (minus `tolerance`). When the held-out rows are all safe or all risky AUC is undefined, and the rule is a
 * Brier score at most as high (plus `tolerance`): on one class it measures how close the scores stay to the
 * truth. Ties go to the candidate: it has seen the newer outcomes. With no model in use, the candidate must beat
 * chance: AUC above 0.5, or a Brier score below 0.25 (what a constant 0.5 gets).
 */
export function acceptCandidate(scores: HeldOutScores, tolerance = 0): AcceptanceDecision {
  const { labels, current, candidate } = scores;
  const risky = labels.filter((label) => label === 1).length;
  const held = `the newest ${labels.length} outcomes`;
  if (risky > 0 && risky < labels.length) {
    const candidateAuc = auc(candidate, labels);
    const where = `on ${held} (${risky} risky)`;
    if (current === undefined) {
      const accept = candidateAuc > 0.5;
      return {
        accept,
        metric: 'auc',
        current: undefined,
        candidate: candidateAuc,
        reason: `no model in use; the candidate's AUC ${f3(candidateAuc)} ${where} ${accept ? 'beats' : 'does not beat'} chance (0.5)`,
      };
    }
    const currentAuc = auc(current, labels);
    const accept = candidateAuc >= currentAuc - tolerance;
    return {
      accept,
      metric: 'auc',
      current: currentAuc,
      candidate: candidateAuc,
      reason:
        `the candidate's AUC ${f3(candidateAuc)} ${where} is ${accept ? 'not worse than' : 'worse than'} ` +
        `the current model's ${f3(currentAuc)}`,
    };
  }
  const candidateBrier = brierScore(candidate, labels);
  const oneClass = `${held} are all ${risky === 0 ? 'safe' : 'risky'}, so AUC is undefined; by Brier score (lower is better)`;
  if (current === undefined) {
    const accept = candidateBrier < 0.25;
    return {
      accept,
      metric: 'brier',
      current: undefined,
      candidate: candidateBrier,
      reason: `no model in use; ${oneClass} the candidate's ${f3(candidateBrier)} ${accept ? 'beats' : 'does not beat'} a constant 0.5 (0.250)`,
    };
  }
  const currentBrier = brierScore(current, labels);
  const accept = candidateBrier <= currentBrier + tolerance;
  return {
    accept,
    metric: 'brier',
    current: currentBrier,
    candidate: candidateBrier,
    reason:
      `${oneClass} the candidate's ${f3(candidateBrier)} is ${accept ? 'not worse than' : 'worse than'} ` +
      `the current model's ${f3(currentBrier)}`,
  };
}
