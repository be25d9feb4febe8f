// The learning loop: every checkEveryMs it reads the assessments (from the controller's cache), decides whether
// enough new outcomes arrived, retrains in a worker thread, keeps the candidate only if it is not worse on the
// newest held-out outcomes, stores it in the cluster and switches the live model; and it measures feature
// drift of the model in use, exported as rollguard_feature_drift{feature} and as a verdict the controller turns
// into the policies' ModelDrift condition. Everything that decides is pure (examples.ts, decision.ts,
// drift.ts); this file only sequences it and does the I/O, and never lets an error out of its timer.
import type { Logger } from '../telemetry/logger.js';
import type { OperatorMetrics } from '../telemetry/metrics.js';
import type { AssessmentObject } from '../api/objects.js';
import { MAX_BLOB_BYTES, decodeModelBlob, type ModelBundle } from '../model/store.js';
import type { ForestOptions } from '../model/train.js';
import {
  acceptCandidate,
  DEFAULT_HOLDOUT,
  planTraining,
  shouldRetrain,
  type AcceptanceDecision,
  type HoldoutOptions,
} from './decision.js';
import { DEFAULT_DRIFT_THRESHOLDS, summariseReference, type DriftThresholds, type ReferenceSummary } from './drift.js';
import { DriftMonitor, type DriftVerdict } from './drift-monitor.js';
import { examplesFrom, latestOutcome, newOutcomes, type LearningExample } from './examples.js';
import { learningMetrics, type LearningMetrics } from './metrics.js';
import { ShippedReferenceSource, type ReferenceSource } from './reference.js';
import { encodeReference, type ModelStore } from './store.js';
import { WorkerTrainer, type RetrainRequest, type Trainer } from './worker.js';

export interface LearningOptions {
  /** Outcomes known since the last training (or attempt) before retraining. */
  readonly minNewOutcomes: number;
  /** Outcomes in all before the first retraining. */
  readonly minTotalOutcomes: number;
  /** How often to check, ms. */
  readonly checkEveryMs: number;
  readonly holdout?: Partial<HoldoutOptions>;
  /** Forest settings; default 100 trees, seed 1, the trainer's other defaults. */
  readonly forest?: Partial<ForestOptions>;
  readonly drift?: Partial<DriftThresholds>;
  /** Newest assessed rollouts compared with the training data; default 200. */
  readonly driftWindow?: number;
  /** A candidate may be this much worse (AUC) and still be accepted; default 0. */
  readonly acceptTolerance?: number;
  /** Start of retrained models' versions; default "cluster-v1". */
  readonly modelName?: string;
}

/** The part of ModelHolder (src/controller/model-source.ts) the loop uses. */
export interface LiveModel {
  currentBundle(): ModelBundle | undefined;
  /** Switches to a model; throws (keeping the old one) when it does not fit. */
  use(bundle: ModelBundle): void;
}

export interface LearningLoopDeps {
  /** The RolloutAssessments, all namespaces (the controller's cache; a fresh list works too). */
  listAssessments(): readonly AssessmentObject[] | Promise<readonly AssessmentObject[]>;
  readonly modelHolder: LiveModel;
  readonly store: ModelStore;
  readonly metrics: OperatorMetrics;
  readonly logger: Logger;
  readonly clock?: () => Date;
  readonly options: LearningOptions;
  /** Default: a worker thread per retraining. */
  readonly trainer?: Trainer;
  /** Training-data reference for models the loop did not train (default: the shipped model's CSV). */
  readonly references?: ReferenceSource;
  /** Retrain and store only while this is true (leader election); drift is measured either way. */
  readonly isLeader?: () => boolean;
  /** Which finished assessments are examples, e.g. those of policies with learning enabled. Default all. */
  readonly includeAssessment?: (assessment: AssessmentObject) => boolean;
  /** Called when the drift verdict turns high or back (and after the first check). */
  readonly onDriftChange?: (verdict: DriftVerdict) => void;
}

export type { DriftVerdict };

export type RetrainStatus = 'waiting' | 'not-leader' | 'accepted' | 'rejected' | 'failed';

export interface CheckResult {
  readonly status: RetrainStatus;
  readonly reason: string;
  /** The candidate's version, when one was trained. */
  readonly candidate?: string;
  readonly decision?: AcceptanceDecision;
  readonly drift: DriftVerdict;
}

