// Batching of verification queries: one query per metric, policy and tick however many rollouts are verifying.
// The provider is a plain fake that records what it is asked and answers like Prometheus would for the
// default queries: one sample per (deployment, pod_template_hash) of the Deployments the query names.
import { describe, expect, it } from 'vitest';
import { parsePolicySpec, type PolicySpec } from '../api/policy.js';
import type {
  HealthResult,
  InstantQueryOptions,
  MetricsProvider,
  QueryResult,
  Sample,
  SingleResult,
} from '../prometheus/types.js';
import { VerificationBatcher, type BatchReading, type VerifiedMetric } from './verification-batcher.js';

function policySpec(overrides: Record<string, unknown> = {}): PolicySpec {
  const parsed = parsePolicySpec({ selector: {}, prometheus: { address: 'http://prom:9090' }, ...overrides });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.errors));
  return parsed.value;
}

const metricOf = (query: string): VerifiedMetric => (query.startsWith('histogram_quantile') ? 'latency' : 'errorRate');

/** The Deployments a batched query names in deployment=~"a|b|c". */
function deploymentsIn(query: string): string[] {
  return /deployment=~"([^"]*)"/.exec(query)?.[1]?.split('|') ?? [];
}

interface Series {
  deployment: string;
  hash: string;
  errorRate: number;
  latency: number;
}

class FakeProvider implements MetricsProvider {
  readonly queries: string[] = [];
  /** What Prometheus holds now; tests change it between ticks. */
  series: Series[];
  override: QueryResult | undefined;

  constructor(series: Series[]) {
    this.series = series;
  }

  instant(query: string, _options?: InstantQueryOptions): Promise<QueryResult> {
    this.queries.push(query);
    if (this.override) return Promise.resolve(this.override);
    const metric = metricOf(query);
    const names = new Set(deploymentsIn(query));
    const samples: Sample[] = this.series
      .filter((s) => names.has(s.deployment))
      .map((s) => ({
        labels: { deployment: s.deployment, pod_template_hash: s.hash },
        timestamp: 1_748_865_600,
        value: s[metric],
      }));
    const result: QueryResult =
      samples.length === 0
        ? { kind: 'empty', message: 'no series' }
        : { kind: 'vector', samples, message: `${samples.length} series` };
    return Promise.resolve(result);
  }

  range(): Promise<QueryResult> {
    return Promise.resolve({ kind: 'empty', message: 'not used' });
  }

  healthy(): Promise<HealthResult> {
    return Promise.resolve({ healthy: true, via: 'ready-endpoint', message: 'ready' });
  }
}

/** Five Deployments, each with a new and an old ReplicaSet, every value distinct. */
const fleet = ['web', 'api', 'cart', 'search', 'auth'];
function seriesFor(names: readonly string[], offset = 0): Series[] {
  return names.flatMap((name, i) => [
    { deployment: name, hash: `${name}-new`, errorRate: 0.01 * (i + 1) + offset, latency: 0.1 * (i + 1) + offset },
    { deployment: name, hash: `${name}-old`, errorRate: 0.001 * (i + 1) + offset, latency: 0.05 * (i + 1) + offset },
  ]);
}

const valueOf = (r: SingleResult | undefined): number | string =>
  r === undefined ? 'none' : r.kind === 'value' ? r.value : r.kind;

function read(
  batcher: VerificationBatcher,
  provider: MetricsProvider,
  deployment: string,
  tick: number,
  options: { spec?: PolicySpec; policyKey?: string; oldHash?: string | null } = {},
): Promise<Record<VerifiedMetric, BatchReading>> {
  return batcher.read({
    policyKey: options.policyKey ?? 'shop/default',
    namespace: 'shop',
    spec: options.spec ?? policySpec(),
    provider,
    tick,
    deployment,
    newHash: `${deployment}-new`,
    oldHash: options.oldHash === null ? undefined : (options.oldHash ?? `${deployment}-old`),
  });
}

/** The first tick of every rollout: each joins and is then known to the batcher. */
async function joinAll(batcher: VerificationBatcher, provider: FakeProvider, names: readonly string[], tick: number) {
  for (const name of names) await read(batcher, provider, name, tick);
}

