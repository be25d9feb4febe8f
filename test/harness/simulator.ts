// The workload simulator plays the application behind every Deployment in the test cluster. kwok pods run no
// code, so this one process serves, for every Running and Ready pod, the HTTP metrics a real service would
// expose, labelled namespace, deployment, pod and pod_template_hash (Prometheus scrapes it with
// honor_labels). Each pod behaves as its pod-template annotations say, so a test ships a bad version exactly
// as a real bad release would: by changing the template.
//
//   sim.rollguard.io/error-rate      fraction of requests answered 500 (default 0)
//   sim.rollguard.io/latency-ms      median latency in milliseconds (default 20)
//   sim.rollguard.io/latency-spread  sigma of the log-normal latency (default 0.25: p99 about 1.8 x the median)
//   sim.rollguard.io/request-rate    requests per second per pod (default 20)
//   sim.rollguard.io/exact           "true": every counter gets exactly its expected share (default false)
//
// Counters advance with wall time, with the noise of real traffic (noise.ts): requests arrive as a Poisson
// process at the pod's rate, each fails with the pod's error probability, latencies are drawn from the
// log-normal. Each pod has its own seeded stream (the simulator's seed and the pod's name), so a run is
// repeatable up to timing. Tests that assert exact figures set sim.rollguard.io/exact.
import http from 'node:http';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { drawTraffic, expectedTraffic, latencyBuckets, poissonStream, type Draw } from './noise.js';

export const simAnnotations = {
  errorRate: 'sim.rollguard.io/error-rate',
  latencyMs: 'sim.rollguard.io/latency-ms',
  latencySpread: 'sim.rollguard.io/latency-spread',
  requestRate: 'sim.rollguard.io/request-rate',
  exact: 'sim.rollguard.io/exact',
} as const;

export interface PodBehaviour {
  errorRate: number;
  latencySeconds: number;
  latencySpread: number;
  requestRate: number;
  /** Expected counts instead of random ones. */
  exact: boolean;
}

interface PodSeries {
  namespace: string;
  deployment: string;
  pod: string;
  hash: string;
  behaviour: PodBehaviour;
  draw: Draw;
  lastTick: number;
  ok: number;
  errors: number;
  buckets: number[];
  sum: number;
}

export function behaviourOf(annotations: Record<string, string> | undefined): PodBehaviour {
  const number = (key: string, fallback: number, min: number, max: number) => {
    const raw = annotations?.[key];
    const value = raw === undefined ? NaN : Number(raw);
    return Number.isFinite(value) && value >= min && value <= max ? value : fallback;
  };
  return {
    errorRate: number(simAnnotations.errorRate, 0, 0, 1),
    latencySeconds: number(simAnnotations.latencyMs, 20, 0.1, 600_000) / 1000,
    latencySpread: number(simAnnotations.latencySpread, 0.25, 0.01, 5),
    requestRate: number(simAnnotations.requestRate, 20, 0, 100_000),
    exact: annotations?.[simAnnotations.exact] === 'true',
  };
}

