import { describe, expect, it } from 'vitest';
import { acceptCandidate, brierScore, DEFAULT_HOLDOUT, planTraining, shouldRetrain } from './decision.js';
import type { LearningExample } from './examples.js';

describe('shouldRetrain', () => {
  const thresholds = { minNewOutcomes: 20, minTotalOutcomes: 50 };
  it.each([
    { newSinceLastModel: 10, total: 10, retrain: false, reason: '10 finished rollouts, need 50 in all' },
    { newSinceLastModel: 49, total: 49, retrain: false, reason: '49 finished rollouts, need 50 in all' },
    {
      newSinceLastModel: 50,
      total: 50,
      retrain: true,
      reason: '50 new outcomes since the last training (of 50 in all)',
    },
    { newSinceLastModel: 19, total: 400, retrain: false, reason: '19 new outcomes since the last training, need 20' },
    {
      newSinceLastModel: 20,
      total: 400,
      retrain: true,
      reason: '20 new outcomes since the last training (of 400 in all)',
    },
  ])('$newSinceLastModel new of $total → $retrain', ({ newSinceLastModel, total, retrain, reason }) => {
    expect(shouldRetrain({ newSinceLastModel, total }, thresholds)).toEqual({ retrain, reason });
  });
});

function examples(labels: string): LearningExample[] {
  return [...labels].map((char, i) => ({
    key: `ns/e${i}`,
    outcome: char === '1' ? 'rolled-back' : 'succeeded',
    label: char === '1' ? 1 : 0,
    features: {},
    row: [i],
    time: i,
    outcomeAt: i,
  }));
}

describe('planTraining', () => {
  it.each([
    {
      name: 'newest 30 % held out',
      labels: '1010101010' + '1010101010' + '1010101010' + '0000000000',
      train: 28,
      test: 12,
    },
    { name: 'at least minHoldout held out', labels: '10'.repeat(10), train: 10, test: 10 },
    { name: 'a one-class holdout is allowed', labels: '1100110011' + '0011001100' + '0000000000', train: 20, test: 10 },
  ])('$name', ({ labels, train, test }) => {
    const plan = planTraining(examples(labels), DEFAULT_HOLDOUT);
    expect(plan.ok).toBe(true);
    if (!plan.ok) return;
    expect([plan.train.length, plan.test.length]).toEqual([train, test]);
    // Time order: every training row is older than every held-out one.
    expect(Math.max(...plan.train.map((e) => e.time))).toBeLessThan(Math.min(...plan.test.map((e) => e.time)));
  });

  it.each([
    {
      name: 'too few to train after the holdout',
      labels: '10'.repeat(9),
      reason: '18 outcomes leave 8 to train on after holding out the newest 10',
    },
    {
      name: 'too few risky among the older rows',
      labels: '1000000000' + '0000000000' + '1111111111',
      reason: 'the older 20 outcomes hold 1 risky and 19 safe; need 5 of each to learn from',
    },
    {
      name: 'too few safe among the older rows',
      labels: '1111111111' + '1111111110' + '0000000000',
      reason: 'the older 20 outcomes hold 19 risky and 1 safe; need 5 of each to learn from',
    },
  ])('refuses when $name', ({ labels, reason }) => {
    expect(planTraining(examples(labels), DEFAULT_HOLDOUT)).toEqual({ ok: false, reason });
  });
});

describe('brierScore', () => {
  it.each([
    { scores: [1, 0], labels: [1, 0], brier: 0 },
    { scores: [0, 1], labels: [1, 0], brier: 1 },
    { scores: [0.5, 0.5], labels: [1, 0], brier: 0.25 },
    { scores: [0.2, 0.4], labels: [0, 0], brier: 0.1 },
  ])('$scores vs $labels = $brier', ({ scores, labels, brier }) => {
    expect(brierScore(scores, labels)).toBeCloseTo(brier, 12);
  });

  it('is NaN for no rows and refuses mismatched lengths', () => {
    expect(brierScore([], [])).toBeNaN();
    expect(() => brierScore([1], [])).toThrow(RangeError);
  });
});

