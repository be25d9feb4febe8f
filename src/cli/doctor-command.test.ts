// `rollguard doctor`'s judgements, each from what the cluster or Prometheus answered: CRDs against this
// rollguard's own schema, rights, query results, the model's quality; and the command without a cluster.
// The command against a real cluster and Prometheus is in test/integration/cli.test.ts.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { customResourceDefinition, deploymentRiskPolicyDefinition, rolloutAssessmentDefinition } from '../api/crd.js';
import type { ModelMeta } from '../model/store.js';
import { emptyResult, singleValue } from '../prometheus/types.js';
import {
  compareSchemas,
  controllerRights,
  doctorExitCode,
  doctorHelp,
  judgeCrd,
  judgeModel,
  judgeQuery,
  judgeRight,
  renderChecks,
  runDoctorCommand,
  schemaPaths,
  type Check,
} from './doctor-command.js';
import type { CommandIO } from './output.js';

/** A CRD as the API server returns it: what crds/ holds plus the conditions it sets. */
type Crd = ReturnType<typeof customResourceDefinition>;

function installed(crd: Crd, established = 'True') {
  return { ...structuredClone(crd), status: { conditions: [{ type: 'Established', status: established }] } };
}

function withoutField(crd: Crd, pathParts: string[]): Crd {
  const copy = structuredClone(crd);
  let node = copy.spec.versions[0]?.schema.openAPIV3Schema as { properties?: Record<string, unknown> } | undefined;
  for (const part of pathParts.slice(0, -1)) {
    node = node?.properties?.[part] as typeof node;
  }
  delete node?.properties?.[pathParts.at(-1) ?? ''];
  return copy;
}

describe('CRD checks', () => {
  it('walks every field of a schema, arrays included', () => {
    expect(
      schemaPaths({
        properties: { spec: { properties: { a: {}, steps: { items: { properties: { verdict: {} } } } } } },
      }),
    ).toEqual(['spec', 'spec.a', 'spec.steps', 'spec.steps[].verdict']);
  });

  it('reports only the top-most missing field, and fields the installed schema has on top', () => {
    const expected = { properties: { spec: { properties: { levels: { properties: { safe: {} } }, mode: {} } } } };
    const older = { properties: { spec: { properties: { mode: {} } } } };
    expect(compareSchemas(expected, older)).toEqual({ missing: ['spec.levels'], unknown: [] });
    expect(compareSchemas(older, expected)).toEqual({ missing: [], unknown: ['spec.levels'] });
  });

  it.each([deploymentRiskPolicyDefinition, rolloutAssessmentDefinition])(
    'passes the CRD generated from this build ($plural)',
    (def) => {
      expect(judgeCrd(def, installed(customResourceDefinition(def)))).toEqual({
        check: `CRD ${def.plural}.rollguard.io`,
        status: 'ok',
        message: 'Established, serves v1alpha1, schema matches this rollguard',
      });
    },
  );

  it("fails an older policy CRD without spec.levels and says to apply this version's crds/", () => {
    const old = withoutField(customResourceDefinition(deploymentRiskPolicyDefinition), ['spec', 'levels']);
    const check = judgeCrd(deploymentRiskPolicyDefinition, installed(old));
    expect(check.status).toBe('fail');
    expect(check.message).toContain('lacks spec.levels');
    expect(check.fix).toBe('apply crds/ from this version: kubectl apply --server-side -f crds/');
  });

  it('fails an older assessment CRD without status.verification.steps', () => {
    const old = withoutField(customResourceDefinition(rolloutAssessmentDefinition), [
      'status',
      'verification',
      'steps',
    ]);
    const check = judgeCrd(rolloutAssessmentDefinition, installed(old));
    expect(check.status).toBe('fail');
    expect(check.message).toContain('lacks status.verification.steps');
  });

  it('fails a CRD that is missing, not Established, or not serving v1alpha1', () => {
    const crd = customResourceDefinition(rolloutAssessmentDefinition);
    expect(judgeCrd(rolloutAssessmentDefinition, undefined)).toMatchObject({
      status: 'fail',
      message: 'not installed',
    });
    expect(judgeCrd(rolloutAssessmentDefinition, installed(crd, 'False'))).toMatchObject({
      status: 'fail',
      message: 'installed but not Established',
    });
    const notServed = installed(crd);
    notServed.spec.versions = notServed.spec.versions.map((v) => ({ ...v, served: false }));
    expect(judgeCrd(rolloutAssessmentDefinition, notServed)).toMatchObject({
      status: 'fail',
      message: 'does not serve v1alpha1 (serves v1alpha1)',
    });
  });

  it('warns about a newer CRD whose schema has fields this rollguard does not know', () => {
    const crd = installed(customResourceDefinition(rolloutAssessmentDefinition));
    const schema = crd.spec.versions[0]?.schema.openAPIV3Schema;
    if (schema?.properties?.spec?.properties) schema.properties.spec.properties.canary = { type: 'string' };
    expect(judgeCrd(rolloutAssessmentDefinition, crd)).toMatchObject({ status: 'warn' });
  });
});

