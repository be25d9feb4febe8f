// The fault suite: rollguard's promises under the failures a production cluster has. Its own local control
// plane (etcd, kube-apiserver with an audit log, controller-manager, scheduler, kwok), a real Prometheus
// scraping the workload simulator, and two operator replicas as separate processes, each reaching the API
// server through its own TCP proxy (so one replica's connection can hang) and Prometheus through a proxy
// that can answer late. Each scenario ships ten releases at once — good ones, bad ones (half the requests
// fail), a bad one managed by Argo CD, some with malformed change descriptions — while one fault happens,
// then counts what a user would count. The figures come from the cluster (ReplicaSets, RolloutAssessments,
// Deployments) and from the API server's audit log (who wrote what when), never from the operator's word.
import { execFile } from 'node:child_process';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type ConfigurationOptions,
  type V1Deployment,
} from '@kubernetes/client-node';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isNotFound } from '../../src/kube/errors.js';
import { signalOptions } from '../../src/kube/leader.js';
import { apiVersion, assessmentResource, policyResource } from '../../src/api/resources.js';
import { startLocalCluster, type LocalCluster } from '../harness/cluster.js';
import { repoRoot } from '../harness/tools.js';
import { startHangableProxy, type HangableProxy } from '../harness/tcp-proxy.js';
import { waitFor } from '../harness/wait.js';
import { deploymentManifest, fastVerificationPolicy } from '../support/objects.js';
import { kubeconfigVia, startOperator, type RunningOperator } from '../support/operator.js';
import { auditPolicy, lists, overlaps, parseAudit, rollbackPatches, type AuditEvent } from './audit.js';

const replicaUsers = ['replica-a', 'replica-b'] as const;
const leaseNamespace = 'rollguard-faults';
const leaseName = 'rollguard-controller';
const releasesPerScenario = 10;

type Kind = 'good' | 'bad' | 'bad-gitops';
/** Six good, three bad, one bad under Argo CD; two carry malformed change descriptions. */
const mix: Kind[] = ['good', 'bad', 'good', 'bad', 'good', 'bad-gitops', 'good', 'bad', 'good', 'good'];

// Exact traffic: this suite judges how rollguard acts through faults, so a good version must look good on
// every look. With Poisson traffic at one pod and 20 requests/s, a p99 rests on the two or three slowest of
// about 200 requests in the window, and the plain check (1.5 x the old pods' p99, two looks in a row) can fail
// a good version on noise alone. Noise is judged where it is the subject:
// verification-noise.test.ts and bench/verification-quality.ts, with the statistical test built for it.
const exact = { 'sim.rollguard.io/exact': 'true' };
const healthy = { 'sim.rollguard.io/error-rate': '0.0', 'sim.rollguard.io/latency-ms': '20', ...exact };
const failing = { 'sim.rollguard.io/error-rate': '0.5', 'sim.rollguard.io/latency-ms': '20', ...exact };
const described = { 'rollguard.io/change-type': 'feature', 'rollguard.io/lines-added': '40' };
const malformed = {
  'rollguard.io/change-type': 'DROP TABLE releases; --',
  'rollguard.io/lines-added': 'a lot',
  'rollguard.io/test-coverage': '250',
  'rollguard.io/commit': `ghp_${'A'.repeat(36)} ${'x'.repeat(3000)}`,
};

interface Release {
  namespace: string;
  name: string;
  kind: Kind;
  /** The Deployment's revision once this release's ReplicaSet exists, and that ReplicaSet's template hash. */
  revision: number;
  hash: string;
  /** A template rollguard rolled back, applied again: held (paused) is as good as rolled back. */
  reapplied?: boolean;
  /** The moment it was applied and the moment it was judged; rollbacks are counted between. */
  from: number;
  to: number;
}

interface Figures {
  rollouts: number;
  unassessed: number;
  badKept: number;
  goodRolledBack: number;
  rollbacksPerBad: number[];
  overlaps: number;
  crashes: number;
  note: string;
}

