// Readings asked for together share one query; none waits past its own budget. The provider is a fake that
// records each query and its signal, and answers (or hangs until the signal fires) as the real client does.
import { describe, expect, it } from 'vitest';
import { readingFor, type BatchReading } from './batch.js';
import { ReadCoalescer, type CoalescedRead } from './coalesce.js';
import type { InstantQueryOptions, MetricsProvider, QueryResult, Sample } from './types.js';

const TEMPLATE =
  'sum by (deployment, pod_template_hash) (rate(http_requests_total{namespace="{{namespace}}",deployment=~"{{deploymentRegex}}",pod_template_hash=~"{{hashRegex}}"}[{{window}}]))';

class RecordingProvider implements Pick<MetricsProvider, 'instant'> {
  readonly calls: { query: string; signal: AbortSignal | undefined; purpose: string | undefined }[] = [];
  constructor(private readonly answer: (query: string, signal: AbortSignal | undefined) => Promise<QueryResult>) {}
  instant(query: string, options?: InstantQueryOptions): Promise<QueryResult> {
    this.calls.push({ query, signal: options?.signal, purpose: options?.purpose });
    return this.answer(query, options?.signal);
  }
}

/** One series per (deployment, hash) the query asks for, valued by the Deployment's name length. */
const echoing = (delayMs = 0) =>
  new RecordingProvider(async (query) => {
    await new Promise((r) => setTimeout(r, delayMs));
    const deployments = /deployment=~"([^"]*)"/.exec(query)?.[1]?.split('|') ?? [];
    const hashes = /pod_template_hash=~"([^"]*)"/.exec(query)?.[1]?.split('|') ?? [];
    const samples: Sample[] = deployments.flatMap((deployment) =>
      hashes.map((hash) => ({
        labels: { deployment, pod_template_hash: hash },
        timestamp: 1,
        value: deployment.length,
      })),
    );
    return { kind: 'vector', samples, message: '' };
  });

/** Never answers; stops when the caller's signal fires, as the real client does. */
const hanging = () =>
  new RecordingProvider(
    (_query, signal) =>
      new Promise<QueryResult>((resolve) => {
        signal?.addEventListener('abort', () => {
          resolve({ kind: 'timeout', reason: 'aborted', message: 'the query was cancelled' });
        });
      }),
  );

const request = (
  provider: Pick<MetricsProvider, 'instant'>,
  deployment: string,
  overrides: Partial<CoalescedRead> = {},
): CoalescedRead => ({
  provider,
  template: TEMPLATE,
  namespace: 'shop',
  window: '1m',
  target: { deployment, podTemplateHashes: [`${deployment}-h`] },
  budgetMs: 1000,
  purpose: 'live-signals',
  ...overrides,
});

const valueOf = (reading: BatchReading, deployment: string) => {
  if (!reading.ok) return reading.error;
  const r = readingFor(reading.split, deployment, `${deployment}-h`);
  return r.kind === 'value' ? r.value : r.kind;
};

