// Tests for PrometheusClient against a tiny local HTTP server that plays Prometheus (and its failures).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PrometheusClient, httpsAgentFor, openConnectionPools } from './client.js';
import type { QueryPurpose, QueryResultKind } from './types.js';

interface Seen {
  method: string;
  path: string;
  params: URLSearchParams;
  authorization: string | undefined;
}

type Handler = (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen) => void;

const routes = new Map<string, Handler>();
const seen: Seen[] = [];
let server: http.Server;
let base: string;

function json(res: http.ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

const one = { status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, '1'] }] } };

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const params = req.method === 'POST' ? new URLSearchParams(Buffer.concat(chunks).toString()) : url.searchParams;
      const entry = { method: req.method ?? '', path: url.pathname, params, authorization: req.headers.authorization };
      seen.push(entry);
      const prefix = url.pathname.split('/')[1] ?? '';
      const handler = routes.get(prefix);
      if (handler) handler(req, res, entry);
      else json(res, 404, { status: 'error', errorType: 'not_found', error: 'not found' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Each test mounts its own fake under a unique path prefix, so tests stay independent. */
function mount(name: string, handler: Handler): string {
  routes.set(name, handler);
  return `${base}/${name}`;
}

describe('PrometheusClient', () => {
  it('sends an instant query with a bearer token and reads the value', async () => {
    const address = mount('instant', (_req, res) => {
      json(res, 200, one);
    });
    const client = new PrometheusClient({ address, bearerToken: 's3cret', timeoutMs: 2000 });
    const result = await client.instant('sum(up)', { time: new Date(1763770000_000) });
    expect(result.kind).toBe('vector');
    const request = seen.findLast((s) => s.path === '/instant/api/v1/query');
    expect(request?.method).toBe('GET');
    expect(request?.authorization).toBe('Bearer s3cret');
    expect(request?.params.get('query')).toBe('sum(up)');
    expect(request?.params.get('time')).toBe('1763770000');
    expect(request?.params.get('timeout')).toBe('2');
  });

  it('uses basic auth when there is no bearer token', async () => {
    const address = mount('basic', (_req, res) => {
      json(res, 200, one);
    });
    await new PrometheusClient({ address, basicAuth: { username: 'u', password: 'p' } }).instant('up');
    expect(seen.findLast((s) => s.path.startsWith('/basic/'))?.authorization).toBe(
      `Basic ${Buffer.from('u:p').toString('base64')}`,
    );
  });

  it('sends a long batched query as a form POST', async () => {
    const address = mount('long', (_req, res) => {
      json(res, 200, one);
    });
    const query = `up{deployment=~"${Array.from({ length: 1000 }, (_, i) => `svc-${i}`).join('|')}"}`;
    await new PrometheusClient({ address }).instant(query);
    const request = seen.findLast((s) => s.path === '/long/api/v1/query');
    expect(request?.method).toBe('POST');
    expect(request?.params.get('query')).toBe(query);
  });

  it('sends a range query with start, end and step', async () => {
    const address = mount('range', (_req, res) => {
      json(res, 200, { status: 'success', data: { resultType: 'matrix', result: [] } });
    });
    const result = await new PrometheusClient({ address }).range('up', {
      start: new Date(1000_000),
      end: new Date(1060_000),
      step: 15,
    });
    expect(result.kind).toBe('empty');
    const request = seen.findLast((s) => s.path === '/range/api/v1/query_range');
    expect([request?.params.get('start'), request?.params.get('end'), request?.params.get('step')]).toEqual([
      '1000',
      '1060',
      '15',
    ]);
  });

  it('reports a PromQL error and calls onQuery with its kind', async () => {
    const address = mount('bad', (_req, res) => {
      json(res, 400, { status: 'error', errorType: 'bad_data', error: 'parse error' });
    });
    const calls: [number, QueryResultKind, QueryPurpose][] = [];
    const client = new PrometheusClient({ address, onQuery: (d, k, p) => calls.push([d, k, p]) });
    expect((await client.instant('sum(')).kind).toBe('promql-error');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.[1]).toBe('promql-error');
    expect(calls[0]?.[0]).toBeGreaterThanOrEqual(0);
  });

  it.each<[string, (client: PrometheusClient) => Promise<unknown>, QueryPurpose]>([
    ['the caller’s purpose', (c) => c.instant('up', { purpose: 'verification' }), 'verification'],
    ['other for a query that names none', (c) => c.instant('up'), 'other'],
    [
      'the purpose of a range query',
      (c) => c.range('up', { start: new Date(0), end: new Date(60_000), step: 15, purpose: 'baseline' }),
      'baseline',
    ],
    ['health for the readiness probe’s query', (c) => c.healthy(), 'health'],
  ])('tells onQuery %s', async (_what, ask, purpose) => {
    // No /-/ready here: the health check falls back to a query.
    const address = mount(`purpose-${purpose}`, (req, res) => {
      if (req.url?.includes('/-/ready') === true) {
        res.writeHead(404).end();
        return;
      }
      json(res, 200, one);
    });
    const purposes: QueryPurpose[] = [];
    await ask(new PrometheusClient({ address, onQuery: (_d, _k, p) => purposes.push(p) }));
    expect(purposes).toEqual([purpose]);
  });

  it('survives an onQuery callback that throws', async () => {
    const address = mount('throwing', (_req, res) => {
      json(res, 200, one);
    });
    const client = new PrometheusClient({
      address,
      onQuery: () => {
        throw new Error('telemetry bug');
      },
    });
    expect((await client.instant('up')).kind).toBe('vector');
  });

  it('turns a slow server into a timeout', async () => {
    const address = mount('slow', (_req, res) => {
      setTimeout(() => {
        json(res, 200, one);
      }, 2000);
    });
    const result = await new PrometheusClient({ address, timeoutMs: 150 }).instant('up');
    expect(result).toMatchObject({ kind: 'timeout', reason: 'slow' });
    expect(result.message).toMatch(/did not answer within 0.15s/);
  });

  it('turns a cancelled query into an aborted timeout', async () => {
    const address = mount('cancel', (_req, res) => {
      setTimeout(() => {
        json(res, 200, one);
      }, 2000);
    });
    const controller = new AbortController();
    const pending = new PrometheusClient({ address, timeoutMs: 5000 }).instant('up', { signal: controller.signal });
    setTimeout(() => {
      controller.abort();
    }, 50);
    expect(await pending).toMatchObject({ kind: 'timeout', reason: 'aborted' });
  });

  it('returns at once for an already aborted signal', async () => {
    const client = new PrometheusClient({ address: base });
    expect(await client.instant('up', { signal: AbortSignal.abort() })).toMatchObject({ reason: 'aborted' });
  });

  it('reports a refused connection as unreachable', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));
    const result = await new PrometheusClient({ address: `http://127.0.0.1:${port}` }).instant('up');
    expect(result).toMatchObject({ kind: 'unreachable', reason: 'refused' });
    expect(result.message).toContain(`Prometheus at http://127.0.0.1:${port} refused the connection`);
  });

  it('reports an invalid address on every call instead of throwing', async () => {
    const client = new PrometheusClient({ address: 'prometheus:9090' });
    const result = await client.instant('up');
    expect(result.kind).toBe('unreachable');
    expect(result.message).toMatch(/is not an http\(s\) URL/);
  });

  it('still answers after close(), on a fresh connection', async () => {
    const address = mount('close', (_req, res) => {
      json(res, 200, one);
    });
    const client = new PrometheusClient({ address });
    expect((await client.instant('up')).kind).toBe('vector');
    client.close();
    expect((await client.instant('up')).kind).toBe('vector');
  });

  it('shares connections between clients with the same TLS settings, never their credentials', async () => {
    const calls: { port: number | undefined; authorization: string | undefined }[] = [];
    const address = mount('shared', (req, res) => {
      calls.push({ port: req.socket.remotePort, authorization: req.headers.authorization });
      json(res, 200, one);
    });
    const pools = openConnectionPools();
    // CA bundles of their own (never used over plain HTTP), so the pools are these tests' alone.
    const a = new PrometheusClient({ address, bearerToken: 'team-a', caPem: 'shared-ca' });
    const b = new PrometheusClient({ address, bearerToken: 'team-b', caPem: 'shared-ca' });
    const other = new PrometheusClient({ address, caPem: 'another-ca' });
    expect(openConnectionPools()).toBe(pools + 2);
    expect((await a.instant('up')).kind).toBe('vector');
    expect((await b.instant('up')).kind).toBe('vector');
    expect(calls.map((c) => c.authorization)).toEqual(['Bearer team-a', 'Bearer team-b']);
    // One kept-alive connection served both.
    expect(calls[1]?.port).toBe(calls[0]?.port);
    a.close();
    a.close();
    expect((await b.instant('up')).kind).toBe('vector');
    expect(calls[2]).toEqual({ port: calls[0]?.port, authorization: 'Bearer team-b' });
    b.close();
    other.close();
    expect(openConnectionPools()).toBe(pools);
  });

  it('keeps credentials out of messages', async () => {
    const address = mount('html', (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end('<html><head><title>Log in</title></head></html>');
    });
    const withUser = address.replace('http://', 'http://user:hunter2@');
    const result = await new PrometheusClient({ address: withUser }).instant('up');
    expect(result.kind).toBe('invalid-response');
    expect(result.message).not.toContain('hunter2');
  });
});