const expected: Omit<Figures, 'rollouts' | 'rollbacksPerBad' | 'note'> = {
  unassessed: 0,
  badKept: 0,
  goodRolledBack: 0,
  overlaps: 0,
  crashes: 0,
};

// ---------------------------------------------------------------------------------------------------------
// The cluster, the proxies and the replicas

let cluster: LocalCluster;
let promProxy: HangableProxy;
const replicas: Replica[] = [];
let watcher: NodeJS.Timeout | undefined;
const crashes: { replica: string; at: number; tail: string[] }[] = [];

function kubectl(args: string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      path.join(cluster.tools.binDir, 'kubectl'),
      [`--kubeconfig=${cluster.kubeconfig}`, '--request-timeout=20s', ...args],
      { maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`kubectl ${args.slice(0, 4).join(' ')} failed: ${stderr.trim()}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(stdin ?? '');
  });
}

// The suite's own reads and writes go through client-node, not kubectl: dozens of kubectl processes a second
// would take the CPU the operator and the control plane need.
let api: { apps: AppsV1Api; core: CoreV1Api; custom: CustomObjectsApi };

/** Every call has a deadline (a stopped API server must not hang the suite) and is retried while it fails. */
async function retrying<T>(what: string, call: (options: ConfigurationOptions) => Promise<T>): Promise<T> {
  return waitFor(what, () => call(signalOptions(AbortSignal.timeout(20_000))), {
    timeoutMs: 120_000,
    intervalMs: 1000,
  });
}

const applyOptions = (options: ConfigurationOptions) =>
  setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply, options);

interface Manifest {
  metadata: { name: string; namespace?: string };
}

/** Server-side apply, as `kubectl apply --server-side` does it: creates or updates. */
async function applyDeploymentObject(body: Manifest & object): Promise<void> {
  await retrying(`apply Deployment ${body.metadata.name}`, (o) =>
    api.apps.patchNamespacedDeployment(
      {
        name: body.metadata.name,
        namespace: body.metadata.namespace ?? '',
        body,
        fieldManager: 'fault-suite',
        force: true,
      },
      applyOptions(o),
    ),
  );
}

async function readDeployment(namespace: string, name: string): Promise<V1Deployment> {
  return retrying(`read Deployment ${namespace}/${name}`, (o) =>
    api.apps.readNamespacedDeployment({ namespace, name }, o),
  );
}

class Replica {
  operator: RunningOperator | undefined;
  /** Set while the suite itself kills or restarts it, so its exit is not counted as a crash. */
  expectingExit = false;
  constructor(
    readonly user: string,
    readonly proxy: HangableProxy,
    readonly kubeconfig: string,
  ) {}

  async start(): Promise<void> {
    this.operator = await waitFor(
      `${this.user} to start`,
      () =>
        startOperator(
          ['--leader-elect', `--leader-election-namespace=${leaseNamespace}`, '--log-level=info', '--workers=4'],
          { POD_NAME: this.user },
          { kubeconfig: this.kubeconfig },
        ),
      { timeoutMs: 180_000, intervalMs: 1000 },
    );
    this.expectingExit = false;
  }

  async leading(): Promise<boolean> {
    if (!this.operator || this.operator.exited()) return false;
    try {
      const text = await (await fetch(`${this.operator.metricsUrl}/metrics`)).text();
      return /^rollguard_leader 1$/m.test(text);
    } catch {
      return false;
    }
  }

  async kill(): Promise<void> {
    this.expectingExit = true;
    await this.operator?.kill();
  }
}

async function leader(): Promise<Replica | undefined> {
  for (const r of replicas) if (await r.leading()) return r;
  return undefined;
}

/**
 * Restarts a replica that exited. A replica that gave up the Lease exits on purpose (Kubernetes would
 * restart it), as does one the suite killed; anything else is a crash, kept with the last lines it logged.
 */
function watchReplicas(): void {
  let busy = false;
  watcher = setInterval(() => {
    if (busy) return;
    busy = true;
    void (async () => {
      for (const r of replicas) {
        const op = r.operator;
        if (!op?.exited()) continue;
        const logs = op.logs();
        const gaveUp = logs.some((l) => l.includes('lost the leader lease'));
        if (!r.expectingExit && !gaveUp) crashes.push({ replica: r.user, at: Date.now(), tail: logs.slice(-15) });
        r.operator = undefined;
        await r.start();
      }
    })().finally(() => {
      busy = false;
    });
  }, 500);
}

async function audit(): Promise<AuditEvent[]> {
  const log = cluster.controlPlane.auditLog;
  if (!log) throw new Error('the fault cluster has no audit log');
  return parseAudit(await readFile(log, 'utf8'));
}

// ---------------------------------------------------------------------------------------------------------
// Releases

function policySpec() {
  return fastVerificationPolicy({
    selector: { matchLabels: { 'rollguard.io/enabled': 'true' } },
    prometheusAddress: `http://${promProxy.address}`,
    window: '20s',
  });
}

