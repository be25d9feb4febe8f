// What `make dist` and `make sbom` hand a user, used the way they would use it: the single executable copied
// to a directory with no node_modules, run by the real kubectl as a plugin with nothing but kubectl and the
// plugin on PATH (no Node), offline and against the local cluster; the krew archive and manifest and the
// checksums agree with the files; the packaged chart carries its Artifact Hub metadata; the SBOM is CycloneDX
// with a purl for every component and the packages rollguard ships.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readFile, readdir, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from '../harness/tools.js';
import { riskyChange, safeChange } from '../support/changes.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import { applyDeployment, applyPolicy, assessmentOf, deploymentManifest } from '../support/objects.js';
import { waitFor } from '../support/wait.js';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Result> {
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd: options.cwd ?? repoRoot, env: options.env ?? process.env, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
      },
    );
  });
}

const dist = path.join(repoRoot, 'dist');
const sha256 = async (file: string) =>
  createHash('sha256')
    .update(await readFile(file))
    .digest('hex');

describe('make dist: one file to install, run where there is no Node', () => {
  let home = '';
  let bin = '';
  let ns = '';
  let operator: ChildProcess | undefined;
  let version = '';

  /** kubectl with a PATH of the plugin's directory and kubectl's own, nothing else. */
  function kubectl(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Result> {
    return run(path.join(bin, 'kubectl'), args, {
      cwd: home,
      env: { PATH: bin, HOME: home, KUBECONFIG: inject('kubeconfig'), ...env },
    });
  }

  beforeAll(async () => {
    version = (JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
    const built = await run('make', ['-s', 'dist'], {
      env: { ...process.env, PATH: `${inject('binDir')}:${process.env.PATH ?? ''}` },
    });
    if (built.code !== 0) throw new Error(`make dist failed:\n${built.stdout}\n${built.stderr}`);
    const sbom = await run('make', ['-s', 'sbom']);
    if (sbom.code !== 0) throw new Error(`make sbom failed:\n${sbom.stdout}\n${sbom.stderr}`);

    home = await mkdtemp(path.join(os.tmpdir(), 'rollguard-dist-'));
    bin = path.join(home, 'bin');
    await mkdir(bin);
    await copyFile(path.join(dist, 'rollguard-linux-amd64'), path.join(bin, 'kubectl-rollguard'));
    await chmod(path.join(bin, 'kubectl-rollguard'), 0o755);
    await symlink(path.join(inject('binDir'), 'kubectl'), path.join(bin, 'kubectl'));

    ns = await createNamespace('dist');
    await applyPolicy(ns, 'guard', {
      selector: { matchLabels: { 'rollguard.io/enabled': 'true' } },
      thresholds: { monitor: 0.3, rollbackReady: 0.45, block: 0.6 },
    });
    // The operator is the executable too: `rollguard controller`, the program the image runs.
    let logs = '';
    const controller = spawn(
      path.join(bin, 'kubectl-rollguard'),
      ['controller', `--kubeconfig=${inject('kubeconfig')}`, '--metrics-address=127.0.0.1:0', '--no-learning'],
      { cwd: home, env: { PATH: bin, HOME: home }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    operator = controller;
    controller.stdout.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
    controller.stderr.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
    await waitFor(
      "the executable's controller to serve its metrics",
      () => Promise.resolve(/"metricsPort":\d+/.test(logs) ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 200 },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${logs}`);
    });
    await applyDeployment({ namespace: ns, name: 'web', annotations: safeChange });
    await waitFor(
      'web revision 1 assessed',
      async () => ((await assessmentOf(ns, 'web', 1))?.status?.level ? true : undefined),
      {
        timeoutMs: 30_000,
        intervalMs: 200,
      },
    );
  }, 600_000);

  afterAll(async () => {
    const running = operator?.exitCode === null ? operator : undefined;
    if (running) {
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await exited;
    }
    if (ns) await deleteNamespace(ns);
    if (home) await rm(home, { recursive: true, force: true });
  });

  it('needs neither Node nor node_modules', async () => {
    expect(await readdir(bin)).toEqual(['kubectl', 'kubectl-rollguard']);
    expect((await run('/bin/sh', ['-c', 'command -v node || echo none'], { env: { PATH: bin } })).stdout.trim()).toBe(
      'none',
    );
    const file = await run('file', ['-b', path.join(bin, 'kubectl-rollguard')], { env: { PATH: '/usr/bin:/bin' } });
    expect(file.stdout).toMatch(/^ELF 64-bit LSB (pie )?executable, x86-64/);
    const size = (await stat(path.join(bin, 'kubectl-rollguard'))).size;
    expect(size).toBeGreaterThan(50 * 1024 * 1024);
  });

  it('kubectl rollguard --help and --version', async () => {
    const help = await kubectl(['rollguard', '--help']);
    expect(help.stderr).toBe('');
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: kubectl rollguard <command> [options]');
    for (const command of ['score', 'history', 'explain', 'approve', 'abort', 'status', 'completion', 'controller']) {
      expect(help.stdout).toMatch(new RegExp(`\\n {2}${command} +\\S`));
    }
    const v = await kubectl(['rollguard', '--version']);
    expect(v.stdout.trim()).toBe(`kubectl rollguard ${version}`);
    const completion = await kubectl(['rollguard', 'completion', 'bash']);
    expect(completion.stdout).toContain('complete -o nosort -F _rollguard_complete rollguard kubectl-rollguard');
  });

  it('scores offline with the model it carries', async () => {
    const manifest = path.join(home, 'checkout.json');
    await writeFile(manifest, deploymentManifest({ namespace: 'shop', name: 'checkout', annotations: riskyChange }));
    const scored = await kubectl(['rollguard', 'score', '-f', manifest, '--no-cluster']);
    expect(scored.stderr).toBe('');
    expect(scored.code).toBe(20);
    expect(scored.stdout).toMatch(/shop\/checkout: score [\d.]+, level block/);
    expect(scored.stdout).toMatch(/scored by model jit-apachejit/);
  });

  it('says what it cannot find when it cannot unpack its files, and scores with the rules', async () => {
    const manifest = path.join(home, 'checkout-safe.json');
    await writeFile(manifest, deploymentManifest({ namespace: 'shop', name: 'checkout', annotations: safeChange }));
    // Below a plain file no directory can be made, whoever runs the test (root ignores permissions).
    await writeFile(path.join(home, 'a-file'), '');
    const nowhere = path.join(home, 'a-file', 'cache');
    const scored = await kubectl(['rollguard', 'score', '-f', manifest, '--no-cluster'], {
      HOME: nowhere,
      TMPDIR: nowhere,
      ROLLGUARD_CACHE_DIR: nowhere,
    });
    expect(scored.stderr).toContain('rollguard: cannot unpack the files built into this executable');
    expect(scored.stderr).toContain('missing: models/default/model.json');
    expect(scored.stdout).toContain('scored by rules');
  });

  it('kubectl rollguard status against the cluster', async () => {
    const status = await kubectl(['rollguard', 'status', 'deploy/web', '-n', ns]);
    expect(status.stderr).toBe('');
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^web revision 1 \(safe\): /);
    expect(status.stdout).toContain('risk: safe (score');
    expect(status.stdout).toContain('verification: off (the policy names no Prometheus');
  });

  it('ships a krew manifest and checksums that match the files', async () => {
    const manifest = parse(await readFile(path.join(dist, 'rollguard.krew.yaml'), 'utf8')) as {
      kind: string;
      metadata: { name: string };
      spec: {
        version: string;
        platforms: { uri: string; sha256: string; bin: string; selector: { matchLabels: Record<string, string> } }[];
      };
    };
    expect(manifest.kind).toBe('Plugin');
    expect(manifest.metadata.name).toBe('rollguard');
    expect(manifest.spec.version).toBe(`v${version}`);
    const [platform] = manifest.spec.platforms;
    expect(platform?.selector.matchLabels).toEqual({ os: 'linux', arch: 'amd64' });
    expect(platform?.bin).toBe('kubectl-rollguard');
    const archive = path.join(dist, path.basename(platform?.uri ?? ''));
    expect(await sha256(archive)).toBe(platform?.sha256);
    const unpacked = path.join(home, 'krew');
    await mkdir(unpacked);
    expect((await run('tar', ['-xzf', archive, '-C', unpacked])).code).toBe(0);
    expect(await sha256(path.join(unpacked, 'kubectl-rollguard'))).toBe(
      await sha256(path.join(dist, 'rollguard-linux-amd64')),
    );

    const sums = await run('sha256sum', ['-c', 'SHA256SUMS'], { cwd: dist });
    expect(sums.code).toBe(0);
    expect(sums.stdout).toContain('rollguard-linux-amd64: OK');
    expect(sums.stdout).toContain(`rollguard-${version}.tgz: OK`);
    expect(sums.stdout).toContain('rollguard.krew.yaml: OK');
  });

  it('packages the chart with its Artifact Hub metadata', async () => {
    const shown = await run(path.join(inject('binDir'), 'helm'), [
      'show',
      'chart',
      path.join(dist, `rollguard-${version}.tgz`),
    ]);
    expect(shown.code).toBe(0);
    const chart = parse(shown.stdout) as { annotations: Record<string, string>; version: string };
    expect(chart.version).toBe(version);
    expect(chart.annotations['artifacthub.io/license']).toBe('Apache-2.0');
    expect(chart.annotations['artifacthub.io/operator']).toBe('true');
    const images = parse(chart.annotations['artifacthub.io/images'] ?? '') as { image: string }[];
    expect(images.map((i) => i.image)).toContain(`ghcr.io/rollguard/rollguard:${version}`);
    const crds = parse(chart.annotations['artifacthub.io/crds'] ?? '') as { kind: string }[];
    expect(crds.map((c) => c.kind).sort()).toEqual(['DeploymentRiskPolicy', 'RolloutAssessment']);
  });

  it('make sbom writes a CycloneDX SBOM of the shipped packages', async () => {
    const bom = JSON.parse(await readFile(path.join(dist, 'sbom.cdx.json'), 'utf8')) as {
      bomFormat: string;
      specVersion: string;
      metadata: { component: { name: string; version: string } };
      components: { name: string; group?: string; version: string; purl?: string; components?: unknown[] }[];
    };
    expect(bom.bomFormat).toBe('CycloneDX');
    expect(bom.specVersion).toBe('1.6');
    expect(bom.metadata.component).toMatchObject({ name: 'rollguard', version });
    type Component = (typeof bom.components)[number];
    const all: Component[] = [];
    const walk = (list: Component[]) => {
      for (const c of list) {
        all.push(c);
        walk((c.components ?? []) as Component[]);
      }
    };
    walk(bom.components);
    expect(all.length).toBeGreaterThan(20);
    for (const c of all) expect(c.purl, `${c.group ?? ''}/${c.name}`).toMatch(/^pkg:npm\//);
    const pkg = JSON.parse(await readFile(path.join(repoRoot, 'package.json'), 'utf8')) as {
      dependencies: Record<string, string>;
      devDependencies: Record<string, string>;
    };
    const names = new Set(all.map((c) => (c.group ? `${c.group}/${c.name}` : c.name)));
    for (const dependency of Object.keys(pkg.dependencies)) expect(names, dependency).toContain(dependency);
    // What is only for development is not shipped, so not listed.
    for (const dev of ['vitest', 'eslint', 'postject']) expect(names).not.toContain(dev);
  });
});