describe('RBAC checks', () => {
  it("covers every right the controller uses, the leader Lease in the controller's own namespace", () => {
    const names = controllerRights.map((r) => `${r.group}/${r.resource}${r.subresource ? `/${r.subresource}` : ''}`);
    expect(names).toEqual([
      'apps/deployments',
      'apps/replicasets',
      'rollguard.io/deploymentriskpolicies',
      'rollguard.io/deploymentriskpolicies/status',
      'rollguard.io/rolloutassessments',
      'rollguard.io/rolloutassessments/status',
      'events.k8s.io/events',
      // Secrets are read per namespace where a team opted in, never everywhere: each policy's own check
      // says when its Secrets cannot be read.
      'coordination.k8s.io/leases',
      '/configmaps',
    ]);
    expect(controllerRights.find((r) => r.resource === 'leases')?.where).toBe('own');
    // The learned model lives in a ConfigMap in the controller's namespace.
    expect(controllerRights.find((r) => r.resource === 'configmaps')?.where).toBe('own');
  });

  it('names the missing verbs and where', () => {
    const [deployments] = controllerRights;
    if (!deployments) throw new Error('no rights');
    expect(judgeRight(deployments, '', [], [])).toEqual({
      check: 'RBAC apps/deployments',
      status: 'ok',
      message: 'get, list, watch, patch in every namespace',
    });
    const check = judgeRight(deployments, 'shop', ['patch'], []);
    expect(check.status).toBe('fail');
    expect(check.message).toBe('missing patch in namespace shop (has get, list, watch)');
    expect(check.fix).toContain('grant patch on apps/deployments in namespace shop');
  });
});

describe('Prometheus query checks', () => {
  const judge = (result: Parameters<typeof judgeQuery>[4]) =>
    judgeQuery('shop/guard', 'error rate', 'spec.metrics.errorRate.query', 'checkout', result);

  it('passes a query that returns data', () => {
    expect(judge(singleValue(0.01))).toMatchObject({ status: 'ok', message: 'returns 0.01 for Deployment checkout' });
    expect(judge({ kind: 'vector', samples: [{ labels: {}, timestamp: 0, value: 0.02 }], message: '' })).toMatchObject({
      status: 'ok',
    });
  });

  it('warns about an empty result with a hint about labels', () => {
    const check = judge(emptyResult());
    expect(check.status).toBe('warn');
    expect(check.fix).toContain('namespace, deployment and pod_template_hash');
    expect(check.fix).toContain('spec.metrics.errorRate.query');
  });

  it('warns about NaN (no requests) and fails a query Prometheus rejects or an outage', () => {
    expect(judge(singleValue(Number.NaN)).status).toBe('warn');
    expect(
      judge({ kind: 'promql-error', status: 400, errorType: 'bad_data', error: 'parse error', message: '' }),
    ).toMatchObject({ status: 'fail', message: 'Prometheus rejects the query: parse error' });
    expect(judge({ kind: 'unreachable', reason: 'refused', message: 'connection refused' }).status).toBe('fail');
  });
});

