// The CRDs in crds/ against a real API server, driven by the real kubectl: they install, the API server fills in
// the same defaults as parsePolicySpec, and invalid objects are refused with a message that names the field —
// the same fields the TypeScript side names.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { parsePolicySpec, rolloutAssessmentName, type PolicySpec } from '../../src/api/index.js';
import { kubectl, kubectlJson, kubectlResult } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import { waitFor } from '../support/wait.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');
const crdDir = path.join(repoRoot, 'crds');
const examplePolicyFile = path.join(repoRoot, 'deploy/examples/policy.yaml');
const crdNames = ['deploymentriskpolicies.rollguard.io', 'rolloutassessments.rollguard.io'];

interface Live<Spec> {
  metadata: { name: string };
  spec: Spec;
}

function policy(name: string, spec: unknown): string {
  return JSON.stringify({
    apiVersion: 'rollguard.io/v1alpha1',
    kind: 'DeploymentRiskPolicy',
    metadata: { name },
    spec,
  });
}

function assessment(name: string, spec: unknown): string {
  return JSON.stringify({ apiVersion: 'rollguard.io/v1alpha1', kind: 'RolloutAssessment', metadata: { name }, spec });
}

function defaulted(spec: unknown): PolicySpec {
  const result = parsePolicySpec(spec);
  if (!result.ok) throw new Error(`parsePolicySpec refused ${JSON.stringify(spec)}`);
  return result.value;
}

