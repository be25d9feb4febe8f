// `make bench`, the operator part, on the local control plane with a real Prometheus and the operator running
// as a process, the way users run it. Prints figures and ratios:
//   1. assessment latency: from the Deployment update to rollguard's annotations, and to the pause, p50/p99;
//   2. reaction time: from the first bad sample scraped to the rollback patch, in evaluation intervals, with
//      the default interval and limits (goal: at most two intervals);
//   3. Prometheus queries per interval with 1, 10 and 100 rollouts under verification at once.
import { spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import path from 'node:path';
import { AppsV1Api, KubeConfig, Watch, type V1Deployment } from '@kubernetes/client-node';
import { startLocalCluster, type LocalCluster } from '../test/harness/cluster.js';
import { repoRoot } from '../test/harness/tools.js';
import { riskyChange, safeChange } from '../test/support/changes.js';
import { installCrds, kubectl, percentile, until } from './support.js';

interface Operator {
  metricsUrl: string;
  stop(): Promise<void>;
}

async function startOperator(cluster: LocalCluster): Promise<Operator> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(repoRoot, 'src/cli/main.ts'),
      'controller',
      `--kubeconfig=${cluster.kubeconfig}`,
      '--metrics-address=127.0.0.1:0',
      `--log-level=${process.env.BENCH_OPERATOR_LOG_LEVEL ?? 'info'}`,
      '--workers=8',
    ],
    {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ROLLGUARD_LOG_LEVEL: 'info' },
    },
  );
  let output = '';
  const logFile = process.env.BENCH_OPERATOR_LOG;
  if (logFile) child.stdout.pipe(createWriteStream(logFile, { flags: 'a' }));
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const port = await until<string>(() => /"metricsPort":(\d+)/.exec(output)?.[1], 120_000, 'the operator to start');
  const metricsUrl = `http://127.0.0.1:${port}`;
  await until(
    async () => ((await fetch(`${metricsUrl}/readyz`)).ok ? true : undefined),
    120_000,
    'the operator to be ready',
  );
  return {
    metricsUrl,
    stop: async () => {
      child.kill('SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

function deployment(
  namespace: string,
  name: string,
  version: number,
  annotations: Record<string, string>,
  replicas = 1,
): string {
  return JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels: { 'rollguard.io/enabled': 'true' } },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations },
        spec: {
          containers: [
            {
              name: 'app',
              image: `shop/${name}:1.${version}.0`,
              readinessProbe: { httpGet: { path: '/', port: 80 } },
              resources: { limits: { memory: '64Mi' } },
            },
          ],
        },
      },
    },
  });
}

async function policy(cluster: LocalCluster, namespace: string, spec: object): Promise<void> {
  await kubectl(
    cluster,
    ['apply', '-f', '-'],
    JSON.stringify({
      apiVersion: 'rollguard.io/v1alpha1',
      kind: 'DeploymentRiskPolicy',
      metadata: { name: 'bench', namespace },
      spec,
    }),
  );
}

