// `rollguard controller`: runs the operator. Wires the real Kubernetes client, Prometheus access, the model,
// metrics and health endpoints into the controller, and shuts down gracefully on SIGTERM: stop taking work,
// finish what is in flight, then exit.
import { parseArgs } from 'node:util';
import { durationMs } from '../api/duration.js';
import { parsedPolicy } from '../controller/policy-specs.js';
import { LearningLoop } from '../learning/loop.js';
import {
  ConfigMapModelStore,
  DEFAULT_MODEL_CONFIGMAP,
  controllerNamespace,
  readServiceAccountNamespace,
} from '../learning/store.js';
import { cacheClusterView } from '../controller/cluster-view.js';
import { Controller } from '../controller/controller.js';
import { PrefetchingLiveSignals } from '../controller/live-signal-prefetch.js';
import { PrometheusLiveSignals } from '../controller/live-signals.js';
import { loadModelSource } from '../controller/model-source.js';
import { KubeSecretReader, PrometheusAccess } from '../controller/prometheus-access.js';
import { separateApiClient, tuneApiClient } from '../kube/api-client.js';
import { KubeEventSink } from '../kube/events.js';
import { LeaderElector } from '../kube/leader.js';
import { ShardCoordinator } from '../shard/coordinator.js';
import { guardedEvents, guardedWriter } from '../shard/guard.js';
import { shardOf } from '../shard/hash.js';
import { KubeClusterWriter } from '../kube/writer.js';
import { createLogger } from '../telemetry/logger.js';
import { OperatorMetrics } from '../telemetry/metrics.js';
import { startTelemetryServer } from '../telemetry/server.js';
import {
  createWebRoutes,
  kubeAccessReviewer,
  kubeTokenReviewer,
  NamespaceAuthorizer,
  TokenAuthenticator,
} from '../web/routes.js';
import { connectCluster } from './output.js';
import { defaultedByServer } from '../kube/dry-run.js';
import { GateInstaller, gateModes, type GateMode } from '../gate/installer.js';
import { parseServiceRef, startGateWebhook, type GateWebhook, type ServiceRef } from '../gate/webhook-runner.js';
import { defaultGateName } from '../gate/admission-objects.js';
import { KubeAssessmentSpecWriter, OperatorGate } from '../gate/operator-hooks.js';

/** How long the API server gets to answer GET /version at start. */
const startupProbeMs = 10_000;
/** How long the rollouts in flight get to finish after SIGTERM before the controller stops anyway. */
export const shutdownGraceMs = 5_000;

