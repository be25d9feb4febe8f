// The Prometheus access layer keeps one client per policy settings and closes what it replaces or what no
// policy uses any more: a day of one-minute credential refreshes must not leave a day of keep-alive agents.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { parsePolicySpec, type PolicySpec } from '../api/policy.js';
import type { PrometheusClientOptions } from '../prometheus/client.js';
import type { QueryResult } from '../prometheus/types.js';
import { PrometheusAccess, secretRefusal, type ClosableProvider, type SecretReader } from './prometheus-access.js';

function spec(prometheus: object): PolicySpec {
  const parsed = parsePolicySpec({ selector: {}, prometheus });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed));
  return parsed.value;
}

class Clients {
  readonly made: { options: PrometheusClientOptions; closed: boolean }[] = [];
  make = (options: PrometheusClientOptions): ClosableProvider => {
    const record = { options, closed: false };
    this.made.push(record);
    const answer = (): Promise<QueryResult> => Promise.resolve({ kind: 'empty', message: 'no series' } as QueryResult);
    return {
      instant: answer,
      range: answer,
      healthy: () => Promise.resolve({ healthy: true, via: 'query', message: 'ok' }),
      close: () => {
        record.closed = true;
      },
    };
  };
  open(): number {
    return this.made.filter((c) => !c.closed).length;
  }
}

class Secrets implements SecretReader {
  values = new Map<string, string>([['shop/prom-token/token', 'first']]);
  reads = 0;
  read(namespace: string, name: string, key: string): Promise<string> {
    this.reads++;
    const value = this.values.get(`${namespace}/${name}/${key}`);
    return value === undefined ? Promise.reject(new Error(`no Secret ${name}`)) : Promise.resolve(value);
  }
}

const withToken = spec({
  address: 'http://prometheus.monitoring:9090',
  bearerTokenSecretRef: { name: 'prom-token', key: 'token' },
});

describe('PrometheusAccess', () => {
  let clients: Clients;
  let secrets: Secrets;
  let access: PrometheusAccess;
  beforeEach(() => {
    vi.useFakeTimers({ now: Date.parse('2026-06-02T12:00:00Z') });
    clients = new Clients();
    secrets = new Secrets();
    access = new PrometheusAccess(secrets, { makeClient: clients.make });
  });
  afterEach(() => {
    access.close();
    vi.useRealTimers();
  });

  it('keeps one client for a day of refreshes while the credentials stay the same', async () => {
    for (let minute = 0; minute < 24 * 60; minute++) {
      const lookup = await access.providerFor('shop', withToken);
      expect(lookup.ok).toBe(true);
      vi.advanceTimersByTime(60_000);
    }
    expect(clients.made).toHaveLength(1);
    expect(clients.open()).toBe(1);
    // The credentials were still re-read every minute, so a rotation is seen.
    expect(secrets.reads).toBeGreaterThanOrEqual(24 * 60 - 1);
  });

  it('a rotated token gives a new client and closes the old one once its queries have timed out', async () => {
    const first = await access.providerFor('shop', withToken);
    secrets.values.set('shop/prom-token/token', 'second');
    vi.advanceTimersByTime(61_000);
    const second = await access.providerFor('shop', withToken);
    expect(second.ok && first.ok && second.provider !== first.provider).toBe(true);
    expect(clients.made.map((c) => c.options.bearerToken)).toEqual(['first', 'second']);
    // The old client may still be answering a query: closed after the policy's timeout (5 s) plus a second.
    expect(clients.made[0]?.closed).toBe(false);
    vi.advanceTimersByTime(6_000);
    expect(clients.made[0]?.closed).toBe(true);
    expect(clients.open()).toBe(1);
  });

  it('closes the client of settings no policy uses any more', async () => {
    await access.providerFor('shop', withToken);
    const changed = spec({ address: 'http://prometheus.monitoring:9090', timeout: '10s' });
    for (let minute = 0; minute < 30; minute++) {
      await access.providerFor('shop', changed);
      vi.advanceTimersByTime(60_000);
    }
    expect(clients.made).toHaveLength(2);
    expect(clients.made[0]?.closed).toBe(true);
    expect(access.openClients()).toBe(1);
  });

  it('two reconciles asking at once share one client', async () => {
    const lookups = await Promise.all([1, 2, 3, 4].map(() => access.providerFor('shop', withToken)));
    expect(new Set(lookups.map((l) => (l.ok ? l.provider : undefined))).size).toBe(1);
    expect(clients.made).toHaveLength(1);
  });

  it('a Secret that can no longer be read closes the client built from it and says why', async () => {
    await access.providerFor('shop', withToken);
    secrets.values.clear();
    vi.advanceTimersByTime(61_000);
    const lookup = await access.providerFor('shop', withToken);
    expect(lookup).toEqual({ ok: false, reason: 'no Secret prom-token' });
    vi.advanceTimersByTime(6_000);
    expect(clients.open()).toBe(0);
  });

  it('the same settings in two namespaces are two clients (each reads its own Secrets)', async () => {
    secrets.values.set('pay/prom-token/token', 'pay-token');
    await access.providerFor('shop', withToken);
    await access.providerFor('pay', withToken);
    expect(clients.made.map((c) => c.options.bearerToken)).toEqual(['first', 'pay-token']);
  });
});

describe('secretRefusal: only Secrets that opted in are used', () => {
  it.each<[string, Record<string, string> | undefined, boolean]>([
    ['labelled true', { 'rollguard.io/credentials': 'true' }, true],
    ['no labels', undefined, false],
    ['labelled false', { 'rollguard.io/credentials': 'false' }, false],
    ['labelled True (labels are exact)', { 'rollguard.io/credentials': 'True' }, false],
    ['another label', { 'app.kubernetes.io/name': 'prometheus' }, false],
  ])('%s', (_what, labels, usable) => {
    const refusal = secretRefusal('shop', 'prom-token', labels);
    expect(refusal === undefined).toBe(usable);
    if (!usable) {
      expect(refusal).toBe(
        'Secret shop/prom-token is not labelled rollguard.io/credentials=true, so rollguard does not use it; ' +
          "if it holds this policy's Prometheus credentials: kubectl -n shop label secret prom-token rollguard.io/credentials=true",
      );
    }
  });
});