describe('PrometheusClient.healthy', () => {
  it('is healthy when /-/ready answers 200', async () => {
    const address = mount('ready', (_req, res) => {
      res.end('Prometheus Server is Ready.\n');
    });
    expect(await new PrometheusClient({ address }).healthy()).toMatchObject({ healthy: true, via: 'ready-endpoint' });
  });

  it('falls back to vector(1) when /-/ready is missing', async () => {
    const address = mount('noready', (req, res) => {
      if (req.url?.includes('/-/ready') === true) {
        res.writeHead(404);
        res.end('404 page not found');
      } else json(res, 200, one);
    });
    expect(await new PrometheusClient({ address }).healthy()).toMatchObject({ healthy: true, via: 'query' });
  });

  it('is unhealthy when both the endpoint and the query fail', async () => {
    const address = mount('starting', (_req, res) => {
      res.writeHead(503, { 'content-type': 'text/plain' });
      res.end('Service Unavailable');
    });
    const health = await new PrometheusClient({ address }).healthy();
    expect(health).toMatchObject({ healthy: false, failure: { kind: 'http-error', status: 503 } });
  });

  it('is unhealthy when unreachable, without a second request', async () => {
    const health = await new PrometheusClient({ address: 'http://127.0.0.1:1' }).healthy();
    expect(health).toMatchObject({ healthy: false, failure: { kind: 'unreachable' } });
  });
});

