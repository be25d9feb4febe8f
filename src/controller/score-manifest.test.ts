// Scoring a Deployment manifest before it is applied, as `rollguard score` and POST /v1/score do, against a
// fake ClusterView: which policy governs, what the diff against the running Deployment shows, what this
// Deployment's history adds, and what the result says when the cluster cannot tell.
import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { LiveSignals } from '../assess/assess.js';
import { parsePolicySpec, type PolicySpec } from '../api/policy.js';
import {
  credentialPolicy,
  defaultPolicySpec,
  scoreManifest,
  type ClusterView,
  type ManifestScoringDeps,
} from './score-manifest.js';
import type { AssessmentObject, PolicyObject } from '../api/objects.js';

const now = new Date('2025-06-02T12:00:00Z');
const dayMs = 86_400_000;

function manifest(image = 'shop:1.5.0', namespace: string | null = 'shop'): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', ...(namespace === null ? {} : { namespace }), labels: { app: 'web', tier: 'front' } },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: {
        metadata: { labels: { app: 'web' } },
        spec: {
          containers: [
            {
              name: 'web',
              image,
              resources: { limits: { cpu: '1', memory: '512Mi' }, requests: { cpu: '100m', memory: '128Mi' } },
            },
          ],
        },
      },
    },
  };
}

function policy(name: string, spec: Record<string, unknown>, createdAt = '2025-01-01T00:00:00Z'): PolicyObject {
  return {
    apiVersion: 'rollguard.io/v1alpha1',
    kind: 'DeploymentRiskPolicy',
    metadata: { name, namespace: 'shop', creationTimestamp: new Date(createdAt) },
    spec,
  };
}

function assessment(deployment: string, outcome: string, daysAgo: number, via: 'completed' | 'created' = 'completed') {
  const when = new Date(now.getTime() - daysAgo * dayMs);
  const object: AssessmentObject = {
    metadata: {
      name: `${deployment}-${daysAgo}`,
      namespace: 'shop',
      ...(via === 'created' ? { creationTimestamp: when } : {}),
    },
    spec: { deployment },
    status: {
      outcome: outcome as 'rolled-back',
      ...(via === 'completed' ? { verification: { completedAt: when.toISOString() } } : {}),
    },
  };
  return object;
}

interface FakeClusterOptions {
  policies?: PolicyObject[];
  deployment?: V1Deployment;
  assessments?: AssessmentObject[];
  failing?: 'policies' | 'deployment' | 'assessments';
}

/** A ClusterView over fixed objects that records what it was asked. */
function cluster(options: FakeClusterOptions = {}): ClusterView & { calls: string[] } {
  const calls: string[] = [];
  const fail = (what: string) => Promise.reject(new Error(`${what}: connection refused`));
  return {
    calls,
    deployment(namespace, name) {
      calls.push(`deployment ${namespace}/${name}`);
      if (options.failing === 'deployment') return fail('deployments');
      return Promise.resolve(options.deployment);
    },
    policies(namespace) {
      calls.push(`policies ${namespace}`);
      if (options.failing === 'policies') return fail('policies');
      return Promise.resolve(options.policies ?? []);
    },
    assessments(namespace) {
      calls.push(`assessments ${namespace}`);
      if (options.failing === 'assessments') return fail('assessments');
      return Promise.resolve(options.assessments ?? []);
    },
  };
}

const running = manifest('shop:1.4.0');

const tinyThresholds = { monitor: 0.01, rollbackReady: 0.02, block: 0.03 };

function deps(overrides: Partial<ManifestScoringDeps> = {}): ManifestScoringDeps {
  return { now, ...overrides };
}

