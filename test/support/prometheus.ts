// Instant PromQL queries against the run's real Prometheus, for assertions.
import { inject } from 'vitest';

export interface Sample {
  labels: Record<string, string>;
  value: number;
}

export async function promQuery(query: string): Promise<Sample[]> {
  const url = new URL('/api/v1/query', inject('prometheusUrl'));
  url.searchParams.set('query', query);
  const res = await fetch(url);
  const body = (await res.json()) as {
    status: string;
    error?: string;
    data?: { resultType: string; result: { metric: Record<string, string>; value: [number, string] }[] };
  };
  if (body.status !== 'success' || !body.data) throw new Error(`query failed: ${body.error ?? res.status}`);
  return body.data.result.map((r) => ({ labels: r.metric, value: Number(r.value[1]) }));
}

/** Plays a monitoring outage: stops the run's Prometheus (same port and storage when started again). */
export async function stopPrometheus(): Promise<void> {
  const res = await fetch(`${inject('harnessControlUrl')}/prometheus/stop`, { method: 'POST' });
  if (!res.ok) throw new Error(`stopping Prometheus failed: ${await res.text()}`);
}

export async function startPrometheus(): Promise<void> {
  const res = await fetch(`${inject('harnessControlUrl')}/prometheus/start`, { method: 'POST' });
  if (!res.ok) throw new Error(`starting Prometheus failed: ${await res.text()}`);
}
