// Learning in the cluster, against the real API server: finished RolloutAssessments created with kubectl (spec,
// then status through the status subresource, as the controller writes it) are the training data; a
// LearningLoop running in this process lists them with a real client call, retrains in a worker thread, keeps
// the accepted model in the ConfigMap `rollguard-model` and switches a real ModelHolder to it. A second loop (a
// restarted controller) must load that model from the ConfigMap and score with the same version.
import { CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import { pino, type Logger } from 'pino';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { AssessmentObject } from '../../src/api/objects.js';
import { loadModelSource, type ModelHolder } from '../../src/controller/model-source.js';
import { assessmentResource } from '../../src/api/resources.js';
import { CONFIGMAP_LIMIT_BYTES, decodeModelBlob } from '../../src/model/store.js';
import { LearningLoop, type LearningLoopDeps } from '../../src/learning/loop.js';
import {
  annotations,
  ConfigMapModelStore,
  configMapDataBytes,
  DEFAULT_MODEL_CONFIGMAP,
  MODEL_KEY,
} from '../../src/learning/store.js';
import { syntheticRollouts } from '../../src/learning/testing.js';
import { OperatorMetrics } from '../../src/telemetry/metrics.js';
import { kubectlJson } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import { createOutcomes, isFinished } from '../support/outcomes.js';
import { waitFor } from '../support/wait.js';

/** 100 rollouts an hour apart: every 10th still running and the one after it superseded, so 81 are finished. */
const ROLLOUTS = syntheticRollouts({ count: 100, seed: 5, unfinishedEvery: 10, prefix: 'shop' });
const FINISHED = ROLLOUTS.filter(isFinished);
const OPTIONS = { minNewOutcomes: 20, minTotalOutcomes: 50, checkEveryMs: 300 };

interface Running {
  loop: LearningLoop;
  holder: ModelHolder;
  metrics: OperatorMetrics;
  logs: string[];
}

describe('learning from outcomes in the cluster', () => {
  let namespace = '';
  let kubeConfig: KubeConfig;

  beforeAll(async () => {
    namespace = await createNamespace('learning');
    kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(inject('kubeconfig'));
    await createOutcomes(namespace, 'shop', ROLLOUTS);
  });

  afterAll(async () => {
    if (namespace) await deleteNamespace(namespace);
  });

  /** A controller's learning part as `rollguard controller` wires it: shipped model first, then the loop. */
  async function startLearning(extra: Partial<LearningLoopDeps> = {}): Promise<Running> {
    const logs: string[] = [];
    const logger: Logger = pino({ level: 'debug' }, { write: (line: string) => logs.push(line) });
    const metrics = new OperatorMetrics({ defaultMetrics: false });
    const holder = await loadModelSource(undefined, logger, metrics);
    const custom = kubeConfig.makeApiClient(CustomObjectsApi);
    const loop = new LearningLoop({
      listAssessments: async () => {
        const list = (await custom.listNamespacedCustomObject({ ...assessmentResource, namespace })) as {
          items: AssessmentObject[];
        };
        return list.items;
      },
      modelHolder: holder,
      store: ConfigMapModelStore.fromKubeConfig(kubeConfig, namespace),
      metrics,
      logger,
      options: OPTIONS,
      ...extra,
    });
    await loop.start();
    return { loop, holder, metrics, logs };
  }

  const messages = (logs: readonly string[]): string[] => logs.map((line) => (JSON.parse(line) as { msg: string }).msg);

  it('has the finished rollouts the test means to learn from', async () => {
    const list = await kubectlJson<{ items: { status?: { outcome?: string } }[] }>(['-n', namespace, 'get', 'ra']);
    expect(list.items).toHaveLength(ROLLOUTS.length);
    const finished = list.items.filter((item) =>
      ['succeeded', 'rolled-back', 'failed'].includes(item.status?.outcome ?? ''),
    );
    expect(finished).toHaveLength(FINISHED.length);
    expect(FINISHED.length).toBeGreaterThanOrEqual(OPTIONS.minTotalOutcomes);
  });

  it("measures drift against the shipped model's training data (ApacheJIT) and exports it", async () => {
    // Not the leader: this instance only measures, it does not retrain.
    const { loop, holder, metrics } = await startLearning({ isLeader: () => false });
    try {
      const result = await loop.checkNow();
      expect(result.status).toBe('not-leader');
      const shipped = holder.current()?.version ?? '';
      expect(result.drift.modelVersion).toBe(shipped);
      expect(result.drift.recentCount).toBe(ROLLOUTS.length);
      // The shipped model learned 8 change features from single commits. These rollouts never carry 4 of them
      // (missing, -1, which the model never saw) and are larger changes than most commits: high drift.
      expect(result.drift.features.map((feature) => feature.feature).sort()).toEqual([
        'author_experience',
        'change_entropy',
        'directories_changed',
        'files_changed',
        'is_fix',
        'lines_added',
        'lines_deleted',
        'subsystems_changed',
      ]);
      expect(result.drift.high).toBe(true);
      expect(result.drift.message).toMatch(
        /^7 of 8 features drifted from the training data over the last 100 rollouts: /,
      );
      expect(result.drift.message).toContain('author_experience (KS D 1.00, p < 0.001)');
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/^rollguard_feature_drift\{feature="lines_added"\} [\d.e-]+$/m);
      expect(text).toContain('rollguard_feature_drift{feature="author_experience"} 1');
      expect(text).toContain('rollguard_model_drift_high 1');
      expect(holder.current()?.version).toBe(shipped);
    } finally {
      await loop.stop();
    }
  });

  let accepted = '';

  it('retrains off the reconcile path, accepts the better model, keeps it in a ConfigMap and switches to it', async () => {
    const { loop, holder, metrics, logs } = await startLearning();
    try {
      const shipped = holder.current()?.version;
      expect(shipped).toMatch(/^jit-apachejit-v1-/);
      await waitFor(
        'the retrained model to be accepted and in use',
        () => {
          const version = holder.current()?.version;
          return Promise.resolve(version !== undefined && version !== shipped ? version : undefined);
        },
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      accepted = holder.current()?.version ?? '';
      expect(accepted).toMatch(/^cluster-v1-[0-9a-f]{12}$/);
      const line = messages(logs).find((msg) => msg.startsWith('retrained model accepted'));
      expect(line).toMatch(
        /^retrained model accepted: the candidate's AUC \d\.\d{3} on the newest \d+ outcomes \(\d+ risky\) is not worse than the current model's \d\.\d{3}$/,
      );

      const configMap = await kubectlJson<{
        metadata: { annotations: Record<string, string> };
        binaryData: Record<string, string>;
      }>(['-n', namespace, 'get', 'configmap', DEFAULT_MODEL_CONFIGMAP]);
      expect(configMap.metadata.annotations[annotations.modelVersion]).toBe(accepted);
      expect(configMap.metadata.annotations[annotations.outcomes]).toBe(String(FINISHED.length));
      expect(configMapDataBytes(configMap)).toBeLessThan(CONFIGMAP_LIMIT_BYTES);
      expect(JSON.stringify(configMap).length).toBeLessThan(CONFIGMAP_LIMIT_BYTES);
      const kept = decodeModelBlob(configMap.binaryData[MODEL_KEY] ?? '');
      expect(kept.meta.modelVersion).toBe(accepted);
      expect(kept.meta.data.rows).toBe(FINISHED.length);

      // Drift of the model now in use, against its own training data: measured, exported, not high.
      const text = await metrics.registry.metrics();
      expect(text).toMatch(/^rollguard_feature_drift\{feature="lines_added"\} [\d.e-]+$/m);
      expect(text).toMatch(/^rollguard_feature_drift\{feature="test_coverage"\} [\d.e-]+$/m);
      expect(text).toContain(`rollguard_model_info{version="${accepted}"} 1`);
      expect(text).toContain('rollguard_model_retrains_total{result="accepted"} 1');
      expect(text).toContain('rollguard_model_drift_high 0');
      expect(loop.driftVerdict()).toMatchObject({ high: false, modelVersion: accepted });
    } finally {
      await loop.stop();
    }
  });

  it('after a restart, loads the learned model from the ConfigMap and scores with the same version', async () => {
    expect(accepted).not.toBe('');
    const { loop, holder, logs } = await startLearning();
    try {
      expect(holder.current()?.version).toBe(accepted);
      expect(messages(logs)).toContain('learned risk model loaded from the cluster');
      // Its training state came back too: no new outcomes, so no retraining.
      const result = await loop.checkNow();
      expect(result).toMatchObject({ status: 'waiting', reason: '0 new outcomes since the last training, need 20' });
      expect(holder.current()?.version).toBe(accepted);
    } finally {
      await loop.stop();
    }
  });
});
