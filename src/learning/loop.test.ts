import { pino } from 'pino';
import { describe, expect, it, vi } from 'vitest';
import type { AssessmentObject } from '../api/objects.js';
import { ModelHolder } from '../controller/model-source.js';
import { FEATURE_NAMES } from '../model/contract.js';
import { buildBundle } from '../model/pipeline.js';
import { decodeModelBlob, encodeModelBlob, type ModelBundle } from '../model/store.js';
import { syntheticRows } from '../model/testing.js';
import { trainForest } from '../model/train.js';
import { OperatorMetrics } from '../telemetry/metrics.js';
import { summariseReference, type ReferenceSummary } from './drift.js';
import { examplesFrom } from './examples.js';
import { LearningLoop, type LearningLoopDeps, type LearningOptions } from './loop.js';
import { modelConfigMap, storedModelFrom, type ModelStore, type ModelToStore, type StoredModel } from './store.js';
import { assessmentObjects, syntheticRollouts } from './testing.js';
import { InProcessTrainer, type RetrainRequest, type RetrainResult, type Trainer } from './worker.js';

const OPTIONS: LearningOptions = {
  minNewOutcomes: 10,
  minTotalOutcomes: 40,
  checkEveryMs: 60_000,
  forest: { trees: 30, seed: 1 },
};

/** A contract model that knows nothing useful about the synthetic rollouts: it splits on noise. */
function weakModel(followsContract = true): ModelBundle {
  const data = syntheticRows(200, 9, FEATURE_NAMES.length);
  return buildBundle(trainForest(data.rows, data.labels, { trees: 10, seed: 2 }), data, {
    name: 'weak-v1',
    featureNames: FEATURE_NAMES,
    followsContract,
    dataDescription: 'noise',
    evaluation: null,
    trainedAt: new Date('2024-12-01T00:00:00Z'),
  });
}

class MemoryStore implements ModelStore {
  readonly location = 'ConfigMap test/rollguard-model';
  kept: ModelToStore | undefined;
  failures: Error[] = [];
  saves = 0;

  load(): Promise<StoredModel | undefined> {
    return Promise.resolve(
      this.kept ? storedModelFrom(modelConfigMap('rollguard-model', 'test', this.kept)) : undefined,
    );
  }

  storedVersion(): Promise<string | undefined> {
    return Promise.resolve(this.kept?.modelVersion);
  }

  save(model: ModelToStore): Promise<void> {
    this.saves++;
    const failure = this.failures.shift();
    if (failure) return Promise.reject(failure);
    this.kept = model;
    return Promise.resolve();
  }
}

/** Changes what the real trainer returns, to play a worse candidate or a failure. */
class ScriptedTrainer implements Trainer {
  calls = 0;
  constructor(private readonly change: (result: RetrainResult) => RetrainResult = (result) => result) {}

  async train(request: RetrainRequest): Promise<RetrainResult> {
    this.calls++;
    return this.change(await new InProcessTrainer().train(request));
  }
}

interface Harness {
  loop: LearningLoop;
  holder: ModelHolder;
  metrics: OperatorMetrics;
  store: MemoryStore;
  logs: string[];
  assessments: AssessmentObject[];
}

function harness(
  overrides: Partial<LearningLoopDeps> & { current?: ModelBundle | null; assessments?: AssessmentObject[] } = {},
): Harness {
  const metrics = new OperatorMetrics({ defaultMetrics: false });
  const holder = new ModelHolder(metrics);
  const current = overrides.current === undefined ? weakModel() : overrides.current;
  if (current) holder.use(current);
  const store = (overrides.store as MemoryStore | undefined) ?? new MemoryStore();
  const logs: string[] = [];
  const logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(line) });
  const assessments = overrides.assessments ?? assessmentObjects(syntheticRollouts({ count: 80, seed: 3 }));
  const loop = new LearningLoop({
    listAssessments: () => assessments,
    modelHolder: holder,
    store,
    metrics,
    logger,
    clock: () => new Date('2025-06-01T00:00:00Z'),
    options: OPTIONS,
    trainer: new ScriptedTrainer(),
    references: { referenceFor: () => Promise.resolve(undefined) },
    ...overrides,
  });
  return { loop, holder, metrics, store, logs, assessments };
}

const messages = (logs: readonly string[]): string[] => logs.map((line) => (JSON.parse(line) as { msg: string }).msg);

