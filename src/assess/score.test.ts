// From features to score, level and reasons: rules alone, a model beside the rules (noisy-OR), a model that
// fails, and the hard rules that block whatever the score says.
import { describe, expect, it } from 'vitest';
import { defaultThresholds } from '../api/policy.js';
import type { Finding, FindingKind } from './checks.js';
import { baseHazard, factorContributions, type FeatureValues } from './rules.js';
import { scoreRollout, type RiskModel, type ScoreInput } from './score.js';

const tiny: FeatureValues = {
  files_changed: 1,
  directories_changed: 1,
  subsystems_changed: 1,
  lines_added: 12,
  lines_deleted: 3,
  change_entropy: 0,
  is_fix: 0,
  authors: 1,
  author_experience: 150,
  test_coverage: 88,
  dependencies_changed: 0,
  change_type: 0,
  hour_of_day: 10,
  day_of_week: 2,
  recent_rollbacks: 0,
  recent_failures: 0,
  images_changed: 1,
  env_changed: 0,
  config_changed: 0,
  resources_changed: 0,
  probes_changed: 0,
  replicas_changed: 0,
  risky_findings: 0,
  error_rate_before: 0.001,
  latency_p99_before: 0.2,
};

const sprawlingHotfix: FeatureValues = {
  ...tiny,
  files_changed: 80,
  directories_changed: 20,
  subsystems_changed: 6,
  lines_added: 4500,
  lines_deleted: 500,
  change_entropy: 5,
  is_fix: 1,
  change_type: 2,
  author_experience: 2,
  test_coverage: 0,
  dependencies_changed: 4,
  hour_of_day: 17,
  day_of_week: 5,
  images_changed: 2,
};

const changeMetrics = [
  'files_changed',
  'directories_changed',
  'subsystems_changed',
  'lines_added',
  'lines_deleted',
  'change_entropy',
];

function input(features: FeatureValues, extra: Partial<ScoreInput> = {}): ScoreInput {
  return { features, findings: [], thresholds: { ...defaultThresholds }, blockingFindings: new Set(), ...extra };
}

function stubModel(predict: RiskModel['predict'], learned: string[] = changeMetrics): RiskModel {
  return { version: 'stub-v1', learnedFeatures: new Set(learned), predict };
}

const secret: Finding = {
  kind: 'hardcoded-secret',
  container: 'web',
  message:
    'env DB_PASSWORD of container web looks like a credential set in plain text; use a Secret (valueFrom.secretKeyRef)',
};
const latest: Finding = {
  kind: 'latest-image',
  container: 'web',
  message:
    'container web uses image shop:latest without a fixed tag or digest, so what runs can change without a rollout',
};

describe('scoreRollout with rules only', () => {
  it('scores a tiny, tested change safe under the default thresholds', () => {
    const result = scoreRollout(input(tiny));
    // 1 - exp(-(base 0.08 + one image changed 0.05))
    expect(result).toEqual({
      score: 0.122,
      level: 'safe',
      scorer: 'rules',
      reasons: ['1 container images changed'],
      hardRules: [],
    });
  });

  it('scores an undescribed change at the base hazard and says nothing stands out', () => {
    const result = scoreRollout(input({}));
    expect(result.score).toBe(Math.round((1 - Math.exp(-baseHazard)) * 1000) / 1000);
    expect(result.score).toBe(0.077);
    expect(result.level).toBe('safe');
    expect(result.reasons).toEqual(['no risk factor stands out']);
  });

  it('blocks a sprawling, untested hotfix released late on a Friday and says why, strongest first', () => {
    const result = scoreRollout(input(sprawlingHotfix));
    expect(result.level).toBe('block');
    expect(result.score).toBeGreaterThanOrEqual(0.8);
    expect(result.score).toBeLessThanOrEqual(1);
    expect(result.scorer).toBe('rules');
    expect(result.reasons).toEqual([
      'large change: 5,000 lines added or deleted',
      'low test coverage (0 %)',
      'change spread across 6 subsystems and 20 directories',
      '80 files changed',
    ]);
    expect(result.hardRules).toEqual([]);
  });

  it('combines hazards as 1 - exp(-(base + sum)), rounded to 3 decimals', () => {
    const features: FeatureValues = { test_coverage: 30, probes_changed: 1 };
    // 0.08 + 0.15 + 0.1 = 0.33
    expect(scoreRollout(input(features)).score).toBe(Math.round((1 - Math.exp(-0.33)) * 1000) / 1000);
    expect(scoreRollout(input(features)).score).toBe(0.281);
  });

  it.each([
    [{ monitor: 0.4, rollbackReady: 0.6, block: 0.8 }, 'safe'],
    [{ monitor: 0.1, rollbackReady: 0.6, block: 0.8 }, 'monitor'],
    [{ monitor: 0.05, rollbackReady: 0.1, block: 0.8 }, 'rollback-ready'],
    [{ monitor: 0.05, rollbackReady: 0.1, block: 0.122 }, 'block'],
    [{ monitor: 0.05, rollbackReady: 0.1, block: 0.123 }, 'rollback-ready'],
  ] as const)('puts the same score (0.122) in the level the thresholds %j say: %s', (thresholds, level) => {
    expect(scoreRollout(input(tiny, { thresholds })).level).toBe(level);
  });

  it('lists at most 4 reasons, strongest first', () => {
    const result = scoreRollout(input(sprawlingHotfix));
    const all = factorContributions(sprawlingHotfix, new Set());
    expect(all.length).toBeGreaterThan(4);
    expect(result.reasons).toEqual(all.slice(0, 4).map((c) => c.reason));
  });
});

