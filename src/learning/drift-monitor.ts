// The drift monitor of the learning loop: compares the newest rollouts' features with the training data of the
// model in use (drift.ts, pure), exports rollguard_feature_drift{feature}, keeps the verdict the controller
// turns into the policies' ModelDrift condition, and says when it turns high or back. The references of
// models the retrainer trained or loaded are remembered here; others come from the reference source.
import type { AssessmentObject } from '../api/objects.js';
import type { ModelBundle } from '../model/store.js';
import { isFeatureName } from '../model/contract.js';
import type { Logger } from '../telemetry/logger.js';
import type { OperatorMetrics } from '../telemetry/metrics.js';
import { driftReport, type DriftThresholds, type FeatureDrift, type ReferenceSummary } from './drift.js';
import { recentRows } from './examples.js';
import type { LearningMetrics } from './metrics.js';
import type { ReferenceSource } from './reference.js';

export interface DriftVerdict {
  readonly high: boolean;
  /** One sentence for the ModelDrift condition's message. */
  readonly message: string;
  /** Per feature, highest score first. */
  readonly features: readonly FeatureDrift[];
  readonly recentCount: number;
  /** The model whose training data was compared. */
  readonly modelVersion?: string;
  readonly checkedAt?: Date;
}

export interface DriftMonitorDeps {
  readonly modelHolder: { currentBundle(): ModelBundle | undefined };
  readonly metrics: Pick<OperatorMetrics, 'featureDrift'>;
  readonly learning: LearningMetrics;
  readonly log: Logger;
  readonly clock: () => Date;
  /** Training-data reference for models not trained or loaded here. */
  readonly references: ReferenceSource;
  readonly thresholds: DriftThresholds;
  /** Newest assessed rollouts compared with the training data. */
  readonly window: number;
  readonly onDriftChange?: ((verdict: DriftVerdict) => void) | undefined;
}

export class DriftMonitor {
  /** References of the models the loop trained or loaded from the cluster, by version. */
  private readonly own = new Map<string, ReferenceSummary>();
  private current: DriftVerdict = { high: false, message: 'drift not checked yet', features: [], recentCount: 0 };
  private exportedFeatures = new Set<string>();
  private notifiedOnce = false;

  constructor(private readonly deps: DriftMonitorDeps) {}

  /** The verdict of the last measurement. */
  verdict(): DriftVerdict {
    return this.current;
  }

  /** The training-data summary of a model the loop trained or loaded. */
  remember(modelVersion: string, reference: ReferenceSummary): void {
    this.own.set(modelVersion, reference);
  }

  private async referenceOf(modelVersion: string): Promise<ReferenceSummary | undefined> {
    return this.own.get(modelVersion) ?? (await this.deps.references.referenceFor(modelVersion));
  }

  /** Measures drift of the model in use against the newest rollouts; keeps the last verdict if that fails. */
  async update(assessments: readonly AssessmentObject[]): Promise<void> {
    const before = this.current;
    const checkedAt = this.deps.clock();
    const bundle = this.deps.modelHolder.currentBundle();
    let next: DriftVerdict;
    try {
      if (bundle === undefined) {
        next = {
          high: false,
          message: 'no model in use (the rules score): no training data to compare',
          features: [],
          recentCount: 0,
          checkedAt,
        };
      } else {
        const modelVersion = bundle.meta.modelVersion;
        const reference = await this.referenceOf(modelVersion);
        if (reference === undefined) {
          next = {
            high: false,
            message: `no summary of the training data of model ${modelVersion}: drift not measured`,
            features: [],
            recentCount: 0,
            modelVersion,
            checkedAt,
          };
        } else {
          const learned = bundle.meta.learnedFeatures.filter(isFeatureName);
          const rows = recentRows(assessments, this.deps.window);
          next = { ...driftReport(reference, rows, learned, this.deps.thresholds), modelVersion, checkedAt };
        }
      }
    } catch (err) {
      this.deps.learning.errors.inc({ stage: 'drift' });
      this.deps.log.error({ err }, 'measuring drift failed; keeping the last verdict');
      return;
    }
    this.current = next;
    this.export(next);
    if (next.high !== before.high || !this.notifiedOnce) {
      this.notifiedOnce = true;
      if (next.high) this.deps.log.warn({ model: next.modelVersion }, `feature drift is high: ${next.message}`);
      else this.deps.log.info({ model: next.modelVersion }, `feature drift: ${next.message}`);
      try {
        this.deps.onDriftChange?.(next);
      } catch (err) {
        this.deps.learning.errors.inc({ stage: 'drift' });
        this.deps.log.error({ err }, 'the drift callback failed');
      }
    }
  }

  /** Sets rollguard_feature_drift for the features measured now, and drops the ones no longer measured. */
  private export(verdict: DriftVerdict): void {
    const gauge = this.deps.metrics.featureDrift;
    const now = new Set<string>();
    for (const feature of verdict.features) {
      if (!Number.isFinite(feature.score)) continue;
      gauge.set({ feature: feature.feature }, feature.score);
      now.add(feature.feature);
    }
    for (const feature of this.exportedFeatures) if (!now.has(feature)) gauge.remove({ feature });
    this.exportedFeatures = now;
    this.deps.learning.driftHigh.set(verdict.high ? 1 : 0);
  }
}
