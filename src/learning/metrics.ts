// The learning loop's own counters, registered on the operator's metrics registry next to
// rollguard_feature_drift, rollguard_model_info and rollguard_model_auc (src/telemetry/metrics.ts). Fetched
// from the registry when already there, so a second loop on the same registry (a restart in a test) shares
// them instead of failing on a duplicate name.
import { Counter, Gauge, type Registry } from 'prom-client';

function counter<L extends string>(registry: Registry, name: string, help: string, labelNames: readonly L[]) {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Counter) return existing as Counter<L>;
  return new Counter<L>({ name, help, labelNames, registers: [registry] });
}

function gauge(registry: Registry, name: string, help: string): Gauge {
  const existing = registry.getSingleMetric(name);
  if (existing instanceof Gauge) return existing;
  return new Gauge({ name, help, registers: [registry] });
}

export interface LearningMetrics {
  /** Retrainings by result: accepted, rejected, failed. */
  readonly retrains: Counter<'result'>;
  /** Errors of the loop by stage: list, load, train, store, switch, drift. */
  readonly errors: Counter<'stage'>;
  /** 1 while the drift verdict is high. */
  readonly driftHigh: Gauge;
}

export function learningMetrics(registry: Registry): LearningMetrics {
  return {
    retrains: counter(
      registry,
      'rollguard_model_retrains_total',
      'Retrainings of the risk model on the cluster outcomes, by result (accepted, rejected, failed).',
      ['result'],
    ),
    errors: counter(
      registry,
      'rollguard_learning_errors_total',
      'Errors of the learning loop, by stage (list, load, train, store, switch, drift).',
      ['stage'],
    ),
    driftHigh: gauge(
      registry,
      'rollguard_model_drift_high',
      '1 while some feature drifted from the training data of the model in use (the ModelDrift condition), else 0.',
    ),
  };
}
