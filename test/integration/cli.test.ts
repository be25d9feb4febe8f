// The read-only commands against the real control plane and Prometheus: a policy and a Deployment are
// installed, the real operator assesses the rollout, and then `score`, `doctor`, `history` and `explain`
// run in-process through their run functions (output captured) exactly as a user's shell would run them.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { controllerRights, runDoctorCommand, type Check } from '../../src/cli/doctor-command.js';
import { runExplainCommand, type FeatureRow } from '../../src/cli/explain-command.js';
import { runHistoryCommand, type HistoryRow } from '../../src/cli/history-command.js';
import type { CommandIO } from '../../src/cli/output.js';
import { runScoreCommand, type ScoreReport } from '../../src/cli/score-command.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import { applyDeployment, applyPolicy, assessmentOf, deploymentManifest } from '../support/objects.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
import { waitFor } from '../support/wait.js';
import { riskyChange, safeChange } from '../support/changes.js';

const good = {
  'sim.rollguard.io/exact': 'true',
  'sim.rollguard.io/error-rate': '0.0',
  'sim.rollguard.io/latency-ms': '20',
};

async function run(
  command: (argv: string[], io: CommandIO) => Promise<number>,
  argv: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await command(argv, {
    stdout: (t) => (stdout += t),
    stderr: (t) => (stderr += t),
    stderrIsTTY: false,
  });
  return { code, stdout, stderr };
}