const DEFAULT_FOREST: Partial<ForestOptions> = { trees: 100, seed: 1 };
const DEFAULT_MODEL_NAME = 'cluster-v1';
const DEFAULT_DRIFT_WINDOW = 200;
/** Room left in the ConfigMap besides the model and the reference: key names and slack. */
const CONFIGMAP_SLACK_BYTES = 4096;

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

function maxDefined(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b;
  if (b === undefined) return a;
  return Math.max(a, b);
}

/** What a drift verdict says, without its figures: whether it was measured, is high, for which model, where. */
function driftMeaning(verdict: DriftVerdict): string {
  const drifted = verdict.features.filter((f) => f.drifted).map((f) => f.feature);
  return JSON.stringify([verdict.features.length > 0, verdict.high, verdict.modelVersion, [...drifted].sort()]);
}

export class LearningLoop {
  private readonly log: Logger;
  private readonly clock: () => Date;
  private readonly trainer: Trainer;
  private readonly learning: LearningMetrics;
  private readonly holdout: HoldoutOptions;
  private readonly drift: DriftMonitor;
  /** Newest outcome the model in use was trained on; undefined for a model not trained here. */
  private trainedThrough: number | undefined;
  /** The drift verdict the policies were last given (see measuredDrift). */
  private reportedDrift: DriftVerdict | undefined;
  /** Newest outcome of the last retraining that was rejected or failed: the next waits for outcomes after it. */
  private attemptedThrough: number | undefined;
  private lastWaitReason = '';
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<CheckResult> | undefined;
  private abort: AbortController | undefined;
  private running = false;
  /** stop() was called: a training that fails now was aborted, not broken. */
  private stopping = false;

  constructor(private readonly deps: LearningLoopDeps) {
    this.log = deps.logger.child({ subsystem: 'learning' });
    this.clock = deps.clock ?? (() => new Date());
    this.trainer = deps.trainer ?? new WorkerTrainer();
    this.learning = learningMetrics(deps.metrics.registry);
    this.holdout = { ...DEFAULT_HOLDOUT, ...deps.options.holdout };
    this.drift = new DriftMonitor({
      modelHolder: deps.modelHolder,
      metrics: deps.metrics,
      learning: this.learning,
      log: this.log,
      clock: this.clock,
      references: deps.references ?? new ShippedReferenceSource(),
      thresholds: { ...DEFAULT_DRIFT_THRESHOLDS, ...deps.options.drift },
      window: deps.options.driftWindow ?? DEFAULT_DRIFT_WINDOW,
      onDriftChange: deps.onDriftChange,
    });
  }

  /** Loads the model kept in the cluster (if any, and if it fits this rollguard), then checks every checkEveryMs. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    this.stopping = false;
    await this.loadStored();
    this.schedule();
  }

  /** Stops the timer and a retraining in progress, and waits for the check in progress to end. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.abort?.abort();
    await this.inFlight;
  }

  /** The drift verdict of the last check ('drift not checked yet' before the first). */
  driftVerdict(): DriftVerdict {
    return this.drift.verdict();
  }

  /**
   * The verdict for the policies' ModelDrift condition: undefined until this process has checked, so the
   * condition the cluster holds stands until then; after that, a new verdict only when what it says changes
   * (drift turns high or back, another model, other features drifted), not each time its figures move. Each
   * change rewrites the status of every policy: at 100 policies a restart used to cost 200 writes ("not
   * checked yet", then the real verdict) and every drift check 100 more. rollguard_feature_drift carries the
   * current figures.
   */
  measuredDrift(): DriftVerdict | undefined {
    const verdict = this.drift.verdict();
    if (verdict.checkedAt === undefined) return undefined;
    const reported = this.reportedDrift;
    if (reported === undefined || driftMeaning(reported) !== driftMeaning(verdict)) this.reportedDrift = verdict;
    return this.reportedDrift;
  }

