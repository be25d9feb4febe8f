// The error rate and p99 latency just before a rollout, read with the policy's own queries under a tight time
// budget. PrometheusAccess is replaced by a subclass whose providerFor hands out a fake MetricsProvider that
// records each query and its AbortSignal and answers like Prometheus would for the default batched queries.
import { describe, expect, it } from 'vitest';
import { parsePolicySpec, type PolicySpec } from '../api/policy.js';
import type { HealthResult, InstantQueryOptions, MetricsProvider, QueryResult, Sample } from '../prometheus/types.js';
import { liveSignalBudgetMs, PrometheusLiveSignals } from './live-signals.js';
import { PrometheusAccess, type ProviderLookup, type SecretReader } from './prometheus-access.js';

function policySpec(prometheus: Record<string, unknown> = { address: 'http://prom:9090' }): PolicySpec {
  const parsed = parsePolicySpec({ selector: {}, prometheus });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.value;
}

const noSecrets: SecretReader = { read: () => Promise.reject(new Error('no Secrets in this test')) };

type Metric = 'errorRate' | 'latency';
const metricOf = (query: string): Metric => (query.startsWith('histogram_quantile') ? 'latency' : 'errorRate');

interface Point {
  hash: string;
  errorRate: number;
  latency: number;
}

class FakeProvider implements MetricsProvider {
  readonly calls: { query: string; signal: AbortSignal | undefined }[] = [];

  constructor(private readonly answer: (query: string, signal: AbortSignal | undefined) => Promise<QueryResult>) {}

  instant(query: string, options?: InstantQueryOptions): Promise<QueryResult> {
    this.calls.push({ query, signal: options?.signal });
    return this.answer(query, options?.signal);
  }

  range(): Promise<QueryResult> {
    return Promise.resolve({ kind: 'empty', message: 'not used' });
  }

  healthy(): Promise<HealthResult> {
    return Promise.resolve({ healthy: true, via: 'ready-endpoint', message: 'ready' });
  }
}

/** Prometheus with these series for Deployment web: one sample per pod_template_hash. */
function serving(points: Point[], deployment = 'web'): FakeProvider {
  return new FakeProvider((query) => {
    const metric = metricOf(query);
    const samples: Sample[] = points.map((p) => ({
      labels: { deployment, pod_template_hash: p.hash },
      timestamp: 1_748_865_600,
      value: p[metric],
    }));
    return Promise.resolve(
      samples.length === 0 ? { kind: 'empty', message: 'no series matched' } : { kind: 'vector', samples, message: '' },
    );
  });
}

const answering = (result: QueryResult) => new FakeProvider(() => Promise.resolve(result));

/** A Prometheus that never answers, but stops when the caller's signal fires, as the real client does. */
const hanging = () =>
  new FakeProvider(
    (_query, signal) =>
      new Promise<QueryResult>((resolve) => {
        signal?.addEventListener('abort', () => {
          resolve({ kind: 'timeout', reason: 'aborted', message: 'the query was cancelled' });
        });
      }),
  );

class FakeAccess extends PrometheusAccess {
  readonly asked: { namespace: string; address: string | undefined }[] = [];

  constructor(private readonly lookup: ProviderLookup) {
    super(noSecrets);
  }

  override providerFor(namespace: string, spec: PolicySpec): Promise<ProviderLookup> {
    this.asked.push({ namespace, address: spec.prometheus.address });
    return Promise.resolve(this.lookup);
  }
}

const found = (provider: MetricsProvider): ProviderLookup => ({ ok: true, provider, address: 'http://prom:9090' });

const prev = { hash: 'prev111', errorRate: 0.004, latency: 0.21 };
const next = { hash: 'next222', errorRate: 0.3, latency: 2.5 };