describe('ReadCoalescer', () => {
  it('sends one query for the readers that ask in the same turn, and each finds its own series in it', async () => {
    const provider = echoing();
    const reads = new ReadCoalescer();
    const answers = await Promise.all(['web', 'cart', 'search'].map((d) => reads.read(request(provider, d))));

    expect(provider.calls).toHaveLength(1);
    expect(provider.calls[0]?.purpose).toBe('live-signals');
    expect(provider.calls[0]?.query).toContain('deployment=~"cart|search|web"');
    expect(answers.map((a, i) => valueOf(a, ['web', 'cart', 'search'][i] ?? ''))).toEqual([3, 4, 6]);
  });

  it('gathers the readers who ask while a query is in flight into one next query', async () => {
    const provider = echoing(50);
    const reads = new ReadCoalescer();
    const first = reads.read(request(provider, 'web'));
    await new Promise((r) => setTimeout(r, 10));
    const later = ['cart', 'search', 'checkout'].map((d) => reads.read(request(provider, d)));

    expect(provider.calls).toHaveLength(1);
    expect(valueOf(await first, 'web')).toBe(3);
    const answers = await Promise.all(later);
    expect(provider.calls.map((c) => /deployment=~"([^"]*)"/.exec(c.query)?.[1])).toEqual([
      'web',
      'cart|checkout|search',
    ]);
    expect(answers.map((a, i) => valueOf(a, ['cart', 'search', 'checkout'][i] ?? ''))).toEqual([4, 6, 8]);
  });

  it.each<[string, Partial<CoalescedRead>]>([
    ['another namespace', { namespace: 'billing' }],
    ['another rate window', { window: '5m' }],
    ['another template', { template: TEMPLATE.replace('rate(', 'irate(') }],
    ['another purpose (each is counted under its own)', { purpose: 'verification' }],
  ])('does not share a query with a reader of %s', async (_what, overrides) => {
    const provider = echoing();
    const reads = new ReadCoalescer();
    await Promise.all([reads.read(request(provider, 'web')), reads.read(request(provider, 'cart', overrides))]);
    expect(provider.calls).toHaveLength(2);
  });

  it('does not narrow a reader without hashes to the hashes of others', async () => {
    const provider = echoing();
    const reads = new ReadCoalescer();
    const template = TEMPLATE.replace(',pod_template_hash=~"{{hashRegex}}"', '');
    await Promise.all([
      reads.read(request(provider, 'web', { template })),
      reads.read(request(provider, 'cart', { template, target: { deployment: 'cart', podTemplateHashes: [] } })),
    ]);
    expect(provider.calls).toHaveLength(2);
  });

  it('does not share a query between two Prometheus servers', async () => {
    const [a, b] = [echoing(), echoing()];
    const reads = new ReadCoalescer();
    await Promise.all([reads.read(request(a, 'web')), reads.read(request(b, 'cart'))]);
    expect([a.calls.length, b.calls.length]).toEqual([1, 1]);
  });

  it('unites the hashes two readers ask for under one Deployment', async () => {
    const provider = echoing();
    const reads = new ReadCoalescer();
    await Promise.all([
      reads.read(request(provider, 'web', { target: { deployment: 'web', podTemplateHashes: ['old1'] } })),
      reads.read(request(provider, 'web', { target: { deployment: 'web', podTemplateHashes: ['new2', 'old1'] } })),
    ]);
    expect(provider.calls[0]?.query).toContain('deployment=~"web",pod_template_hash=~"new2|old1"');
  });

  it('keeps a reader behind a hanging query within its own budget, and cuts its query off at that deadline', async () => {
    const provider = hanging();
    const reads = new ReadCoalescer();
    const started = performance.now();
    const first = reads.read(request(provider, 'web', { budgetMs: 200 }));
    await new Promise((r) => setTimeout(r, 100));
    const followerStarted = performance.now();
    const follower = reads.read(request(provider, 'cart', { budgetMs: 200 }));

    expect(valueOf(await first, 'web')).toBe('timeout');
    expect(valueOf(await follower, 'cart')).toBe('timeout');
    const followerWaited = performance.now() - followerStarted;
    expect(followerWaited).toBeGreaterThanOrEqual(150);
    expect(followerWaited).toBeLessThan(400);
    expect(performance.now() - started).toBeLessThan(500);
    expect(provider.calls).toHaveLength(2);
    for (const call of provider.calls) expect((call.signal?.reason as Error | undefined)?.name).toBe('TimeoutError');
  });

  it('does not ask at all when an earlier query used up the reader’s budget', async () => {
    const provider = hanging();
    const reads = new ReadCoalescer();
    const first = reads.read(request(provider, 'web', { budgetMs: 300 }));
    await new Promise((r) => setTimeout(r, 10));
    const follower = reads.read(request(provider, 'cart', { budgetMs: 100 }));

    expect(await follower).toStrictEqual({
      ok: false,
      error: 'Prometheus did not answer the earlier query in time to ask this one',
    });
    await first;
    expect(provider.calls).toHaveLength(1);
  });

  it('answers with the error, not a wait without end, when the provider throws', async () => {
    const provider = new RecordingProvider(() => {
      throw new Error('boom');
    });
    const reads = new ReadCoalescer();
    expect(await reads.read(request(provider, 'web'))).toStrictEqual({
      ok: false,
      error: 'the query failed: Error: boom',
    });
    // The failed query is over: the next reader is asked for at once, not chained behind it.
    expect(valueOf(await reads.read(request(echoing(), 'cart')), 'cart')).toBe(4);
  });

  it('asks again for a reader who comes after the last answer (nothing is cached)', async () => {
    const provider = echoing();
    const reads = new ReadCoalescer();
    await reads.read(request(provider, 'web'));
    await reads.read(request(provider, 'web'));
    expect(provider.calls).toHaveLength(2);
  });
});
