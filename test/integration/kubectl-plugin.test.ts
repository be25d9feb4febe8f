// `kubectl rollguard` as people use it: the real kubectl finds the plugin on PATH (the bundled program under
// the name kubectl-rollguard) and runs it with their identity. A person bound only to the default `view`
// ClusterRole follows rollouts (status -w, history, explain) through the chart's aggregated rights; a person
// bound to `edit` approves a paused rollout and aborts a running one, and both are recorded with their names;
// kubectl completes the plugin's commands and Deployments.
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { bundle } from '../../hack/build-dist.js';
import { repoRoot } from '../harness/tools.js';
import { riskyChange, safeChange } from '../support/changes.js';
import { kubectl } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import { applyDeployment, applyPolicy, assessmentOf, getDeployment } from '../support/objects.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

const helm = (args: string[]) =>
  promisify(execFile)(path.join(inject('binDir'), 'helm'), [`--kubeconfig=${inject('kubeconfig')}`, ...args], {
    cwd: repoRoot,
  });

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

const good = { 'sim.rollguard.io/error-rate': '0.0', 'sim.rollguard.io/latency-ms': '20' };

describe('kubectl rollguard: the plugin on PATH, run by people with view and edit', () => {
  let appNs = '';
  let releaseNs = '';
  let dir = '';
  let pluginDir = '';
  let operator: RunningOperator | undefined;
  const kubeconfigs = { viewer: '', editor: '' };
  const release = `plugin-${Math.random().toString(36).slice(2, 7)}`;

  /** `kubectl ARGS` as `who`, with only the plugin directory and the tools on PATH. */
  function asUser(who: 'viewer' | 'editor', args: string[]): Promise<Result> {
    return new Promise((resolve) => {
      execFile(
        path.join(inject('binDir'), 'kubectl'),
        args,
        {
          env: { PATH: `${pluginDir}:${inject('binDir')}:/usr/bin:/bin`, KUBECONFIG: kubeconfigs[who], HOME: dir },
          maxBuffer: 16 * 1024 * 1024,
        },
        (err, stdout, stderr) => {
          resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
        },
      );
    });
  }

  /** `kubectl rollguard status … -w` in the background: its output so far, and its exit. */
  function follow(who: 'viewer' | 'editor', args: string[]) {
    let out = '';
    const child = spawn(path.join(inject('binDir'), 'kubectl'), args, {
      env: { PATH: `${pluginDir}:${inject('binDir')}:/usr/bin:/bin`, KUBECONFIG: kubeconfigs[who], HOME: dir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString('utf8')));
    const exited = new Promise<number>((resolve) => {
      child.once('exit', (code) => {
        resolve(code ?? -1);
      });
    });
    return {
      output: () => out,
      exited,
      stop: () => {
        child.kill('SIGTERM');
      },
    };
  }

  async function kubeconfigFor(serviceAccount: string): Promise<string> {
    const token = (await kubectl(['-n', appNs, 'create', 'token', serviceAccount, '--duration=1h'])).trim();
    const config = parse(await readFile(inject('kubeconfig'), 'utf8')) as {
      users: { user: Record<string, unknown> }[];
      contexts: { context: Record<string, unknown> }[];
    };
    const [user] = config.users;
    const [context] = config.contexts;
    if (!user || !context) throw new Error('the admin kubeconfig has no user or context');
    user.user = { token };
    context.context.namespace = appNs;
    const file = path.join(dir, `${serviceAccount}.kubeconfig`);
    await writeFile(file, stringify(config), { mode: 0o600 });
    return file;
  }

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'rollguard-plugin-'));
    pluginDir = path.join(dir, 'bin');
    await bundle(pluginDir);
    // kubectl runs kubectl-rollguard from PATH; the program is the bundle the single executable embeds.
    const plugin = path.join(pluginDir, 'kubectl-rollguard');
    await writeFile(plugin, `#!/bin/sh\nexec "${process.execPath}" "${pluginDir}/kubectl-rollguard.cjs" "$@"\n`);
    await writeFile(
      path.join(pluginDir, 'kubectl_complete-rollguard'),
      `#!/bin/sh\nexec "${process.execPath}" "${pluginDir}/kubectl_complete-rollguard.cjs" "$@"\n`,
    );
    const program = await readFile(path.join(pluginDir, 'rollguard.cjs'));
    await writeFile(path.join(pluginDir, 'kubectl-rollguard.cjs'), program);
    await writeFile(path.join(pluginDir, 'kubectl_complete-rollguard.cjs'), program);
    await chmod(plugin, 0o755);
    await chmod(path.join(pluginDir, 'kubectl_complete-rollguard'), 0o755);

    releaseNs = await createNamespace('plugin-system');
    appNs = await createNamespace('plugin-app');
    // The chart's aggregated ClusterRoles give view and edit their rollguard rights.
    await helm(['install', release, 'charts/rollguard', '--namespace', releaseNs, '--skip-crds']);
    for (const [who, role] of [
      ['viewer', 'view'],
      ['editor', 'edit'],
    ] as const) {
      await kubectl(['-n', appNs, 'create', 'serviceaccount', who]);
      await kubectl([
        '-n',
        appNs,
        'create',
        'rolebinding',
        who,
        `--clusterrole=${role}`,
        `--serviceaccount=${appNs}:${who}`,
      ]);
      kubeconfigs[who] = await kubeconfigFor(who);
    }
    await waitFor(
      'the view ClusterRole to aggregate the rollguard rights',
      async () =>
        (await kubectl(['get', 'clusterrole', 'view', '-o', 'json'])).includes('rolloutassessments') ? true : undefined,
      { timeoutMs: 30_000, intervalMs: 250 },
    );

    operator = await startOperator();
    await applyPolicy(appNs, 'guard', {
      selector: { matchLabels: { 'rollguard.io/enabled': 'true' } },
      mode: 'enforce',
      thresholds: { monitor: 0.3, rollbackReady: 0.45, block: 0.6 },
      prometheus: { address: inject('prometheusUrl'), timeout: '2s' },
      metrics: { rateWindow: '10s' },
      verification: { interval: '2s' },
      // An approved risky rollout passes soon (strictness follows risk: no level may watch longer than block).
      levels: {
        safe: { verificationWindow: '6s' },
        monitor: { verificationWindow: '6s' },
        rollbackReady: { verificationWindow: '6s' },
        block: { verificationWindow: '6s', pause: true },
      },
    });
    // The cart stays under verification long enough to abort it: a policy of its own, preferred by priority.
    await applyPolicy(appNs, 'slow', {
      selector: { matchLabels: { tier: 'slow' } },
      priority: 10,
      mode: 'enforce',
      prometheus: { address: inject('prometheusUrl'), timeout: '2s' },
      metrics: { rateWindow: '10s' },
      verification: { interval: '2s' },
      levels: { safe: { verificationWindow: '10m' }, block: { pause: false } },
    });
    await applyDeployment({
      namespace: appNs,
      name: 'cart',
      labels: { tier: 'slow' },
      annotations: { ...safeChange, ...good },
    });
    await applyDeployment({ namespace: appNs, name: 'shop', annotations: { ...safeChange, ...good } });
    await waitFor(
      'revision 1 assessed',
      async () => ((await assessmentOf(appNs, 'shop', 1))?.status?.level ? true : undefined),
      {
        timeoutMs: 30_000,
        intervalMs: 200,
      },
    );
  });

  afterAll(async () => {
    await operator?.stop();
    await helm(['uninstall', release, '--namespace', releaseNs]).catch(() => undefined);
    await deleteNamespace(appNs);
    await deleteNamespace(releaseNs);
    await rm(dir, { recursive: true, force: true });
  });

  it('is found by kubectl and names itself kubectl rollguard', async () => {
    const help = await asUser('viewer', ['rollguard', '--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: kubectl rollguard <command> [options]');
    expect(help.stdout).toMatch(/approve +Approve a rollout/);
    const statusHelp = await asUser('viewer', ['rollguard', 'status', '--help']);
    expect(statusHelp.stdout).toContain('Usage: kubectl rollguard status deploy/NAME [-w] [options]');
    expect(statusHelp.stdout).toContain('  kubectl rollguard status deploy/checkout -n shop -w --timeout 15m');
    expect((await asUser('viewer', ['plugin', 'list'])).stdout).toContain('kubectl-rollguard');
    const wrong = await asUser('viewer', ['rollguard', 'status', 'statefulset/db']);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toContain('is not a Deployment');
  });

  it('a viewer follows a paused rollout; an editor approves it; the approver is recorded by name', async () => {
    await applyDeployment({
      namespace: appNs,
      name: 'shop',
      annotations: { ...riskyChange, ...good },
      image: 'registry.example/shop:2.0.0',
    });
    await waitFor(
      'revision 2 paused',
      async () => ((await getDeployment(appNs, 'shop')).spec.paused ? true : undefined),
      {
        timeoutMs: 30_000,
        intervalMs: 200,
      },
    );
    // The gate is the Deployment's: paused, and rollguard's mark of the revision it paused. (The assessment's
    // phase may already say Verifying: new pods that started before the pause are verified meanwhile.)
    await waitFor(
      'rollguard to mark revision 2 as paused by it',
      async () =>
        (await getDeployment(appNs, 'shop')).metadata.annotations?.['rollguard.io/paused-revision'] === '2'
          ? true
          : undefined,
      { timeoutMs: 30_000, intervalMs: 200 },
    );

    const status = await asUser('viewer', ['rollguard', 'status', 'deploy/shop']);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^shop revision 2 \(block\): paused, waiting for approval\n/);
    expect(status.stdout).toContain('gate: paused for approval');
    expect(status.stdout).toMatch(/reasons: .*(lines|files|coverage)/);
    expect(status.stdout).toContain(`next: approve it: kubectl rollguard approve deploy/shop -n ${appNs}`);

    // view may read, not approve.
    const refused = await asUser('viewer', ['rollguard', 'approve', 'deploy/shop']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/forbidden/);
    expect((await getDeployment(appNs, 'shop')).metadata.annotations?.['rollguard.io/approve']).toBeUndefined();

    const watch = follow('viewer', ['rollguard', 'status', 'deploy/shop', '-w', '--timeout', '90s']);
    try {
      await waitFor('status -w to print the paused state', () =>
        Promise.resolve(watch.output().includes('paused, waiting for approval') ? true : undefined),
      );
      const approved = await asUser('editor', ['rollguard', 'approve', 'deploy/shop']);
      expect(approved.stderr).toBe('');
      expect(approved.code).toBe(0);
      const editor = `system:serviceaccount:${appNs}:editor`;
      expect(approved.stdout).toContain(
        `Approved revision 2 of ${appNs}/shop as ${editor}. rollguard resumes the rollout`,
      );
      expect(approved.stdout).toContain(`Follow it: kubectl rollguard status deploy/shop -n ${appNs} -w`);

      // -w follows it to the end: resumed, rolled out, verified; exit 0.
      expect(await watch.exited).toBe(0);
      expect(watch.output()).toContain('shop revision 2 (block): verified and rolled out');
      // Each verification check as it lands: time, metric, value, limit, verdict.
      expect(watch.output()).toMatch(
        /\n {2}check \S+ (error-rate|latency): \S+ \(limit \S+\) (pass|no-data|inconclusive)\n/,
      );
      const ra = await assessmentOf(appNs, 'shop', 2);
      expect(ra?.status?.approval).toMatchObject({ by: editor, revision: 2 });
      expect(ra?.status?.outcome).toBe('succeeded');

      const again = await asUser('editor', ['rollguard', 'approve', 'deploy/shop', '--revision', '2']);
      expect(again.stdout).toContain(`revision 2 of ${appNs}/shop is already approved`);
      const old = await asUser('editor', ['rollguard', 'approve', 'deploy/shop', '--revision', '1']);
      expect(old.code).toBe(2);
      expect(old.stderr).toContain('revision 1 is older than the current revision 2');
    } finally {
      watch.stop();
    }
  });

  it('an editor aborts a rollout under verification: rolled back now, recorded as a manual abort; -w exits 1', async () => {
    const reason = 'customers in the EU see checkout errors';
    await applyDeployment({
      namespace: appNs,
      name: 'cart',
      labels: { tier: 'slow' },
      annotations: { ...safeChange, ...good, 'rollguard.io/lines-added': '31' },
      image: 'registry.example/shop:2.1.0',
    });
    await waitFor(
      'revision 2 verifying',
      async () =>
        (await assessmentOf(appNs, 'cart', 2))?.status?.verification?.state === 'running' ? true : undefined,
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    const watch = follow('viewer', ['rollguard', 'status', 'deploy/cart', '-w']);
    try {
      await waitFor('status -w to follow revision 2', () =>
        Promise.resolve(
          /cart revision 2 \([\w-]+\): verifying on live metrics/.test(watch.output()) ? true : undefined,
        ),
      );
      const noReason = await asUser('editor', ['rollguard', 'abort', 'deploy/cart']);
      expect(noReason.code).toBe(2);
      expect(noReason.stderr).toContain('say why with --reason');

      const aborted = await asUser('editor', ['rollguard', 'abort', 'deploy/cart', '--reason', reason]);
      expect(aborted.code).toBe(0);
      expect(aborted.stdout).toContain(`Rolled back ${appNs}/cart from revision 2 to the template of revision 1.`);
      expect(aborted.stdout).toContain('Recorded on RolloutAssessment cart-2 as aborted by');

      expect(await watch.exited).toBe(1);
      expect(watch.output()).toMatch(
        new RegExp(
          `cart revision 2 \\([\\w-]+\\): rolled back: aborted by system:serviceaccount:${appNs}:editor: ${reason}`,
        ),
      );
    } finally {
      watch.stop();
    }
    const d = await getDeployment(appNs, 'cart');
    expect(d.metadata.annotations?.['rollguard.io/rolled-back-from']).toBe('2');
    const image = await kubectl([
      '-n',
      appNs,
      'get',
      'deployment',
      'cart',
      '-o',
      'jsonpath={.spec.template.spec.containers[0].image}',
    ]);
    expect(image).toBe('registry.example/shop:1.0.0');
    const ra = await assessmentOf(appNs, 'cart', 2);
    expect(ra?.status?.outcome).toBe('rolled-back');
    expect(ra?.status?.phase).toBe('RolledBack');
    const abortAction = ra?.status?.actions?.find((a) => a.type === 'aborted');
    expect(abortAction?.by).toBe(`system:serviceaccount:${appNs}:editor`);
    expect(abortAction?.message).toContain(reason);
    // rollguard's own automatic rollback is not claimed for it.
    expect(ra?.status?.actions?.some((a) => a.type === 'rolled-back')).toBe(false);

    // The new revision is itself a rollback: aborting it is refused, nothing changes.
    await waitFor(
      'revision 3',
      async () =>
        (await getDeployment(appNs, 'cart')).metadata.annotations?.['rollguard.io/assessed-revision'] === '3'
          ? true
          : undefined,
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    const refused = await asUser('editor', ['rollguard', 'abort', 'deploy/cart', '--reason', 'again']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('never rolls back a rollback');
  });

  it('a viewer reads history and explain, with the abort in them', async () => {
    const history = await asUser('viewer', ['rollguard', 'history']);
    expect(history.stderr).toBe('');
    expect(history.code).toBe(0);
    expect(history.stdout).toMatch(/\ncart +2 +\S+ +[\d.]+ +\S+ +\S*aborted\S* +rolled-back\n/);
    expect(history.stdout).toMatch(/\nshop +2 +\S+ +[\d.]+ +block +\S*approved\S* +succeeded\n/);

    const explain = await asUser('viewer', ['rollguard', 'explain', 'cart/2']);
    expect(explain.code).toBe(0);
    expect(explain.stdout).toMatch(/aborted +system:serviceaccount:\S+:editor +aborted by .*customers in the EU/);
    expect(explain.stdout).toContain('Outcome: rolled-back');
  });

  it('kubectl completes the plugin: commands, then Deployments', async () => {
    const commands = await asUser('viewer', ['__complete', 'rollguard', 'st']);
    expect(commands.stdout.split('\n')).toContain('status');
    const deployments = await asUser('viewer', ['__complete', 'rollguard', 'approve', 'deploy/sh']);
    expect(deployments.stdout.split('\n')).toContain('deploy/shop');
  });
});