describe('model check', () => {
  const meta = (auc: number | null): ModelMeta => ({
    modelVersion: 'jit-v1-abc',
    contractVersion: 1,
    featureNames: [],
    learnedFeatures: ['files_changed', 'lines_added'],
    data: { description: 'ApacheJIT sample', rows: 7526, positives: 1448 },
    trainer: {
      trees: 1,
      seed: 1,
      maxDepth: null,
      minSamplesLeaf: 1,
      minSamplesSplit: 2,
      maxFeatures: 'sqrt',
      maxBins: 8,
    },
    importances: {},
    evaluation:
      auc === null
        ? null
        : {
            auc,
            threshold: 0.5,
            precision: 0,
            recall: 0,
            f1: 0,
            confusion: { truePositives: 0, falsePositives: 0, trueNegatives: 0, falseNegatives: 0 },
            caughtTop10: 0,
            caughtTop20: 0,
            rows: 1,
            positives: 1,
            method: 'time-ordered',
            trainRows: 1,
            testRows: 1,
            trainMs: 1,
          },
    trainedAt: '2025-01-31T00:00:00Z',
    trees: 1,
    nodes: 1,
  });

  it('says the version, the AUC and what it was trained on', () => {
    const check = judgeModel(meta(0.86), 'models/default');
    expect(check.status).toBe('ok');
    expect(check.message).toContain('jit-v1-abc');
    expect(check.message).toContain('held-out AUC 0.86 (time-ordered)');
    expect(check.message).toContain('ApacheJIT sample (7,526 rows, 1,448 risky)');
    expect(check.message).toContain('learns from 2 of 25 features');
  });

  it('warns about a weak model or one never evaluated', () => {
    expect(judgeModel(meta(0.55), 'd').status).toBe('warn');
    expect(judgeModel(meta(null), 'd').status).toBe('warn');
  });
});

describe('rendering and exit code', () => {
  const checks: Check[] = [
    { check: 'API server', status: 'ok', message: 'Kubernetes v1.36.3 answers' },
    { check: 'CRD x', status: 'fail', message: 'not installed', fix: 'kubectl apply --server-side -f crds/' },
    { check: 'model', status: 'warn', message: 'weak', fix: 'retrain' },
  ];

  it('prints one line per check with its mark, and the fix under what is not fine', () => {
    expect(renderChecks(checks)).toBe(
      [
        '✓ API server: Kubernetes v1.36.3 answers',
        '✗ CRD x: not installed',
        '    fix: kubectl apply --server-side -f crds/',
        '! model: weak',
        '    fix: retrain',
        '',
        '1 ok, 1 to look at, 1 failed',
        '',
      ].join('\n'),
    );
  });

  it('exits 1 when any check failed, 0 when only warnings remain', () => {
    expect(doctorExitCode(checks)).toBe(1);
    expect(doctorExitCode(checks.filter((c) => c.status !== 'fail'))).toBe(0);
  });
});

describe('runDoctorCommand', () => {
  function capture() {
    const out = { stdout: '', stderr: '' };
    const io: CommandIO = { stdout: (t) => (out.stdout += t), stderr: (t) => (out.stderr += t) };
    return { io, out };
  }

  it('--help explains every check and whose rights are checked', async () => {
    const { io, out } = capture();
    expect(await runDoctorCommand(['--help'], io)).toBe(0);
    expect(out.stdout).toBe(doctorHelp);
    expect(out.stdout).toContain('identity running doctor');
    expect(out.stdout).toContain('Examples:');
  });

  it('reports usage errors in one line with exit code 2', async () => {
    const { io, out } = capture();
    expect(await runDoctorCommand(['--bogus'], io)).toBe(2);
    expect(out.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(out.stderr).toContain("rollguard doctor: Unknown option '--bogus'");
  });

  it('fails on an unreachable API server, skips what needs it, and still checks the model', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'rollguard-doctor-'));
    const kubeconfig = path.join(dir, 'kubeconfig');
    await writeFile(
      kubeconfig,
      'apiVersion: v1\nkind: Config\nclusters: [{name: c, cluster: {server: "http://127.0.0.1:1", insecure-skip-tls-verify: true}}]\nusers: [{name: u, user: {}}]\ncontexts: [{name: x, context: {cluster: c, user: u}}]\ncurrent-context: x\n',
    );
    const { io, out } = capture();
    expect(await runDoctorCommand(['--kubeconfig', kubeconfig, '--json'], io)).toBe(2);
    const report = JSON.parse(out.stdout) as { checks: Check[]; exitCode: number };
    const byName = new Map(report.checks.map((c) => [c.check, c]));
    expect(byName.get('kubeconfig')?.status).toBe('ok');
    expect(byName.get('API server')).toMatchObject({ status: 'fail' });
    expect(byName.get('API server')?.message).toContain('cannot reach the API server at http://127.0.0.1:1');
    expect(byName.get('cluster checks')?.status).toBe('fail');
    expect(byName.get('model')?.status).toBe('ok');
    expect(byName.get('model')?.message).toContain('held-out AUC');
    expect(report.exitCode).toBe(2);
  });
});