describe('acceptCandidate', () => {
  const labels: (0 | 1)[] = [0, 0, 1, 1];
  it.each([
    {
      name: 'a better candidate',
      current: [0.6, 0.2, 0.4, 0.8],
      candidate: [0.1, 0.2, 0.8, 0.9],
      accept: true,
      metric: 'auc',
      reason:
        "the candidate's AUC 1.000 on the newest 4 outcomes (2 risky) is not worse than the current model's 0.750",
    },
    {
      name: 'an equal candidate (ties go to the newer model)',
      current: [0.1, 0.2, 0.8, 0.9],
      candidate: [0.2, 0.3, 0.7, 0.8],
      accept: true,
      metric: 'auc',
      reason:
        "the candidate's AUC 1.000 on the newest 4 outcomes (2 risky) is not worse than the current model's 1.000",
    },
    {
      name: 'a worse candidate',
      current: [0.1, 0.2, 0.8, 0.9],
      candidate: [0.6, 0.2, 0.4, 0.8],
      accept: false,
      metric: 'auc',
      reason: "the candidate's AUC 0.750 on the newest 4 outcomes (2 risky) is worse than the current model's 1.000",
    },
    {
      name: 'no model in use, candidate beats chance',
      current: undefined,
      candidate: [0.1, 0.2, 0.8, 0.9],
      accept: true,
      metric: 'auc',
      reason: "no model in use; the candidate's AUC 1.000 on the newest 4 outcomes (2 risky) beats chance (0.5)",
    },
    {
      name: 'no model in use, candidate at chance',
      current: undefined,
      candidate: [0.5, 0.5, 0.5, 0.5],
      accept: false,
      metric: 'auc',
      reason:
        "no model in use; the candidate's AUC 0.500 on the newest 4 outcomes (2 risky) does not beat chance (0.5)",
    },
  ])('$name', ({ current, candidate, accept, metric, reason }) => {
    const decision = acceptCandidate({ labels, current, candidate });
    expect(decision).toMatchObject({ accept, metric, reason });
  });

  it('tolerates a small loss of AUC when asked to', () => {
    const scores = { labels, current: [0.1, 0.2, 0.8, 0.9], candidate: [0.6, 0.2, 0.4, 0.8] };
    expect(acceptCandidate(scores, 0.25).accept).toBe(true);
    expect(acceptCandidate(scores, 0.2).accept).toBe(false);
  });

  it.each([
    {
      name: 'all safe: lower Brier wins',
      labels: [0, 0, 0, 0] as (0 | 1)[],
      current: [0.4, 0.4, 0.4, 0.4],
      candidate: [0.1, 0.1, 0.1, 0.1],
      accept: true,
      reason:
        "the newest 4 outcomes are all safe, so AUC is undefined; by Brier score (lower is better) the candidate's 0.010 is not worse than the current model's 0.160",
    },
    {
      name: 'all risky: higher Brier loses',
      labels: [1, 1, 1, 1] as (0 | 1)[],
      current: [0.9, 0.9, 0.9, 0.9],
      candidate: [0.5, 0.5, 0.5, 0.5],
      accept: false,
      reason:
        "the newest 4 outcomes are all risky, so AUC is undefined; by Brier score (lower is better) the candidate's 0.250 is worse than the current model's 0.010",
    },
    {
      name: 'all safe, no model in use',
      labels: [0, 0, 0, 0] as (0 | 1)[],
      current: undefined,
      candidate: [0.2, 0.2, 0.2, 0.2],
      accept: true,
      reason:
        "no model in use; the newest 4 outcomes are all safe, so AUC is undefined; by Brier score (lower is better) the candidate's 0.040 beats a constant 0.5 (0.250)",
    },
  ])('falls back to the Brier score when $name', ({ labels: oneClass, current, candidate, accept, reason }) => {
    expect(acceptCandidate({ labels: oneClass, current, candidate })).toMatchObject({
      accept,
      metric: 'brier',
      reason,
    });
  });
});