describe('scoreRollout: hard rules', () => {
  it.each<[string, Finding[], FindingKind[], string[]]>([
    ['a blocking finding', [secret], ['hardcoded-secret'], [`blocked by rule: ${secret.message}`]],
    [
      'two blocking findings, both listed',
      [secret, latest],
      ['hardcoded-secret', 'latest-image'],
      [`blocked by rule: ${secret.message}`, `blocked by rule: ${latest.message}`],
    ],
    ['a finding the policy does not block on', [latest], ['hardcoded-secret'], []],
    ['no blocking rules at all', [secret, latest], [], []],
  ])('%s', (_what, findings, blocking, hardRules) => {
    const result = scoreRollout(input(tiny, { findings, blockingFindings: new Set(blocking) }));
    expect(result.hardRules).toEqual(hardRules);
    expect(result.level).toBe(hardRules.length > 0 ? 'block' : 'safe');
    // The score stays what the factors say; only the level is forced.
    expect(result.score).toBe(0.122);
  });

  it('blocks even when a model says the change is harmless', () => {
    const model = stubModel(() => ({ probability: 0 }));
    const result = scoreRollout(
      input(tiny, { findings: [secret], blockingFindings: new Set(['hardcoded-secret']), model }),
    );
    expect(result.scorer).toBe('model');
    expect(result.level).toBe('block');
    expect(result.hardRules).toEqual([`blocked by rule: ${secret.message}`]);
  });
});