function manifest(namespace: string, name: string, kind: Kind, version: string, index: number): string {
  const behaviour = kind === 'good' || version === '1.0.0' ? healthy : failing;
  const change = index % 5 === 3 ? malformed : described;
  const base = JSON.parse(
    deploymentManifest({
      namespace,
      name,
      replicas: 1,
      image: `registry.example/${name}:${version}`,
      annotations: { ...change, ...behaviour },
    }),
  ) as { metadata: { labels: Record<string, string>; annotations?: Record<string, string> } };
  if (kind === 'bad-gitops') {
    base.metadata.labels['argocd.argoproj.io/instance'] = `${namespace}-${name}`;
  }
  return JSON.stringify(base);
}

async function revisionOf(namespace: string, name: string): Promise<number> {
  const d = await api.apps.readNamespacedDeployment({ namespace, name }, signalOptions(AbortSignal.timeout(20_000)));
  return Number(d.metadata?.annotations?.['deployment.kubernetes.io/revision'] ?? '0');
}

/** Applies a version and waits for its ReplicaSet (the Deployment's revision moves on). */
async function ship(namespace: string, name: string, kind: Kind, version: string, index: number): Promise<Release> {
  let before = 0;
  try {
    before = await revisionOf(namespace, name);
  } catch {
    before = 0;
  }
  const from = Date.now();
  await applyDeploymentObject(JSON.parse(manifest(namespace, name, kind, version, index)) as Manifest);
  const revision = await waitFor(
    `${namespace}/${name} to get a new revision`,
    async () => {
      const r = await revisionOf(namespace, name);
      return r > before ? r : undefined;
    },
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
  const hash = await waitFor(
    `the ReplicaSet of ${namespace}/${name} revision ${String(revision)}`,
    async () => (await replicaSets(namespace)).find((rs) => rs.deployment === name && rs.revision === revision)?.hash,
    { timeoutMs: 60_000, intervalMs: 1000 },
  );
  return { namespace, name, kind, revision, hash, from, to: from };
}

interface ReplicaSetView {
  deployment: string | undefined;
  hash: string | undefined;
  revision: number;
  /** Earlier revisions this ReplicaSet's template had (it is reused when a template comes back). */
  history: number[];
}

async function replicaSets(namespace: string): Promise<ReplicaSetView[]> {
  const list = await retrying(`list ReplicaSets in ${namespace}`, (o) =>
    api.apps.listNamespacedReplicaSet({ namespace }, o),
  );
  return list.items.map((rs) => {
    const annotations = rs.metadata?.annotations ?? {};
    return {
      deployment: rs.metadata?.ownerReferences?.[0]?.name,
      hash: rs.metadata?.labels?.['pod-template-hash'],
      revision: Number(annotations['deployment.kubernetes.io/revision'] ?? '0'),
      history: (annotations['deployment.kubernetes.io/revision-history'] ?? '')
        .split(',')
        .filter((r) => r !== '')
        .map(Number),
    };
  });
}

interface AssessmentItem {
  spec: { deployment: string; revision: number; podTemplateHash: string };
  status?: { outcome?: string; actions?: { type: string }[] };
}

async function assessments(namespace: string): Promise<AssessmentItem[]> {
  const list: unknown = await retrying(`list RolloutAssessments in ${namespace}`, (o) =>
    api.custom.listNamespacedCustomObject({ ...assessmentResource, namespace }, o),
  );
  return (list as { items: AssessmentItem[] }).items;
}

async function deploymentPaused(namespace: string, name: string): Promise<boolean> {
  return (await readDeployment(namespace, name)).spec?.paused === true;
}

type Verdict = 'rolled-back' | 'succeeded' | 'paused' | 'undecided';

/** Waits until each release is judged (or the time is up) and says how it ended. */
async function settle(releases: Release[], timeoutMs = 150_000): Promise<Map<Release, Verdict>> {
  const verdicts = new Map<Release, Verdict>();
  const deadline = Date.now() + timeoutMs;
  while (verdicts.size < releases.length && Date.now() < deadline) {
    const byNamespace = new Map<string, AssessmentItem[]>();
    for (const ns of new Set(releases.map((r) => r.namespace))) {
      try {
        byNamespace.set(ns, await assessments(ns));
      } catch {
        byNamespace.set(ns, []);
      }
    }
    for (const r of releases) {
      if (verdicts.has(r)) continue;
      const ra = byNamespace
        .get(r.namespace)
        ?.find(
          (a) => a.spec.deployment === r.name && a.spec.revision === r.revision && a.spec.podTemplateHash === r.hash,
        );
      const outcome = ra?.status?.outcome;
      const held = ra?.status?.actions?.some(
        (a) => a.type === 'gitops-paused' || (r.reapplied === true && a.type === 'paused'),
      );
      if (outcome === 'rolled-back') verdicts.set(r, 'rolled-back');
      else if (held === true && (await deploymentPaused(r.namespace, r.name).catch(() => false))) {
        verdicts.set(r, 'paused');
      } else if (outcome === 'succeeded') verdicts.set(r, 'succeeded');
      if (verdicts.has(r)) r.to = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
  for (const r of releases) {
    if (!verdicts.has(r)) {
      verdicts.set(r, 'undecided');
      r.to = Date.now();
    }
  }
  return verdicts;
}

/** ReplicaSet revisions (current and earlier, from revision-history) with no assessment of that template. */
async function unassessedRevisions(namespace: string): Promise<string[]> {
  const check = async () => {
    const assessed = new Set(
      (await assessments(namespace)).map(
        (x) => `${x.spec.deployment}/${String(x.spec.revision)}/${x.spec.podTemplateHash}`,
      ),
    );
    return (await replicaSets(namespace))
      .flatMap((rs) =>
        [rs.revision, ...rs.history].map((r) => `${rs.deployment ?? '?'}/${String(r)}/${rs.hash ?? '?'}`),
      )
      .filter((key) => !assessed.has(key));
  };
  // A rollback made a moment ago gets its assessment a moment later: give it time before counting.
  try {
    return await waitFor(
      `every revision in ${namespace} assessed`,
      async () => {
        const missing = await check();
        return missing.length === 0 ? missing : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 1000 },
    );
  } catch {
    return check();
  }
}

async function judge(
  releases: Release[],
  verdicts: Map<Release, Verdict>,
  window: { from: number; to: number },
  note: string,
): Promise<Figures> {
  const events = await audit();
  const users = [...replicaUsers];
  const unassessed = (
    await Promise.all([...new Set(releases.map((r) => r.namespace))].map((ns) => unassessedRevisions(ns)))
  ).flat();
  const rollbacksOf = (r: Release) =>
    rollbackPatches(events, users, { from: r.from, to: r.to + 5_000 }).get(`${r.namespace}/${r.name}`) ?? 0;
  // A re-applied bad template that was held (paused) instead of rolled back has no rollback to count.
  const bad = releases.filter((r) => r.kind === 'bad' && verdicts.get(r) !== 'paused');
  const acting = overlaps(events, users, { namespace: leaseNamespace, name: leaseName }, window);
  const crashed = crashes.filter((c) => c.at >= window.from && c.at <= window.to + 1000);
  for (const c of crashed) console.log(`[faults] ${c.replica} crashed:\n${c.tail.join('\n')}`);
  for (const o of acting.slice(0, 10)) console.log(`[faults] acted without the Lease: ${JSON.stringify(o)}`);
  if (unassessed.length > 0) console.log(`[faults] never assessed: ${unassessed.join(', ')}`);
  const goodBack = releases.filter(
    (r) => r.kind === 'good' && (verdicts.get(r) === 'rolled-back' || rollbacksOf(r) > 0),
  );
  for (const r of goodBack) {
    // Which good release, how it was counted, what its assessment says and what the replicas logged about it.
    const record = (await assessments(r.namespace).catch(() => [])).find(
      (a) => a.spec.deployment === r.name && a.spec.revision === r.revision && a.spec.podTemplateHash === r.hash,
    );
    console.log(
      `[faults] good release rolled back: ${r.namespace}/${r.name}@${String(r.revision)} (${r.hash}), verdict ${String(verdicts.get(r))}, ` +
        `rollback patches ${String(rollbacksOf(r))} in ${new Date(r.from).toISOString()}..${new Date(r.to + 5_000).toISOString()}; ` +
        `assessment ${JSON.stringify(record?.status ?? null).slice(0, 3000)}`,
    );
    for (const replica of replicas) {
      for (const line of replica.operator?.logs() ?? []) {
        if (line.includes(`"${r.name}"`) && line.includes(r.namespace) && /roll|verif|fail/i.test(line)) {
          console.log(`[faults] ${replica.user}: ${line.slice(0, 600)}`);
        }
      }
    }
  }
  const undecided = releases.filter((r) => verdicts.get(r) === 'undecided');
  if (undecided.length > 0)
    console.log(`[faults] undecided: ${undecided.map((r) => `${r.namespace}/${r.name}@${r.revision}`).join(', ')}`);
  return {
    rollouts: releases.length,
    unassessed: unassessed.length,
    badKept: releases.filter(
      (r) =>
        (r.kind === 'bad' &&
          verdicts.get(r) !== 'rolled-back' &&
          !(r.reapplied === true && verdicts.get(r) === 'paused')) ||
        (r.kind === 'bad-gitops' && verdicts.get(r) !== 'paused'),
    ).length,
    goodRolledBack: releases.filter(
      (r) => r.kind === 'good' && (verdicts.get(r) === 'rolled-back' || rollbacksOf(r) > 0),
    ).length,
    rollbacksPerBad: bad.map(rollbacksOf),
    overlaps: acting.length,
    crashes: crashed.length,
    note,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Scenarios: each ships ten releases in its own namespace, then plays its fault mid-rollout.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const randomBetween = (min: number, max: number) => min + Math.floor(Math.random() * (max - min));

interface Scenario {
  name: string;
  /** The fault, started a moment after the releases were applied; resolves when it is over. */
  fault: (releases: Release[]) => Promise<string>;
}

async function killLeader(): Promise<string> {
  const l = await waitFor('a leader', leader, { timeoutMs: 60_000, intervalMs: 250 });
  await l.kill();
  return l.user;
}

/** Compacts etcd at its current revision: every watch resumed from an older resourceVersion gets 410 Gone. */
async function compactEtcd(): Promise<number> {
  const etcdUrl = cluster.controlPlane.etcdUrl;
  const range = (await (
    await fetch(`${etcdUrl}/v3/kv/range`, { method: 'POST', body: JSON.stringify({ key: 'AA==' }) })
  ).json()) as { header?: { revision?: string } };
  const revision = Number(range.header?.revision ?? '0');
  const res = await fetch(`${etcdUrl}/v3/kv/compaction`, {
    method: 'POST',
    body: JSON.stringify({ revision: String(revision), physical: true }),
  });
  if (!res.ok) throw new Error(`etcd compaction failed: ${res.status} ${await res.text()}`);
  return revision;
}

const scenarios: Scenario[] = [
  {
    name: 'operator SIGKILLed 3 times',
    fault: async () => {
      const killed: string[] = [];
      for (let i = 0; i < 3; i++) {
        await sleep(randomBetween(1_000, 6_000));
        killed.push(await killLeader());
      }
      return `killed ${killed.join(', ')}`;
    },
  },
  {
    name: 'kube-apiserver stopped 8s',
    fault: async () => {
      await sleep(randomBetween(1_000, 4_000));
      await cluster.controlPlane.apiserver.stop();
      await sleep(8_000);
      await cluster.controlPlane.apiserver.start();
      return 'stopped and started';
    },
  },
  {
    name: 'etcd restarted',
    fault: async () => {
      await sleep(randomBetween(1_000, 4_000));
      await cluster.controlPlane.etcd.stop();
      await sleep(3_000);
      await cluster.controlPlane.etcd.start();
      return 'restarted';
    },
  },
  {
    name: 'watches expire (compaction, 410)',
    fault: async () => {
      await sleep(randomBetween(1_000, 3_000));
      const from = Date.now();
      const revisions = [await compactEtcd()];
      // Watches end every 5-10 s (--min-request-timeout) and resume from their last resourceVersion.
      await sleep(6_000);
      revisions.push(await compactEtcd());
      await sleep(12_000);
      const relists = lists(await audit(), [...replicaUsers], { from, to: Date.now() });
      return `compacted at ${revisions.join(', ')}; ${String(relists)} relists`;
    },
  },
  {
    name: 'Prometheus slow (5s > 2s timeout)',
    fault: async () => {
      await sleep(randomBetween(1_000, 3_000));
      promProxy.slow(5_000);
      await sleep(10_000);
      promProxy.slow(0);
      return 'slow for 10s';
    },
  },
  {
    name: 'Prometheus stopped 10s',
    fault: async () => {
      await sleep(randomBetween(1_000, 3_000));
      await cluster.prometheus.stop();
      await sleep(10_000);
      await cluster.prometheus.start();
      return 'stopped and started';
    },
  },
  {
    name: "leader's API connection hangs",
    fault: async () => {
      await sleep(randomBetween(1_000, 3_000));
      const l = await waitFor('a leader', leader, { timeoutMs: 60_000, intervalMs: 250 });
      l.proxy.hang();
      const other = replicas.find((r) => r !== l);
      await waitFor('the other replica to lead', async () => ((await other?.leading()) ? true : undefined), {
        timeoutMs: 45_000,
        intervalMs: 250,
      });
      l.proxy.resume();
      return `${l.user} hung; the other took over`;
    },
  },
];

// ---------------------------------------------------------------------------------------------------------

const rows: { scenario: string; figures: Figures; seconds: number }[] = [];

function namespaceOf(scenario: number): string {
  return `faults-${String(scenario)}`;
}

/** Idempotent, so a retry after a timed-out first try does not fail on AlreadyExists. */
async function applyNamespace(namespace: string): Promise<void> {
  await retrying(`apply Namespace ${namespace}`, (o) =>
    api.core.patchNamespace(
      {
        name: namespace,
        body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: namespace } },
        fieldManager: 'fault-suite',
        force: true,
      },
      applyOptions(o),
    ),
  );
}

async function prepare(namespace: string): Promise<void> {
  await applyNamespace(namespace);
  await retrying(`apply the policy in ${namespace}`, (o) =>
    api.custom.patchNamespacedCustomObject(
      {
        ...policyResource,
        namespace,
        name: 'guard',
        body: { apiVersion, kind: policyResource.kind, metadata: { name: 'guard', namespace }, spec: policySpec() },
        fieldManager: 'fault-suite',
        force: true,
      },
      applyOptions(o),
    ),
  );
  await Promise.all(mix.map((kind, i) => ship(namespace, `svc-${String(i)}`, kind, '1.0.0', i)));
}

/**
 * The figures a scenario is judged by, on one line: a failed comparison of two such lines shows what went
 * wrong within the last lines of a CI log, where a diff of the whole object is cut off.
 */
function verdictLine(f: Omit<Figures, 'note'>): string {
  const perBad = [...new Set(f.rollbacksPerBad)].sort().join('/') || '-';
  return `rollouts ${String(f.rollouts)} · unassessed ${String(f.unassessed)} · bad kept ${String(f.badKept)} · good rolled back ${String(f.goodRolledBack)} · rollbacks/bad ${perBad} · overlaps ${String(f.overlaps)} · crashes ${String(f.crashes)}`;
}

/** Expected: what `expected` says, `rollouts` releases, and one rollback for each bad release there was. */
function expectedLine(rollouts: number, observed: Figures): string {
  return verdictLine({ ...expected, rollouts, rollbacksPerBad: observed.rollbacksPerBad.map(() => 1) });
}

function formatTable(): string {
  const header = ['scenario', 'expected', 'observed', 'fault', 'time'];
  const body = rows.map((r) => [
    r.scenario,
    expectedLine(r.figures.rollouts, r.figures),
    verdictLine(r.figures),
    r.figures.note,
    `${String(r.seconds)}s`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('-|-'), ...body.map(line)].join('\n');
}

describe('fault suite', () => {
  const started = Date.now();
  beforeAll(async () => {
    cluster = await startLocalCluster({
      log: (line) => {
        console.log(`[faults] ${line}`);
      },
      controlPlane: {
        users: [...replicaUsers],
        auditPolicy,
        // Without the watch cache a watch resumed from a compacted revision gets 410 Gone from etcd; short
        // request timeouts make watches end and resume every few seconds, as they do behind load balancers.
        apiserverArgs: ['--watch-cache=false', '--min-request-timeout=5'],
      },
    });
    const kc = new KubeConfig();
    kc.loadFromFile(cluster.kubeconfig);
    api = {
      apps: kc.makeApiClient(AppsV1Api),
      core: kc.makeApiClient(CoreV1Api),
      custom: kc.makeApiClient(CustomObjectsApi),
    };
    await kubectl(['apply', '--server-side', '-f', path.join(repoRoot, 'crds')]);
    await kubectl(['wait', '--for=condition=Established', 'crd', '--all', '--timeout=60s']);
    await applyNamespace(leaseNamespace);
    promProxy = await startHangableProxy('127.0.0.1', Number(new URL(cluster.prometheus.url).port));
    const server = new URL(cluster.controlPlane.server);
    for (const user of replicaUsers) {
      const proxy = await startHangableProxy(server.hostname, Number(server.port));
      const token = cluster.controlPlane.userTokens[user];
      if (!token) throw new Error(`no token for ${user}`);
      const kubeconfig = await kubeconfigVia(cluster.kubeconfig, proxy.address, cluster.dir, token);
      replicas.push(new Replica(user, proxy, kubeconfig));
    }
    await Promise.all(replicas.map((r) => r.start()));
    watchReplicas();
    // Every scenario's namespace, policy and first version, up front: the first revisions are assessed
    // while nothing fails.
    for (let i = 0; i < scenarios.length; i++) await prepare(namespaceOf(i));
    await Promise.all(
      scenarios.map((_, i) =>
        waitFor(
          `the first revisions in ${namespaceOf(i)} assessed`,
          async () => ((await assessments(namespaceOf(i))).length >= releasesPerScenario ? true : undefined),
          { timeoutMs: 180_000, intervalMs: 1000 },
        ),
      ),
    );
    console.log(`[faults] ready in ${String(Math.round((Date.now() - started) / 1000))}s`);
  }, 900_000);

  afterAll(async () => {
    if (watcher) clearInterval(watcher);
    for (const r of replicas) {
      r.expectingExit = true;
      await r.operator?.stop();
      await r.proxy.close();
    }
    // Either may never have started when the setup failed.
    for (const close of [() => promProxy.close(), () => cluster.stop()]) {
      try {
        await close();
      } catch {
        // nothing to stop
      }
    }
    console.log(
      `\n[faults] fault suite, ${String(Math.round((Date.now() - started) / 1000))}s in all:\n${formatTable()}\n`,
    );
  }, 120_000);

  scenarios.forEach((scenario, i) => {
    it(scenario.name, async () => {
      const namespace = namespaceOf(i);
      const from = Date.now();
      const releases = await Promise.all(mix.map((kind, j) => ship(namespace, `svc-${String(j)}`, kind, '2.0.0', j)));
      const note = await scenario.fault(releases);
      const verdicts = await settle(releases);
      const figures = await judge(releases, verdicts, { from, to: Date.now() }, note);
      rows.push({ scenario: scenario.name, figures, seconds: Math.round((Date.now() - from) / 1000) });
      console.log(`[faults] ${formatTable()}`);
      expect(verdictLine(figures), `${scenario.name} (${note})`).toBe(expectedLine(releasesPerScenario, figures));
    });
  });

  it('Deployments deleted and recreated with the same names, rolled-back templates re-applied', async () => {
    const namespace = 'faults-recreate';
    const from = Date.now();
    await prepare(namespace);
    try {
      await waitFor(
        'the first revisions assessed',
        async () => ((await assessments(namespace)).length >= releasesPerScenario ? true : undefined),
        { timeoutMs: 120_000, intervalMs: 1000 },
      );
    } catch (err) {
      // What each replica said about caches, policies and this namespace: enough to tell from a CI log alone
      // whether the ReplicaSets there were ever cached.
      for (const r of replicas) {
        console.log(`[faults] ${r.user}: leading ${String(await r.leading())}`);
        for (const line of r.operator?.logs() ?? []) {
          if (/ReplicaSet|informer|first policy|faults-recreate|leader/i.test(line)) {
            console.log(`[faults] ${r.user}: ${line.slice(0, 400)}`);
          }
        }
      }
      throw err;
    }
    const first = await Promise.all(mix.map((kind, j) => ship(namespace, `svc-${String(j)}`, kind, '2.0.0', j)));
    const firstVerdicts = await settle(first);
    // Then half the Deployments are deleted and created again under the same names (a good first version,
    // then a release: bad for three, good for two); the bad ones that were rolled back get their bad version
    // re-applied, as a GitOps sync or a CI retry would; the last good one ships a new good version.
    const second = (
      await Promise.all(
        mix.map(async (kind, j): Promise<Release | undefined> => {
          const name = `svc-${String(j)}`;
          if (j % 2 === 0) {
            await retrying(`delete ${name}`, (o) => api.apps.deleteNamespacedDeployment({ namespace, name }, o));
            await waitFor(
              `${name} gone`,
              async () => {
                try {
                  await api.apps.readNamespacedDeployment({ namespace, name });
                  return undefined;
                } catch (err) {
                  return isNotFound(err) ? true : undefined;
                }
              },
              { timeoutMs: 60_000, intervalMs: 1000 },
            );
            await ship(namespace, name, 'good', '1.0.0', j);
            await waitFor(
              `${name} recreated and assessed`,
              async () => {
                const revisionOne = (await assessments(namespace)).filter(
                  (a) => a.spec.deployment === name && a.spec.revision === 1,
                );
                return revisionOne.length > 0 ? true : undefined;
              },
              { timeoutMs: 60_000, intervalMs: 1000 },
            );
            return j <= 4 ? ship(namespace, name, 'bad', '3.0.0', j) : ship(namespace, name, 'good', '2.0.0', j);
          }
          if (kind === 'bad') return { ...(await ship(namespace, name, 'bad', '2.0.0', j)), reapplied: true };
          if (kind === 'good') return ship(namespace, name, 'good', '2.1.0', j);
          return undefined; // the Argo CD one stays paused on its bad version: nothing to re-apply
        }),
      )
    ).filter((r): r is Release => r !== undefined);
    const verdicts = await settle(second);
    for (const [r, v] of firstVerdicts) verdicts.set(r, v);
    const figures = await judge([...first, ...second], verdicts, { from, to: Date.now() }, 'recreated 5, re-applied 3');
    rows.push({
      scenario: 'Deployments recreated, rolled-back templates re-applied',
      figures,
      seconds: Math.round((Date.now() - from) / 1000),
    });
    console.log(`[faults] ${formatTable()}`);
    expect(verdictLine(figures), 'recreated 5, re-applied 3').toBe(expectedLine(releasesPerScenario + 9, figures));
  });
});