describe('LearningLoop retraining', () => {
  it('waits until enough outcomes arrived, saying why once', async () => {
    const few = assessmentObjects(syntheticRollouts({ count: 20, seed: 3 }));
    const { loop, holder, logs, store } = harness({ assessments: few });
    const before = holder.current()?.version;
    expect(await loop.checkNow()).toMatchObject({ status: 'waiting', reason: '20 finished rollouts, need 40 in all' });
    await loop.checkNow();
    expect(holder.current()?.version).toBe(before);
    expect(store.saves).toBe(0);
    expect(messages(logs).filter((msg) => msg.startsWith('not retraining'))).toHaveLength(2);
    expect(logs.filter((line) => line.includes('"level":30') && line.includes('not retraining'))).toHaveLength(1);
  });

  it('retrains on the cluster outcomes, accepts a better model, stores it and switches to it', async () => {
    const { loop, holder, store, logs, metrics } = harness();
    const result = await loop.checkNow();
    expect(result.status).toBe('accepted');
    expect(result.decision?.metric).toBe('auc');
    expect(result.decision?.candidate).toBeGreaterThan(result.decision?.current ?? 1);
    expect(holder.current()?.version).toBe(result.candidate);
    expect(holder.current()?.version).toMatch(/^cluster-v1-/);
    expect(store.kept?.modelVersion).toBe(result.candidate);
    expect(store.kept?.outcomes).toBe(80);
    expect(store.kept?.reference?.rows).toBe(80);
    expect(messages(logs)).toContainEqual(
      expect.stringMatching(
        /^retrained model accepted: the candidate's AUC \d\.\d{3} on the newest 24 outcomes \(\d+ risky\) is not worse than the current model's \d\.\d{3}$/,
      ),
    );
    const text = await metrics.registry.metrics();
    expect(text).toContain('rollguard_model_retrains_total{result="accepted"} 1');
    expect(text).toContain(`rollguard_model_info{version="${result.candidate ?? ''}"} 1`);
    expect(text).not.toContain('weak-v1');
    // The kept model was trained on all 80 and says how it was evaluated.
    const kept = decodeModelBlob(store.kept?.blob ?? '');
    expect(kept.meta.data.rows).toBe(80);
    expect(kept.meta.evaluation?.method).toMatch(/trained on the oldest 56, tested on the newest 24/);
  });

  it('does not retrain again until minNewOutcomes more outcomes are known', async () => {
    const rollouts = syntheticRollouts({ count: 90, seed: 3 });
    const assessments = assessmentObjects(rollouts.slice(0, 80));
    const trainer = new ScriptedTrainer();
    const { loop } = harness({ assessments, trainer });
    expect((await loop.checkNow()).status).toBe('accepted');
    expect(await loop.checkNow()).toMatchObject({
      status: 'waiting',
      reason: '0 new outcomes since the last training, need 10',
    });
    assessments.push(...assessmentObjects(rollouts.slice(80)));
    expect((await loop.checkNow()).status).not.toBe('waiting');
    expect(trainer.calls).toBe(2);
  });

  it('rejects a worse candidate, logs both AUCs, and waits for new outcomes before trying again', async () => {
    const worse = new ScriptedTrainer((result) => ({
      ...result,
      candidateScores: result.candidateScores.map((score) => 1 - score),
    }));
    const { loop, holder, store, logs, metrics } = harness({ trainer: worse });
    const before = holder.current()?.version;
    const result = await loop.checkNow();
    expect(result.status).toBe('rejected');
    expect(holder.current()?.version).toBe(before);
    expect(store.saves).toBe(0);
    expect(messages(logs)).toContainEqual(
      expect.stringMatching(
        /^retrained model rejected: the candidate's AUC \d\.\d{3} on the newest 24 outcomes \(\d+ risky\) is worse than the current model's \d\.\d{3}$/,
      ),
    );
    const line = logs.find((entry) => entry.includes('retrained model rejected'));
    expect(line).toMatch(/"candidate_auc":[\d.]+/);
    expect(line).toMatch(/"current_auc":[\d.]+/);
    expect(await metrics.registry.metrics()).toContain('rollguard_model_retrains_total{result="rejected"} 1');
    expect((await loop.checkNow()).status).toBe('waiting');
    expect(worse.calls).toBe(1);
  });

  it('with no model in use, accepts a candidate that beats chance', async () => {
    const { loop, holder } = harness({ current: null });
    const result = await loop.checkNow();
    expect(result.status).toBe('accepted');
    expect(result.decision?.reason).toMatch(/^no model in use; the candidate's AUC/);
    expect(holder.current()?.version).toBe(result.candidate);
  });

  it('keeps the model in use when the accepted one cannot be stored, and tries again at the next check', async () => {
    const store = new MemoryStore();
    store.failures.push(new Error('configmaps is forbidden'));
    const { loop, holder, metrics } = harness({ store });
    const before = holder.current()?.version;
    expect(await loop.checkNow()).toMatchObject({
      status: 'failed',
      reason: 'storing the model failed: configmaps is forbidden',
    });
    expect(holder.current()?.version).toBe(before);
    expect(await metrics.registry.metrics()).toContain('rollguard_learning_errors_total{stage="store"} 1');
    expect((await loop.checkNow()).status).toBe('accepted');
  });

  it('never lets a failing trainer or listing out', async () => {
    const failing: Trainer = { train: () => Promise.reject(new Error('out of memory')) };
    const { loop, metrics } = harness({ trainer: failing });
    expect(await loop.checkNow()).toMatchObject({ status: 'failed', reason: 'retraining failed: out of memory' });
    expect((await loop.checkNow()).status).toBe('waiting');
    const broken = harness({
      listAssessments: () => {
        throw new Error('cache not synced');
      },
    });
    expect(await broken.loop.checkNow()).toMatchObject({ status: 'failed' });
    const text = await metrics.registry.metrics();
    expect(text).toContain('rollguard_learning_errors_total{stage="train"} 1');
    expect(text).toContain('rollguard_model_retrains_total{result="failed"} 1');
    expect(await broken.metrics.registry.metrics()).toContain('rollguard_learning_errors_total{stage="list"} 1');
  });

  it('learns only from the assessments it is told to include', async () => {
    const { loop } = harness({ includeAssessment: (assessment) => assessment.metadata?.name?.endsWith('1') ?? false });
    expect(await loop.checkNow()).toMatchObject({ status: 'waiting', reason: '8 finished rollouts, need 40 in all' });
  });

  it("leaves retraining to the leader, and follows the leader's accepted model", async () => {
    const leader = harness();
    const trainer = new ScriptedTrainer();
    const standby = harness({ isLeader: () => false, trainer, store: leader.store });
    const before = standby.holder.current()?.version;
    expect((await standby.loop.checkNow()).status).toBe('not-leader');
    expect(standby.holder.current()?.version).toBe(before);
    const accepted = await leader.loop.checkNow();
    expect((await standby.loop.checkNow()).status).toBe('not-leader');
    expect(standby.holder.current()?.version).toBe(accepted.candidate);
    expect(trainer.calls).toBe(0);
  });
});

describe('LearningLoop start and stop', () => {
  it('after a restart, loads the kept model and its training state from the store', async () => {
    const first = harness();
    const accepted = await first.loop.checkNow();
    const second = harness({ store: first.store });
    const shipped = second.holder.current()?.version;
    await second.loop.start();
    expect(second.holder.current()?.version).toBe(accepted.candidate);
    expect(second.holder.current()?.version).not.toBe(shipped);
    expect(messages(second.logs)).toContain('learned risk model loaded from the cluster');
    // trained-through came back too: nothing new to learn from.
    expect((await second.loop.checkNow()).status).toBe('waiting');
    await second.loop.stop();
  });

  it('ignores a kept model that does not fit this rollguard', async () => {
    const store = new MemoryStore();
    const misfit = weakModel(false);
    store.kept = {
      blob: encodeModelBlob(misfit),
      modelVersion: misfit.meta.modelVersion,
      reference: undefined,
      trainedThrough: undefined,
      outcomes: 1,
      reason: 'test',
    };
    const { loop, holder, logs, metrics } = harness({ store });
    const before = holder.current()?.version;
    await loop.start();
    expect(holder.current()?.version).toBe(before);
    expect(messages(logs)).toContain(
      'the learned model kept in the cluster does not fit this rollguard; keeping the model in use',
    );
    expect(await metrics.registry.metrics()).toContain('rollguard_learning_errors_total{stage="load"} 1');
    await loop.stop();
  });

  it('stop() aborts a training in progress without counting it as a failure', async () => {
    let started = (): void => undefined;
    const training = new Promise<void>((resolve) => {
      started = resolve;
    });
    const hanging: Trainer = {
      train: (_request, signal) =>
        new Promise((_resolve, reject) => {
          started();
          signal?.addEventListener('abort', () => {
            reject(new Error('aborted'));
          });
        }),
    };
    const { loop, metrics, holder } = harness({ trainer: hanging });
    const before = holder.current()?.version;
    await loop.start();
    const check = loop.checkNow();
    await training;
    await loop.stop();
    expect(await check).toMatchObject({ status: 'failed', reason: 'stopped' });
    expect(holder.current()?.version).toBe(before);
    expect(await metrics.registry.metrics()).not.toContain('rollguard_model_retrains_total{result="failed"}');
  });

  it('checks every checkEveryMs until stopped', async () => {
    const trainer = new ScriptedTrainer();
    const { loop, holder } = harness({ trainer, options: { ...OPTIONS, checkEveryMs: 5 } });
    const before = holder.current()?.version;
    await loop.start();
    await vi.waitFor(() => {
      expect(holder.current()?.version).not.toBe(before);
    });
    await loop.stop();
    const calls = trainer.calls;
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(trainer.calls).toBe(calls);
  });
});

describe('LearningLoop drift', () => {
  const baseline = syntheticRollouts({ count: 200, seed: 11 });
  const referenceOf = (version: string, reference: ReferenceSummary) => ({
    referenceFor: (asked: string) => Promise.resolve(asked === version ? reference : undefined),
  });
  const training = summariseReference(
    examplesFrom(assessmentObjects(baseline)).map((example) => example.row),
    'baseline',
  );

  it('measures drift of the model in use, exports it, and calls back when it turns high', async () => {
    const current = weakModel();
    const drifted = assessmentObjects(syntheticRollouts({ count: 60, seed: 12, scale: 20 }));
    const verdicts: boolean[] = [];
    const { loop, metrics } = harness({
      current,
      assessments: drifted,
      references: referenceOf(current.meta.modelVersion, training),
      isLeader: () => false,
      onDriftChange: (verdict) => verdicts.push(verdict.high),
    });
    expect(loop.driftVerdict()).toMatchObject({ high: false, message: 'drift not checked yet' });
    expect(loop.measuredDrift()).toBeUndefined();
    const result = await loop.checkNow();
    expect(loop.measuredDrift()).toBe(loop.driftVerdict());
    expect(result.drift.high).toBe(true);
    expect(loop.driftVerdict().message).toMatch(
      /features drifted from the training data over the last 60 rollouts: .*lines_added \(KS D/,
    );
    expect(loop.driftVerdict().modelVersion).toBe(current.meta.modelVersion);
    expect(verdicts).toEqual([true]);
    const text = await metrics.registry.metrics();
    expect(text).toMatch(
      /rollguard_feature_drift\{feature="lines_added"\} 0\.\d+|rollguard_feature_drift\{feature="lines_added"\} 1/,
    );
    expect(text).toContain('rollguard_model_drift_high 1');
    // Unchanged verdict: no second call, and the policies keep the verdict they were given (no status write).
    const reported = loop.measuredDrift();
    await loop.checkNow();
    expect(verdicts).toEqual([true]);
    expect(loop.driftVerdict()).not.toBe(reported);
    expect(loop.measuredDrift()).toBe(reported);
  });

  it('compares with the training data of a model it trained itself, and drops features no longer measured', async () => {
    const current = weakModel();
    const { loop, metrics } = harness({ current, references: referenceOf(current.meta.modelVersion, training) });
    const result = await loop.checkNow();
    expect(result.status).toBe('accepted');
    expect(result.drift.modelVersion).toBe(result.candidate);
    // The recent rollouts are the training data: nothing drifted.
    expect(result.drift.high).toBe(false);
    expect(result.drift.message).toMatch(/^no drift over the last 80 rollouts/);
    const text = await metrics.registry.metrics();
    expect(text).toContain('rollguard_model_drift_high 0');
    const measured = result.drift.features.map((feature) => feature.feature);
    for (const line of text.split('\n').filter((l) => l.startsWith('rollguard_feature_drift{'))) {
      expect(measured).toContain(/feature="([^"]+)"/.exec(line)?.[1]);
    }
  });

  it('says so when there is no training summary for the model in use', async () => {
    const { loop, metrics } = harness({ isLeader: () => false });
    const result = await loop.checkNow();
    expect(result.drift).toMatchObject({ high: false, features: [] });
    expect(result.drift.message).toMatch(/^no summary of the training data of model weak-v1-/);
    expect(await metrics.registry.metrics()).toContain('rollguard_model_drift_high 0');
  });
});