/** 1. Time from the Deployment update to the annotations and to the pause. */
async function assessmentLatency(cluster: LocalCluster, kc: KubeConfig): Promise<void> {
  const ns = 'bench-latency';
  await kubectl(cluster, ['create', 'namespace', ns]);
  await policy(cluster, ns, {
    selector: { matchLabels: { 'rollguard.io/enabled': 'true' } },
    prometheus: { address: cluster.prometheus.url },
  });
  const operator = await startOperator(cluster);
  const apps = kc.makeApiClient(AppsV1Api);
  const seen = new Map<string, { annotated?: number; paused?: number }>();
  // When the Deployment controller recorded the new revision on the Deployment: rollguard acts from there.
  const revisionSeen = new Map<string, number>();
  const replicaSetSeen = new Map<string, number>();
  const rsWatch = await new Watch(kc).watch(
    `/apis/apps/v1/namespaces/${ns}/replicasets`,
    {},
    (_type, obj: { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } }) => {
      const key = `${obj.metadata?.labels?.app ?? ''}@${obj.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? ''}`;
      if (!replicaSetSeen.has(key)) replicaSetSeen.set(key, performance.now());
    },
    () => undefined,
  );
  const watch = new Watch(kc);
  const request = await watch.watch(
    `/apis/apps/v1/namespaces/${ns}/deployments`,
    {},
    (_type, obj: V1Deployment) => {
      const revisionKey = `${obj.metadata?.name ?? ''}@${obj.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? ''}`;
      if (!revisionSeen.has(revisionKey)) revisionSeen.set(revisionKey, performance.now());
      const key = `${obj.metadata?.name ?? ''}@${obj.metadata?.annotations?.['rollguard.io/assessed-revision'] ?? ''}`;
      const entry = seen.get(key) ?? {};
      entry.annotated ??= performance.now();
      if (obj.spec?.paused === true) entry.paused ??= performance.now();
      seen.set(key, entry);
    },
    () => undefined,
  );
  const toAnnotation: number[] = [];
  const toReplicaSet: number[] = [];
  const revisionToAnnotation: number[] = [];
  const toRevision: number[] = [];
  const toPause: number[] = [];
  const rounds = 12;
  const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
  for (const name of names)
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: JSON.parse(deployment(ns, name, 0, safeChange)) as V1Deployment,
    });
  for (const name of names) await until(() => seen.get(`${name}@1`)?.annotated, 30_000, `${name} revision 1 assessed`);
  for (let round = 1; round <= rounds; round++) {
    const risky = round % 3 === 0;
    await Promise.all(
      names.map(async (name) => {
        // A paused Deployment does not roll out: resume the last risky round first.
        await apps.patchNamespacedDeployment({
          namespace: ns,
          name,
          body: [{ op: 'replace', path: '/spec/paused', value: false }],
        });
        const started = performance.now();
        await apps.replaceNamespacedDeployment({
          namespace: ns,
          name,
          body: JSON.parse(deployment(ns, name, round, risky ? riskyChange : safeChange)) as V1Deployment,
        });
        const revision = round + 1;
        const annotated = await until(
          () => seen.get(`${name}@${revision}`)?.annotated,
          30_000,
          `${name} revision ${revision} assessed`,
          5,
        );
        toAnnotation.push(annotated - started);
        const rsAt = replicaSetSeen.get(`${name}@${revision}`);
        if (rsAt !== undefined) toReplicaSet.push(rsAt - started);
        const revisionAt = revisionSeen.get(`${name}@${revision}`);
        if (revisionAt !== undefined) {
          toRevision.push(revisionAt - started);
          revisionToAnnotation.push(annotated - revisionAt);
        }
        if (risky) {
          const paused = await until(
            () => seen.get(`${name}@${revision}`)?.paused,
            30_000,
            `${name} revision ${revision} paused`,
            5,
          );
          toPause.push(paused - started);
        }
      }),
    );
  }
  request.abort();
  rsWatch.abort();
  await operator.stop();
  console.log(
    `\n1. Assessment latency: ${toAnnotation.length} rollouts of ${names.length} Deployments (5 at once), operator with a live Prometheus`,
  );
  console.log(
    `   update → annotations   p50 ${percentile(toAnnotation, 50).toFixed(0)} ms   p99 ${percentile(toAnnotation, 99).toFixed(0)} ms   max ${Math.max(...toAnnotation).toFixed(0)} ms`,
  );
  console.log(
    `     of which Kubernetes creating the new ReplicaSet   p50 ${percentile(toReplicaSet, 50).toFixed(0)} ms   p99 ${percentile(toReplicaSet, 99).toFixed(0)} ms`,
  );
  console.log(
    `     of which Kubernetes recording the new revision on the Deployment  p50 ${percentile(toRevision, 50).toFixed(0)} ms   p99 ${percentile(toRevision, 99).toFixed(0)} ms`,
  );
  console.log(
    `     of which rollguard (new revision → annotations written)  p50 ${percentile(revisionToAnnotation, 50).toFixed(0)} ms   p99 ${percentile(revisionToAnnotation, 99).toFixed(0)} ms`,
  );
  console.log(
    `   update → paused        p50 ${percentile(toPause, 50).toFixed(0)} ms   p99 ${percentile(toPause, 99).toFixed(0)} ms   (${toPause.length} risky rollouts)`,
  );
}