describe('scoreRollout with a model', () => {
  it('passes the features to the model and leaves its learned features to it', () => {
    const seen: FeatureValues[] = [];
    const model = stubModel((features) => {
      seen.push(features);
      return { probability: 0.2 };
    });
    const features: FeatureValues = {
      lines_added: 5000,
      files_changed: 80,
      hour_of_day: 12,
      day_of_week: 6,
      images_changed: 1,
    };
    const result = scoreRollout(input(features, { model }));
    expect(seen).toEqual([features]);
    expect(result.scorer).toBe('model');
    expect(result.modelVersion).toBe('stub-v1');
    expect(result.modelError).toBeUndefined();
    // Churn and file count are the model's; the weekend (0.15) and the image (0.05) are the rules'.
    expect(result.reasons).toEqual(['released at the weekend', '1 container images changed']);
    expect(result.score).toBe(Math.round((1 - 0.8 * Math.exp(-0.2)) * 1000) / 1000);
    expect(result.score).toBe(0.345);
  });

  it.each([
    // [probability, rule hazards of unlearned features, expected score]
    [0, {}, 0],
    [0.3, {}, 0.3],
    [0.9, {}, 0.9],
    [1, { images_changed: 1 }, 1],
    [0, { images_changed: 1 }, Math.round((1 - Math.exp(-0.05)) * 1000) / 1000],
    [0.5, { test_coverage: 0, recent_rollbacks: 1 }, Math.round((1 - 0.5 * Math.exp(-0.55)) * 1000) / 1000],
    [0.25, { risky_findings: 10, recent_failures: 10 }, Math.round((1 - 0.75 * Math.exp(-0.9)) * 1000) / 1000],
  ] as [number, FeatureValues, number][])(
    'noisy-OR: model %d with rule factors %j gives %d (no base hazard)',
    (probability, features, expected) => {
      const result = scoreRollout(input(features, { model: stubModel(() => ({ probability })) }));
      expect(result.scorer).toBe('model');
      expect(result.score).toBe(expected);
    },
  );

  it('explains a risky model verdict with its two strongest positive pushes', () => {
    const model = stubModel(() => ({
      probability: 0.5,
      contributions: {
        lines_added: 0.2,
        files_changed: 0.05,
        change_entropy: 0.08,
        test_coverage: -0.1,
        authors: 0.005,
      },
    }));
    const result = scoreRollout(input({ lines_added: 5000, files_changed: 80, change_entropy: 4.25 }, { model }));
    expect(result.reasons).toEqual([
      'the model rates the change itself risky (50 %): lines added = 5,000 (model: +20 points), change entropy = 4.25 (model: +8 points)',
    ]);
    expect(result.score).toBe(0.5);
    expect(result.level).toBe('monitor');
  });

  it('shows a missing feature the model pushed on as unknown', () => {
    const model = stubModel(() => ({ probability: 0.4, contributions: { files_changed: 0.1 } }));
    const result = scoreRollout(input({ files_changed: -1 }, { model }));
    expect(result.reasons).toEqual([
      'the model rates the change itself risky (40 %): files changed = unknown (model: +10 points)',
    ]);
  });

  it('summarises a risky model verdict without contributions', () => {
    const result = scoreRollout(input({}, { model: stubModel(() => ({ probability: 0.3 })) }));
    expect(result.reasons).toEqual(['the model rates the change itself risky (30 %)']);
  });

  it('does not mention a model verdict below 0.3', () => {
    const result = scoreRollout(
      input({}, { model: stubModel(() => ({ probability: 0.29, contributions: { lines_added: 0.2 } })) }),
    );
    expect(result.reasons).toEqual(['no risk factor stands out']);
  });

  it('keeps the model verdict first and at most 4 reasons in all', () => {
    const model = stubModel(() => ({ probability: 0.6 }));
    const result = scoreRollout(input(sprawlingHotfix, { model }));
    expect(result.reasons).toHaveLength(4);
    expect(result.reasons[0]).toBe('the model rates the change itself risky (60 %)');
    // None of the remaining reasons is about a feature the model learned.
    expect(result.reasons.slice(1)).toEqual(['low test coverage (0 %)', 'a hotfix', '4 dependencies changed']);
  });
});

describe('scoreRollout: a model that fails falls back to the rules', () => {
  const rulesOnly = scoreRollout(input(sprawlingHotfix));

  it.each<[string, RiskModel['predict'], string]>([
    [
      'throws an Error',
      () => {
        throw new Error('forest has no trees');
      },
      'forest has no trees',
    ],
    [
      'throws a string',
      () => {
        // eslint-disable-next-line @typescript-eslint/only-throw-error
        throw 'segfault in native code';
      },
      'segfault in native code',
    ],
    ['returns NaN', () => ({ probability: Number.NaN }), 'the model returned NaN, not a probability'],
    [
      'returns Infinity',
      () => ({ probability: Number.POSITIVE_INFINITY }),
      'the model returned Infinity, not a probability',
    ],
    ['returns more than 1', () => ({ probability: 1.2 }), 'the model returned 1.2, not a probability'],
    ['returns less than 0', () => ({ probability: -0.1 }), 'the model returned -0.1, not a probability'],
  ])('a model that %s', (_what, predict, error) => {
    const result = scoreRollout(input(sprawlingHotfix, { model: stubModel(predict) }));
    expect(result.scorer).toBe('rules');
    expect(result.modelError).toBe(error);
    expect(result.modelVersion).toBeUndefined();
    expect(result.score).toBe(rulesOnly.score);
    expect(result.level).toBe(rulesOnly.level);
    expect(result.reasons).toEqual(rulesOnly.reasons);
  });
});