describe('the rollguard CRDs on a real API server', () => {
  let ns = '';

  beforeAll(async () => {
    await kubectl(['apply', '--server-side', '-f', crdDir]);
    await kubectl(['wait', '--for=condition=Established', '--timeout=60s', ...crdNames.map((n) => `crd/${n}`)]);
    ns = await createNamespace('crd');
    // Established means the API server serves the resources; kubectl's discovery may take a moment longer.
    await waitFor(
      'kubectl to know drp and ra',
      async () => {
        const drp = await kubectlResult(['-n', ns, 'get', 'drp']);
        const ra = await kubectlResult(['-n', ns, 'get', 'ra']);
        return drp.code === 0 && ra.code === 0 ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 500 },
    );
  });

  afterAll(async () => {
    if (ns) await deleteNamespace(ns);
  });

  it('installs both resources under the rollguard category with their short names', async () => {
    const resources = await kubectl(['api-resources', '--api-group=rollguard.io', '--no-headers']);
    expect(resources).toMatch(
      /^deploymentriskpolicies\s+drp\s+rollguard\.io\/v1alpha1\s+true\s+DeploymentRiskPolicy\s*$/m,
    );
    expect(resources).toMatch(/^rolloutassessments\s+ra\s+rollguard\.io\/v1alpha1\s+true\s+RolloutAssessment\s*$/m);
    const categories = await kubectlResult(['-n', ns, 'get', 'rollguard']);
    expect(categories.code, categories.stderr).toBe(0);
  });

  it('accepts the example policy as is, and fills in the same defaults as parsePolicySpec', async () => {
    await kubectl(['-n', ns, 'apply', '-f', examplePolicyFile]);
    const live = await kubectlJson<Live<unknown>>(['-n', ns, 'get', 'drp', 'default']);
    const example = parseYaml(await readFile(examplePolicyFile, 'utf8')) as { spec: unknown };
    expect(live.spec).toEqual(defaulted(example.spec));
    const spec = live.spec as PolicySpec;
    expect(spec.selector).toEqual({ matchLabels: { 'rollguard.io/enabled': 'true' } });
    expect(spec.metrics.errorRate.query).toContain('{{deploymentRegex}}');
    expect(spec.prometheus.address).toBeUndefined();
  });

  it.each<[string, unknown]>([
    ['a bare selector', { selector: {} }],
    ['a partial threshold', { selector: {}, thresholds: { block: 0.9 } }],
    ['a level without failureLimit', { selector: {}, levels: { monitor: { pause: true } } }],
    ['a nested metric limit', { selector: {}, metrics: { latency: { maxRelative: 2 } } }],
  ])('defaults %s exactly as parsePolicySpec does', async (_name, spec) => {
    const name = `defaults-${Math.random().toString(36).slice(2, 8)}`;
    await kubectl(['-n', ns, 'apply', '-f', '-'], policy(name, spec));
    const live = await kubectlJson<Live<unknown>>(['-n', ns, 'get', 'drp', name]);
    expect(live.spec).toEqual(defaulted(spec));
  });

  it('shows the planned columns in kubectl get drp', async () => {
    const header = (await kubectl(['-n', ns, 'get', 'drp', 'default'])).split('\n')[0] ?? '';
    expect(header.split(/\s+/)).toEqual([
      'NAME',
      'MODE',
      'READY',
      'COVERED',
      'ASSESSMENTS',
      'PAUSES',
      'ROLLBACKS',
      'AGE',
    ]);
  });

  // Each row: a spec the API server must refuse, the field its message must name, what the message must say, and
  // the field parsePolicySpec names for the same mistake.
  it.each<[string, unknown, RegExp, string]>([
    [
      'thresholds out of order',
      { selector: {}, thresholds: { monitor: 0.7, rollbackReady: 0.6, block: 0.8 } },
      /spec\.thresholds: .*thresholds must rise strictly between 0 and 1: 0 < monitor < rollbackReady < block < 1/,
      'spec.thresholds',
    ],
    [
      'a threshold that collides with a default',
      { selector: {}, thresholds: { monitor: 0.6 } },
      /spec\.thresholds: .*rise strictly/,
      'spec.thresholds',
    ],
    [
      'a threshold of 1',
      { selector: {}, thresholds: { block: 1 } },
      /spec\.thresholds\.block/,
      'spec.thresholds.block',
    ],
    ['a mode not in the enum', { selector: {}, mode: 'yolo' }, /spec\.mode: Unsupported value: "yolo"/, 'spec.mode'],
    [
      'a bad duration',
      { selector: {}, verification: { interval: '10 seconds' } },
      /spec\.verification\.interval: Invalid value: "10 seconds"/,
      'spec.verification.interval',
    ],
    [
      'a zero duration',
      { selector: {}, verification: { interval: '0s' } },
      /spec\.verification\.interval: .*verification\.interval must be longer than zero/,
      'spec.verification.interval',
    ],
    [
      'an In requirement without values',
      { selector: { matchExpressions: [{ key: 'app', operator: 'In' }] } },
      /spec\.selector\.matchExpressions\[0\]\.values: .*at least one value for operators In and NotIn/,
      'spec.selector.matchExpressions[0].values',
    ],
    [
      'two kinds of Prometheus credentials',
      {
        selector: {},
        prometheus: { bearerTokenSecretRef: { name: 'a', key: 't' }, basicAuthSecretRef: { name: 'b' } },
      },
      /spec\.prometheus: .*at most one of prometheus\.bearerTokenSecretRef and prometheus\.basicAuthSecretRef/,
      'spec.prometheus',
    ],
    ['no selector', { mode: 'enforce' }, /spec\.selector: Required value/, 'spec.selector'],
    [
      'a query template with a placeholder outside quotes',
      { selector: {}, metrics: { errorRate: { query: 'sum(up{namespace={{namespace}}})' } } },
      /spec\.metrics\.errorRate\.query: .*metrics\.errorRate\.query cannot be rendered/,
      'spec.metrics.errorRate.query',
    ],
    [
      'a query template with a string never closed',
      { selector: {}, metrics: { latency: { query: 'max(up{namespace="{{namespace}}})' } } },
      /spec\.metrics\.latency\.query: .*metrics\.latency\.query cannot be rendered/,
      'spec.metrics.latency.query',
    ],
    [
      'a rate window Prometheus cannot read',
      { selector: {}, metrics: { rateWindow: '30s1m' } },
      /spec\.metrics\.rateWindow: .*largest first, each once.*1m30s, not 30s1m/,
      'spec.metrics.rateWindow',
    ],
    [
      'an interval past the limit of Node.js timers',
      { selector: {}, verification: { interval: '600h' } },
      /spec\.verification\.interval: .*verification\.interval must be at most 596h/,
      'spec.verification.interval',
    ],
    [
      'a Prometheus timeout past the limit of Node.js timers',
      { selector: {}, prometheus: { timeout: '35791m' } },
      /spec\.prometheus\.timeout: .*prometheus\.timeout must be at most 596h/,
      'spec.prometheus.timeout',
    ],
    [
      'a verification window past the limit of Node.js timers',
      { selector: {}, levels: { block: { verificationWindow: '600h' } } },
      /spec\.levels\.block\.verificationWindow: .*levels\.block\.verificationWindow must be at most 596h/,
      'spec.levels.block.verificationWindow',
    ],
  ])('refuses %s, naming the field', async (_name, spec, message, tsPath) => {
    const name = `bad-${Math.random().toString(36).slice(2, 8)}`;
    const result = await kubectlResult(['-n', ns, 'apply', '-f', '-'], policy(name, spec));
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(message);
    const after = await kubectlResult(['-n', ns, 'get', 'drp', name]);
    expect(after.code).not.toBe(0);

    const parsed = parsePolicySpec(spec);
    expect(parsed.ok ? [] : parsed.errors.map((e) => e.path)).toContain(tsPath);
  });

  it('keeps a RolloutAssessment spec immutable and shows its columns', async () => {
    const name = rolloutAssessmentName('web', 2);
    const spec = {
      deployment: 'web',
      revision: 2,
      podTemplateHash: '5d8f6c7b9',
      previousRevision: 1,
      policy: 'default',
    };
    await kubectl(['-n', ns, 'apply', '-f', '-'], assessment(name, spec));
    await kubectl([
      '-n',
      ns,
      'patch',
      'ra',
      name,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { phase: 'Verifying', outcome: 'running', score: 0.72, level: 'rollback-ready' } }),
    ]);
    const [header = '', row = ''] = (await kubectl(['-n', ns, 'get', 'ra', name])).split('\n');
    expect(header.split(/\s+/)).toEqual([
      'NAME',
      'DEPLOYMENT',
      'REVISION',
      'SCORE',
      'LEVEL',
      'OUTCOME',
      'PHASE',
      'AGE',
    ]);
    expect(row.split(/\s+/).slice(0, 7)).toEqual([
      'web-2',
      'web',
      '2',
      '0.72',
      'rollback-ready',
      'running',
      'Verifying',
    ]);

    const changed = await kubectlResult(['-n', ns, 'apply', '-f', '-'], assessment(name, { ...spec, revision: 3 }));
    expect(changed.code).not.toBe(0);
    expect(changed.stderr).toMatch(/spec: .*spec is immutable/);

    const backwards = await kubectlResult(
      ['-n', ns, 'apply', '-f', '-'],
      assessment('web-5', { ...spec, revision: 5, previousRevision: 5 }),
    );
    expect(backwards.code).not.toBe(0);
    expect(backwards.stderr).toMatch(/spec\.previousRevision: .*previousRevision must be lower than revision/);
  });

  it('refuses a status the controller could never have written', async () => {
    const name = rolloutAssessmentName('api', 1);
    await kubectl(
      ['-n', ns, 'apply', '-f', '-'],
      assessment(name, { deployment: 'api', revision: 1, podTemplateHash: 'abc', policy: 'default' }),
    );
    const result = await kubectlResult([
      '-n',
      ns,
      'patch',
      'ra',
      name,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { level: 'critical' } }),
    ]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/status\.level: Unsupported value: "critical"/);
  });
});
