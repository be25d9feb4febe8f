// One assessment from its inputs: which features it has, which are missing and why, and how live signals,
// history, checks and the model feed the score.
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { defaultThresholds } from '../api/policy.js';
import { FEATURE_NAMES } from '../model/contract.js';
import { assessRollout, type AssessmentInput } from './assess.js';
import type { RiskModel } from './score.js';

function podTemplate(
  image: string,
  annotations: Record<string, string> = {},
  extraEnv: { name: string; value: string }[] = [],
): V1PodTemplateSpec {
  return {
    metadata: { labels: { app: 'shop' }, annotations },
    spec: {
      containers: [
        {
          name: 'web',
          image,
          env: [{ name: 'MODE', value: 'prod' }, ...extraEnv],
          readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
          resources: { limits: { memory: '256Mi' } },
        },
      ],
    },
  };
}

const described = {
  'rollguard.io/change-type': 'bugfix',
  'rollguard.io/files-changed': '2',
  'rollguard.io/directories-changed': '1',
  'rollguard.io/subsystems-changed': '1',
  'rollguard.io/lines-added': '30',
  'rollguard.io/lines-deleted': '4',
  'rollguard.io/change-entropy': '0.9',
  'rollguard.io/authors': '1',
  'rollguard.io/author-experience': '120',
  'rollguard.io/test-coverage': '82%',
  'rollguard.io/dependencies-changed': '0',
  'rollguard.io/commit': '9FCEB02D0AE598E95DC970B74767F19372D61AF8',
};

// Tuesday 2024-01-16 10:00 UTC.
const now = new Date('2024-01-16T10:00:00Z');

function base(overrides: Partial<AssessmentInput> = {}): AssessmentInput {
  return {
    template: podTemplate('shop:1.5.0', described),
    previousTemplate: podTemplate('shop:1.4.0'),
    replicas: { previous: 3, next: 3 },
    now,
    timeZone: 'UTC',
    history: [],
    live: { errorRate: 0.002, latencyP99Seconds: 0.25 },
    thresholds: { ...defaultThresholds },
    blockingFindings: new Set(['hardcoded-secret']),
    providerMatches: new Map(),
    ...overrides,
  };
}

