// `make bench-scale`: rollguard on a cluster of thousands of Deployments. The local control plane with kwok
// (pods are bound by the real scheduler and reported Running by kwok), the workload simulator and a real
// Prometheus, and the operator as a separate process started as the image starts it (the Dockerfile's
// ENTRYPOINT: the bundle in dist/sea). It measures:
//   rssMiB          the operator's resident memory (/proc) after the first sync and after churn
//   syncSeconds     start to ready: caches synced and the first reconcile of every covered Deployment done
//   assess*         new revision seen → rollguard's annotations, one at a time and 100 at once, and the
//                   live-signal queries of those 100 (liveSignalQueries100: they share queries per namespace)
//   verifyingAtOnce the covered rollouts under verification at once: Prometheus queries per interval, the
//                   interval's processing time, intervals skipped
//   reconcileP99Ms  during steady state, and the work done for events that change nothing
//   API requests    from the API server's audit log (the operator runs as its own user): per new rollout,
//                   status writes, and the request rate against the client-side limit
//
// SCALE=0.1 makes everything a tenth (500 Deployments) for development; SCALE=1 is 5,000 Deployments in 500
// namespaces, 100 of which have a policy covering 5 of their 10 Deployments. JSON=1 ends with one JSON line.
import { createReadStream } from 'node:fs';
import { cp, mkdir, readdir, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { execFile } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { promisify } from 'node:util';
import v8 from 'node:v8';
import { runInNewContext } from 'node:vm';
import { PatchStrategy, Watch, setHeaderOptions, type V1Deployment, type V1ReplicaSet } from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { startLocalCluster, type LocalCluster } from '../test/harness/cluster.js';
import { repoRoot } from '../test/harness/tools.js';
import { parseDuration } from '../src/api/duration.js';
import { slimDeployment, slimReplicaSet } from '../src/kube/informer-transform.js';
import { tickAt, tickClockFor, tickStartMs } from '../src/verify/ticks.js';
import {
  cpuByProgram,
  cpuSplit,
  deploymentBody,
  Fatal,
  metricSum,
  policyBody,
  pool,
  sleep,
  startImageOperator,
  type ImageOperator,
  adminClients,
} from './support.js';

const run = promisify(execFile);
const scale = Number(process.env.SCALE ?? '1');
const json = process.env.JSON === '1';
// HEAP_SNAPSHOTS=DIR: the operator writes a V8 heap snapshot into DIR where RSS is measured (for finding what
// holds memory; the snapshot pauses the operator, so latency figures of that run mean less).
const heapSnapshots = process.env.HEAP_SNAPSHOTS ? path.resolve(process.env.HEAP_SNAPSHOTS) : undefined;
// CPU_PROFILE=DIR: each operator start writes a V8 CPU profile (.cpuprofile, for Chrome's DevTools) into DIR
// when it stops: where the operator's own time goes. The bundle is then not minified, so its lines can be read.
const cpuProfiles = process.env.CPU_PROFILE ? path.resolve(process.env.CPU_PROFILE) : undefined;
// STOP_AFTER=first: end after the first start's sync, verification and RSS (the memory questions only);
// STOP_AFTER=burst: end after the 100 rollouts at once (the latency questions, without the churn).
// OPERATOR_ARGS="--workers=32 ...": more flags for the operator, to compare settings.
// KEEP_LOGS=DIR: copy the operator's, the API server's and the audit logs there before the cluster goes.
const keepLogs = process.env.KEEP_LOGS ? path.resolve(process.env.KEEP_LOGS) : undefined;
const stopAfter = process.env.STOP_AFTER ?? '';
if (!['', 'first', 'burst'].includes(stopAfter)) throw new Error(`STOP_AFTER must be first or burst, not ${stopAfter}`);
const stopAfterFirst = stopAfter === 'first';
const operatorArgs = (process.env.OPERATOR_ARGS ?? '').split(/\s+/).filter((a) => a !== '');
// OPERATOR_NODE_FLAGS="--max-semi-space-size=8": node flags in place of the image's own, to compare them.
const operatorNodeFlags =
  process.env.OPERATOR_NODE_FLAGS === undefined
    ? undefined
    : process.env.OPERATOR_NODE_FLAGS.split(/\s+/).filter((a) => a !== '');
if (!(scale > 0 && scale <= 4)) throw new Error(`SCALE must be a number in (0, 4], not ${process.env.SCALE ?? ''}`);

const namespaces = Math.max(2, Math.round(500 * scale));
const perNamespace = 10;
const coveredPerNamespace = 5;
const policyNamespaces = Math.max(1, Math.round(100 * scale));
const replicas = 2;
const intervalMs = 10_000;
/** The operator's --quiet-write-period: its default, or what OPERATOR_ARGS says. */
const quietWritePeriodMs = (() => {
  const flag = operatorArgs.find((a) => a.startsWith('--quiet-write-period='));
  return flag === undefined ? 30_000 : parseDuration(flag.slice('--quiet-write-period='.length));
})();
const operatorUser = 'rollguard-operator';
const say = (line: string) => {
  console.log(line);
};
const nsName = (i: number) => `scale-${String(i).padStart(3, '0')}`;
const depName = (j: number) => `svc-${j}`;
const isCovered = (i: number, j: number) => i < policyNamespaces && j < coveredPerNamespace;

// ---------- small helpers ----------
async function until<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
  everyMs = 200,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof Fatal) throw err;
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}`);
    await sleep(everyMs);
  }
}

function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

// ---------- the audit log: every request the operator's user made ----------
interface AuditEntry {
  at: number;
  /** Milliseconds from the API server receiving the request to its response. */
  serverMs: number;
  verb: string;
  resource: string;
  namespace: string;
}
async function readAudit(file: string, from: number, to: number): Promise<AuditEntry[]> {
  const out: AuditEntry[] = [];
  const lines = createInterface({ input: createReadStream(file) });
  for await (const line of lines) {
    if (!line.includes(operatorUser)) continue;
    const e = JSON.parse(line) as {
      stage: string;
      verb: string;
      stageTimestamp: string;
      requestReceivedTimestamp?: string;
      user?: { username?: string };
      objectRef?: { resource?: string; subresource?: string; namespace?: string };
    };
    if (e.stage !== 'ResponseComplete' || e.user?.username !== operatorUser || e.verb === 'watch') continue;
    const at = Date.parse(e.stageTimestamp);
    if (at < from || at > to) continue;
    const resource = `${e.objectRef?.resource ?? '?'}${e.objectRef?.subresource ? `/${e.objectRef.subresource}` : ''}`;
    const serverMs = at - Date.parse(e.requestReceivedTimestamp ?? e.stageTimestamp);
    out.push({ at, serverMs, verb: e.verb, resource, namespace: e.objectRef?.namespace ?? '' });
  }
  return out;
}
const isWrite = (e: AuditEntry) => !['get', 'list', 'watch'].includes(e.verb);
function tally(entries: readonly AuditEntry[]): string {
  const counts = new Map<string, number>();
  for (const e of entries) counts.set(`${e.verb} ${e.resource}`, (counts.get(`${e.verb} ${e.resource}`) ?? 0) + 1);
  return [...counts.entries()]
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ×${v}`)
    .join(', ');
}