/** A self-signed certificate for 127.0.0.1, made with openssl (installed by `make test`, see hack/). */
function selfSigned(): { key: string; cert: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'rollguard-tls-'));
  const [key, cert] = [path.join(dir, 'key.pem'), path.join(dir, 'cert.pem')];
  const args = ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  args.push('-days', '1', '-keyout', key, '-out', cert, '-subj', '/CN=localhost');
  execFileSync('openssl', [...args, '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { key: readFileSync(key, 'utf8'), cert: readFileSync(cert, 'utf8') };
}

const tls = selfSigned();

describe('PrometheusClient over TLS', () => {
  let address = '';
  let tlsServer: https.Server;

  beforeAll(async () => {
    tlsServer = https.createServer({ key: tls.key, cert: tls.cert }, (_req, res) => {
      json(res, 200, one);
    });
    await new Promise<void>((resolve) => tlsServer.listen(0, '127.0.0.1', resolve));
    address = `https://127.0.0.1:${(tlsServer.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    tlsServer.closeAllConnections();
    await new Promise((resolve) => tlsServer.close(resolve));
  });

  it('refuses an unknown certificate, pointing at the TLS settings', async () => {
    const result = await new PrometheusClient({ address }).instant('up');
    expect(result).toMatchObject({ kind: 'unreachable', reason: 'tls' });
    expect(result.message).toMatch(/caSecretRef or insecureSkipVerify/);
  });

  it('trusts a custom CA', async () => {
    expect((await new PrometheusClient({ address, caPem: tls.cert }).instant('up')).kind).toBe('vector');
  });

  it('skips verification when told to', async () => {
    expect((await new PrometheusClient({ address, insecureSkipVerify: true }).instant('up')).kind).toBe('vector');
  });
});

describe('httpsAgentFor', () => {
  it.each([
    [{}, true, undefined],
    [{ insecureSkipVerify: true }, false, undefined],
    [{ caPem: '-----BEGIN CERTIFICATE-----' }, true, '-----BEGIN CERTIFICATE-----'],
  ])('%o', (options, rejectUnauthorized, ca) => {
    const agent = httpsAgentFor(options);
    expect(agent.options.rejectUnauthorized).toBe(rejectUnauthorized);
    expect(agent.options.ca).toBe(ca);
  });
});
