// What the operator benchmarks share: kubectl against the bench's cluster, waiting for a condition, a
// percentile, a pool of workers, a sum over the operator's metrics, the CRDs installed the way users install
// them, the Deployments and policies of the large-cluster benchmarks, and the operator started as the image
// starts it.
import { execFile } from 'node:child_process';
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import type { LocalCluster } from '../test/harness/cluster.js';
import { runtimeStage } from '../test/harness/dockerfile.js';
import { startProcess, type ManagedProcess } from '../test/harness/processes.js';
import { repoRoot } from '../test/harness/tools.js';
import { safeChange } from '../test/support/changes.js';
import { tuneApiClient } from '../src/kube/api-client.js';

const run = promisify(execFile);

export async function kubectl(cluster: LocalCluster, args: string[], stdin?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      path.join(cluster.tools.binDir, 'kubectl'),
      [`--kubeconfig=${cluster.kubeconfig}`, ...args],
      { maxBuffer: 64 << 20 },
      (err, stdout, stderr) => {
        if (err) reject(new Error(`kubectl ${args.join(' ')}: ${stderr}`));
        else resolve(stdout);
      },
    );
    child.stdin?.end(stdin ?? '');
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** An error that ends a wait at once instead of being retried. */
export class Fatal extends Error {}

export async function until<T>(
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  what: string,
  intervalMs = 50,
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
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index] ?? NaN;
}

/** crds/ applied with kubectl and waited for, as a user installs them. */
export async function installCrds(cluster: LocalCluster): Promise<void> {
  const kubectlBin = path.join(cluster.tools.binDir, 'kubectl');
  await run(kubectlBin, [
    `--kubeconfig=${cluster.kubeconfig}`,
    'apply',
    '--server-side',
    '-f',
    path.join(repoRoot, 'crds'),
  ]);
  await run(kubectlBin, [`--kubeconfig=${cluster.kubeconfig}`, 'wait', '--for=condition=Established', 'crd', '--all']);
}

/** `fn` over `items`, `concurrency` at a time, each item tried up to five times. */
export async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) {
        const item = items[next++] as T;
        for (let attempt = 1; ; attempt++) {
          try {
            await fn(item);
            break;
          } catch (err) {
            if (attempt >= 5) throw err;
            await sleep(200 * attempt);
          }
        }
      }
    }),
  );
}

/** The sum of a metric's samples in a /metrics text, of those whose labels contain `labelFilter`. */
export function metricSum(text: string, name: string, labelFilter = ''): number {
  return text
    .split('\n')
    .filter((l) => l.startsWith(name) && (l[name.length] === ' ' || l[name.length] === '{') && l.includes(labelFilter))
    .reduce((sum, l) => sum + Number(l.split(' ').pop()), 0);
}

/**
 * How the image starts the operator (the Dockerfile's ENTRYPOINT: node's flags and the script, relative to the
 * image's WORKDIR, which holds the repository's layout) and with which ENV, so the figures are the image's.
 * Needs dist/sea/rollguard.cjs (`tsx hack/build-dist.ts --bundle-only`).
 */
export async function imageStart(): Promise<{ args: string[]; env: Record<string, string> }> {
  const stage = await runtimeStage();
  const [program, ...args] = stage.entrypoint;
  if (program !== 'node') throw new Error(`the Dockerfile's ENTRYPOINT runs ${String(program)}, not node`);
  return { args: args.map((arg) => (arg.startsWith('-') ? arg : path.join(repoRoot, arg))), env: stage.env };
}

export interface ImageOperator {
  process: ManagedProcess;
  metricsUrl: string;
  startedAt: number;
  readyAt: number;
  metrics(): Promise<string>;
  /** Resident memory from /proc, in MiB. */
  rssMiB(): Promise<number>;
}

export interface ImageOperatorOptions {
  /** Names the process and its log file, `<logDir>/<name>.log` (stdout and stderr, drained as they come). */
  name: string;
  logDir: string;
  kubeconfig: string;
  /** More `controller` flags. */
  args?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Node flags to put before the script (e.g. --heapsnapshot-signal). */
  nodeArgs?: readonly string[];
  /** In place of the image's own node flags (the Dockerfile's ENTRYPOINT), to compare others. */
  imageNodeFlags?: readonly string[] | undefined;
  /** How long the caches may take to sync (default 600 s). */
  readyTimeoutMs?: number;
}