describe('PrometheusLiveSignals', () => {
  it.each<[string, Point[], string[], { errorRate?: number; latencyP99Seconds?: number }]>([
    [
      'the previous ReplicaSet’s value, not the new one’s',
      [next, prev],
      ['prev111', 'next222'],
      { errorRate: 0.004, latencyP99Seconds: 0.21 },
    ],
    [
      'the new ReplicaSet’s when the previous has no series',
      [next],
      ['prev111', 'next222'],
      { errorRate: 0.3, latencyP99Seconds: 2.5 },
    ],
    [
      'the next hash when the previous one reads NaN (no requests)',
      [{ hash: 'prev111', errorRate: Number.NaN, latency: Number.NaN }, next],
      ['prev111', 'next222'],
      { errorRate: 0.3, latencyP99Seconds: 2.5 },
    ],
    ['any series when no hash is given (rollguard score)', [prev], [], { errorRate: 0.004, latencyP99Seconds: 0.21 }],
    [
      'any series when none of the hashes has one',
      [{ ...prev, hash: 'other999' }],
      ['gone000'],
      { errorRate: 0.004, latencyP99Seconds: 0.21 },
    ],
  ])('reads %s', async (_what, points, hashes, expected) => {
    const provider = serving(points);
    const live = new PrometheusLiveSignals(new FakeAccess(found(provider)));
    expect(await live.sample(policySpec(), 'shop', 'web', hashes)).toEqual(expected);
  });

  it('sends the policy’s two queries for this Deployment, each with an AbortSignal', async () => {
    const provider = serving([prev]);
    const access = new FakeAccess(found(provider));
    await new PrometheusLiveSignals(access).sample(policySpec(), 'shop', 'web', ['prev111']);
    expect(access.asked).toEqual([{ namespace: 'shop', address: 'http://prom:9090' }]);
    expect(provider.calls.map((c) => metricOf(c.query)).sort()).toEqual(['errorRate', 'latency']);
    for (const call of provider.calls) {
      expect(call.query).toContain('namespace="shop"');
      expect(call.query).toContain('deployment=~"web"');
      expect(call.signal).toBeInstanceOf(AbortSignal);
    }
  });

  it('shares the two queries between rollouts that start together, and reads no other Deployment’s series', async () => {
    // Prometheus has web's old ReplicaSet and cart's only under a hash nobody asked for.
    const provider = new FakeProvider((query) => {
      const metric = metricOf(query);
      const sample = (deployment: string, hash: string, value: number): Sample => ({
        labels: { deployment, pod_template_hash: hash },
        timestamp: 1,
        value: metric === 'latency' ? value * 10 : value,
      });
      return Promise.resolve({
        kind: 'vector',
        samples: [sample('web', 'prev111', 0.004), sample('cart', 'other999', 0.02)],
        message: '',
      });
    });
    const live = new PrometheusLiveSignals(new FakeAccess(found(provider)));
    const [web, cart, search] = await Promise.all([
      live.sample(policySpec(), 'shop', 'web', ['prev111', 'next222']),
      live.sample(policySpec(), 'shop', 'cart', ['gone000']),
      live.sample(policySpec(), 'shop', 'search', ['srch333']),
    ]);

    expect(provider.calls).toHaveLength(2);
    for (const call of provider.calls) expect(call.query).toContain('deployment=~"cart|search|web"');
    expect(web).toStrictEqual({ errorRate: 0.004, latencyP99Seconds: 0.04 });
    // cart falls back to any series of its own, as when it is asked for alone; search has none, and does not
    // borrow web's or cart's.
    expect(cart).toStrictEqual({ errorRate: 0.02, latencyP99Seconds: 0.2 });
    expect(search).toStrictEqual({ unavailable: 'no series for this Deployment' });
  });

  it.each<[string, QueryResult, string]>([
    [
      'unreachable',
      { kind: 'unreachable', reason: 'refused', message: 'connection refused to prom:9090' },
      'connection refused to prom:9090',
    ],
    [
      'failing with HTTP 503',
      { kind: 'http-error', status: 503, error: 'overloaded', message: 'HTTP 503: overloaded' },
      'HTTP 503: overloaded',
    ],
    ['empty', { kind: 'empty', message: 'no series matched' }, 'no series matched'],
  ])('is unavailable, with the reason once and no values, when Prometheus is %s', async (_what, result, reason) => {
    const live = new PrometheusLiveSignals(new FakeAccess(found(answering(result))));
    expect(await live.sample(policySpec(), 'shop', 'web', ['prev111'])).toStrictEqual({ unavailable: reason });
  });

  it('keeps one metric’s value when only the other fails', async () => {
    const provider = new FakeProvider((query) =>
      Promise.resolve<QueryResult>(
        metricOf(query) === 'errorRate'
          ? {
              kind: 'vector',
              samples: [{ labels: { deployment: 'web', pod_template_hash: 'prev111' }, timestamp: 1, value: 0.01 }],
              message: '',
            }
          : { kind: 'promql-error', status: 400, errorType: 'bad_data', error: 'parse error', message: 'bad query' },
      ),
    );
    const live = new PrometheusLiveSignals(new FakeAccess(found(provider)));
    expect(await live.sample(policySpec(), 'shop', 'web', ['prev111'])).toStrictEqual({
      errorRate: 0.01,
      unavailable: 'bad query',
    });
  });

  it('records a slightly negative reading as 0 and says what was read, so the status write stays valid', async () => {
    const provider = serving([{ hash: 'prev111', errorRate: -0.0004, latency: 0.2 }]);
    const live = new PrometheusLiveSignals(new FakeAccess(found(provider)));
    expect(await live.sample(policySpec(), 'shop', 'web', ['prev111'])).toStrictEqual({
      errorRate: 0,
      latencyP99Seconds: 0.2,
      unavailable:
        'the error rate read as -0.0004 (series scraped at different moments can dip below zero); recorded as 0',
    });
  });

  it('says so when the series are all NaN', async () => {
    const provider = serving([{ hash: 'prev111', errorRate: Number.NaN, latency: Number.NaN }]);
    const live = new PrometheusLiveSignals(new FakeAccess(found(provider)));
    expect(await live.sample(policySpec(), 'shop', 'web', ['prev111'])).toStrictEqual({
      unavailable: 'no series for this Deployment',
    });
  });

  it('is unavailable with the reason, without querying, when no provider can be had', async () => {
    const access = new FakeAccess({ ok: false, reason: 'cannot read Secret shop/prom-ca: forbidden' });
    expect(await new PrometheusLiveSignals(access).sample(policySpec(), 'shop', 'web', ['prev111'])).toStrictEqual({
      unavailable: 'cannot read Secret shop/prom-ca: forbidden',
    });
  });

  it('is unavailable for a policy without a Prometheus address (the real PrometheusAccess)', async () => {
    const live = new PrometheusLiveSignals(new PrometheusAccess(noSecrets));
    expect(await live.sample(policySpec({}), 'shop', 'web', ['prev111'])).toStrictEqual({
      unavailable: 'the policy names no Prometheus address',
    });
  });

  it.each<[string, Record<string, unknown>, number]>([
    [
      'its own 1 s budget when the policy allows 5 s',
      { address: 'http://prom:9090', timeout: '5s' },
      liveSignalBudgetMs,
    ],
    ['the policy’s shorter timeout', { address: 'http://prom:9090', timeout: '150ms' }, 150],
  ])('gives up on a slow Prometheus within %s', async (_what, prometheus, budgetMs) => {
    const provider = hanging();
    const live = new PrometheusLiveSignals(new FakeAccess(found(provider)));
    const started = performance.now();
    const result = await live.sample(policySpec(prometheus), 'shop', 'web', ['prev111']);
    const elapsed = performance.now() - started;

    expect(result).toStrictEqual({ unavailable: 'the query was cancelled' });
    expect(elapsed).toBeGreaterThanOrEqual(budgetMs - 50);
    expect(elapsed).toBeLessThan(Math.min(budgetMs + 200, 1200));
    expect(provider.calls).toHaveLength(2);
    for (const call of provider.calls) {
      expect(call.signal?.aborted).toBe(true);
      expect((call.signal?.reason as Error | undefined)?.name).toBe('TimeoutError');
    }
  });
});