/** 2. From the first bad sample scraped to the rollback patch, with the default interval and limits. */
async function reactionTime(cluster: LocalCluster, kc: KubeConfig): Promise<void> {
  const ns = 'bench-reaction';
  await kubectl(cluster, ['create', 'namespace', ns]);
  // Defaults everywhere (interval 10s, rate window 1m, safe level: 2 failed intervals), only the address set.
  await policy(cluster, ns, {
    selector: { matchLabels: { 'rollguard.io/enabled': 'true' } },
    prometheus: { address: cluster.prometheus.url },
  });
  const operator = await startOperator(cluster);
  const apps = kc.makeApiClient(AppsV1Api);
  const intervalMs = 10_000;
  const results: number[] = [];
  for (let run = 0; run < 3; run++) {
    const name = `svc${run}`;
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: JSON.parse(
        deployment(
          ns,
          name,
          0,
          { ...safeChange, 'sim.rollguard.io/exact': 'true', 'sim.rollguard.io/error-rate': '0' },
          2,
        ),
      ) as V1Deployment,
    });
    await run_(cluster, ['-n', ns, 'rollout', 'status', `deployment/${name}`, '--timeout=60s']);
    await new Promise((r) => setTimeout(r, 5000));
    await apps.replaceNamespacedDeployment({
      namespace: ns,
      name,
      body: JSON.parse(
        deployment(
          ns,
          name,
          1,
          { ...safeChange, 'sim.rollguard.io/exact': 'true', 'sim.rollguard.io/error-rate': '0.3' },
          2,
        ),
      ) as V1Deployment,
    });
    // The first bad sample: the earliest scrape in which the new pods' 5xx counter is above zero.
    const hash = await until(
      async () => {
        const rs = await apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: `app=${name}` });
        return rs.items.find((r) => r.metadata?.annotations?.['deployment.kubernetes.io/revision'] === '2')?.metadata
          ?.labels?.['pod-template-hash'];
      },
      30_000,
      'the new ReplicaSet',
    );
    const rolledBackAt = await until(
      async () => {
        const d = await apps.readNamespacedDeployment({ namespace: ns, name });
        return d.metadata?.annotations?.['rollguard.io/rolled-back-from'] === '2' ? Date.now() : undefined;
      },
      120_000,
      `${name} to be rolled back`,
      20,
    );
    const q = new URL('/api/v1/query', cluster.prometheus.url);
    q.searchParams.set(
      'query',
      `min(timestamp(http_requests_total{namespace="${ns}",pod_template_hash="${hash}",code="500"} > 0))`,
    );
    q.searchParams.set('time', String(rolledBackAt / 1000));
    const firstBad = (await (await fetch(q)).json()) as { data: { result: { value: [number, string] }[] } };
    // timestamp() at evaluation time is the latest sample; ask the range instead for the earliest one.
    const r = new URL('/api/v1/query_range', cluster.prometheus.url);
    r.searchParams.set(
      'query',
      `min(http_requests_total{namespace="${ns}",pod_template_hash="${hash}",code="500"} > 0)`,
    );
    r.searchParams.set('start', String(rolledBackAt / 1000 - 120));
    r.searchParams.set('end', String(rolledBackAt / 1000));
    r.searchParams.set('step', '1');
    const range = (await (await fetch(r)).json()) as { data: { result: { values: [number, string][] }[] } };
    const first = range.data.result[0]?.values[0]?.[0] ?? firstBad.data.result[0]?.value[0];
    if (first === undefined) throw new Error('no bad sample found in Prometheus');
    results.push(rolledBackAt - first * 1000);
  }
  await operator.stop();
  console.log(
    `\n2. Reaction time with the default policy (interval 10s, rate window 1m, failure limit 2 for a safe rollout)`,
  );
  for (const [i, ms] of results.entries())
    console.log(
      `   run ${i + 1}: first bad sample → rollback patch ${(ms / 1000).toFixed(1)} s = ${(ms / intervalMs).toFixed(2)} intervals`,
    );
  const worst = Math.max(...results) / intervalMs;
  console.log(`   worst ${worst.toFixed(2)} intervals (goal ≤ 2): ${worst <= 2 ? 'met' : 'NOT met'}`);
}