/** `rollguard controller` as the image runs it, as a process of its own; resolves once /readyz answers ok. */
export async function startImageOperator(options: ImageOperatorOptions): Promise<ImageOperator> {
  const startedAt = Date.now();
  const image = await imageStart();
  const proc = startProcess(
    options.name,
    process.execPath,
    [
      ...image.args
        .filter((arg) => options.imageNodeFlags === undefined || !arg.startsWith('-'))
        .flatMap((arg) =>
          arg.endsWith('.cjs') ? [...(options.imageNodeFlags ?? []), ...(options.nodeArgs ?? []), arg] : [arg],
        ),
      'controller',
      `--kubeconfig=${options.kubeconfig}`,
      '--metrics-address=127.0.0.1:0',
      '--log-level=info',
      ...(options.args ?? []),
    ],
    { logDir: options.logDir, cwd: repoRoot, env: { ...process.env, ...image.env, ...options.env } },
  );
  const logFile = proc.logFile;
  const port = await until(
    async () => {
      if (proc.exited()) throw new Fatal(`the operator exited; see ${logFile}`);
      return /"metricsPort":(\d+)/.exec(await readFile(logFile, 'utf8'))?.[1];
    },
    120_000,
    'the operator to start',
    200,
  );
  const metricsUrl = `http://127.0.0.1:${port}`;
  await until(
    async () => {
      if (proc.exited()) throw new Fatal(`the operator exited; see ${logFile}`);
      return (await fetch(`${metricsUrl}/readyz`)).ok ? true : undefined;
    },
    options.readyTimeoutMs ?? 600_000,
    'caches synced',
    100,
  );
  return {
    process: proc,
    metricsUrl,
    startedAt,
    readyAt: Date.now(),
    metrics: async () => (await fetch(`${metricsUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text(),
    rssMiB: async () => {
      const status = await readFile(`/proc/${proc.pid}/status`, 'utf8');
      return Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? NaN) / 1024;
    },
  };
}

/**
 * CPU seconds (user + system) used so far by every process on the machine, by program name (the operator by
 * the name given for its pid): take two and subtract them to see where a phase's CPU went.
 */
export async function cpuByProgram(named: ReadonlyMap<number, string> = new Map()): Promise<Map<string, number>> {
  const ticksPerSecond = 100; // USER_HZ on Linux
  const totals = new Map<string, number>();
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = await readFile(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue; // exited meanwhile
    }
    // "pid (comm) state ppid ...": comm may hold spaces; utime and stime are fields 14 and 15.
    const close = stat.lastIndexOf(')');
    const comm = stat.slice(stat.indexOf('(') + 1, close);
    const fields = stat.slice(close + 2).split(' ');
    const seconds = (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
    const name = named.get(Number(entry)) ?? comm;
    totals.set(name, (totals.get(name) ?? 0) + seconds);
  }
  return totals;
}

/** The CPU seconds each program used between two cpuByProgram readings, busiest first, as one line. */
export function cpuSplit(before: ReadonlyMap<string, number>, after: ReadonlyMap<string, number>): string {
  const used = [...after]
    .map(([name, seconds]) => [name, seconds - (before.get(name) ?? 0)] as const)
    .filter(([, seconds]) => seconds >= 0.05)
    .sort((a, b) => b[1] - a[1]);
  const total = used.reduce((sum, [, seconds]) => sum + seconds, 0);
  return `${total.toFixed(1)} CPU s: ${used.map(([name, seconds]) => `${name} ${seconds.toFixed(1)}`).join(', ')}`;
}

/** The commit id of a benchmark Deployment's version: a valid one (7–64 hex digits). */
export const commitOf = (version: number) => version.toString(16).padStart(12, '0');

/**
 * A Deployment of the large-cluster benchmarks at `version` (its image and commit id): covered ones carry the
 * label their policy selects, and only their pods serve metrics, so the simulator and Prometheus stay small.
 */
export function deploymentBody(ns: string, name: string, version: number, covered: boolean, replicaCount: number) {
  const podLabels: Record<string, string> = { app: name };
  if (covered) podLabels['sim.rollguard.io/serve'] = 'true';
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels: covered ? { 'rollguard.io/enabled': 'true' } : { tier: 'other' } },
    spec: {
      replicas: replicaCount,
      selector: { matchLabels: { app: name } },
      template: {
        // A new commit id per version makes the new template; it must be a valid one (7–64 hex digits), or
        // every rollout also costs an InvalidAnnotation Event.
        metadata: {
          labels: podLabels,
          annotations: { ...safeChange, 'rollguard.io/commit': commitOf(version) },
        },
        spec: {
          containers: [
            {
              name: 'app',
              image: `shop/${name}:1.${version}.0`,
              env: [
                { name: 'LOG_LEVEL', value: 'info' },
                { name: 'PORT', value: '8080' },
              ],
              ports: [{ containerPort: 8080, name: 'http' }],
              readinessProbe: { httpGet: { path: '/healthz', port: 8080 } },
              resources: { limits: { memory: '128Mi', cpu: '500m' }, requests: { memory: '64Mi', cpu: '50m' } },
            },
          ],
        },
      },
    },
  };
}

/** A policy covering the benchmark's covered Deployments: nothing pauses, every rollout is verified. */
export function policyBody(
  ns: string,
  prometheusUrl: string,
  options: { name: string; interval: string; verificationWindow: string },
) {
  const level = { pause: false, verificationWindow: options.verificationWindow };
  return {
    apiVersion: 'rollguard.io/v1alpha1',
    kind: 'DeploymentRiskPolicy',
    metadata: { name: options.name, namespace: ns },
    spec: {
      selector: { matchLabels: { 'rollguard.io/enabled': 'true' } },
      prometheus: { address: prometheusUrl },
      verification: { interval: options.interval },
      levels: { safe: level, monitor: level, rollbackReady: level, block: level },
    },
  };
}

/** API clients as the cluster's admin, without a client-side rate limit: the benchmark drives, it is not measured. */
export function adminClients(cluster: LocalCluster) {
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  tuneApiClient(kc, { qps: 0, burst: 1 });
  return {
    kc,
    apps: kc.makeApiClient(AppsV1Api),
    core: kc.makeApiClient(CoreV1Api),
    custom: kc.makeApiClient(CustomObjectsApi),
  };
}