describe('assessRollout', () => {
  it('assembles every contract feature from a fully described rollout', () => {
    const result = assessRollout(base());
    expect(result.features).toEqual({
      files_changed: 2,
      directories_changed: 1,
      subsystems_changed: 1,
      lines_added: 30,
      lines_deleted: 4,
      change_entropy: 0.9,
      is_fix: 1,
      authors: 1,
      author_experience: 120,
      test_coverage: 82,
      dependencies_changed: 0,
      change_type: 1,
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
      error_rate_before: 0.002,
      latency_p99_before: 0.25,
    });
    expect(result.missingFeatures).toEqual([]);
    expect(result.changeType).toBe('bugfix');
    expect(result.commit).toBe('9fceb02d0ae598e95dc970b74767f19372d61af8');
    expect(result.templateChanges).toEqual(['image of container web: shop:1.4.0 → shop:1.5.0']);
    expect(result.findings).toEqual([]);
    expect(result.annotationWarnings).toEqual([]);
    expect(result.liveUnavailable).toBeUndefined();
    expect(result.scorer).toBe('rules');
    expect(result.level).toBe('safe');
    // A bugfix (0.05) and one image (0.05) on top of the base hazard.
    expect(result.score).toBe(Math.round((1 - Math.exp(-0.18)) * 1000) / 1000);
    expect(result.reasons).toEqual(['a bugfix', '1 container images changed']);
  });

  it('lists in contract order every feature nobody could tell', () => {
    const result = assessRollout(
      base({
        template: podTemplate('shop:1.5.0'),
        previousTemplate: undefined,
        live: { unavailable: 'no Prometheus address in the policy' },
      }),
    );
    // Only the clock, the history and the checks are always known.
    expect(Object.keys(result.features).sort()).toEqual([
      'day_of_week',
      'hour_of_day',
      'recent_failures',
      'recent_rollbacks',
      'risky_findings',
    ]);
    expect(result.missingFeatures).toEqual(
      FEATURE_NAMES.filter(
        (n) => !['hour_of_day', 'day_of_week', 'recent_rollbacks', 'recent_failures', 'risky_findings'].includes(n),
      ),
    );
    expect(result.missingFeatures).toHaveLength(20);
    expect(result.liveUnavailable).toBe('no Prometheus address in the policy');
    expect(result.templateChanges).toEqual([]);
    expect(result.changeType).toBeUndefined();
    expect(result.commit).toBeUndefined();
  });

  it.each<[string, AssessmentInput['live'], Partial<Record<string, number>>, string[], string | undefined]>([
    [
      'both live signals',
      { errorRate: 0.03, latencyP99Seconds: 1.2 },
      { error_rate_before: 0.03, latency_p99_before: 1.2 },
      [],
      undefined,
    ],
    [
      'a zero error rate is a value, not a missing one',
      { errorRate: 0, latencyP99Seconds: 0 },
      { error_rate_before: 0, latency_p99_before: 0 },
      [],
      undefined,
    ],
    ['only the error rate', { errorRate: 0.01 }, { error_rate_before: 0.01 }, ['latency_p99_before'], undefined],
    [
      'Prometheus unreachable',
      { unavailable: 'Prometheus unreachable: connect ECONNREFUSED' },
      {},
      ['error_rate_before', 'latency_p99_before'],
      'Prometheus unreachable: connect ECONNREFUSED',
    ],
    [
      'NaN and Infinity from a query',
      { errorRate: Number.NaN, latencyP99Seconds: Number.POSITIVE_INFINITY },
      {},
      ['error_rate_before', 'latency_p99_before'],
      undefined,
    ],
  ])('live signals: %s', (_what, live, present, missing, unavailable) => {
    const result = assessRollout(base({ live }));
    const liveFeatures = {
      error_rate_before: result.features.error_rate_before,
      latency_p99_before: result.features.latency_p99_before,
    };
    expect(liveFeatures).toEqual({ error_rate_before: undefined, latency_p99_before: undefined, ...present });
    expect(result.missingFeatures).toEqual(missing);
    expect(result.liveUnavailable).toBe(unavailable);
  });

  it('uses a degraded live signal in the score and the reasons', () => {
    const result = assessRollout(base({ live: { errorRate: 0.08, latencyP99Seconds: 3 } }));
    expect(result.reasons).toContain('the service is already failing 8 % of requests');
    expect(result.reasons).toContain('the service is already slow (p99 3 s)');
    expect(result.score).toBeGreaterThan(assessRollout(base()).score);
  });

  it('counts recent rollbacks and failures from history', () => {
    const result = assessRollout(
      base({
        history: [
          { outcome: 'rolled-back', at: new Date('2024-01-10T00:00:00Z') },
          { outcome: 'failed', at: new Date('2024-01-12T00:00:00Z') },
          { outcome: 'rolled-back', at: new Date('2023-11-01T00:00:00Z') },
        ],
      }),
    );
    expect(result.features.recent_rollbacks).toBe(1);
    expect(result.features.recent_failures).toBe(1);
    expect(result.reasons).toContain('this Deployment was rolled back 1 times in the last 30 days');
  });

  it('reads the time of day in the policy time zone', () => {
    // 10:00 UTC is 15:30 in Kolkata.
    const result = assessRollout(base({ timeZone: 'Asia/Kolkata' }));
    expect(result.features.hour_of_day).toBe(15);
    expect(result.features.day_of_week).toBe(2);
  });

  it('falls back to the Deployment annotations for the change description', () => {
    const result = assessRollout(
      base({
        template: podTemplate('shop:1.5.0'),
        deploymentAnnotations: { 'rollguard.io/lines-added': '2,000', 'rollguard.io/authors': '0' },
      }),
    );
    expect(result.features.lines_added).toBe(2000);
    expect(result.features.authors).toBeUndefined();
    expect(result.missingFeatures).toContain('authors');
    expect(result.annotationWarnings).toEqual([
      { annotation: 'rollguard.io/authors', value: '0', problem: 'is out of range; expected a count of at least 1' },
    ]);
  });

  it('counts risky findings but not missing resource limits, and blocks on a hard-coded secret', () => {
    const template = podTemplate('shop:latest', described, [{ name: 'DB_PASSWORD', value: 'hunter2-is-long' }]);
    const container = template.spec?.containers[0];
    if (container) delete container.resources;
    const result = assessRollout(base({ template }));
    expect(result.findings.map((f) => f.kind)).toEqual(['hardcoded-secret', 'latest-image', 'no-resource-limits']);
    expect(result.features.risky_findings).toBe(2);
    expect(result.level).toBe('block');
    expect(result.hardRules).toEqual([
      'blocked by rule: DB_PASSWORD (spec.template.spec.containers[0].env[1].value) of container web holds a password in plain text; move it to a Secret (valueFrom.secretKeyRef) and rotate it',
    ]);
    expect(JSON.stringify(result)).not.toContain('hunter2');
  });

  it('reports a weak password as a finding that warns without blocking', () => {
    const template = podTemplate('shop:1.5.0', described, [{ name: 'DB_PASSWORD', value: 'changeme' }]);
    const result = assessRollout(base({ template }));
    expect(result.findings.map((f) => [f.kind, f.severity])).toEqual([['hardcoded-secret', 'warn']]);
    expect(result.hardRules).toEqual([]);
    expect(result.level).not.toBe('block');
  });

  it('diffs against the previous template and sees a replica change', () => {
    const previous = podTemplate('shop:1.5.0', {}, []);
    const result = assessRollout(
      base({
        previousTemplate: previous,
        template: podTemplate('shop:1.5.0', described, [{ name: 'WORKERS', value: '8' }]),
        replicas: { previous: 3, next: 6 },
      }),
    );
    expect(result.features.images_changed).toBe(0);
    expect(result.features.env_changed).toBe(1);
    expect(result.features.replicas_changed).toBe(1);
    expect(result.templateChanges).toEqual(['environment of container web: WORKERS changed', 'replicas: 3 → 6']);
  });

  it('scores with the model when one is given, and records its failure when it fails', () => {
    const ok: RiskModel = {
      version: 'jit-test',
      learnedFeatures: new Set(['lines_added']),
      predict: () => ({ probability: 0.1 }),
    };
    const broken: RiskModel = {
      version: 'jit-test',
      learnedFeatures: new Set(),
      predict: () => {
        throw new Error('model file is corrupt');
      },
    };
    const withModel = assessRollout(base({ model: ok }));
    expect(withModel.scorer).toBe('model');
    expect(withModel.modelVersion).toBe('jit-test');
    const withBroken = assessRollout(base({ model: broken }));
    expect(withBroken.scorer).toBe('rules');
    expect(withBroken.modelError).toBe('model file is corrupt');
    expect(withBroken.score).toBe(assessRollout(base()).score);
  });

  it('gives the same assessment for the same inputs', () => {
    expect(assessRollout(base())).toEqual(assessRollout(base()));
  });
});