export const controllerHelp = `Usage: rollguard controller [options]

Runs the rollguard operator: watches DeploymentRiskPolicies and the Deployments they cover, assesses every
new rollout, annotates it, pauses the risky ones for approval, verifies the new version on live metrics and
rolls back when it degrades.

Options:
  --kubeconfig PATH        kubeconfig to use (default: $KUBECONFIG, ~/.kube/config, or in-cluster)
  --namespace NAME         watch only this namespace (for installs without cluster-wide rights)
  --metrics-address ADDR   where to serve /metrics, /healthz and /readyz (default :8080)
  --model-dir DIR          the risk model to load (default: the model shipped in models/default)
  --workers N              rollouts reconciled in parallel (default 16: a reconcile mostly waits on the API);
                           a quarter of them is kept for new rollouts, pauses and rollbacks
  --kube-api-qps N         requests per second to the Kubernetes API on average (default 50; 0: no limit)
  --kube-api-burst N       requests allowed at once above that average (default 300)
  --leader-elect           run as one of several replicas: only the holder of the leader Lease acts
  --leader-election-namespace NAME
                           where the Lease lives (default: $POD_NAMESPACE, else default)
  --leader-election-id NAME
                           the Lease's name (default rollguard-controller)
  --shards N               share the work between replicas: namespaces are hashed into N shards, each
                           replica holds the Leases of about N/replicas of them (default 1: one leader
                           does everything; more than 1 implies --leader-elect's Lease namespace and id).
                           Measured with 3 replicas, 6 shards, 300 Deployments and 3 waves of rollouts
                           (make bench-shards): at most 177 MiB per replica, every revision assessed once
  --lease-duration D       how long a replica's Lease lasts without renewal, e.g. 15s (default 15s; the
                           renew deadline is two thirds of it): a dead replica's work moves after this
  --quiet-write-period D   how long an assessment under verification may go unwritten while its intervals
                           only read healthy metrics, e.g. 30s (default 30s; 0s writes every interval). A
                           failed check, a hold, a pass or a rollback is written at once; the quiet readings
                           go out with the next write, each assessment on its own turn of the period. At
                           a 10 s interval this is a third of the writes, which 500 rollouts verified at
                           once need to stay within --kube-api-qps
  --no-learning            do not retrain the model on this cluster's outcomes (default: learn)
  --model-configmap NAME   the ConfigMap that keeps the learned model (default rollguard-model)
  --model-namespace NS     where that ConfigMap lives (default: $POD_NAMESPACE, else the kubeconfig's)
  --retrain-min-new N      new outcomes before retraining (default 20)
  --retrain-min-total N    outcomes in all before the first retraining (default 50)
  --retrain-interval D     how often to check for enough new outcomes, e.g. 5m (default 5m)
  --assessment-max-age D   how long finished RolloutAssessments are kept, e.g. 2160h (default 2160h = 90 days)
  --assessments-per-deployment N
                           at most this many RolloutAssessments per Deployment are kept (default 100)
  --score-api              also serve POST /v1/score and GET /v1/openapi.json on the metrics address: the
                           assessment of a manifest or change description, for callers with a Kubernetes
                           token that may read Deployments in the namespace (off by default)
  --dashboard              also serve the read-only dashboard at /dashboard, on its own address (off by
                           default; it has no login of its own and shows every namespace rollguard watches)
  --dashboard-address ADDR where to serve the dashboard (default 127.0.0.1:8081, loopback: reach it with
                           kubectl port-forward; any other address only behind an authenticating proxy)
  --gate                   install the admission gate for this operator's own identity and keep it up to
                           date: a covered Deployment's new pod template then starts no pod until rollguard
                           has assessed it (needs the right to write the admission objects; the chart's
                           gate.enabled installs them instead). Held templates are assessed either way.
  --gate-mode MODE         auto (default: a MutatingAdmissionPolicy where the API server serves them, 1.36+),
                           policy or webhook (served by this operator, for older clusters)
  --gate-failure-policy P  Fail or Ignore: what the API server does when the gate cannot answer (default:
                           Fail for the policy, Ignore for the webhook, so a stopped operator blocks nobody)
  --webhook-address ADDR   where the webhook gate listens (default :9443)
  --webhook-url URL        how the API server reaches an operator outside the cluster (default
                           https://127.0.0.1:PORT/gate when the address is loopback)
  --webhook-service NS/NAME:PORT
                           in the cluster: the Service in front of the operator's pods that the API server
                           calls (the certificate then names NAME.NS.svc); this or --webhook-url is required
                           when the address is not loopback
  --webhook-ca-bundle-only the MutatingWebhookConfiguration is installed by the chart (gate.enabled): only
                           keep its caBundle current, never the rest
  --webhook-cert-from-secret
                           cert-manager keeps the certificate in Secret NAME-tls and injects the caBundle
                           (the chart's gate.webhook.certManager.enabled): serve that certificate, never make
                           one, never write the MutatingWebhookConfiguration
  --gate-name NAME         the gate objects' name (default rollguard-gate); the webhook's certificate is kept
                           in Secret NAME-tls in the operator's namespace
  --log-level LEVEL        trace, debug, info, warn or error (default info)
  -h, --help               show this help

Examples:
  rollguard controller
  rollguard controller --kubeconfig ~/.kube/staging --metrics-address 127.0.0.1:9090
  rollguard controller --namespace payments
  rollguard controller --score-api --dashboard
  rollguard controller --gate
  rollguard controller --gate --gate-mode=webhook --webhook-service rollguard-system/rollguard-gate:443
`;