// ---------- the operator as a process ----------
interface Operator extends ImageOperator {
  /** With HEAP_SNAPSHOTS: writes a heap snapshot named after `label` and waits for it. */
  heapSnapshot(label: string): Promise<void>;
}
async function startOperator(cluster: LocalCluster, kubeconfig: string, label: string): Promise<Operator> {
  const started = await startImageOperator({
    name: `rollguard-${label}`,
    logDir: path.join(cluster.dir, 'logs'),
    kubeconfig,
    args: operatorArgs,
    imageNodeFlags: operatorNodeFlags,
    nodeArgs: [
      ...(heapSnapshots ? ['--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${heapSnapshots}`] : []),
      ...(cpuProfiles ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfiles}`, `--cpu-prof-name=${label}.cpuprofile`] : []),
    ],
  });
  const proc = started.process;
  return {
    ...started,
    heapSnapshot: async (name: string) => {
      if (!heapSnapshots) return;
      const existing = new Set(await readdir(heapSnapshots));
      process.kill(proc.pid, 'SIGUSR2');
      const file = await until(
        async () => {
          const fresh = (await readdir(heapSnapshots)).find((f) => !existing.has(f) && f.endsWith('.heapsnapshot'));
          if (fresh === undefined) return undefined;
          const size = (await stat(path.join(heapSnapshots, fresh))).size;
          await sleep(2000);
          // Written once its size stops growing.
          return (await stat(path.join(heapSnapshots, fresh))).size === size && size > 0 ? fresh : undefined;
        },
        300_000,
        'the heap snapshot',
      );
      await rename(path.join(heapSnapshots, file), path.join(heapSnapshots, `${label}-${name}.heapsnapshot`));
      say(`heap snapshot: ${path.join(heapSnapshots, `${label}-${name}.heapsnapshot`)}`);
    },
  };
}
/** Where the operator's memory is, from its own process metrics: V8's heap (used of committed) and off-heap, and its GC. */
async function heapFigures(operator: Operator): Promise<string> {
  const m = await operator.metrics();
  const mib = (name: string) => (metricSum(m, name) / 2 ** 20).toFixed(0);
  return `V8 heap ${mib('rollguard_nodejs_heap_size_used_bytes')} of ${mib('rollguard_nodejs_heap_size_total_bytes')} MiB, external ${mib('rollguard_nodejs_external_memory_bytes')} MiB; garbage collection since start ${gcSeconds('', m)}`;
}
/** histogram_quantile over the difference of two scrapes of a histogram's buckets. */
/** The operator's garbage-collection pauses between two scrapes, in seconds, with the share of the minor ones. */
function gcSeconds(before: string, after: string): string {
  const total = (m: string, kind = '') => metricSum(m, 'rollguard_nodejs_gc_duration_seconds_sum', kind);
  const all = total(after) - total(before);
  const minor = total(after, 'kind="minor"') - total(before, 'kind="minor"');
  return `${all.toFixed(1)} s (${minor.toFixed(1)} s of it minor)`;
}
/** The longest event-loop delay since the previous scrape (prom-client resets it on every collect). */
function eventLoopLagMaxMs(text: string): number {
  return Math.round(metricSum(text, 'rollguard_nodejs_eventloop_lag_max_seconds') * 1000);
}

/** How long the live-signal queries took between two scrapes of the operator's metrics (bucket-interpolated). */
function liveQueryTimes(before: string, after: string): string {
  const ms = (q: number) =>
    Math.round(
      histogramQuantile(before, after, 'rollguard_prometheus_query_duration_seconds', q, 'purpose="live-signals"') *
        1000,
    );
  const readings = (read: string) =>
    metricSum(after, 'rollguard_live_signal_readings_total', `read="${read}"`) -
    metricSum(before, 'rollguard_live_signal_readings_total', `read="${read}"`);
  const early = readings('before-replicaset');
  return `live signals read at the template change, before the ReplicaSet existed, for ${early} of ${early + readings('at-assessment')} assessments; live-signal queries took p50 ${ms(0.5)} ms, p99 ${ms(0.99)} ms`;
}

function histogramQuantile(before: string, after: string, name: string, q: number, labelFilter = ''): number {
  const buckets = (text: string) => {
    const m = new Map<number, number>();
    for (const l of text.split('\n')) {
      if (!l.startsWith(`${name}_bucket{`) || !l.includes(labelFilter)) continue;
      const le = /le="([^"]+)"/.exec(l)?.[1];
      if (le === undefined) continue;
      const bound = le === '+Inf' ? Infinity : Number(le);
      m.set(bound, (m.get(bound) ?? 0) + Number(l.split(' ').pop()));
    }
    return m;
  };
  const a = buckets(before);
  const b = buckets(after);
  const bounds = [...b.keys()].sort((x, y) => x - y);
  const counts = bounds.map((bound) => (b.get(bound) ?? 0) - (a.get(bound) ?? 0));
  const total = counts[counts.length - 1] ?? 0;
  if (total <= 0) return NaN;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const [i, bound] of bounds.entries()) {
    const count = counts[i] ?? 0;
    if (count >= rank) {
      if (bound === Infinity) return prevBound;
      return prevBound + ((bound - prevBound) * (rank - prevCount)) / Math.max(1, count - prevCount);
    }
    prevBound = bound;
    prevCount = count;
  }
  return NaN;
}

// ---------- the per-object cost of the caches ----------
/**
 * Heap bytes per object that `make` keeps. A full collection in this large process can also free things that
 * have nothing to do with `make` (V8 flushes compiled code not run lately, for one): over 200 copies that once
 * made a 7 KB Deployment look like 2 KB. So: thousands of copies, and the median of three measurements.
 */
function heapOf(make: () => unknown[]): number {
  v8.setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const once = () => {
    gc();
    const before = process.memoryUsage().heapUsed;
    const kept = make();
    gc();
    const after = process.memoryUsage().heapUsed;
    return (after - before) / Math.max(1, kept.length);
  };
  const runs = [once(), once(), once()].sort((a, b) => a - b);
  return runs[1] ?? NaN;
}

async function main(): Promise<void> {
  const started = Date.now();
  say(
    `bench-scale: SCALE=${scale}: ${namespaces * perNamespace} Deployments in ${namespaces} namespaces, ${policyNamespaces} policies covering ${policyNamespaces * coveredPerNamespace} of them, ${replicas} replicas each${operatorArgs.length > 0 ? `; operator flags ${operatorArgs.join(' ')}` : ''}`,
  );
  if (heapSnapshots) await mkdir(heapSnapshots, { recursive: true });
  say(
    `bundling dist/sea/rollguard.cjs (the operator runs as the image runs it${cpuProfiles ? '; not minified, for the profile' : ''})`,
  );
  await run('npx', ['tsx', 'hack/build-dist.ts', '--bundle-only', ...(cpuProfiles ? ['--readable'] : [])], {
    cwd: repoRoot,
  });

  const pods = namespaces * perNamespace * replicas;
  const cluster = await startLocalCluster({
    log: (l) => {
      say(`[harness] ${l}`);
    },
    controlPlane: {
      nodes: Math.ceil(pods / 400) + 1,
      users: [operatorUser],
      auditPolicy: `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Metadata
    users: ["${operatorUser}"]
  - level: None
`,
      apiserverArgs: ['--max-requests-inflight=800', '--max-mutating-requests-inflight=400'],
      componentArgs: ['--kube-api-qps=300', '--kube-api-burst=600'],
    },
    simulator: { labelSelector: 'sim.rollguard.io/serve=true', refreshMs: 3000 },
  });
  const results: Record<string, number | string> = {};
  const loadSamples: number[] = [];
  const loadTimer = setInterval(() => loadSamples.push(os.loadavg()[0] ?? 0), 5000);
  try {
    const kubectl = path.join(cluster.tools.binDir, 'kubectl');
    await run(kubectl, [
      `--kubeconfig=${cluster.kubeconfig}`,
      'apply',
      '--server-side',
      '-f',
      path.join(repoRoot, 'crds'),
    ]);
    await run(kubectl, [`--kubeconfig=${cluster.kubeconfig}`, 'wait', '--for=condition=Established', 'crd', '--all']);
    // The operator's own identity, so the audit log tells its requests apart.
    const operatorConfig = parse(await readFile(cluster.kubeconfig, 'utf8')) as {
      users: { user: { token?: string } }[];
    };
    for (const u of operatorConfig.users) u.user = { token: cluster.controlPlane.userTokens[operatorUser] ?? '' };
    const operatorKubeconfig = path.join(cluster.dir, 'kubeconfig-operator');
    await writeFile(operatorKubeconfig, stringify(operatorConfig), { mode: 0o600 });
    const auditLog = cluster.controlPlane.auditLog ?? '';

    const { kc, apps, core, custom } = adminClients(cluster);
    const apply = (body: ReturnType<typeof deploymentBody>) =>
      apps.patchNamespacedDeployment(
        { name: body.metadata.name, namespace: body.metadata.namespace, body, fieldManager: 'bench', force: true },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );

    // ---- 1. the cluster: namespaces, policies, Deployments (server-side apply, 16 at a time) ----
    let t = Date.now();
    const nsIndexes = Array.from({ length: namespaces }, (_, i) => i);
    await pool(nsIndexes, 16, async (i) => {
      await core.createNamespace({ body: { metadata: { name: nsName(i) } } }).catch((err: unknown) => {
        if ((err as { code?: number }).code !== 409) throw err;
      });
    });
    await pool(
      nsIndexes.filter((i) => i < policyNamespaces),
      16,
      async (i) => {
        await custom.patchNamespacedCustomObject(
          {
            group: 'rollguard.io',
            version: 'v1alpha1',
            plural: 'deploymentriskpolicies',
            namespace: nsName(i),
            name: 'scale',
            body: policyBody(nsName(i), cluster.prometheus.url, {
              name: 'scale',
              interval: `${intervalMs / 1000}s`,
              verificationWindow: '3m',
            }),
            fieldManager: 'bench',
            force: true,
          },
          setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
        );
      },
    );
    const all = nsIndexes.flatMap((i) => Array.from({ length: perNamespace }, (_, j) => ({ i, j })));
    await pool(all, 16, async ({ i, j }) => {
      await apply(deploymentBody(nsName(i), depName(j), 0, isCovered(i, j), replicas));
    });
    say(
      `created ${all.length} Deployments in ${((Date.now() - t) / 1000).toFixed(0)} s; waiting for ${pods} pods to be Running`,
    );
    t = Date.now();
    await until(
      async () => {
        let ready = 0;
        let token: string | undefined;
        do {
          const page = await apps.listDeploymentForAllNamespaces({
            limit: 1000,
            ...(token ? { _continue: token } : {}),
          });
          for (const d of page.items)
            if (d.metadata?.namespace?.startsWith('scale-')) ready += d.status?.readyReplicas ?? 0;
          token = page.metadata?._continue;
        } while (token);
        return ready >= pods ? ready : undefined;
      },
      1_800_000,
      `${pods} pods Ready`,
      5000,
    );
    say(`all pods Ready after ${((Date.now() - t) / 1000).toFixed(0)} s`);

    // What one cached object costs, as listed and as kept.
    const sampleDeployments = (await apps.listNamespacedDeployment({ namespace: nsName(0) })).items;
    const sampleReplicaSets = (await apps.listNamespacedReplicaSet({ namespace: nsName(0) })).items;
    const copies = 2000;
    // As a watch event delivers it (plain JSON), and as the cache keeps it after the transform.
    const listed = (items: readonly object[]) => () =>
      Array.from({ length: copies }, (_, k) => JSON.parse(JSON.stringify(items[k % items.length])) as object);
    const deploymentBytes = heapOf(listed(sampleDeployments));
    const deploymentSlimBytes = heapOf(() =>
      Array.from({ length: copies }, (_, k) =>
        slimDeployment(JSON.parse(JSON.stringify(sampleDeployments[k % sampleDeployments.length])) as V1Deployment),
      ),
    );
    const rsBytes = heapOf(listed(sampleReplicaSets));
    const rsSlimBytes = heapOf(() =>
      Array.from({ length: copies }, (_, k) =>
        slimReplicaSet(JSON.parse(JSON.stringify(sampleReplicaSets[k % sampleReplicaSets.length])) as V1ReplicaSet),
      ),
    );
    results.deploymentBytes = Math.round(deploymentBytes);
    results.deploymentCachedBytes = Math.round(deploymentSlimBytes);
    results.replicaSetBytes = Math.round(rsBytes);
    results.replicaSetCachedBytes = Math.round(rsSlimBytes);

    // Watch the covered Deployments: when a new revision shows, when rollguard's annotations show.
    const revisionSeen = new Map<string, number>();
    const annotatedSeen = new Map<string, number>();
    // client-node's Watch ends after 30 s without events: watch again from the last version seen, for good.
    let lastVersion = (await apps.listDeploymentForAllNamespaces({ limit: 1 })).metadata?.resourceVersion ?? '';
    let watching = true;
    let currentWatch: AbortController | undefined;
    const watchAgain = async (): Promise<void> => {
      if (!watching) return;
      currentWatch = await new Watch(kc).watch(
        '/apis/apps/v1/deployments',
        { labelSelector: 'rollguard.io/enabled=true', resourceVersion: lastVersion },
        (_type: string, d: V1Deployment) => {
          lastVersion = d.metadata?.resourceVersion ?? lastVersion;
          const key = `${d.metadata?.namespace ?? ''}/${d.metadata?.name ?? ''}`;
          const rev = d.metadata?.annotations?.['deployment.kubernetes.io/revision'];
          const assessed = d.metadata?.annotations?.['rollguard.io/assessed-revision'];
          if (rev && !revisionSeen.has(`${key}@${rev}`)) revisionSeen.set(`${key}@${rev}`, performance.now());
          if (assessed && !annotatedSeen.has(`${key}@${assessed}`))
            annotatedSeen.set(`${key}@${assessed}`, performance.now());
        },
        (err: unknown) => {
          if ((err as { code?: number } | null)?.code === 410) lastVersion = '';
          setTimeout(() => void watchAgain().catch(() => setTimeout(() => void watchAgain(), 1000)), 50);
        },
      );
    };
    await watchAgain();
    const watchDeployments = {
      abort: () => {
        watching = false;
        currentWatch?.abort();
      },
    };

    // ---- 2. first start: every covered Deployment assessed, then verified all at once ----
    const covered = all.filter(({ i, j }) => isCovered(i, j));
    let operator = await startOperator(cluster, operatorKubeconfig, 'first');
    const assessedAll = () => {
      let n = 0;
      for (const { i, j } of covered) if (annotatedSeen.has(`${nsName(i)}/${depName(j)}@1`)) n++;
      return n;
    };
    // Revision 1 was written before the watch started: ask the API for the ones the watch did not see change.
    await until(
      async () => {
        const count = assessedAll();
        if (count >= covered.length) return true;
        let token: string | undefined;
        do {
          const page = await apps.listDeploymentForAllNamespaces({
            labelSelector: 'rollguard.io/enabled=true',
            limit: 1000,
            ...(token ? { _continue: token } : {}),
          });
          for (const d of page.items) {
            const assessed = d.metadata?.annotations?.['rollguard.io/assessed-revision'];
            const key = `${d.metadata?.namespace ?? ''}/${d.metadata?.name ?? ''}@${assessed ?? ''}`;
            if (assessed && !annotatedSeen.has(key)) annotatedSeen.set(key, performance.now());
          }
          token = page.metadata?._continue;
        } while (token);
        return assessedAll() >= covered.length ? true : undefined;
      },
      900_000,
      `all ${covered.length} covered Deployments assessed`,
      2000,
    );
    results.firstSyncSeconds = Number(((Date.now() - operator.startedAt) / 1000).toFixed(1));
    results.firstReadySeconds = Number(((operator.readyAt - operator.startedAt) / 1000).toFixed(1));
    say(
      `first start: caches synced in ${results.firstReadySeconds} s, all ${covered.length} covered Deployments assessed after ${results.firstSyncSeconds} s`,
    );

    // Verification of all of them at once.
    const verifying = async () => metricSum(await operator.metrics(), 'rollguard_rollouts_verifying');
    const atOnce = await until(
      async () => {
        const v = await verifying();
        return v >= covered.length * 0.98 ? v : undefined;
      },
      300_000,
      'the covered rollouts under verification',
      1000,
    ).catch(async () => verifying());
    await sleep(2 * intervalMs);
    const qBefore = await operator.metrics();
    const windowStart = Date.now();
    const intervals = 6;
    await sleep(intervals * intervalMs);
    const qAfter = await operator.metrics();
    const windowEnd = Date.now();
    const queries =
      metricSum(qAfter, 'rollguard_prometheus_query_duration_seconds_count') -
      metricSum(qBefore, 'rollguard_prometheus_query_duration_seconds_count');
    const verifyWrites = (await readAudit(auditLog, windowStart, windowEnd)).filter(isWrite);
    // Skipped intervals and processing time, from what the assessments recorded. Intervals that only read
    // healthy metrics are written together (--quiet-write-period, 30 s by default): wait until the window's
    // last ones are written before reading the records.
    await sleep(quietWritePeriodMs + intervalMs);
    const assessments = (await custom.listClusterCustomObject({
      group: 'rollguard.io',
      version: 'v1alpha1',
      plural: 'rolloutassessments',
    })) as {
      items: {
        metadata?: { namespace?: string };
        spec?: { policy?: string };
        status?: { verification?: { steps?: { at: string }[] } };
      }[];
    };
    // Each policy's intervals begin at a phase of its own (src/verify/ticks.ts): an interval is a tick of the
    // assessment's policy, and its processing time is how long after that tick's start its last check ran.
    let skipped = 0;
    let judged = 0;
    const spreadByTick = new Map<string, number>();
    for (const a of assessments.items) {
      const policyKey = `${a.metadata?.namespace ?? ''}/${a.spec?.policy ?? ''}`;
      const clock = tickClockFor(policyKey, intervalMs);
      const firstTick = tickAt(clock, windowStart - 1) + 1;
      const lastTick = tickAt(clock, windowEnd) - 1;
      const ticks = new Set<number>();
      for (const s of a.status?.verification?.steps ?? []) {
        const at = Date.parse(s.at);
        const tick = tickAt(clock, at);
        if (tick < firstTick || tick > lastTick) continue;
        ticks.add(tick);
        const key = `${policyKey}@${tick}`;
        spreadByTick.set(key, Math.max(spreadByTick.get(key) ?? 0, at - tickStartMs(clock, tick)));
      }
      if (ticks.size === 0) continue;
      judged++;
      skipped += lastTick - firstTick + 1 - ticks.size;
    }
    const spreads = [...spreadByTick.values()];
    results.verifyingAtOnce = atOnce;
    results.queriesPerInterval = Number((queries / intervals).toFixed(1));
    results.intervalProcessingMs = Math.round(Math.max(...spreads, 0));
    results.intervalsSkipped = skipped;
    say(
      `verification: ${atOnce} rollouts at once; ${judged} judged in the window; ${results.queriesPerInterval} Prometheus queries per interval; last check of an interval ${results.intervalProcessingMs} ms after its start; ${skipped} intervals skipped`,
    );
    results.writesPerVerifyInterval = Number((verifyWrites.length / intervals).toFixed(1));
    say(`  API writes per interval while verifying: ${results.writesPerVerifyInterval} (${tally(verifyWrites)})`);

    await until(async () => ((await verifying()) === 0 ? true : undefined), 600_000, 'verification to finish', 5000);
    await sleep(10_000);
    results.rssMiBAfterSync = Math.round(await operator.rssMiB());
    say(`RSS after the first sync and verification: ${results.rssMiBAfterSync} MiB (${await heapFigures(operator)})`);
    await operator.heapSnapshot('after-first-sync');
    if (stopAfterFirst) {
      // The watch retries forever: left open, it kept the bench alive after the cluster was stopped.
      watchDeployments.abort();
      await operator.process.stop();
      return;
    }

    // ---- 3. steady state: events that change nothing ----
    // The learning loop's first drift verdict gives every policy its ModelDrift condition: 100 legitimate
    // writes that would otherwise land in this window and be counted against the label changes.
    const driftWaitStart = Date.now();
    const withDrift = await until(
      async () => {
        const listed = (await custom.listClusterCustomObject({
          group: 'rollguard.io',
          version: 'v1alpha1',
          plural: 'deploymentriskpolicies',
        })) as { items: { status?: { conditions?: { type?: string }[] } }[] };
        const count = listed.items.filter((p) => p.status?.conditions?.some((c) => c.type === 'ModelDrift')).length;
        return count >= policyNamespaces ? count : undefined;
      },
      300_000,
      `every policy's first ModelDrift condition`,
      2000,
    ).catch(() => undefined);
    say(
      withDrift === undefined
        ? `steady state: not every policy had its first drift verdict after 300 s; its writes may land in the window`
        : `steady state: every policy has its first drift verdict (waited ${String(Math.round((Date.now() - driftWaitStart) / 1000))} s)`,
    );
    const before = await operator.metrics();
    const noopStart = Date.now();
    await pool(all, 16, async ({ i, j }) => {
      await apps.patchNamespacedDeployment(
        {
          namespace: nsName(i),
          name: depName(j),
          body: { metadata: { labels: { 'bench.rollguard.io/touched': '1' } } },
        },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    });
    await sleep(15_000);
    const noopEnd = Date.now();
    const after = await operator.metrics();
    const noopRequests = await readAudit(auditLog, noopStart, noopEnd);
    results.noopEvents = all.length;
    results.noopApiWrites = noopRequests.filter(isWrite).length;
    results.noopApiReads = noopRequests.filter((e) => !isWrite(e)).length;
    results.noopQueries =
      metricSum(after, 'rollguard_prometheus_query_duration_seconds_count') -
      metricSum(before, 'rollguard_prometheus_query_duration_seconds_count');
    results.reconcileP99Ms = Number(
      (
        histogramQuantile(before, after, 'rollguard_reconcile_duration_seconds', 0.99, 'kind="deployment"') * 1000
      ).toFixed(1),
    );
    say(
      `steady state: ${all.length} label changes → ${results.noopApiWrites} API writes, ${results.noopApiReads} reads, ${results.noopQueries} Prometheus queries; reconcile p99 ${results.reconcileP99Ms} ms`,
    );

    // ---- 4. restart: start to ready ----
    await operator.process.stop();
    operator = await startOperator(cluster, operatorKubeconfig, 'restart');
    await until(
      async () => {
        const m = await operator.metrics();
        const reconciled = metricSum(m, 'rollguard_reconcile_duration_seconds_count', 'kind="deployment"');
        return reconciled >= all.length && metricSum(m, 'rollguard_workqueue_depth') === 0 ? true : undefined;
      },
      600_000,
      'the first reconcile of every Deployment',
      100,
    );
    results.syncSeconds = Number(((Date.now() - operator.startedAt) / 1000).toFixed(1));
    results.readySeconds = Number(((operator.readyAt - operator.startedAt) / 1000).toFixed(1));
    const restartWrites = (await readAudit(auditLog, operator.startedAt, Date.now())).filter(isWrite);
    say(
      `restart: caches synced in ${results.readySeconds} s, every Deployment reconciled after ${results.syncSeconds} s, ${restartWrites.length} writes (${tally(restartWrites)})`,
    );

    // ---- 5. one rollout at a time ----
    /**
     * Every rollout's latency and how many policies began a verification interval in the 2 s before it, for
     * the slowest of a phase: each policy's intervals begin at a phase of their own (src/verify/ticks.ts).
     */
    const slowest: { ms: number; ticksBefore: number }[] = [];
    const policyClocks = Array.from({ length: policyNamespaces }, (_, i) =>
      tickClockFor(`${nsName(i)}/scale`, intervalMs),
    );
    const ticksInTwoSecondsBefore = (at: number) =>
      policyClocks.filter((c) => at - tickStartMs(c, tickAt(c, at)) < 2000).length;
    const rollout = async (i: number, j: number, version: number): Promise<number> => {
      const ns = nsName(i);
      const name = depName(j);
      const key = `${ns}/${name}`;
      const current = await apps.readNamespacedDeployment({ namespace: ns, name });
      const next = Number(current.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? '0') + 1;
      await apply(deploymentBody(ns, name, version, true, replicas));
      const annotated = await until(() => annotatedSeen.get(`${key}@${next}`), 120_000, `${key}@${next} assessed`, 5);
      const seen = revisionSeen.get(`${key}@${next}`) ?? annotated;
      slowest.push({ ms: annotated - seen, ticksBefore: ticksInTwoSecondsBefore(performance.timeOrigin + seen) });
      return annotated - seen;
    };
    const slowestSince = (from: number) =>
      slowest
        .slice(from)
        .sort((a, b) => b.ms - a.ms)
        .slice(0, 5)
        .map((r) => `${Math.round(r.ms)} ms (${r.ticksBefore} policies' checks began in the 2 s before)`)
        .join(', ');
    const single: number[] = [];
    const singleCount = Math.min(20, policyNamespaces);
    const singleStart = Date.now();
    const operatorPid = new Map([
      [operator.process.pid, 'rollguard'],
      [process.pid, 'bench'],
    ]);
    const cpuBeforeSingle = await cpuByProgram(operatorPid);
    const beforeSingle = await operator.metrics();
    for (let k = 0; k < singleCount; k++) {
      single.push(await rollout(k, 0, 1));
      await sleep(1500);
    }
    const afterSingle = await operator.metrics();
    const cpuAfterSingle = await cpuByProgram(operatorPid);
    const singleRequests = await readAudit(auditLog, singleStart, Date.now());
    // Attribute requests to rollouts by namespace: one rollout per namespace here.
    const perRollout = singleRequests.filter((e) => e.namespace.startsWith('scale-'));
    results.assessP50Ms = Math.round(percentile(single, 50));
    results.assessP99Ms = Math.round(percentile(single, 99));
    results.apiCallsPerRollout = Number((perRollout.length / singleCount).toFixed(1));
    results.statusWritesPerRollout = Number(
      (perRollout.filter((e) => e.resource.endsWith('/status')).length / singleCount).toFixed(1),
    );
    say(
      `one at a time (${singleCount}): new revision → annotations p50 ${results.assessP50Ms} ms, p99 ${results.assessP99Ms} ms` +
        ` (each, fastest first: ${[...single]
          .sort((a, b) => a - b)
          .map((ms) => Math.round(ms))
          .join(', ')} ms)`,
    );
    say(`  slowest: ${slowestSince(0)}`);
    // Where a slow one lost its time: waiting for a worker, or in the API server (the audit log's own timing).
    const serverMs = (resource: string, verb: string) =>
      perRollout.filter((e) => e.resource === resource && e.verb === verb).map((e) => e.serverMs);
    const spread = (values: number[]) =>
      values.length === 0
        ? 'none'
        : `p50 ${Math.round(percentile(values, 50))}, max ${Math.round(Math.max(...values))}`;
    const singleQueueWait = (q: number) =>
      Math.round(
        histogramQuantile(beforeSingle, afterSingle, 'rollguard_workqueue_wait_seconds', q, 'kind="deployment"') * 1000,
      );
    say(
      `  in the API server (ms): create record ${spread(serverMs('rolloutassessments', 'create'))}; score ${spread(serverMs('rolloutassessments/status', 'patch'))}; annotations ${spread(serverMs('deployments', 'patch'))}. Deployment keys' work-queue wait p90 ${singleQueueWait(0.9)} ms, p99 ${singleQueueWait(0.99)} ms; the operator's event loop delayed at most ${eventLoopLagMaxMs(afterSingle)} ms`,
    );
    say(`  ${liveQueryTimes(beforeSingle, afterSingle)}`);
    say(
      `  API calls per new rollout (until 1.5 s after its annotations): ${results.apiCallsPerRollout}, of them status writes ${results.statusWritesPerRollout}: ${tally(perRollout)}`,
    );
    say(
      `  the machine's CPU over ${((Date.now() - singleStart) / 1000).toFixed(0)} s: ${cpuSplit(cpuBeforeSingle, cpuAfterSingle)}; the operator's garbage collection ${gcSeconds(beforeSingle, afterSingle)}`,
    );

    // ---- 6. 100 rollouts at once ----
    const burstCount = Math.min(100, policyNamespaces * coveredPerNamespace);
    const burstTargets = covered.filter(({ j }) => j > 0).slice(0, burstCount);
    const beforeBurst = await operator.metrics();
    const cpuBeforeBurst = await cpuByProgram(operatorPid);
    const burstStart = Date.now();
    const burstFrom = slowest.length;
    const burst = await Promise.all(burstTargets.map(({ i, j }) => rollout(i, j, 2)));
    const burstSeconds = (Date.now() - burstStart) / 1000;
    const cpuAfterBurst = await cpuByProgram(operatorPid);
    const afterBurst = await operator.metrics();
    const waitedInBurst =
      metricSum(afterBurst, 'rollguard_kube_api_rate_limit_wait_seconds_total') -
      metricSum(beforeBurst, 'rollguard_kube_api_rate_limit_wait_seconds_total');
    const queueWaitP99 = (kind: string) =>
      histogramQuantile(beforeBurst, afterBurst, 'rollguard_workqueue_wait_seconds', 0.99, `kind="${kind}"`);
    // Live signals of rollouts in one namespace share their queries (src/prometheus/coalesce.ts).
    const burstQueries = (purpose: string) =>
      metricSum(afterBurst, 'rollguard_prometheus_query_duration_seconds_count', `purpose="${purpose}"`) -
      metricSum(beforeBurst, 'rollguard_prometheus_query_duration_seconds_count', `purpose="${purpose}"`);
    results.assessP50Ms100 = Math.round(percentile(burst, 50));
    results.assessP99Ms100 = Math.round(percentile(burst, 99));
    results.liveSignalQueries100 = burstQueries('live-signals');
    say(
      `${burstTargets.length} at once: new revision → annotations p50 ${results.assessP50Ms100} ms, p99 ${results.assessP99Ms100} ms (requests waited ${waitedInBurst.toFixed(1)} s in all at the client rate limit)`,
    );
    say(`  slowest: ${slowestSince(burstFrom)}`);
    say(
      `  Prometheus queries: ${results.liveSignalQueries100} for the live signals of ${burstTargets.length} rollouts in ${new Set(burstTargets.map(({ i }) => i)).size} namespaces (${2 * burstTargets.length} if each asked alone), ${burstQueries('verification') + burstQueries('baseline')} for verification`,
    );
    say(`  ${liveQueryTimes(beforeBurst, afterBurst)}`);
    say(
      `  work-queue wait p99 while they ran: Deployment keys ${(queueWaitP99('deployment') * 1000).toFixed(0)} ms, verification keys ${(queueWaitP99('verify') * 1000).toFixed(0)} ms; the operator's event loop delayed at most ${eventLoopLagMaxMs(afterBurst)} ms`,
    );
    say(
      `  the machine's CPU over those ${burstSeconds.toFixed(1)} s: ${cpuSplit(cpuBeforeBurst, cpuAfterBurst)}; the operator's garbage collection ${gcSeconds(beforeBurst, afterBurst)}`,
    );

    if (stopAfter === 'burst') {
      watchDeployments.abort();
      await operator.process.stop();
      return;
    }

    // ---- 7. an hour of churn in a few minutes: rollouts and scaling across the cluster ----
    const churnStart = Date.now();
    const uncovered = all.filter(({ i, j }) => !isCovered(i, j));
    const churnRollouts = uncovered.filter((_, k) => k % 5 === 0);
    const churnCovered = covered.filter((_, k) => k % 5 === 1);
    const churnScale = uncovered.filter((_, k) => k % 9 === 3);
    await pool([...churnRollouts, ...churnCovered], 8, async ({ i, j }) => {
      await apply(deploymentBody(nsName(i), depName(j), 3, isCovered(i, j), replicas));
    });
    await pool(churnScale, 8, async ({ i, j }) => {
      await apps.patchNamespacedDeployment(
        { namespace: nsName(i), name: depName(j), body: { spec: { replicas: replicas + 1 } } },
        setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
      );
    });
    const churnSeconds = (Date.now() - churnStart) / 1000;
    say(
      `churn: ${churnRollouts.length + churnCovered.length} rollouts (${churnCovered.length} covered) and ${churnScale.length} scalings in ${churnSeconds.toFixed(0)} s`,
    );
    // A verification still running after ten minutes is a finding, not a reason to lose the run's figures.
    const stillVerifying = await until(
      async () => ((await verifying()) === 0 ? 0 : undefined),
      600_000,
      'verification after churn',
      5000,
    ).catch(verifying);
    results.verifyingAfterChurn = stillVerifying;
    if (stillVerifying > 0) {
      const listed = (await custom.listClusterCustomObject({
        group: 'rollguard.io',
        version: 'v1alpha1',
        plural: 'rolloutassessments',
      })) as {
        items: {
          metadata?: { namespace?: string; name?: string };
          status?: { phase?: string; verification?: { message?: string } };
        }[];
      };
      const stuck = listed.items.filter((a) => a.status?.phase === 'Verifying');
      say(
        `verification after churn: ${stillVerifying} still verifying after 600 s; ${stuck.length} records say Verifying:`,
      );
      for (const a of stuck.slice(0, 10))
        say(`  ${a.metadata?.namespace}/${a.metadata?.name}: ${JSON.stringify(a.status?.verification?.message ?? '')}`);
    }
    await sleep(15_000);
    results.rssMiB = Math.round(await operator.rssMiB());
    const replicaSetCount = (await apps.listReplicaSetForAllNamespaces({ limit: 1 })).metadata?.remainingItemCount;
    results.replicaSets = (replicaSetCount ?? 0) + 1;
    say(
      `RSS after churn: ${results.rssMiB} MiB (${results.replicaSets} ReplicaSets in the cluster; ${await heapFigures(operator)})`,
    );
    await operator.heapSnapshot('after-churn');

    // ---- 8. the request rate against the client-side limit ----
    const everything = await readAudit(auditLog, started, Date.now());
    const perSecond = new Map<number, number>();
    for (const e of everything)
      perSecond.set(Math.floor(e.at / 1000), (perSecond.get(Math.floor(e.at / 1000)) ?? 0) + 1);
    const activeSeconds = perSecond.size;
    results.apiRequests = everything.length;
    results.apiPeakPerSecond = Math.max(...perSecond.values(), 0);
    results.apiMeanPerActiveSecond = Number((everything.length / Math.max(1, activeSeconds)).toFixed(1));
    const m = await operator.metrics();
    results.rateLimitWaitSeconds = Number(metricSum(m, 'rollguard_kube_api_rate_limit_wait_seconds_total').toFixed(2));
    say(
      `API requests by the operator: ${everything.length}, peak ${results.apiPeakPerSecond}/s, mean ${results.apiMeanPerActiveSecond}/s over seconds with any; client limit 50/s, burst 300 (waited ${results.rateLimitWaitSeconds} s in the last process)`,
    );
    watchDeployments.abort();
    await operator.process.stop();
  } finally {
    clearInterval(loadTimer);
    if (keepLogs) {
      await mkdir(keepLogs, { recursive: true });
      await cp(path.join(cluster.dir, 'logs'), keepLogs, { recursive: true });
      say(`logs kept in ${keepLogs}`);
    }
    await cluster.stop();
  }
  results.load1Mean = Number((loadSamples.reduce((a, b) => a + b, 0) / Math.max(1, loadSamples.length)).toFixed(2));
  results.load1Max = Number(Math.max(...loadSamples, 0).toFixed(2));
  results.minutes = Number(((Date.now() - started) / 60_000).toFixed(1));
  printTable(results);
  if (json) console.log(JSON.stringify({ scale, deployments: namespaces * perNamespace, ...results }));
}

function printTable(r: Record<string, number | string>): void {
  const rows: [string, string, string][] = [
    ['rssMiB (after churn)', `${r.rssMiB} MiB`, '≤ 256 MiB'],
    ['rssMiB after the first sync', `${r.rssMiBAfterSync} MiB`, '≤ 256 MiB'],
    ['syncSeconds (restart: ready + every Deployment reconciled)', `${r.syncSeconds} s`, ''],
    ['first start: every covered Deployment assessed', `${r.firstSyncSeconds} s`, ''],
    ['assessP50Ms / assessP99Ms (one at a time)', `${r.assessP50Ms} / ${r.assessP99Ms} ms`, 'p99 ≤ 200 ms'],
    ['assessP99Ms100 (100 at once)', `${r.assessP99Ms100} ms (p50 ${r.assessP50Ms100})`, '≤ 1000 ms'],
    ['  live-signal queries for them', `${r.liveSignalQueries100}`, 'fewer than 2 per rollout'],
    ['API calls / status writes per new rollout', `${r.apiCallsPerRollout} / ${r.statusWritesPerRollout}`, ''],
    ['verifyingAtOnce', `${r.verifyingAtOnce}`, '500'],
    ['  Prometheus queries per interval', `${r.queriesPerInterval}`, 'flat in rollouts'],
    ['  interval processing (last check after tick)', `${r.intervalProcessingMs} ms`, '< 10000 ms'],
    ['  intervals skipped', `${r.intervalsSkipped}`, '0'],
    ['  API writes per interval', `${r.writesPerVerifyInterval}`, ''],
    ['reconcileP99Ms (steady state)', `${r.reconcileP99Ms} ms`, ''],
    [
      'events that change nothing: writes / queries',
      `${r.noopApiWrites} / ${r.noopQueries} (of ${r.noopEvents})`,
      '0 / 0',
    ],
    [
      'API requests: peak / mean per second',
      `${r.apiPeakPerSecond} / ${r.apiMeanPerActiveSecond}`,
      'limit 50, burst 300',
    ],
    ['cached Deployment: as listed → kept', `${r.deploymentBytes} → ${r.deploymentCachedBytes} B`, ''],
    ['cached ReplicaSet: as listed → kept', `${r.replicaSetBytes} → ${r.replicaSetCachedBytes} B`, ''],
    ['machine load (1-min average): mean / max', `${r.load1Mean} / ${r.load1Max} on ${os.cpus().length} cores`, ''],
  ];
  const w = Math.max(...rows.map((x) => x[0].length));
  const v = Math.max(...rows.map((x) => x[1].length));
  console.log(`\n| ${'measure'.padEnd(w)} | ${'value'.padEnd(v)} | goal |`);
  console.log(`|${'-'.repeat(w + 2)}|${'-'.repeat(v + 2)}|------|`);
  for (const [a, b, c] of rows) console.log(`| ${a.padEnd(w)} | ${b.padEnd(v)} | ${c} |`);
}

await main();