describe('rollguard score, doctor, history and explain on a real cluster', () => {
  let ns = '';
  let kubeconfig = '';
  let dir = '';
  let operator: RunningOperator;

  beforeAll(async () => {
    kubeconfig = inject('kubeconfig');
    dir = await mkdtemp(path.join(tmpdir(), 'rollguard-cli-'));
    ns = await createNamespace('cli');
    await applyPolicy(ns, 'guard', {
      selector: { matchLabels: { 'rollguard.io/enabled': 'true' } },
      mode: 'enforce',
      thresholds: { monitor: 0.3, rollbackReady: 0.45, block: 0.6 },
      prometheus: { address: inject('prometheusUrl'), timeout: '2s' },
      metrics: { rateWindow: '10s' },
      verification: { interval: '2s' },
      levels: { safe: { verificationWindow: '5s' } },
    });
    operator = await startOperator();
    await applyDeployment({ namespace: ns, name: 'catalog', annotations: { ...safeChange, ...good } });
    await applyDeployment({ namespace: ns, name: 'search', annotations: { ...safeChange, ...good } });
    for (const name of ['catalog', 'search']) {
      await waitFor(
        `the operator to assess ${name} revision 1`,
        async () => ((await assessmentOf(ns, name, 1))?.status?.level ? true : undefined),
        { timeoutMs: 30_000, intervalMs: 200 },
      );
    }
  });
  afterAll(async () => {
    await operator.stop();
    await deleteNamespace(ns);
  });

  async function manifestFile(name: string, annotations: Record<string, string>, image?: string): Promise<string> {
    const file = path.join(
      dir,
      `${name}-${String(Object.keys(annotations).length)}-${(image ?? 'same').replace(/\W+/g, '_')}.json`,
    );
    await writeFile(
      file,
      deploymentManifest({
        namespace: ns,
        name,
        annotations: { ...annotations, ...good },
        ...(image ? { image } : {}),
      }),
    );
    return file;
  }

  it('score blocks a risky change with exit code 20, under the policy in the cluster, and names reasons', async () => {
    const file = await manifestFile('catalog', riskyChange, 'registry.example/shop:2.0.0');
    const text = await run(runScoreCommand, ['-f', file, '--kubeconfig', kubeconfig]);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(20);
    expect(text.stdout).toContain(`${ns}/catalog: score`);
    expect(text.stdout).toContain('level block');
    expect(text.stdout).toMatch(/Reasons:\n {2}- .*(lines|coverage|files)/);

    const json = await run(runScoreCommand, ['-f', file, '--kubeconfig', kubeconfig, '--json']);
    expect(json.code).toBe(20);
    const report = JSON.parse(json.stdout) as ScoreReport;
    const [result] = report.results;
    expect(result?.level).toBe('block');
    expect(result?.policy).toBe('guard');
    expect(result?.reasons.length).toBeGreaterThan(0);
    // The running Deployment was read from the cluster: the image change is seen.
    expect(result?.features.images_changed).toBe(1);
    expect(result?.templateChanges.join('\n')).toContain('registry.example/shop:2.0.0');
    expect(result?.missingFeatures).not.toContain('images_changed');
  });

  it('score passes a safe change with exit code 0', async () => {
    const file = await manifestFile('catalog', safeChange);
    const result = await run(runScoreCommand, ['-f', file, '--kubeconfig', kubeconfig]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('level safe');
    expect(result.stdout).toContain('policy guard (enforce mode)');
    // The manifest went through a server-side dry run, so the API server's defaults are not changes.
    expect(result.stdout).toContain('Template changes: none');
    const json = await run(runScoreCommand, ['-f', file, '--kubeconfig', kubeconfig, '--json']);
    const [scored] = (JSON.parse(json.stdout) as ScoreReport).results;
    expect(scored?.templateChanges).toEqual([]);
    expect(scored?.features.probes_changed).toBe(0);
    expect(scored?.features.resources_changed).toBe(0);
  });

  it('score --no-cluster notes what it could not consult and the features it missed', async () => {
    const file = await manifestFile('catalog', safeChange);
    const result = await run(runScoreCommand, ['-f', file, '--no-cluster', '--json']);
    const [scored] = (JSON.parse(result.stdout) as ScoreReport).results;
    expect(scored?.policy).toBe('(defaults)');
    expect(scored?.notes.join('\n')).toContain('no cluster: scored without the running template');
    expect(scored?.missingFeatures).toEqual(expect.arrayContaining(['images_changed', 'error_rate_before']));
  });

  it("doctor passes the API, the CRDs, the admin's RBAC and the policy's real Prometheus", async () => {
    const json = await run(runDoctorCommand, ['--kubeconfig', kubeconfig, '-n', ns, '--json']);
    const report = JSON.parse(json.stdout) as { checks: Check[]; exitCode: number };
    const status = (name: string) => report.checks.find((c) => c.check === name);
    expect(status('kubeconfig')?.status).toBe('ok');
    expect(status('API server')).toMatchObject({ status: 'ok' });
    expect(status('CRD deploymentriskpolicies.rollguard.io')?.status).toBe('ok');
    expect(status('CRD rolloutassessments.rollguard.io')?.status).toBe('ok');
    const rbac = report.checks.filter((c) => c.check.startsWith('RBAC '));
    // The line naming the identity checked, then one per right the controller uses, all granted to the admin.
    expect(rbac.length).toBe(controllerRights.length + 1);
    expect(rbac.map((c) => c.check)).toContain('RBAC configmaps');
    expect(rbac.every((c) => c.status === 'ok')).toBe(true);
    expect(status(`Prometheus ${ns}/guard`)).toMatchObject({ status: 'ok' });
    expect(status(`Prometheus ${ns}/guard`)?.message).toContain('reachable and healthy');
    // The simulator serves catalog's metrics, but the first scrape may not have happened yet: data or a hint.
    for (const metric of ['error rate', 'latency']) {
      expect(status(`Prometheus ${ns}/guard ${metric} query`)?.status).not.toBe('fail');
    }
    expect(status('model')?.status).toBe('ok');
    expect(report.exitCode).toBe(0);
    expect(json.code).toBe(0);

    const text = await run(runDoctorCommand, ['--kubeconfig', kubeconfig, '-n', ns]);
    expect(text.stdout).toMatch(/^✓ kubeconfig: /);
    expect(text.stdout).toContain('✓ API server: Kubernetes v');
    expect(text.stdout).toContain(`✓ Prometheus ${ns}/guard: `);
    expect(text.stdout).toContain('the identity running doctor');
  });

  it('history lists the assessed rollouts, newest first, page by page with progress', async () => {
    const json = await run(runHistoryCommand, ['--kubeconfig', kubeconfig, '-n', ns, '--json']);
    expect(json.code).toBe(0);
    const { items, total } = JSON.parse(json.stdout) as { items: HistoryRow[]; total: number };
    expect(total).toBe(2);
    expect(items.map((i) => i.deployment).sort()).toEqual(['catalog', 'search']);
    const catalog = items.find((i) => i.deployment === 'catalog');
    expect(catalog).toMatchObject({ name: 'catalog-1', revision: 1, level: 'safe', policy: 'guard' });
    expect(catalog?.actions).toContain('annotated');

    const paged = await run(runHistoryCommand, ['--kubeconfig', kubeconfig, '-n', ns, '--chunk-size', '1']);
    expect(paged.code).toBe(0);
    expect(paged.stdout).toMatch(/^DEPLOYMENT +REVISION +AGE +SCORE +LEVEL +ACTIONS +OUTCOME\n/);
    expect(paged.stdout).toMatch(/\ncatalog +1 +\d+s +[\d.]+ +safe +annotated/);
    expect(paged.stderr).toContain('reading rollout assessments: 1 so far…');
    expect(paged.stderr).toContain('reading rollout assessments: 2 so far, done');

    const one = await run(runHistoryCommand, ['--kubeconfig', kubeconfig, '-n', ns, 'search', '--json']);
    expect((JSON.parse(one.stdout) as { items: HistoryRow[] }).items.map((i) => i.name)).toEqual(['search-1']);
  });

  it('explain prints one assessment in full: reasons, features with units, actions', async () => {
    const text = await run(runExplainCommand, ['catalog-1', '--kubeconfig', kubeconfig, '-n', ns]);
    expect(text.stderr).toBe('');
    expect(text.code).toBe(0);
    expect(text.stdout).toContain(`RolloutAssessment ${ns}/catalog-1: Deployment catalog, revision 1`);
    expect(text.stdout).toMatch(/Reasons:\n {2}- /);
    expect(text.stdout).toMatch(/ {2}lines_added +30 +lines \(la, absolute\) +change annotation/);
    expect(text.stdout).toMatch(/ {2}test_coverage +88 +percent 0\.\.100/);
    expect(text.stdout).toMatch(/Actions \(\d+\):\n {2}TIME +ACTION +BY +MESSAGE\n.* annotated +/);

    const json = await run(runExplainCommand, ['catalog/1', '--kubeconfig', kubeconfig, '-n', ns, '--json']);
    const explained = JSON.parse(json.stdout) as {
      name: string;
      status: { reasons: string[]; level: string };
      features: FeatureRow[];
    };
    expect(explained.name).toBe('catalog-1');
    expect(explained.status.level).toBe('safe');
    expect(explained.features.find((f) => f.name === 'test_coverage')).toMatchObject({
      value: 88,
      unit: 'percent 0..100',
    });
  });

  it('explain says so when the narrative endpoint is down, and still explains in full', async () => {
    const result = await run(runExplainCommand, [
      'catalog-1',
      '--kubeconfig',
      kubeconfig,
      '-n',
      ns,
      '--narrative',
      '--llm-endpoint',
      'http://127.0.0.1:1/v1',
      '--llm-model',
      'llama3.2',
    ]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('Reasons:');
    expect(result.stdout).toMatch(/\nnarrative unavailable: cannot reach http:\/\/127\.0\.0\.1:1: .*ECONNREFUSED/);
  });

  it('explain names what it could not find, exit code 1', async () => {
    const result = await run(runExplainCommand, ['nothing-9', '--kubeconfig', kubeconfig, '-n', ns]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `rollguard explain: no RolloutAssessment nothing-9 in namespace ${ns}; 'rollguard history -n ${ns} nothing-9' lists a Deployment's assessments\n`,
    );
  });
});