describe('VerificationBatcher', () => {
  it('forgets a deleted Deployment: the next batch no longer names it', async () => {
    const provider = new FakeProvider(seriesFor(['web', 'api']));
    const batcher = new VerificationBatcher();
    await joinAll(batcher, provider, ['web', 'api'], 1);
    batcher.forgetDeployment('shop', 'api');
    expect(batcher.activeCount()).toBe(1);
    provider.queries.length = 0;
    await read(batcher, provider, 'web', 2);
    for (const query of provider.queries) expect(deploymentsIn(query)).toEqual(['web']);
    batcher.forgetDeployment('shop', 'web');
    expect(batcher.activeCount()).toBe(0);
  });

  it('forgets only the namespace named', async () => {
    const batcher = new VerificationBatcher();
    const provider = new FakeProvider(seriesFor(['web']));
    await read(batcher, provider, 'web', 1);
    batcher.forgetDeployment('other-team', 'web');
    expect(batcher.activeCount()).toBe(1);
  });

  it("a Deployment that moves to another policy leaves the old policy's batch", async () => {
    const provider = new FakeProvider(seriesFor(['web', 'api']));
    const batcher = new VerificationBatcher();
    await read(batcher, provider, 'web', 1, { policyKey: 'shop/old' });
    await read(batcher, provider, 'api', 1, { policyKey: 'shop/old' });
    await read(batcher, provider, 'web', 2, { policyKey: 'shop/new' });
    expect(batcher.activeCount()).toBe(2);
    provider.queries.length = 0;
    await read(batcher, provider, 'api', 3, { policyKey: 'shop/old' });
    for (const query of provider.queries) expect(deploymentsIn(query)).toEqual(['api']);
  });

  it.each([1, 2, 5])('%i verifying Deployments of one policy in one tick → exactly 2 queries', async (n) => {
    const names = fleet.slice(0, n);
    const provider = new FakeProvider(seriesFor(names));
    const batcher = new VerificationBatcher();
    await joinAll(batcher, provider, names, 100);
    provider.queries.length = 0;
    const sentBefore = batcher.queriesSent;

    const readings = await Promise.all(names.map((name) => read(batcher, provider, name, 101)));

    expect(provider.queries).toHaveLength(2);
    expect(batcher.queriesSent - sentBefore).toBe(2);
    expect(provider.queries.map(metricOf).sort()).toEqual(['errorRate', 'latency']);
    for (const query of provider.queries) expect(deploymentsIn(query).sort()).toEqual([...names].sort());
    // Each Deployment reads its own value, by deployment and pod_template_hash.
    expect(
      readings.map((r) => [
        valueOf(r.errorRate.current),
        valueOf(r.errorRate.old),
        valueOf(r.latency.current),
        valueOf(r.latency.old),
      ]),
    ).toEqual(names.map((_name, i) => [0.01 * (i + 1), 0.001 * (i + 1), 0.1 * (i + 1), 0.05 * (i + 1)]));
  });

  it('returns the query as sent with each reading', async () => {
    const provider = new FakeProvider(seriesFor(['web']));
    const batcher = new VerificationBatcher();
    const r = await read(batcher, provider, 'web', 1);
    expect(provider.queries).toContain(r.errorRate.query);
    expect(provider.queries).toContain(r.latency.query);
    expect(r.errorRate.query).toContain('namespace="shop"');
    expect(r.errorRate.query).toContain('[1m]');
    expect(r.latency.query.startsWith('histogram_quantile(0.99')).toBe(true);
  });

  it('has no old reading for a rollout without an old ReplicaSet', async () => {
    const provider = new FakeProvider(seriesFor(['web']));
    const r = await read(new VerificationBatcher(), provider, 'web', 1, { oldHash: null });
    expect(valueOf(r.errorRate.current)).toBeCloseTo(0.01);
    expect(r.errorRate.old).toBeUndefined();
    expect(r.latency.old).toBeUndefined();
  });

  it('gives a rollout that joins after the tick’s query one more batched query, not one per rollout', async () => {
    const provider = new FakeProvider(seriesFor(fleet));
    const batcher = new VerificationBatcher();
    const early = fleet.slice(0, 4);
    await joinAll(batcher, provider, early, 10);
    provider.queries.length = 0;

    await Promise.all(early.map((name) => read(batcher, provider, name, 11)));
    expect(provider.queries).toHaveLength(2);

    const late = await read(batcher, provider, 'auth', 11);
    expect(provider.queries).toHaveLength(4);
    // The extra query is a batch over everything verifying, not a query of its own.
    for (const query of provider.queries.slice(2)) expect(deploymentsIn(query).sort()).toEqual([...fleet].sort());
    expect(valueOf(late.errorRate.current)).toBeCloseTo(0.05);
    expect(valueOf(late.latency.old)).toBeCloseTo(0.25);

    // Everyone reading again in the same tick (a requeue) reuses what was already fetched.
    await Promise.all(fleet.map((name) => read(batcher, provider, name, 11)));
    expect(provider.queries).toHaveLength(4);
    expect(batcher.activeCount()).toBe(5);
  });

  it('queries afresh on the next tick and reads the new values', async () => {
    const provider = new FakeProvider(seriesFor(['web', 'api']));
    const batcher = new VerificationBatcher();
    await joinAll(batcher, provider, ['web', 'api'], 20);
    provider.queries.length = 0;

    provider.series = seriesFor(['web', 'api'], 0.5);
    const [web, api] = await Promise.all([read(batcher, provider, 'web', 21), read(batcher, provider, 'api', 21)]);
    expect(provider.queries).toHaveLength(2);
    expect(valueOf(web.errorRate.current)).toBeCloseTo(0.51);
    expect(valueOf(api.latency.current)).toBeCloseTo(0.7);

    provider.series = seriesFor(['web', 'api'], 0.9);
    const [web2] = await Promise.all([read(batcher, provider, 'web', 22), read(batcher, provider, 'api', 22)]);
    expect(provider.queries).toHaveLength(4);
    expect(valueOf(web2.errorRate.current)).toBeCloseTo(0.91);
  });

  it('leaves an unregistered rollout out of later batches', async () => {
    const provider = new FakeProvider(seriesFor(['web', 'api', 'cart']));
    const batcher = new VerificationBatcher();
    await joinAll(batcher, provider, ['web', 'api', 'cart'], 30);
    expect(batcher.activeCount()).toBe(3);

    batcher.unregister('shop/default', 'api');
    expect(batcher.activeCount()).toBe(2);
    provider.queries.length = 0;
    await Promise.all([read(batcher, provider, 'web', 31), read(batcher, provider, 'cart', 31)]);
    expect(provider.queries).toHaveLength(2);
    for (const query of provider.queries) expect(deploymentsIn(query).sort()).toEqual(['cart', 'web']);
  });

  it('keeps policies apart: one batch per policy, naming only its rollouts', async () => {
    const provider = new FakeProvider(seriesFor(fleet));
    const batcher = new VerificationBatcher();
    await joinAll(batcher, provider, ['web', 'api'], 40);
    await read(batcher, provider, 'cart', 40, { policyKey: 'shop/strict' });
    provider.queries.length = 0;

    const [web, , cart] = await Promise.all([
      read(batcher, provider, 'web', 41),
      read(batcher, provider, 'api', 41),
      read(batcher, provider, 'cart', 41, { policyKey: 'shop/strict' }),
    ]);
    expect(provider.queries).toHaveLength(4);
    expect(provider.queries.map((q) => deploymentsIn(q).sort().join(',')).sort()).toEqual([
      'api,web',
      'api,web',
      'cart',
      'cart',
    ]);
    expect(valueOf(web.errorRate.current)).toBeCloseTo(0.01);
    expect(valueOf(cart.errorRate.current)).toBeCloseTo(0.03);
  });

  it.each<[string, string]>([
    // Neither can be rendered for a batch.
    [
      'uses {{podTemplateHash}}, which a batch has no single value for',
      'sum(rate(errors{pod_template_hash="{{podTemplateHash}}"}[1m]))',
    ],
    ['puts a name placeholder outside double quotes', 'sum(rate(errors{namespace={{namespace}}}[1m]))'],
  ])('reads a promql-error and sends nothing when the error-rate template %s', async (_what, query) => {
    // Set after parsing: the schema refuses the second one now, and the batcher must still never send it.
    const spec = policySpec();
    spec.metrics.errorRate.query = query;
    const provider = new FakeProvider(seriesFor(['web', 'api']));
    const batcher = new VerificationBatcher();
    const [web, api] = await Promise.all([
      read(batcher, provider, 'web', 50, { spec }),
      read(batcher, provider, 'api', 50, { spec }),
    ]);
    for (const r of [web, api]) {
      expect(r.errorRate.current.kind).toBe('promql-error');
      expect(r.errorRate.current.message).toContain("the policy's errorRate query cannot be used");
      expect(r.errorRate.old?.kind).toBe('promql-error');
      expect(r.errorRate.query).toBe('');
    }
    // Only latency queries went out: none with the broken template.
    expect(provider.queries.every((q) => metricOf(q) === 'latency')).toBe(true);
    expect(batcher.queriesSent).toBe(provider.queries.length);
    expect(valueOf(web.latency.current)).toBeCloseTo(0.1);
  });

  it.each<[string, QueryResult, SingleResult['kind']]>([
    ['unreachable', { kind: 'unreachable', reason: 'refused', message: 'connection refused' }, 'unreachable'],
    ['slow', { kind: 'timeout', reason: 'slow', message: 'no answer within 5s' }, 'timeout'],
    ['empty', { kind: 'empty', message: 'no series' }, 'empty'],
  ])('reads a %s answer as that, for every rollout of the batch', async (_what, answer, kind) => {
    const provider = new FakeProvider(seriesFor(['web', 'api']));
    provider.override = answer;
    const batcher = new VerificationBatcher();
    const readings = await Promise.all([read(batcher, provider, 'web', 60), read(batcher, provider, 'api', 60)]);
    for (const r of readings) {
      expect(r.errorRate.current.kind).toBe(kind);
      expect(r.latency.old?.kind).toBe(kind);
      expect(r.errorRate.current.message).toBe(answer.message);
    }
  });

  it('reads "no series" for a rollout whose pods have no traffic yet', async () => {
    const provider = new FakeProvider(seriesFor(['web']));
    const r = await read(new VerificationBatcher(), provider, 'api', 70);
    // The whole query was empty for api alone.
    expect(r.errorRate.current.kind).toBe('empty');
    const batcher = new VerificationBatcher();
    await joinAll(batcher, provider, ['web', 'api'], 71);
    const [, api] = await Promise.all([read(batcher, provider, 'web', 72), read(batcher, provider, 'api', 72)]);
    expect(api.errorRate.current.kind).toBe('empty');
    expect(api.errorRate.current.message).toContain('Deployment api, pod-template-hash api-new');
  });

  it('counts rollouts verifying across policies, and unregistering twice or unknown ones is harmless', () => {
    const batcher = new VerificationBatcher();
    expect(batcher.activeCount()).toBe(0);
    batcher.register('shop/default', 'web', ['web-new', 'web-old']);
    batcher.register('shop/default', 'api', ['api-new']);
    batcher.register('shop/strict', 'cart', ['cart-new']);
    // Registering again (the next interval) does not count twice.
    batcher.register('shop/default', 'web', ['web-new', 'web-old']);
    expect(batcher.activeCount()).toBe(3);
    batcher.unregister('shop/default', 'web');
    batcher.unregister('shop/default', 'web');
    batcher.unregister('shop/none', 'web');
    batcher.unregister('shop/strict', 'nothing');
    expect(batcher.activeCount()).toBe(2);
  });
});