async function run_(cluster: LocalCluster, args: string[]): Promise<void> {
  await kubectl(cluster, args);
}

async function queryCount(operator: Operator): Promise<number> {
  const text = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
  return text
    .split('\n')
    .filter((l) => l.startsWith('rollguard_prometheus_query_duration_seconds_count'))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

/** 3. Queries per interval while 1, 10 and 100 rollouts are verified at once. */
async function queriesPerInterval(cluster: LocalCluster, kc: KubeConfig): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  const intervalMs = 2000;
  console.log(`\n3. Prometheus queries per verification interval (interval ${intervalMs / 1000}s), steady state`);
  for (const count of [1, 10, 100]) {
    const ns = `bench-batch-${count}`;
    await kubectl(cluster, ['create', 'namespace', ns]);
    await policy(cluster, ns, {
      selector: { matchLabels: { 'rollguard.io/enabled': 'true' } },
      prometheus: { address: cluster.prometheus.url },
      verification: { interval: `${intervalMs / 1000}s` },
      levels: {
        safe: { verificationWindow: '30m' },
        monitor: { verificationWindow: '30m', pause: false },
        rollbackReady: { verificationWindow: '30m', pause: false },
        block: { verificationWindow: '30m', pause: false },
      },
    });
    const operator = await startOperator(cluster);
    const names = Array.from({ length: count }, (_, i) => `svc-${i}`);
    for (const name of names)
      await apps.createNamespacedDeployment({
        namespace: ns,
        body: JSON.parse(deployment(ns, name, 0, safeChange)) as V1Deployment,
      });
    const verifying = async () => {
      const text = await (await fetch(`${operator.metricsUrl}/metrics`)).text();
      return Number(/^rollguard_rollouts_verifying (\S+)/m.exec(text)?.[1] ?? 0);
    };
    await until(
      async () => ((await verifying()) >= count ? true : undefined),
      180_000,
      `${count} rollouts verifying`,
      500,
    );
    await new Promise((r) => setTimeout(r, 2 * intervalMs));
    const before = await queryCount(operator);
    const windowIntervals = 10;
    await new Promise((r) => setTimeout(r, windowIntervals * intervalMs));
    const after = await queryCount(operator);
    console.log(
      `   ${String(count).padStart(3)} rollouts verifying: ${((after - before) / windowIntervals).toFixed(1)} queries per interval (${(after - before) / windowIntervals / count} per rollout)`,
    );
    await operator.stop();
    await kubectl(cluster, ['delete', 'namespace', ns, '--wait=false']);
  }
}

const cluster = await startLocalCluster({
  log: (l) => {
    console.log(`[harness] ${l}`);
  },
});
try {
  await installCrds(cluster);
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  const only = process.argv[2];
  if (!only || only === 'latency') await assessmentLatency(cluster, kc);
  if (!only || only === 'reaction') await reactionTime(cluster, kc);
  if (!only || only === 'batching') await queriesPerInterval(cluster, kc);
} finally {
  await cluster.stop();
}