  /** One check now (one at a time: a call during a check gets that check's result). Never rejects. */
  checkNow(): Promise<CheckResult> {
    this.inFlight ??= this.check().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  private schedule(): void {
    if (!this.running) return;
    this.timer = setTimeout(() => {
      void this.checkNow().then(() => {
        this.schedule();
      });
    }, this.deps.options.checkEveryMs);
    // The loop alone must not keep the process alive.
    this.timer.unref();
  }

  private async loadStored(): Promise<void> {
    const { store, modelHolder } = this.deps;
    let stored;
    try {
      stored = await store.load();
    } catch (err) {
      this.learning.errors.inc({ stage: 'load' });
      this.log.warn({ err, location: store.location }, 'the learned model could not be read; keeping the model in use');
      return;
    }
    if (stored === undefined) {
      this.log.info(
        { location: store.location, model: modelHolder.currentBundle()?.meta.modelVersion },
        'no learned model kept in the cluster yet; keeping the model in use',
      );
      return;
    }
    const { bundle } = stored;
    try {
      modelHolder.use(bundle);
    } catch (err) {
      this.learning.errors.inc({ stage: 'load' });
      this.log.warn(
        { err, location: store.location, model: bundle.meta.modelVersion },
        'the learned model kept in the cluster does not fit this rollguard; keeping the model in use',
      );
      return;
    }
    this.trainedThrough = stored.trainedThrough;
    if (stored.reference) this.drift.remember(bundle.meta.modelVersion, stored.reference);
    this.log.info(
      {
        model: bundle.meta.modelVersion,
        auc: bundle.meta.evaluation?.auc,
        outcomes: stored.outcomes,
        bytes: stored.bytes,
        location: store.location,
      },
      'learned risk model loaded from the cluster',
    );
  }

  /**
   * A standby keeps up with the leader's accepted models, so it scores with the same one when it takes over
   * (and the ConfigMap's version annotation is read first, so the model is only decoded when it changed).
   */
  private async followStore(): Promise<void> {
    let version: string | undefined;
    try {
      version = await this.deps.store.storedVersion();
    } catch (err) {
      this.learning.errors.inc({ stage: 'load' });
      this.log.warn({ err, location: this.deps.store.location }, 'reading the learned model version failed');
      return;
    }
    if (version !== undefined && version !== this.deps.modelHolder.currentBundle()?.meta.modelVersion) {
      await this.loadStored();
    }
  }

  private async check(): Promise<CheckResult> {
    let assessments: readonly AssessmentObject[];
    try {
      assessments = await this.deps.listAssessments();
    } catch (err) {
      this.learning.errors.inc({ stage: 'list' });
      this.log.error({ err }, 'listing the assessments failed; trying again at the next check');
      return {
        status: 'failed',
        reason: `listing the assessments failed: ${message(err)}`,
        drift: this.drift.verdict(),
      };
    }
    let outcome: Omit<CheckResult, 'drift'>;
    try {
      outcome = await this.retrain(assessments);
    } catch (err) {
      // retrain handles its own failures; this is the last net so the timer never sees a rejection.
      this.learning.errors.inc({ stage: 'train' });
      this.log.error({ err }, 'the learning check failed');
      outcome = { status: 'failed', reason: message(err) };
    }
    await this.drift.update(assessments);
    return { ...outcome, drift: this.drift.verdict() };
  }

  private waiting(reason: string): Omit<CheckResult, 'drift'> {
    // Said once per new reason at info, then at debug: the same "need 50, have 12" every minute is noise.
    if (reason !== this.lastWaitReason) this.log.info({ reason }, `not retraining: ${reason}`);
    else this.log.debug({ reason }, `not retraining: ${reason}`);
    this.lastWaitReason = reason;
    return { status: 'waiting', reason };
  }

  private async retrain(assessments: readonly AssessmentObject[]): Promise<Omit<CheckResult, 'drift'>> {
    const { options, isLeader, includeAssessment } = this.deps;
    if (isLeader && !isLeader()) {
      await this.followStore();
      return { status: 'not-leader', reason: 'another instance leads and learns' };
    }
    const examples = examplesFrom(includeAssessment ? assessments.filter(includeAssessment) : assessments);
    const since = maxDefined(this.trainedThrough, this.attemptedThrough);
    const decision = shouldRetrain(
      { newSinceLastModel: newOutcomes(examples, since), total: examples.length },
      options,
    );
    if (!decision.retrain) return this.waiting(decision.reason);
    const plan = planTraining(examples, this.holdout);
    if (!plan.ok) return this.waiting(plan.reason);
    this.lastWaitReason = '';

    const through = latestOutcome(examples);
    const reference = summariseReference(
      examples.map((example) => example.row),
      `${examples.length} finished rollouts in this cluster`,
    );
    const current = this.deps.modelHolder.currentBundle();
    const request = this.request(plan.train, plan.test, examples, current, reference);
    this.log.info(
      { outcomes: examples.length, train: plan.train.length, heldOut: plan.test.length, reason: decision.reason },
      'retraining the risk model on the cluster outcomes',
    );

    let bundle: ModelBundle;
    let blob: string;
    let verdict: AcceptanceDecision;
    this.abort = new AbortController();
    try {
      const result = await this.trainer.train(request, this.abort.signal);
      blob = result.blob;
      // Decoding checks the model as a load from the ConfigMap would.
      bundle = decodeModelBlob(blob);
      verdict = acceptCandidate(
        {
          labels: plan.test.map((example) => example.label),
          current: result.currentScores ?? undefined,
          candidate: result.candidateScores,
        },
        options.acceptTolerance ?? 0,
      );
    } catch (err) {
      // Stopped mid-training (shutdown): not a failure, and the same outcomes are worth training on next time.
      if (this.stopping) {
        this.log.info('retraining stopped: the loop is stopping');
        return { status: 'failed', reason: 'stopped' };
      }
      // A failed training waits for new outcomes like a rejected one: the same rows would fail again.
      this.attemptedThrough = through;
      this.learning.retrains.inc({ result: 'failed' });
      this.learning.errors.inc({ stage: 'train' });
      this.log.error({ err }, 'retraining failed; keeping the model in use');
      return { status: 'failed', reason: `retraining failed: ${message(err)}` };
    } finally {
      this.abort = undefined;
    }

    const figures = {
      candidate: bundle.meta.modelVersion,
      current: current?.meta.modelVersion,
      metric: verdict.metric,
      [`candidate_${verdict.metric}`]: verdict.candidate,
      [`current_${verdict.metric}`]: verdict.current,
      heldOut: plan.test.length,
    };
    if (!verdict.accept) {
      this.attemptedThrough = through;
      this.learning.retrains.inc({ result: 'rejected' });
      this.log.info(figures, `retrained model rejected: ${verdict.reason}`);
      return { status: 'rejected', reason: verdict.reason, candidate: bundle.meta.modelVersion, decision: verdict };
    }

    // Stored before switching: a model in use must survive a restart (state lives in the cluster). If it cannot
    // be stored, the old model stays and the next check tries again.
    try {
      await this.deps.store.save({
        blob,
        modelVersion: bundle.meta.modelVersion,
        reference,
        trainedThrough: through,
        outcomes: examples.length,
        reason: verdict.reason,
      });
    } catch (err) {
      this.learning.retrains.inc({ result: 'failed' });
      this.learning.errors.inc({ stage: 'store' });
      this.log.error(
        { ...figures, err, location: this.deps.store.location },
        'the accepted model could not be stored; keeping the model in use',
      );
      return { status: 'failed', reason: `storing the model failed: ${message(err)}`, decision: verdict };
    }
    try {
      this.deps.modelHolder.use(bundle);
    } catch (err) {
      this.learning.retrains.inc({ result: 'failed' });
      this.learning.errors.inc({ stage: 'switch' });
      this.log.error({ ...figures, err }, 'switching to the accepted model failed; keeping the model in use');
      return { status: 'failed', reason: `switching failed: ${message(err)}`, decision: verdict };
    }
    this.trainedThrough = through;
    this.attemptedThrough = undefined;
    this.drift.remember(bundle.meta.modelVersion, reference);
    this.learning.retrains.inc({ result: 'accepted' });
    this.log.info({ ...figures, location: this.deps.store.location }, `retrained model accepted: ${verdict.reason}`);
    return { status: 'accepted', reason: verdict.reason, candidate: bundle.meta.modelVersion, decision: verdict };
  }

  private request(
    train: readonly LearningExample[],
    test: readonly LearningExample[],
    all: readonly LearningExample[],
    current: ModelBundle | undefined,
    reference: ReferenceSummary,
  ): RetrainRequest {
    const { options } = this.deps;
    const risky = all.filter((example) => example.label === 1).length;
    const newest = latestOutcome(all);
    return {
      train: { rows: train.map((example) => [...example.row]), labels: train.map((example) => example.label) },
      test: { rows: test.map((example) => [...example.row]), labels: test.map((example) => example.label) },
      ...(current ? { currentForest: current.forest } : {}),
      forest: { ...DEFAULT_FOREST, ...options.forest },
      name: options.modelName ?? DEFAULT_MODEL_NAME,
      dataDescription:
        `${all.length} finished rollouts in this cluster (${risky} rolled back or failed)` +
        (newest === undefined ? '' : `, outcomes up to ${new Date(newest).toISOString()}`),
      trainedAt: this.clock().toISOString(),
      // The reference shares the ConfigMap: the model gets what it leaves.
      maxBlobBytes: MAX_BLOB_BYTES - encodeReference(reference).length - CONFIGMAP_SLACK_BYTES,
    };
  }
}