describe('scoreManifest without a cluster', () => {
  it('says so and uses the default policy', async () => {
    const result = await scoreManifest(manifest(), {}, deps());
    expect(result.policy).toBe('(defaults)');
    expect(result.mode).toBe('enforce');
    expect(result.notes).toEqual([
      "no cluster: scored without the running template, this Deployment's history, or live metrics",
      'live metrics: no Prometheus address in the policy',
      'no model loaded: the rules scored',
    ]);
    expect(result.assessment.scorer).toBe('rules');
    expect(result.assessment.templateChanges).toEqual([]);
    expect(result.assessment.missingFeatures).toEqual(
      expect.arrayContaining(['images_changed', 'env_changed', 'error_rate_before', 'latency_p99_before']),
    );
  });

  it('uses the policy file it was given, named (file)', async () => {
    const spec = parsePolicySpec({ selector: {}, mode: 'advisory', thresholds: tinyThresholds });
    if (!spec.ok) throw new Error('bad spec');
    const result = await scoreManifest(manifest(), { policy: spec.value }, deps());
    expect(result.policy).toBe('(file)');
    expect(result.mode).toBe('advisory');
    expect(result.assessment.level).toBe('block');
  });

  it('rejects a manifest without spec.template with a clear error', async () => {
    const notADeployment: V1Deployment = { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' } };
    await expect(scoreManifest(notADeployment, {}, deps())).rejects.toThrow(
      'the manifest has no spec.template: is it a Deployment?',
    );
    await expect(scoreManifest(notADeployment, {}, deps({ cluster: cluster() }))).rejects.toThrow(/spec\.template/);
  });

  // Regression test for a fixed bug: src/controller/score-manifest.ts lines 76 and 105 (history = [] when there is no cluster or it cannot be
  // read, then assessRollout → historyFeatures) scores recent_rollbacks = 0 and recent_failures = 0 as if the
  // history were known to be clean. Input: scoreManifest(manifest, {}, { now }) with no cluster. Expected: both in
  // missingFeatures (the contract fills unknown features with -1), matching the note "scored without ... this
  // Deployment's history". Actual: features.recent_rollbacks === 0 and neither is listed as missing.
  it('lists the history features as missing when the history could not be read', async () => {
    const result = await scoreManifest(manifest(), {}, deps());
    expect(result.assessment.missingFeatures).toEqual(expect.arrayContaining(['recent_rollbacks', 'recent_failures']));
    expect(result.assessment.features.recent_rollbacks).toBeUndefined();
  });
});

describe('scoreManifest with a cluster', () => {
  it.each<[string, PolicyObject[], string, string]>([
    [
      'no policy in the namespace',
      [],
      '(defaults)',
      'no DeploymentRiskPolicy in namespace shop covers this Deployment',
    ],
    [
      'a policy for other Deployments only',
      [policy('other', { selector: { matchLabels: { app: 'api' } }, thresholds: tinyThresholds })],
      '(defaults)',
      'no DeploymentRiskPolicy in namespace shop covers this Deployment',
    ],
    [
      'a policy whose spec does not parse (ignored)',
      [policy('broken', { selector: {}, thresholds: { monitor: 0.9, rollbackReady: 0.5, block: 0.1 }, mode: 'loud' })],
      '(defaults)',
      'default thresholds used',
    ],
  ])('with %s → defaults and a note', async (_what, policies, name, note) => {
    const result = await scoreManifest(manifest(), {}, deps({ cluster: cluster({ policies, deployment: running }) }));
    expect(result.policy).toBe(name);
    expect(result.notes.some((n) => n.includes(note))).toBe(true);
    expect(result.assessment.level).not.toBe('block');
  });

  it('uses the covering policy’s name, mode and thresholds', async () => {
    const policies = [
      policy('frontends', {
        selector: { matchLabels: { tier: 'front' } },
        mode: 'shadow',
        thresholds: tinyThresholds,
      }),
    ];
    const withPolicy = await scoreManifest(
      manifest(),
      {},
      deps({ cluster: cluster({ policies, deployment: running }) }),
    );
    const withDefaults = await scoreManifest(manifest(), {}, deps({ cluster: cluster({ deployment: running }) }));
    expect(withPolicy.policy).toBe('frontends');
    expect(withPolicy.mode).toBe('shadow');
    expect(withPolicy.assessment.level).toBe('block');
    expect(withDefaults.assessment.level).not.toBe('block');
    // The same score, judged against different thresholds.
    expect(withPolicy.assessment.score).toBe(withDefaults.assessment.score);
    expect(withPolicy.notes.join('\n')).not.toContain('covers this Deployment');
  });

  it.each<[string, PolicyObject[], string]>([
    [
      'the higher priority',
      [
        policy('team', { selector: {}, priority: 0 }, '2024-01-01T00:00:00Z'),
        policy('platform', { selector: { matchLabels: { app: 'web' } }, priority: 10 }, '2025-05-01T00:00:00Z'),
        policy('other-app', { selector: { matchLabels: { app: 'api' } }, priority: 100 }),
      ],
      'platform',
    ],
    [
      'the oldest on equal priority',
      [
        policy('newer', { selector: {}, priority: 5 }, '2025-05-01T00:00:00Z'),
        policy('older', { selector: {}, priority: 5 }, '2025-02-01T00:00:00Z'),
      ],
      'older',
    ],
    [
      'the name that sorts first on equal priority and age',
      [policy('zeta', { selector: {} }), policy('alpha', { selector: {} })],
      'alpha',
    ],
  ])('with two covering policies chooses %s', async (_what, policies, chosen) => {
    const result = await scoreManifest(manifest(), {}, deps({ cluster: cluster({ policies, deployment: running }) }));
    expect(result.policy).toBe(chosen);
  });

  it('prefers a policy file over the cluster’s policies and does not list them', async () => {
    const spec = parsePolicySpec({ selector: {}, mode: 'advisory' });
    if (!spec.ok) throw new Error('bad spec');
    const view = cluster({ policies: [policy('platform', { selector: {}, priority: 10 })], deployment: running });
    const result = await scoreManifest(manifest(), { policy: spec.value }, deps({ cluster: view }));
    expect(result.policy).toBe('(file)');
    expect(view.calls).not.toContain('policies shop');
    // The running template and history are still read.
    expect(view.calls).toEqual(['deployment shop/web', 'assessments shop']);
  });

  it('diffs the manifest against the running Deployment', async () => {
    const result = await scoreManifest(manifest('shop:1.5.0'), {}, deps({ cluster: cluster({ deployment: running }) }));
    expect(result.assessment.templateChanges).toContain('image of container web: shop:1.4.0 → shop:1.5.0');
    expect(result.assessment.features.images_changed).toBe(1);
    expect(result.assessment.features.replicas_changed).toBe(0);
    expect(result.assessment.missingFeatures).not.toContain('images_changed');
  });

  it('notes a Deployment that is not running yet and leaves the diff features missing', async () => {
    const result = await scoreManifest(manifest(), {}, deps({ cluster: cluster() }));
    expect(result.notes).toContain('no running Deployment shop/web to compare the template with');
    expect(result.assessment.templateChanges).toEqual([]);
    expect(result.assessment.missingFeatures).toContain('images_changed');
  });

  it('counts this Deployment’s rollbacks and failures of the last 30 days', async () => {
    const assessments = [
      assessment('web', 'rolled-back', 1),
      assessment('web', 'rolled-back', 12, 'created'),
      assessment('web', 'rolled-back', 45),
      assessment('web', 'failed', 3),
      assessment('web', 'succeeded', 2),
      assessment('api', 'rolled-back', 1),
    ];
    const result = await scoreManifest(
      manifest(),
      {},
      deps({ cluster: cluster({ deployment: running, assessments }) }),
    );
    expect(result.assessment.features.recent_rollbacks).toBe(2);
    expect(result.assessment.features.recent_failures).toBe(1);
  });

  it.each<[string, string | null, string | undefined, string]>([
    ['the manifest’s namespace', 'shop', 'ignored', 'shop'],
    ['the namespace option when the manifest has none', null, 'staging', 'staging'],
    ['default when neither says', null, undefined, 'default'],
  ])('reads %s', async (_what, manifestNamespace, optionNamespace, expected) => {
    const view = cluster();
    await scoreManifest(
      manifest('shop:1.5.0', manifestNamespace),
      { namespace: optionNamespace },
      deps({ cluster: view }),
    );
    expect(view.calls).toEqual([`policies ${expected}`, `deployment ${expected}/web`, `assessments ${expected}`]);
  });

  it.each<['policies' | 'deployment' | 'assessments', string]>([
    ['policies', 'policies: connection refused'],
    ['deployment', 'deployments: connection refused'],
    ['assessments', 'assessments: connection refused'],
  ])('still scores when reading %s fails, and says why', async (failing, message) => {
    const policies = [policy('frontends', { selector: {}, thresholds: tinyThresholds })];
    const result = await scoreManifest(
      manifest(),
      {},
      deps({ cluster: cluster({ policies, deployment: running, failing }) }),
    );
    expect(result.notes).toContain(
      `the cluster could not be read (${message}): scored without its history and policies`,
    );
    expect(result.assessment.score).toBeGreaterThan(0);
    expect(result.assessment.score).toBeLessThan(1);
    // A policy already read is still used.
    expect(result.policy).toBe(failing === 'policies' ? '(defaults)' : 'frontends');
  });

  it('samples live signals with the governing policy and uses them as features', async () => {
    const samples: [PolicySpec, string, string, readonly string[]][] = [];
    const live = {
      sample(spec: PolicySpec, namespace: string, deployment: string, hashes: readonly string[]): Promise<LiveSignals> {
        samples.push([spec, namespace, deployment, hashes]);
        return Promise.resolve({ errorRate: 0.004, latencyP99Seconds: 0.21 });
      },
    };
    const policies = [policy('frontends', { selector: {}, prometheus: { address: 'http://prom:9090' } })];
    const result = await scoreManifest(
      manifest(),
      {},
      deps({ cluster: cluster({ policies, deployment: running }), live }),
    );
    expect(samples).toHaveLength(1);
    expect(samples[0]?.[0].prometheus.address).toBe('http://prom:9090');
    expect(samples[0]?.slice(1)).toEqual(['shop', 'web', []]);
    expect(result.assessment.features.error_rate_before).toBe(0.004);
    expect(result.assessment.features.latency_p99_before).toBe(0.21);
    expect(result.notes.join('\n')).not.toContain('live metrics');
  });

  it('notes why live signals are missing', async () => {
    const live = { sample: () => Promise.resolve<LiveSignals>({ unavailable: 'Prometheus unreachable' }) };
    const policies = [policy('frontends', { selector: {}, prometheus: { address: 'http://prom:9090' } })];
    const result = await scoreManifest(
      manifest(),
      {},
      deps({ cluster: cluster({ policies, deployment: running }), live }),
    );
    expect(result.notes).toContain('live metrics: Prometheus unreachable');
    expect(result.assessment.liveUnavailable).toBe('Prometheus unreachable');
  });

  it('does not ask for live signals when the policy has no Prometheus address', async () => {
    let asked = false;
    const live = {
      sample: () => {
        asked = true;
        return Promise.resolve<LiveSignals>({});
      },
    };
    const result = await scoreManifest(manifest(), {}, deps({ cluster: cluster({ deployment: running }), live }));
    expect(asked).toBe(false);
    expect(result.notes).toContain('live metrics: no Prometheus address in the policy');
  });

  // Regression test for a fixed bug: src/controller/score-manifest.ts line 121: `live` starts as { unavailable: 'no Prometheus address in the
  // policy' } and keeps it whenever deps.live is absent, so a policy that does name an address is reported as
  // naming none. Input: a covering policy with prometheus.address and deps without `live` (the score API's
  // `live` option is optional). Expected: a note that live metrics were not sampled. Actual: "live metrics: no
  // Prometheus address in the policy".
  it('does not claim the policy has no Prometheus address when it has one', async () => {
    const policies = [policy('frontends', { selector: {}, prometheus: { address: 'http://prom:9090' } })];
    const result = await scoreManifest(manifest(), {}, deps({ cluster: cluster({ policies, deployment: running }) }));
    expect(result.notes.join('\n')).not.toContain('no Prometheus address');
  });

  it('has a default policy that matches what an empty spec parses to', () => {
    const spec = defaultPolicySpec();
    expect(spec.thresholds).toEqual({ monitor: 0.4, rollbackReady: 0.6, block: 0.8 });
    expect(spec.prometheus.address).toBeUndefined();
  });
});

describe('credentialPolicy', () => {
  const spec = (rules: object) => {
    const parsed = parsePolicySpec({ selector: {}, rules });
    if (!parsed.ok) throw new Error('the test policy does not parse');
    return parsed.value;
  };

  it("takes each kind's severity and the exceptions from the policy", () => {
    const exceptions = [{ container: 'web', env: 'PUBLIC_KEY', reason: 'a publishable key' }];
    expect(credentialPolicy(spec({ credentials: { weakSecret: 'off', exceptions } }))).toEqual({
      severity: {
        providerKey: 'block',
        urlPassword: 'block',
        secretByName: 'block',
        weakSecret: 'off',
        randomValue: 'warn',
      },
      exceptions,
    });
  });

  it('turns every block into a warning when blockOnHardcodedSecret is false', () => {
    expect(
      credentialPolicy(spec({ blockOnHardcodedSecret: false, credentials: { urlPassword: 'off' } })).severity,
    ).toEqual({
      providerKey: 'warn',
      urlPassword: 'off',
      secretByName: 'warn',
      weakSecret: 'warn',
      randomValue: 'warn',
    });
  });
});