function advance(series: PodSeries, now: number): void {
  const dt = Math.max(0, (now - series.lastTick) / 1000);
  series.lastTick = now;
  const b = series.behaviour;
  const traffic = b.exact ? expectedTraffic(b, dt) : drawTraffic(series.draw, b, dt);
  series.errors += traffic.errors;
  series.ok += traffic.ok;
  let below = 0;
  latencyBuckets.forEach((_, i) => {
    below += traffic.regions[i] ?? 0;
    series.buckets[i] = (series.buckets[i] ?? 0) + below;
  });
  series.sum += traffic.sumSeconds;
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

export function exposition(all: Iterable<PodSeries>): string {
  const lines: string[] = [
    '# HELP http_requests_total HTTP requests served, by status code.',
    '# TYPE http_requests_total counter',
  ];
  const histogram: string[] = [
    '# HELP http_request_duration_seconds HTTP request latency.',
    '# TYPE http_request_duration_seconds histogram',
  ];
  for (const s of all) {
    const base = `namespace="${escapeLabel(s.namespace)}",deployment="${escapeLabel(s.deployment)}",pod="${escapeLabel(s.pod)}",pod_template_hash="${escapeLabel(s.hash)}"`;
    lines.push(`http_requests_total{${base},code="200"} ${s.ok}`);
    lines.push(`http_requests_total{${base},code="500"} ${s.errors}`);
    latencyBuckets.forEach((bound, i) => {
      histogram.push(`http_request_duration_seconds_bucket{${base},le="${bound}"} ${s.buckets[i] ?? 0}`);
    });
    const count = s.ok + s.errors;
    histogram.push(`http_request_duration_seconds_bucket{${base},le="+Inf"} ${count}`);
    histogram.push(`http_request_duration_seconds_sum{${base}} ${s.sum}`);
    histogram.push(`http_request_duration_seconds_count{${base}} ${count}`);
  }
  return [...lines, ...histogram, ''].join('\n');
}

function isServing(pod: V1Pod): boolean {
  return (
    pod.metadata?.deletionTimestamp === undefined &&
    pod.status?.phase === 'Running' &&
    (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True')
  );
}

/** The Deployment that owns a pod: its ReplicaSet is named `<deployment>-<pod-template-hash>`. */
function deploymentOf(pod: V1Pod): string | undefined {
  const hash = pod.metadata?.labels?.['pod-template-hash'];
  const owner = pod.metadata?.ownerReferences?.find((o) => o.kind === 'ReplicaSet');
  if (!hash || !owner?.name.endsWith(`-${hash}`)) return undefined;
  return owner.name.slice(0, -hash.length - 1);
}

export interface WorkloadSimulator {
  url: string;
  port: number;
  stop(): Promise<void>;
}

/** The seed of every pod's traffic: ROLLGUARD_SIM_SEED, else 1. */
function defaultSeed(): string {
  return process.env.ROLLGUARD_SIM_SEED ?? '1';
}

export interface SimulatorOptions {
  /** Serve only pods with these labels (a label selector), e.g. the covered ones in a cluster of thousands. */
  labelSelector?: string;
  /** How often the pod list is read again (default 500 ms). */
  refreshMs?: number;
}

export async function startSimulator(
  kubeconfigPath: string,
  port: number,
  seed: string = defaultSeed(),
  options: SimulatorOptions = {},
): Promise<WorkloadSimulator> {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath);
  const core = kc.makeApiClient(CoreV1Api);
  const series = new Map<string, PodSeries>();

  const refresh = async () => {
    const pods = await core.listPodForAllNamespaces(
      options.labelSelector === undefined ? {} : { labelSelector: options.labelSelector },
    );
    const now = Date.now();
    const seen = new Set<string>();
    for (const pod of pods.items) {
      const deployment = deploymentOf(pod);
      if (!deployment || !isServing(pod)) continue;
      const key = `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
      seen.add(key);
      const behaviour = behaviourOf(pod.metadata?.annotations);
      const existing = series.get(key);
      if (existing) {
        advance(existing, now);
        existing.behaviour = behaviour;
      } else {
        series.set(key, {
          namespace: pod.metadata?.namespace ?? '',
          deployment,
          pod: pod.metadata?.name ?? '',
          hash: pod.metadata?.labels?.['pod-template-hash'] ?? '',
          behaviour,
          draw: poissonStream(seed, key),
          lastTick: now,
          ok: 0,
          errors: 0,
          buckets: latencyBuckets.map(() => 0),
          sum: 0,
        });
      }
    }
    // A pod that stops serving disappears from the exposition, as its target would from a real scrape.
    for (const key of series.keys()) if (!seen.has(key)) series.delete(key);
  };

  let stopped = false;
  let refreshing: Promise<void> = Promise.resolve();
  const loop = async () => {
    while (!stopped) {
      refreshing = refresh().catch(() => undefined);
      await refreshing;
      await new Promise((resolve) => setTimeout(resolve, options.refreshMs ?? 500));
    }
  };
  void loop();

  const server = http.createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    const now = Date.now();
    for (const s of series.values()) advance(s, now);
    res.writeHead(200, { 'Content-Type': 'text/plain; version=0.0.4' }).end(exposition(series.values()));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    async stop() {
      stopped = true;
      await refreshing;
      await new Promise<void>((resolve) =>
        server.close(() => {
          resolve();
        }),
      );
    },
  };
}
