// rollguard's own metrics, on a registry of its own. Names follow Prometheus conventions: a `rollguard_`
// prefix, base units in the name, `_total` for counters.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export class OperatorMetrics {
  readonly registry = new Registry();

  readonly assessments = new Counter({
    name: 'rollguard_assessments_total',
    help: 'Rollouts assessed, by risk level, scorer (model or rules) and policy mode.',
    labelNames: ['level', 'scorer', 'mode'] as const,
    registers: [this.registry],
  });
  readonly riskScore = new Histogram({
    name: 'rollguard_risk_score',
    help: 'Risk scores of assessed rollouts (0 = safe, 1 = certain to fail).',
    buckets: [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1],
    registers: [this.registry],
  });
  readonly assessmentDuration = new Histogram({
    name: 'rollguard_assessment_duration_seconds',
    help: 'Time from seeing a new revision to having its assessment recorded.',
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly liveSignalReadings = new Counter({
    name: 'rollguard_live_signal_readings_total',
    help: 'Live-signal readings assessments used, by when they were read: at the template change (before-replicaset, off the path to the annotations) or by the assessment itself (at-assessment).',
    labelNames: ['read'] as const,
    registers: [this.registry],
  });
  readonly pauses = new Counter({
    name: 'rollguard_pauses_total',
    help: 'Rollouts paused for approval.',
    registers: [this.registry],
  });
  readonly approvals = new Counter({
    name: 'rollguard_approvals_total',
    help: 'Paused rollouts resumed, by how (annotation or by hand).',
    labelNames: ['how'] as const,
    registers: [this.registry],
  });
  readonly verificationChecks = new Counter({
    name: 'rollguard_verification_checks_total',
    help: 'Verification checks of new versions, by metric and result (pass, fail, no-data, error, inconclusive).',
    labelNames: ['metric', 'result'] as const,
    registers: [this.registry],
  });
  readonly verificationIntervalsCarried = new Counter({
    name: 'rollguard_verification_intervals_carried_total',
    help: 'Verification intervals that only read metrics (no counter changed, nothing acted on), written to the assessment with a later interval rather than at once.',
    registers: [this.registry],
  });
  readonly rollbacks = new Counter({
    name: 'rollguard_rollbacks_total',
    help: 'Automatic rollbacks, by result (done, skipped-cap, skipped-no-previous, gitops-paused, ...).',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });
  readonly rolloutsVerifying = new Gauge({
    name: 'rollguard_rollouts_verifying',
    help: 'Rollouts whose new version is being verified now.',
    registers: [this.registry],
  });
  readonly prometheusQueryDuration = new Histogram({
    name: 'rollguard_prometheus_query_duration_seconds',
    help: 'Duration of PromQL queries rollguard sends, by outcome kind and purpose (live-signals: assessing a new rollout; verification; baseline: the old version before a rollout; health; other).',
    labelNames: ['outcome', 'purpose'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly prometheusErrors = new Counter({
    name: 'rollguard_prometheus_errors_total',
    help: 'PromQL queries that failed, by kind (unreachable, timeout, http-error, promql-error, invalid-response).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly prometheusUp = new Gauge({
    name: 'rollguard_prometheus_up',
    help: "1 when the last health check of a policy's Prometheus succeeded, 0 when it failed.",
    labelNames: ['namespace', 'policy'] as const,
    registers: [this.registry],
  });
  readonly reconcileDuration = new Histogram({
    name: 'rollguard_reconcile_duration_seconds',
    help: 'Duration of one reconcile, by kind of object.',
    labelNames: ['kind'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'rollguard_reconcile_errors_total',
    help: 'Reconciles that failed and were retried with backoff, by kind of object.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly queueWait = new Histogram({
    name: 'rollguard_workqueue_wait_seconds',
    help: 'How long a key waited in the work queue before a worker took it, by kind of key.',
    labelNames: ['kind'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({
    name: 'rollguard_workqueue_depth',
    help: 'Keys waiting in the work queue.',
    registers: [this.registry],
  });
  readonly informerRestarts = new Counter({
    name: 'rollguard_informer_restarts_total',
    help: 'Watches restarted after an error or a silence longer than the watchdog period.',
    labelNames: ['resource'] as const,
    registers: [this.registry],
  });
  readonly annotationWarnings = new Counter({
    name: 'rollguard_annotation_warnings_total',
    help: 'Change-description annotations ignored because their value was bad.',
    registers: [this.registry],
  });
  readonly modelInfo = new Gauge({
    name: 'rollguard_model_info',
    help: 'The risk model in use (value 1), by version.',
    labelNames: ['version'] as const,
    registers: [this.registry],
  });
  readonly modelAuc = new Gauge({
    name: 'rollguard_model_auc',
    help: 'Time-ordered test AUC of the model in use.',
    registers: [this.registry],
  });
  readonly featureDrift = new Gauge({
    name: 'rollguard_feature_drift',
    help: 'Drift of recent features from the training data (KS statistic or normalised chi-square), by feature.',
    labelNames: ['feature'] as const,
    registers: [this.registry],
  });
  readonly kubeApiRequests = new Counter({
    name: 'rollguard_kube_api_requests_total',
    help: 'Requests to the Kubernetes API server (watches not counted), by verb.',
    labelNames: ['verb'] as const,
    registers: [this.registry],
  });
  readonly kubeApiWait = new Counter({
    name: 'rollguard_kube_api_rate_limit_wait_seconds_total',
    help: 'Time requests waited for the client-side rate limit (--kube-api-qps, --kube-api-burst).',
    registers: [this.registry],
  });
  readonly shardOwned = new Gauge({
    name: 'rollguard_shard_owned',
    help: 'Per shard: 1 while this replica holds the shard Lease and reconciles its namespaces, 0 otherwise.',
    labelNames: ['shard'] as const,
    registers: [this.registry],
  });
  readonly isLeader = new Gauge({
    name: 'rollguard_leader',
    help: '1 while this instance holds the leader lease and acts, 0 otherwise.',
    registers: [this.registry],
  });
  readonly gatePending = new Gauge({
    name: 'rollguard_gate_pending_deployments',
    help: 'Deployments whose new pod template the admission gate holds and rollguard has not assessed yet.',
    registers: [this.registry],
  });
  readonly gateOldestPending = new Gauge({
    name: 'rollguard_gate_oldest_pending_seconds',
    help: 'How long the longest-waiting template held at the admission gate has waited for its assessment.',
    registers: [this.registry],
  });
  readonly gateDecisions = new Counter({
    name: 'rollguard_gate_decisions_total',
    help: 'Templates held at the admission gate, by what rollguard decided: passed, held (for approval) or bypassed.',
    labelNames: ['result'] as const,
    registers: [this.registry],
  });

  constructor(options: { defaultMetrics?: boolean } = {}) {
    if (options.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry, prefix: 'rollguard_' });
      // prom-client names three of its gauges *_total, which Prometheus reserves for counters
      // (`promtool check metrics` rejects them); rollguard does without them.
      for (const name of [
        'nodejs_active_handles_total',
        'nodejs_active_requests_total',
        'nodejs_active_resources_total',
      ]) {
        this.registry.removeSingleMetric(`rollguard_${name}`);
      }
    }
  }
}