describe('VerificationBatcher.readCounts', () => {
  /** Answers the count queries: 100 requests per second of window, 1 % errors, 90 % under 0.1 s. */
  class CountingProvider extends FakeProvider {
    override instant(query: string): Promise<QueryResult> {
      this.queries.push(query);
      const parts = [...query.matchAll(/deployment=~"([^"]*)"[^}]*\}\[(\d+)s\]/g)];
      const samples: Sample[] = parts.flatMap(([, names = '', seconds = '0']) =>
        names.split('|').flatMap((deployment) =>
          ['new', 'old'].flatMap((age) => {
            const labels = { deployment, pod_template_hash: `${deployment}-${age}` };
            const requests = 100 * Number(seconds);
            const at = (value: number, extra: Record<string, string> = {}) => ({
              labels: { ...labels, ...extra },
              timestamp: 1_748_865_600,
              value,
            });
            if (query.includes('_bucket')) return [at(0.9 * requests, { le: '0.1' }), at(requests, { le: '+Inf' })];
            return [at(query.includes('code=~"5.."') ? 0.01 * requests : requests)];
          }),
        ),
      );
      return Promise.resolve({ kind: 'vector', samples, message: '' });
    }
  }

  const spec = policySpec({ metrics: { statisticalTest: { enabled: true } } });
  const counts = (
    batcher: VerificationBatcher,
    provider: MetricsProvider,
    deployment: string,
    startedAt: Date,
    tick: number,
  ) =>
    batcher.readCounts({
      policyKey: 'shop/default',
      namespace: 'shop',
      spec,
      provider,
      tick,
      at: new Date('2026-01-01T00:01:40Z'),
      deployment,
      newHash: `${deployment}-new`,
      oldHash: `${deployment}-old`,
      startedAt,
    });

  it('reads three rollouts with different windows in three queries, each its own counts', async () => {
    const provider = new CountingProvider([]);
    const batcher = new VerificationBatcher();
    const starts = { web: '2026-01-01T00:01:10Z', api: '2026-01-01T00:00:40Z', cart: '2026-01-01T00:01:10Z' };
    // The first tick registers them; the next reads all three with one query per count metric.
    for (const [name, at] of Object.entries(starts)) await counts(batcher, provider, name, new Date(at), 10);
    provider.queries.length = 0;
    const results = await Promise.all(
      Object.entries(starts).map(([name, at]) => counts(batcher, provider, name, new Date(at), 11)),
    );
    expect(provider.queries).toHaveLength(3);
    expect(provider.queries.find((q) => q.includes('_bucket'))).toMatch(/\[30s\]\)\)\) or \(.*\[60s\]/);
    expect(
      results.map((r) => [valueOf(r.requests.current), valueOf(r.errors.current), valueOf(r.requests.old)]),
    ).toEqual([
      [3000, 30, 3000],
      [6000, 60, 6000],
      [3000, 30, 3000],
    ]);
    expect(results[1]?.latencyBuckets.current).toEqual({
      kind: 'buckets',
      buckets: [
        { le: 0.1, count: 5400 },
        { le: Infinity, count: 6000 },
      ],
    });
    expect(results[0]?.queries.errors).toContain('code=~"5.."');
  });
});
