// The controller image, short of Docker (none runs here): the files the Dockerfile's runtime stage copies, laid
// out in a directory as that stage lays them out (its COPY lines read from the Dockerfile itself, so a file the
// image lacks is missing here too), then started with the image's ENV, ENTRYPOINT and CMD, from its WORKDIR, with no
// node_modules anywhere above it. It must find its model and its drift reference, assess a rollout on the
// real control plane with the model, measure drift in its worker thread, and, restarted with outcomes enough to
// learn from, retrain in that thread and score the next rollout with what it learned. A package.json with "type":
// "module" lies above the files, as this repository's does when the bundle runs from dist/sea (bench-scale)
// and as one may above the directory the executable unpacks into: the bundle's files are CommonJS wherever
// they lie.
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { bundle } from '../../hack/build-dist.js';
import { annotations as storeAnnotations, DEFAULT_MODEL_CONFIGMAP } from '../../src/learning/store.js';
import { syntheticRollouts } from '../../src/learning/testing.js';
import { runtimeStage, type RuntimeStage } from '../harness/dockerfile.js';
import { repoRoot } from '../harness/tools.js';
import { safeChange } from '../support/changes.js';
import { kubectlJson } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import { applyDeployment, applyPolicy, assessmentOf } from '../support/objects.js';
import { createOutcomes, isFinished } from '../support/outcomes.js';
import { waitFor } from '../support/wait.js';

describe("the image's runtime stage, run from its own files", () => {
  let root = '';
  let workdir = '';
  let ns = '';
  let stage: RuntimeStage;
  let operator: ChildProcess | undefined;
  let logs = '';

  /** A failed wait says what the controller logged, which is all CI shows of it. */
  function withLogs<T>(waiting: Promise<T>): Promise<T> {
    return waiting.catch((err: unknown) => {
      throw new Error(`${String(err)}\n${logs}`);
    });
  }

  /** The status of the Deployment `web`'s assessment of `revision`, once scored. */
  function scoredStatus(revision: number) {
    return withLogs(
      waitFor(
        `web revision ${String(revision)} assessed`,
        async () => {
          const found = (await assessmentOf(ns, 'web', revision))?.status;
          return found?.level ? found : undefined;
        },
        { timeoutMs: 60_000, intervalMs: 200 },
      ),
    );
  }

  /** The image's ENTRYPOINT and CMD, from its WORKDIR, with its ENV and these flags; resolves once it serves. */
  async function startOperator(flags: readonly string[]): Promise<ChildProcess> {
    const [program, ...args] = stage.entrypoint;
    expect(program).toBe('node');
    logs = '';
    const child = spawn(
      process.execPath,
      [...args, ...stage.cmd, `--kubeconfig=${inject('kubeconfig')}`, '--metrics-address=127.0.0.1:0', ...flags],
      { cwd: workdir, env: { PATH: '/usr/bin:/bin', HOME: root, ...stage.env }, stdio: 'pipe' },
    );
    child.stdout.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (logs += chunk.toString('utf8')));
    await withLogs(
      waitFor(
        'the controller to serve its metrics',
        () => Promise.resolve(/"metricsPort":\d+/.test(logs) ? true : undefined),
        { timeoutMs: 60_000, intervalMs: 200 },
      ),
    );
    return child;
  }

  async function stopOperator(): Promise<void> {
    const running = operator?.exitCode === null ? operator : undefined;
    if (!running) return;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    running.kill('SIGTERM');
    await exited;
  }

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
    operator = await startOperator([
      // Learning on, so drift is measured (in the worker thread) at once; never enough outcomes to retrain.
      '--learning',
      '--retrain-interval=1s',
      '--retrain-min-total=1000000',
    ]);
  }, 300_000);

  afterAll(async () => {
    await stopOperator();
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
    const status = await scoredStatus(1);
    expect(status.scorer).toBe('model');
    expect(status.modelVersion).toBe(meta.modelVersion);
  });

  it("measures drift in its worker thread against the shipped model's training data", async () => {
    // The reference (7,526 ApacheJIT rows, summarised) is built in the thread the retraining runs in.
    const condition = await withLogs(
      waitFor(
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
      ),
    );
    // Set only once measured: without the reference it would say there is no summary of the training data.
    expect(condition.message).not.toMatch(/no summary of the training data|not checked yet/);
    expect(logs).not.toContain('measuring drift failed');
  });

  it('retrains in its worker thread, keeps the learned model in a ConfigMap and scores the next rollout with it', async () => {
    // A controller restarted with learning thresholds this namespace's outcomes meet, and watching only this
    // namespace, so what it learns from is exactly these 81 finished rollouts (under the policy `guard`, which
    // allows learning by default).
    await stopOperator();
    const rollouts = syntheticRollouts({ count: 100, seed: 5, unfinishedEvery: 10, prefix: 'shop' });
    await createOutcomes(ns, 'shop', rollouts, 'guard');
    operator = await startOperator([
      `--namespace=${ns}`,
      `--model-namespace=${ns}`,
      '--learning',
      '--retrain-interval=1s',
      '--retrain-min-total=50',
      '--retrain-min-new=20',
    ]);
    const lines = (): { msg?: string; candidate?: string; outcomes?: number }[] =>
      logs
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as { msg?: string; candidate?: string; outcomes?: number });
    // A retraining that fails in the thread is logged and never accepted: the wait then fails with the log.
    const accepted = await withLogs(
      waitFor(
        'the retrained model to be accepted',
        () => Promise.resolve(lines().find((line) => line.msg?.startsWith('retrained model accepted'))),
        { timeoutMs: 90_000, intervalMs: 500 },
      ),
    );
    expect(logs).not.toContain('"msg":"retraining failed');
    expect(lines().find((line) => line.msg === 'retraining the risk model on the cluster outcomes')?.outcomes).toBe(
      rollouts.filter(isFinished).length,
    );
    const learned = accepted.candidate ?? '';
    expect(learned).toMatch(/\S/);

    const configMap = await kubectlJson<{ metadata: { annotations: Record<string, string> } }>([
      '-n',
      ns,
      'get',
      'configmap',
      DEFAULT_MODEL_CONFIGMAP,
    ]);
    expect(configMap.metadata.annotations[storeAnnotations.modelVersion]).toBe(learned);

    await applyDeployment({
      namespace: ns,
      name: 'web',
      annotations: safeChange,
      image: 'registry.example/shop:1.1.0',
    });
    const status = await scoredStatus(2);
    expect(status.scorer).toBe('model');
    expect(status.modelVersion).toBe(learned);
  }, 300_000);
});
