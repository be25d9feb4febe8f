import { threadId } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../model/contract.js';
import { loadForest } from '../model/forest.js';
import { decodeModelBlob, MAX_BLOB_BYTES, ModelTooLargeError } from '../model/store.js';
import { syntheticRows } from '../model/testing.js';
import { InProcessTrainer, runRetrain, WorkerTrainer, workerEntry, type RetrainRequest } from './worker.js';

const WIDTH = FEATURE_NAMES.length;

function request(overrides: Partial<RetrainRequest> = {}): RetrainRequest {
  const train = syntheticRows(160, 3, WIDTH);
  const test = syntheticRows(60, 4, WIDTH);
  return {
    train,
    test,
    forest: { trees: 20, seed: 7 },
    name: 'cluster-v1',
    dataDescription: 'test rows',
    trainedAt: '2025-01-02T03:04:05.000Z',
    maxBlobBytes: MAX_BLOB_BYTES,
    ...overrides,
  };
}

describe('runRetrain', () => {
  it('returns a contract model as a ConfigMap blob, its held-out figures and both models held-out scores', () => {
    const current = runRetrain(request({ forest: { trees: 5, seed: 1 } }));
    const currentForest = decodeModelBlob(current.blob).forest;
    const result = runRetrain(request({ currentForest }));
    const bundle = decodeModelBlob(result.blob);
    expect(bundle.meta.modelVersion).toBe(result.modelVersion);
    expect(result.modelVersion).toMatch(/^cluster-v1-[0-9a-f]{12}$/);
    expect(bundle.meta.contractVersion).toBe(1);
    expect(bundle.meta.featureNames).toEqual(FEATURE_NAMES);
    expect(bundle.meta.data.rows).toBe(220);
    expect(bundle.meta.trainedAt).toBe('2025-01-02T03:04:05.000Z');
    expect(bundle.meta.evaluation?.testRows).toBe(60);
    expect(bundle.meta.evaluation?.trainRows).toBe(160);
    expect(bundle.meta.evaluation?.method).toContain('trained on all 220');
    expect(result.evaluation?.auc).toBeGreaterThan(0.8);
    expect(result.candidateScores).toHaveLength(60);
    expect(result.currentScores).toHaveLength(60);
    expect(loadForest(bundle.forest).scoreRows(request().test.rows)).toHaveLength(60);
  });

  it('is deterministic for the same rows, options and time', () => {
    expect(runRetrain(request()).modelVersion).toBe(runRetrain(request()).modelVersion);
  });

  it('records no evaluation when the held-out rows have one outcome only', () => {
    const test = syntheticRows(60, 4, WIDTH);
    const result = runRetrain(request({ test: { rows: test.rows, labels: test.labels.map(() => 0 as const) } }));
    expect(result.evaluation).toBeNull();
    expect(decodeModelBlob(result.blob).meta.evaluation).toBeNull();
  });

  it('trains with a larger minSamplesLeaf until the model fits, and fails when it never does', () => {
    const roomy = runRetrain(request({ forest: { trees: 20, seed: 7, minSamplesLeaf: 1 } }));
    expect(roomy.minSamplesLeaf).toBe(1);
    const tight = runRetrain(
      request({ forest: { trees: 20, seed: 7, minSamplesLeaf: 1 }, maxBlobBytes: Math.floor(roomy.blob.length * 0.7) }),
    );
    expect(tight.minSamplesLeaf).toBeGreaterThan(1);
    expect(tight.blob.length).toBeLessThanOrEqual(Math.floor(roomy.blob.length * 0.7));
    expect(() => runRetrain(request({ maxBlobBytes: 100 }))).toThrow(ModelTooLargeError);
  });
});

describe('WorkerTrainer', () => {
  it('trains in another thread and returns a model ml-random-forest loads', async () => {
    const result = await new WorkerTrainer().train(request());
    expect(result.threadId).not.toBe(threadId);
    expect(result.threadId).toBeGreaterThan(0);
    const bundle = decodeModelBlob(result.blob);
    const forest = loadForest(bundle.forest);
    expect(forest.featureCount).toBeLessThanOrEqual(WIDTH);
    expect(forest.treeCount).toBe(20);
    // The same model as in process: the thread is only where it runs.
    expect(result.modelVersion).toBe(runRetrain(request()).modelVersion);
  });

  it("passes the trainer's error back with its name", async () => {
    const bad = request({ train: { rows: [[1, 2]], labels: [1] } });
    await expect(new WorkerTrainer().train(bad)).rejects.toMatchObject({ name: 'RetrainError', kind: 'TrainingError' });
  });

  it('stops when its signal aborts', async () => {
    const big = request({ train: syntheticRows(20_000, 5, WIDTH), forest: { trees: 200, seed: 1 } });
    const controller = new AbortController();
    const training = new WorkerTrainer().train(big, controller.signal);
    setTimeout(() => {
      controller.abort();
    }, 20);
    await expect(training).rejects.toMatchObject({ kind: 'aborted' });
    const aborted = AbortSignal.abort();
    await expect(new WorkerTrainer().train(request(), aborted)).rejects.toMatchObject({ kind: 'aborted' });
  });

  it('stops a retraining that takes too long', async () => {
    const big = request({ train: syntheticRows(20_000, 5, WIDTH), forest: { trees: 200, seed: 1 } });
    await expect(new WorkerTrainer({ timeoutMs: 50 }).train(big)).rejects.toMatchObject({ kind: 'timeout' });
  });
});

describe('InProcessTrainer', () => {
  it('runs runRetrain and turns its throw into a rejection', async () => {
    await expect(new InProcessTrainer().train(request({ maxBlobBytes: 100 }))).rejects.toBeInstanceOf(
      ModelTooLargeError,
    );
  });
});

describe('workerEntry', () => {
  it.each([
    { moduleUrl: 'file:///app/dist/src/learning/worker.js', file: 'worker-main.js', loader: false },
    // The bundle, as the image runs it and as the executable unpacks it: CommonJS, named so under any package.json.
    { moduleUrl: 'file:///app/dist/sea/rollguard.cjs', file: 'worker-main.cjs', loader: false },
    {
      moduleUrl: 'file:///home/me/.cache/rollguard/sea-0123/bin/rollguard.cjs',
      file: 'worker-main.cjs',
      loader: false,
    },
    { moduleUrl: 'file:///repo/src/learning/worker.ts', file: 'worker-main.ts', loader: true },
  ])('$moduleUrl → $file', ({ moduleUrl, file, loader }) => {
    // createRequire resolves tsx from the real module, whatever the URL given.
    const entry = workerEntry(loader ? import.meta.url.replace(/worker\.test\.ts$/, 'worker.ts') : moduleUrl);
    expect(entry.url.pathname.endsWith(`/${file}`)).toBe(true);
    if (loader) expect(entry.execArgv?.[0] ?? '--import').toBe('--import');
    else expect(entry.execArgv).toBeUndefined();
  });
});
