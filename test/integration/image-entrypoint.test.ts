// The controller image, short of Docker (none runs here): the files the Dockerfile's runtime stage copies, laid
// out in a directory as that stage lays them out (its COPY lines read from the Dockerfile itself, so a file the
// image lacks is missing here too), then started with the image's ENV, ENTRYPOINT and CMD, from its WORKDIR, with no
// node_modules anywhere above it. It must find its model and its drift reference, assess a rollout on the
// real control plane with the model, and measure drift in its worker thread. A package.json with "type":
// "module" lies above the files, as this repository's does when the bundle runs from dist/sea (bench-scale)
// and as one may above the directory the executable unpacks into: the bundle's files are CommonJS wherever
// they lie.
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bundle } from '../../hack/build-dist.js';
import { runtimeStage, type RuntimeStage } from '../harness/dockerfile.js';
import { repoRoot } from '../harness/tools.js';
import { safeChange } from '../support/changes.js';
import { kubectlJson } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import { applyDeployment, applyPolicy, assessmentOf } from '../support/objects.js';
import { waitFor } from '../support/wait.js';

describe("the image's runtime stage, run from its own files", () => {
  let root = '';
  let workdir = '';
  let ns = '';
  let stage: RuntimeStage;
  let operator: ChildProcess | undefined;
  let logs = '';

  beforeAll(async () => {
    stage = await runtimeStage();
    // What the build stage's `tsx hack/build-dist.ts --bundle-only` produces: dist/sea.
    await bundle();

    root = await mkdtemp(path.join(os.tmpdir(), 'rollguard-image-'));
    await writeFile(path.join(root, 'package.json'), JSON.stringify({ type: 'module' }));
    workdir = path.join(root, stage.workdir);
    await mkdir(workdir, { recursive: true });
    for (const { fromBuild, sources, destination } of stage.copies) {
      // The build stage's WORKDIR is /app with the repository's layout; the context is the repository.
      const target = path.resolve(workdir, destination);
      for (const source of sources) {
        const from = path.join(repoRoot, fromBuild ? path.relative('/app', source) : source);
        const into = destination.endsWith('/') ? path.join(target, path.basename(source)) : target;
        await mkdir(path.dirname(into), { recursive: true });
        await cp(from, into, { recursive: true });
      }
    }

    ns = await createNamespace('image');
    await applyPolicy(ns, 'guard', { selector: { matchLabels: { 'rollguard.io/enabled': 'true' } } });
    const [program, ...args] = stage.entrypoint;
    expect(program).toBe('node');
    operator = spawn(
      process.execPath,
      [
        ...args,
        ...stage.cmd,
        `--kubeconfig=${inject('kubeconfig')}`,
        '--metrics-address=127.0.0.1:0',
        // Learning on, so drift is measured (in the worker thread) at once; never enough outcomes to retrain.
        '--learning',
        '--retrain-interval=1s',
        '--retrain-min-total=1000000',
      ],
      { cwd: workdir, env: { PATH: '/usr/bin:/bin', HOME: root, ...stage.env }, stdio: 'pipe' },
    );
    operator.stdout?.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
    operator.stderr?.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
    await waitFor(
      'the controller to serve its metrics',
      () => Promise.resolve(/"metricsPort":\d+/.test(logs) ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 200 },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${logs}`);
    });
  }, 300_000);

  afterAll(async () => {
    const running = operator?.exitCode === null ? operator : undefined;
    if (running) {
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGTERM');
      await exited;
    }
    if (ns) await deleteNamespace(ns);
    if (root) await rm(root, { recursive: true, force: true });
  });

  it('holds the bundle and the files it reads, and no node_modules', async () => {
    expect((await readdir(workdir)).sort()).toEqual(['data', 'dist', 'models']);
    expect(await readdir(root)).not.toContain('node_modules');
    expect((await readdir(path.join(workdir, 'dist', 'sea'))).sort()).toEqual(['rollguard.cjs', 'worker-main.cjs']);
    expect((await readdir(path.join(workdir, 'models', 'default'))).sort()).toContain('model.json');
    expect(await readdir(path.join(workdir, 'data', 'jit'))).toEqual(['apachejit-small.csv']);
  });

  it('loads the shipped model and assesses a rollout with it', async () => {
    const meta = JSON.parse(await readFile(path.join(repoRoot, 'models/default/meta.json'), 'utf8')) as {
      modelVersion: string;
    };
    expect(logs).toContain('"msg":"risk model loaded"');
    expect(logs).toContain(`"model":"${meta.modelVersion}"`);
    await applyDeployment({ namespace: ns, name: 'web', annotations: safeChange });
    const status = await waitFor(
      'web revision 1 assessed',
      async () => {
        const found = (await assessmentOf(ns, 'web', 1))?.status;
        return found?.level ? found : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${logs}`);
    });
    expect(status.scorer).toBe('model');
    expect(status.modelVersion).toBe(meta.modelVersion);
  });

  it("measures drift in its worker thread against the shipped model's training data", async () => {
    // The reference (7,526 ApacheJIT rows, summarised) is built in the thread the retraining runs in.
    const condition = await waitFor(
      "the policy's ModelDrift condition",
      async () => {
        const policy = await kubectlJson<{ status?: { conditions?: { type: string; message?: string }[] } }>([
          '-n',
          ns,
          'get',
          'deploymentriskpolicy',
          'guard',
        ]);
        return policy.status?.conditions?.find((c) => c.type === 'ModelDrift');
      },
      { timeoutMs: 60_000, intervalMs: 500 },
    ).catch((err: unknown) => {
      throw new Error(`${String(err)}\n${logs}`);
    });
    // Set only once measured: without the reference it would say there is no summary of the training data.
    expect(condition.message).not.toMatch(/no summary of the training data|not checked yet/);
    expect(logs).not.toContain('measuring drift failed');
  });
});