/** True for 127.0.0.1:P, [::1]:P, localhost:P: an address only this pod (or a port-forward) reaches. */
export function isLoopbackAddress(address: string): boolean {
  const host = address.includes(':') ? address.slice(0, address.lastIndexOf(':')) : '';
  return /^(127(\.\d{1,3}){3}|\[?::1\]?|localhost)$/.test(host);
}

export async function runControllerCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        kubeconfig: { type: 'string' },
        namespace: { type: 'string' },
        'metrics-address': { type: 'string', default: ':8080' },
        'model-dir': { type: 'string' },
        workers: { type: 'string', default: '16' },
        'kube-api-qps': { type: 'string', default: '50' },
        'kube-api-burst': { type: 'string', default: '300' },
        learning: { type: 'boolean', default: true },
        'model-configmap': { type: 'string', default: DEFAULT_MODEL_CONFIGMAP },
        'model-namespace': { type: 'string' },
        'retrain-min-new': { type: 'string', default: '20' },
        'retrain-min-total': { type: 'string', default: '50' },
        'retrain-interval': { type: 'string', default: '5m' },
        'assessment-max-age': { type: 'string', default: '2160h' },
        'assessments-per-deployment': { type: 'string', default: '100' },
        'leader-elect': { type: 'boolean', default: false },
        'leader-election-namespace': { type: 'string', default: process.env.POD_NAMESPACE ?? 'default' },
        'leader-election-id': { type: 'string', default: 'rollguard-controller' },
        shards: { type: 'string', default: '1' },
        'lease-duration': { type: 'string', default: '15s' },
        'quiet-write-period': { type: 'string', default: '30s' },
        'score-api': { type: 'boolean', default: false },
        dashboard: { type: 'boolean', default: false },
        gate: { type: 'boolean', default: false },
        'gate-mode': { type: 'string', default: 'auto' },
        'gate-failure-policy': { type: 'string' },
        'webhook-address': { type: 'string', default: ':9443' },
        'webhook-url': { type: 'string' },
        'webhook-service': { type: 'string' },
        'webhook-ca-bundle-only': { type: 'boolean', default: false },
        'webhook-cert-from-secret': { type: 'boolean', default: false },
        'gate-name': { type: 'string', default: defaultGateName },
        'dashboard-address': { type: 'string', default: '127.0.0.1:8081' },
        'log-level': { type: 'string', default: process.env.ROLLGUARD_LOG_LEVEL ?? 'info' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
      allowNegative: true,
    }));
  } catch (err) {
    process.stderr.write(
      `rollguard controller: ${err instanceof Error ? err.message : String(err)}\n${controllerHelp}`,
    );
    return 2;
  }
  if (values.help) {
    process.stdout.write(controllerHelp);
    return 0;
  }
  const workers = Number(values.workers);
  if (!Number.isInteger(workers) || workers < 1) {
    process.stderr.write(
      `rollguard controller: --workers must be a whole number of at least 1, not "${values.workers}"\n`,
    );
    return 2;
  }

  const qps = Number(values['kube-api-qps']);
  const burst = Number(values['kube-api-burst']);
  if (!Number.isFinite(qps) || qps < 0 || !Number.isInteger(burst) || burst < 1) {
    process.stderr.write(
      `rollguard controller: --kube-api-qps must be a number of at least 0 and --kube-api-burst a whole number of at least 1, not "${values['kube-api-qps']}" and "${values['kube-api-burst']}"\n`,
    );
    return 2;
  }

  const shards = Number(values.shards);
  if (!Number.isInteger(shards) || shards < 1 || shards > 1024) {
    process.stderr.write(
      `rollguard controller: --shards must be a whole number from 1 to 1024, not "${values.shards}"\n`,
    );
    return 2;
  }
  const leaseDurationMs = durationMs(values['lease-duration']);
  if (leaseDurationMs === undefined || leaseDurationMs < 3000) {
    process.stderr.write(
      `rollguard controller: --lease-duration must be a duration of at least 3s, like 15s, not "${values['lease-duration']}"\n`,
    );
    return 2;
  }
  const quietWritePeriodMs = durationMs(values['quiet-write-period']);
  if (quietWritePeriodMs === undefined || quietWritePeriodMs > 3_600_000) {
    process.stderr.write(
      `rollguard controller: --quiet-write-period must be a duration from 0s to 1h, like 30s, not "${values['quiet-write-period']}"\n`,
    );
    return 2;
  }
  // controller-runtime's proportions: 15 s lease, 10 s renew deadline, 2 s retry.
  const leaseTimings = {
    leaseDurationMs,
    renewDeadlineMs: Math.floor((leaseDurationMs * 2) / 3),
    retryPeriodMs: Math.max(200, Math.floor(leaseDurationMs / 7.5)),
  };

  const maxAgeMs = durationMs(values['assessment-max-age']);
  const keepPerDeployment = Number(values['assessments-per-deployment']);
  if (maxAgeMs === undefined || maxAgeMs <= 0) {
    process.stderr.write(
      `rollguard controller: --assessment-max-age must be a duration like 720h, not "${values['assessment-max-age']}"\n`,
    );
    return 2;
  }
  if (!Number.isInteger(keepPerDeployment) || keepPerDeployment < 1) {
    process.stderr.write(`rollguard controller: --assessments-per-deployment must be a whole number of at least 1\n`);
    return 2;
  }
  const retrainMinNew = Number(values['retrain-min-new']);
  const retrainMinTotal = Number(values['retrain-min-total']);
  const retrainEveryMs = durationMs(values['retrain-interval']);
  if (
    !Number.isInteger(retrainMinNew) ||
    retrainMinNew < 1 ||
    !Number.isInteger(retrainMinTotal) ||
    retrainMinTotal < 1
  ) {
    process.stderr.write(
      'rollguard controller: --retrain-min-new and --retrain-min-total must be whole numbers of at least 1\n',
    );
    return 2;
  }
  if (retrainEveryMs === undefined || retrainEveryMs <= 0) {
    process.stderr.write(
      `rollguard controller: --retrain-interval must be a duration like 5m, not "${values['retrain-interval']}"\n`,
    );
    return 2;
  }
  const gateMode = values['gate-mode'] as GateMode;
  if (!gateModes.includes(gateMode)) {
    process.stderr.write(`rollguard controller: --gate-mode must be auto, policy or webhook, not "${gateMode}"\n`);
    return 2;
  }
  const logger = createLogger(values['log-level']);
  let kubeConfig;
  try {
    // A controller without a cluster would retry forever; one line saying which kubeconfig or server failed,
    // and exit 2, lets Kubernetes (or the person at the terminal) see why and restart it.
    kubeConfig = await connectCluster(values.kubeconfig, startupProbeMs);
  } catch (err) {
    process.stderr.write(`rollguard controller: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const metrics = new OperatorMetrics();
  const countRequest = (verb: string, waitedMs: number) => {
    metrics.kubeApiRequests.inc({ verb });
    if (waitedMs > 0) metrics.kubeApiWait.inc(waitedMs / 1000);
  };
  // The Leases (leader election, shards) on a client of their own: a renewal never waits behind rollouts.
  const leaseConfig = separateApiClient(kubeConfig, { qps: 0, burst: 1, onRequest: countRequest });
  tuneApiClient(kubeConfig, { qps, burst, onRequest: countRequest });
  const model = await loadModelSource(values['model-dir'], logger, metrics);
  const access = new PrometheusAccess(new KubeSecretReader(kubeConfig), (seconds, outcome, purpose) => {
    metrics.prometheusQueryDuration.observe({ outcome, purpose }, seconds);
    if (!['value', 'vector', 'matrix', 'empty', 'not-a-number', 'multiple-series'].includes(outcome)) {
      metrics.prometheusErrors.inc({ kind: outcome });
    }
  });
  const live = new PrefetchingLiveSignals(new PrometheusLiveSignals(access), {
    onReading: (prefetched) => {
      metrics.liveSignalReadings.inc({ read: prefetched ? 'before-replicaset' : 'at-assessment' });
    },
  });
  const failurePolicy = values['gate-failure-policy'];
  if (failurePolicy !== undefined && failurePolicy !== 'Fail' && failurePolicy !== 'Ignore') {
    process.stderr.write(
      `rollguard controller: --gate-failure-policy must be Fail or Ignore, not "${failurePolicy}"\n`,
    );
    return 2;
  }
  let webhookService: ServiceRef | undefined;
  try {
    webhookService = values['webhook-service'] === undefined ? undefined : parseServiceRef(values['webhook-service']);
  } catch (err) {
    process.stderr.write(`rollguard controller: ${err instanceof Error ? err.message : String(err)}\n`);
    return 2;
  }
  const gateInstaller = values.gate
    ? new GateInstaller({
        kubeConfig,
        mode: gateMode,
        logger,
        name: values['gate-name'],
        caBundleOnly: values['webhook-ca-bundle-only'],
        ...(failurePolicy ? { failurePolicy } : {}),
      })
    : undefined;
  const gateFailed = (err: unknown) => {
    process.stderr.write(
      `rollguard controller: could not install the admission gate: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    return 2;
  };
  let resolvedGateMode: 'policy' | 'webhook' | undefined;
  if (gateInstaller) {
    try {
      // Before any rollout is reconciled: a gate that cannot be installed is a start-up failure, said plainly.
      resolvedGateMode = (await gateInstaller.resolve()).mode;
      if (resolvedGateMode === 'policy') await gateInstaller.install();
    } catch (err) {
      return gateFailed(err);
    }
  }
  const coordinator =
    shards > 1
      ? ShardCoordinator.forKube(
          leaseConfig,
          {
            namespace: values['leader-election-namespace'],
            group: values['leader-election-id'],
            shards,
            ...leaseTimings,
          },
          logger,
        )
      : undefined;
  if (coordinator)
    logger.info(
      { shards, leaseDurationMs },
      'sharding: this replica acts on the namespaces of the shards whose Lease it holds',
    );
  const owns = coordinator ? (namespace: string) => coordinator.ownsNamespace(namespace) : undefined;
  const baseWriter = new KubeClusterWriter(kubeConfig);
  const writer = owns ? guardedWriter(baseWriter, owns) : baseWriter;
  const events = new KubeEventSink(kubeConfig);
  const gate = new OperatorGate({ writer, specs: new KubeAssessmentSpecWriter(kubeConfig), logger, metrics });
  const controller: Controller = new Controller({
    kubeConfig,
    writer,
    events: owns ? guardedEvents(events, owns) : events,
    ...(owns ? { owns } : {}),
    live,
    access,
    model,
    metrics,
    logger,
    namespace: values.namespace,
    workers,
    quietWritePeriodMs,
    retention: { maxAgeMs, keepPerDeployment },
    modelDrift: () => learning?.measuredDrift(),
    // Always: a gate installed by the chart or deploy/ holds templates this operator must assess and release.
    gate,
  });
  const pendingGauges = gate.watchPending(
    () => controller.caches.deployments(),
    () => new Date(),
  );
  const modelNamespace = controllerNamespace({
    explicit: values['model-namespace'],
    env: process.env,
    serviceAccountNamespace: readServiceAccountNamespace(),
    kubeConfigNamespace: kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace,
  });
  const learning: LearningLoop | undefined = values.learning
    ? new LearningLoop({
        listAssessments: () => controller.caches.assessments(),
        modelHolder: model,
        store: ConfigMapModelStore.fromKubeConfig(kubeConfig, modelNamespace, values['model-configmap']),
        metrics,
        logger,
        options: { minNewOutcomes: retrainMinNew, minTotalOutcomes: retrainMinTotal, checkEveryMs: retrainEveryMs },
        // With shards, the holder of shard 0 learns for everyone.
        isLeader: () => (coordinator ? coordinator.owns(0) : (elector?.isLeader() ?? true)),
        // Only the outcomes of policies that allow learning (spec.learning.enabled) train the model.
        includeAssessment: (a) => {
          const namespace = a.metadata?.namespace ?? '';
          const policy = controller.caches.policies(namespace).find((p) => p.metadata?.name === a.spec?.policy);
          const parsed = policy ? parsedPolicy(policy) : undefined;
          return parsed?.ok === true && parsed.value.learning.enabled;
        },
        onDriftChange: () => {
          controller.requeuePolicies();
        },
      })
    : undefined;
  const elector =
    values['leader-elect'] && !coordinator
      ? LeaderElector.forKube(
          leaseConfig,
          { namespace: values['leader-election-namespace'], name: values['leader-election-id'], ...leaseTimings },
          logger,
        )
      : undefined;
  const kc = kubeConfig;
  const webRoutes = createWebRoutes({
    scoreApi: values['score-api']
      ? {
          cluster: cacheClusterView(controller.caches),
          model,
          live,
          authenticator: new TokenAuthenticator(kubeTokenReviewer(kc)),
          authorizer: new NamespaceAuthorizer(kubeAccessReviewer(kc)),
          serverDefaults: (manifest, namespace) => defaultedByServer(kc, manifest, namespace),
          ready: () => controller.hasSynced(),
          logger,
        }
      : undefined,
  });
  let webhook: GateWebhook | undefined;
  const servesWebhook = gateInstaller !== undefined && resolvedGateMode === 'webhook';
  const health = {
    // A webhook replica takes admission traffic through its Service once Ready: only when it answers with a
    // certificate the API server accepts.
    notReady: () => {
      if (!controller.hasSynced()) return 'caches not synced yet';
      if (!servesWebhook) return undefined;
      return webhook === undefined ? 'the gate webhook is not serving yet' : webhook.notReady();
    },
  };
  const server = await startTelemetryServer(values['metrics-address'], metrics.registry, health, webRoutes);
  if (gateInstaller && servesWebhook) {
    try {
      webhook = await startGateWebhook({
        kubeConfig,
        address: values['webhook-address'],
        url: values['webhook-url'],
        service: webhookService,
        gateName: values['gate-name'],
        secretNamespace: modelNamespace,
        policiesOf: (namespace) => controller.caches.policies(namespace),
        operatorUsername: gateInstaller.username ?? '',
        // With cert-manager's certificate the chart's configuration gets its caBundle from cert-manager.
        installer: values['webhook-cert-from-secret'] ? undefined : gateInstaller,
        certificateFromSecret: values['webhook-cert-from-secret'],
        logger,
      });
    } catch (err) {
      await server.close();
      return gateFailed(err);
    }
  }
  gateInstaller?.keepUpToDate();
  // The dashboard shows every namespace and has no login: never on the metrics port, which a Service and
  // every scraper reach; on loopback unless the operator's own configuration says otherwise.
  const dashboardServer = values.dashboard
    ? await startTelemetryServer(
        values['dashboard-address'],
        metrics.registry,
        health,
        createWebRoutes({
          dashboard: {
            caches: controller.caches,
            model,
            registry: metrics.registry,
            ready: () => controller.hasSynced(),
            logger,
          },
        }),
      )
    : undefined;
  if (dashboardServer && !isLoopbackAddress(values['dashboard-address'])) {
    logger.warn(
      { dashboardAddress: values['dashboard-address'] },
      'the dashboard has no login and is served beyond loopback: put an authenticating proxy in front of it',
    );
  }
  logger.info(
    {
      metricsPort: server.port,
      dashboardPort: dashboardServer?.port,
      namespace: values.namespace ?? 'all',
      identity: coordinator?.identity ?? elector?.identity,
      shards,
      scoreApi: values['score-api'],
      dashboard: values.dashboard,
      gate: gateInstaller?.resolvedMode ?? 'not installed by this operator',
    },
    'rollguard controller starting',
  );

  let stopping = false;
  const stopped = new Promise<void>((resolve) => {
    let finished = false;
    const finish = (late?: string) => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      if (late) logger.warn(late);
      logger.info('rollguard controller stopped');
      // Nothing may be logged after the last line: work still unwinding (a reconcile, a watch) stays silent.
      logger.level = 'silent';
      resolve();
    };
    let deadline: NodeJS.Timeout | undefined;
    const shutdown = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal, graceSeconds: shutdownGraceMs / 1000 }, 'shutting down: finishing the rollouts in flight');
      deadline = setTimeout(() => {
        finish(
          `the rollouts in flight did not finish within ${shutdownGraceMs / 1000} s; stopping anyway (the next leader picks them up from their assessments)`,
        );
      }, shutdownGraceMs);
      gateInstaller?.stop();
      webhook?.stop();
      clearInterval(pendingGauges);
      void (learning?.stop() ?? Promise.resolve())
        .then(() => controller.stop())
        .then(() => elector?.stop())
        .then(() => coordinator?.stop())
        .then(() => {
          access.close();
        })
        .then(() => dashboardServer?.close())
        .then(() => server.close())
        .catch((err: unknown) => {
          logger.warn({ error: err instanceof Error ? err.message : String(err) }, 'shutdown step failed');
        })
        .finally(() => {
          finish();
        });
    };
    process.once('SIGTERM', () => {
      shutdown('SIGTERM');
    });
    process.once('SIGINT', () => {
      shutdown('SIGINT');
    });
  });
  // Start-up runs beside the wait for a signal: a SIGTERM while the caches sync stops at once, and nothing
  // starts (no workers, no "reconciling") once shutdown has begun.
  // A function, not the variable: the signal handler changes it while start-up awaits.
  const isStopping = () => stopping;
  const startup = async () => {
    await controller.startCaches();
    if (isStopping()) return;
    await learning?.start();
    if (isStopping()) return;
    if (coordinator) {
      // Workers run from the start; keys of namespaces whose shard another replica holds are skipped.
      metrics.isLeader.set(0);
      for (let shard = 0; shard < shards; shard++) metrics.shardOwned.set({ shard: String(shard) }, 0);
      controller.startWorkers();
      const inShard = (shard: number) => (namespace: string) => shardOf(namespace, shards) === shard;
      coordinator.run({
        onAcquired: (shard) => {
          metrics.shardOwned.set({ shard: String(shard) }, 1);
          metrics.isLeader.set(1);
          if (!isStopping()) controller.requeueNamespaces(inShard(shard));
        },
        onLost: (shard, why) => {
          metrics.shardOwned.set({ shard: String(shard) }, 0);
          metrics.isLeader.set(coordinator.ownedShards().length > 0 ? 1 : 0);
          if (!isStopping()) logger.warn({ shard, why }, 'no longer acting on this shard');
          controller.forgetNamespaces(inShard(shard));
        },
      });
    } else if (elector) {
      metrics.isLeader.set(0);
      metrics.shardOwned.set({ shard: '0' }, 0);
      elector.run({
        onStartedLeading: () => {
          if (isStopping()) return;
          metrics.isLeader.set(1);
          metrics.shardOwned.set({ shard: '0' }, 1);
          controller.startWorkers();
        },
        onStoppedLeading: (why) => {
          // Another replica may already act: stop at once, and let Kubernetes restart this one as a standby.
          metrics.isLeader.set(0);
          metrics.shardOwned.set({ shard: '0' }, 0);
          if (isStopping()) return;
          logger.error({ why }, 'lost the leader lease; stopping now');
          process.exit(1);
        },
      });
    } else {
      metrics.isLeader.set(1);
      metrics.shardOwned.set({ shard: '0' }, 1);
      controller.startWorkers();
    }
  };
  void startup().catch((err: unknown) => {
    if (isStopping()) return;
    logger.error({ error: err instanceof Error ? err.message : String(err) }, 'start-up failed; stopping');
    process.kill(process.pid, 'SIGTERM');
  });
  await stopped;
  return 0;
}
