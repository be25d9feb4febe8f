// The helpers every read-only command shares: tables, ages, numbers, progress on stderr, argument errors,
// and the /version probe (against local HTTP servers: answering, refusing credentials, never answering).
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { afterEach, describe, expect, it } from 'vitest';
import {
  kubeConfigFrom,
  formatAge,
  formatNumber,
  parseCommandLine,
  probeApiServer,
  Progress,
  renderTable,
  section,
  truncate,
  UsageError,
  wholeNumber,
  type CommandIO,
} from './output.js';

function capture(tty = false) {
  const out = { stdout: '', stderr: '' };
  const io: CommandIO = {
    stdout: (t) => (out.stdout += t),
    stderr: (t) => (out.stderr += t),
    stderrIsTTY: tty,
  };
  return { io, out };
}

describe('renderTable', () => {
  it('pads every column but the last to its widest cell, counting ✓ as one column', () => {
    const text = renderTable(
      ['NAME', 'LEVEL', 'NOTE'],
      [
        ['checkout', 'block', 'paused ✓'],
        ['web', 'safe', ''],
      ],
    );
    expect(text).toBe(['NAME       LEVEL   NOTE', 'checkout   block   paused ✓', 'web        safe', ''].join('\n'));
  });

  it('indents every line when asked', () => {
    expect(renderTable(['A'], [['1']], '  ')).toBe('  A\n  1\n');
  });
});

describe('formatAge', () => {
  const now = new Date('2025-03-01T12:00:00Z');
  it.each([
    [0, '0s'],
    [119, '119s'],
    [120, '2m'],
    [179 * 60, '179m'],
    [3 * 3600, '3h'],
    [47 * 3600, '47h'],
    [49 * 3600, '2d'],
  ])('prints %i seconds as %s, as kubectl does', (seconds, text) => {
    expect(formatAge(new Date(now.getTime() - seconds * 1000), now)).toBe(text);
  });

  it('says unknown for no time and never prints a negative age', () => {
    expect(formatAge(undefined, now)).toBe('<unknown>');
    expect(formatAge(new Date('nonsense'), now)).toBe('<unknown>');
    expect(formatAge(new Date(now.getTime() + 5000), now)).toBe('0s');
  });
});

describe('formatNumber, truncate and section', () => {
  it('prints numbers without trailing zeros or grouping, and - for none', () => {
    expect(formatNumber(0.5)).toBe('0.5');
    expect(formatNumber(0.12345)).toBe('0.123');
    expect(formatNumber(18000)).toBe('18000');
    expect(formatNumber(undefined)).toBe('-');
    expect(formatNumber(Number.NaN)).toBe('NaN');
  });

  it('cuts long text with an ellipsis', () => {
    expect(truncate('annotated,paused,approved', 10)).toBe('annotated…');
    expect(truncate('short', 10)).toBe('short');
  });

  it('lists items under a title, or says none, or leaves an empty section out', () => {
    expect(section('Reasons', ['a', 'b'])).toBe('Reasons:\n  - a\n  - b\n');
    expect(section('Hard rules', [], 'none fired')).toBe('Hard rules: none fired\n');
    expect(section('Ignored annotations', [])).toBe('');
  });
});

describe('parseCommandLine and wholeNumber', () => {
  const options = { json: { type: 'boolean' }, limit: { type: 'string' } } as const;

  it('turns parse errors into one-line usage errors', () => {
    expect(() => parseCommandLine(['--nope'], options)).toThrow(UsageError);
    expect(() => parseCommandLine(['--nope'], options)).toThrow(/Unknown option '--nope'/);
  });

  it('allows positionals', () => {
    expect(parseCommandLine(['web', '--json'], options).positionals).toEqual(['web']);
  });

  it('accepts whole numbers from the minimum up and names the option otherwise', () => {
    expect(wholeNumber(undefined, 'limit', 20, 0)).toBe(20);
    expect(wholeNumber('0', 'limit', 20, 0)).toBe(0);
    expect(() => wholeNumber('-1', 'limit', 20, 0)).toThrow('--limit must be a whole number of at least 0, not "-1"');
    expect(() => wholeNumber('1.5', 'chunk-size', 500, 1)).toThrow(/--chunk-size/);
  });
});

describe('Progress', () => {
  it('stays silent until shown', () => {
    const { io, out } = capture();
    const progress = new Progress(io, 'reading');
    progress.update('10 so far');
    progress.done();
    expect(out.stderr).toBe('');
  });

  it('prints a line per step when stderr is not a terminal, and never touches stdout', () => {
    const { io, out } = capture(false);
    const progress = new Progress(io, 'reading');
    progress.show();
    progress.update('500 so far…');
    progress.update('612 so far, done');
    progress.done();
    expect(out.stderr).toBe('reading: 500 so far…\nreading: 612 so far, done\n');
    expect(out.stdout).toBe('');
  });

  it('redraws one line on a terminal and erases it at the end', () => {
    const { io, out } = capture(true);
    const progress = new Progress(io, 'reading');
    progress.show();
    progress.update('500 so far…');
    progress.done();
    expect(out.stderr).toBe('\r\x1b[2Kreading: 500 so far…\r\x1b[2K');
  });
});

describe('probeApiServer', () => {
  const servers: http.Server[] = [];
  afterEach(async () => {
    await Promise.all(
      servers.splice(0).map(
        (s) =>
          new Promise<void>((resolve) => {
            s.closeAllConnections();
            s.close(() => {
              resolve();
            });
          }),
      ),
    );
  });

  async function serve(handler: http.RequestListener): Promise<string> {
    const server = http.createServer(handler);
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  function kubeConfigFor(server: string, token?: string, skipTLSVerify = true): KubeConfig {
    const kc = new KubeConfig();
    kc.loadFromOptions({
      // client-node refuses plain http unless TLS checks are off: these local servers speak http.
      clusters: [{ name: 'c', server, skipTLSVerify }],
      users: [{ name: 'u', ...(token ? { token } : {}) }],
      contexts: [{ name: 'ctx', cluster: 'c', user: 'u', namespace: 'shop' }],
      currentContext: 'ctx',
    });
    return kc;
  }

  it("reads the server's version with the kubeconfig's credentials", async () => {
    let auth: string | undefined;
    const url = await serve((req, res) => {
      auth = req.headers.authorization;
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ gitVersion: 'v1.36.3' }));
    });
    expect(await probeApiServer(kubeConfigFor(url, 'secret-token'), 2000)).toEqual({
      ok: true,
      server: url,
      version: 'v1.36.3',
    });
    expect(auth).toBe('Bearer secret-token');
  });

  it('says when the credentials are refused', async () => {
    const url = await serve((_req, res) => {
      res.statusCode = 401;
      res.end('{}');
    });
    const probe = await probeApiServer(kubeConfigFor(url), 2000);
    expect(probe).toMatchObject({
      ok: false,
      reason: `unauthorised: ${url} refused the credentials of user u (HTTP 401)`,
    });
  });

  it('names the URL when the server is not a Kubernetes API server (404)', async () => {
    const url = await serve((_req, res) => {
      res.statusCode = 404;
      res.end('');
    });
    const probe = await probeApiServer(kubeConfigFor(url), 2000);
    expect(probe).toMatchObject({
      ok: false,
      reason: `not found: ${url}/version answered HTTP 404, so ${url} is not a Kubernetes API server`,
    });
  });

  it('says when TLS fails', async () => {
    // An https client talking to a plain-http server: the handshake fails.
    const url = (await serve(() => undefined)).replace('http:', 'https:');
    const probe = await probeApiServer(kubeConfigFor(url, undefined, false), 2000);
    expect(!probe.ok && probe.reason).toMatch(new RegExp(`^cannot reach the API server at ${url}: TLS: `));
  });

  it('says a plain-http server needs insecure-skip-tls-verify', async () => {
    const probe = await probeApiServer(kubeConfigFor('http://127.0.0.1:1', undefined, false), 2000);
    expect(!probe.ok && probe.reason).toBe(
      "the kubeconfig's server http://127.0.0.1:1 is plain HTTP, which the Kubernetes client accepts only with insecure-skip-tls-verify: true for that cluster",
    );
  });

  it('gives up after the time limit when the server never answers', async () => {
    const url = await serve(() => {
      // never answers
    });
    const started = Date.now();
    const probe = await probeApiServer(kubeConfigFor(url), 300);
    expect(Date.now() - started).toBeLessThan(2000);
    expect(probe.ok).toBe(false);
    expect(!probe.ok && probe.reason).toContain('no answer within 0.3 s');
  });

  it('says when nothing listens', async () => {
    const url = await serve(() => undefined);
    const closed = servers.pop();
    await new Promise<void>((resolve) => {
      closed?.close(() => {
        resolve();
      });
    });
    const probe = await probeApiServer(kubeConfigFor(url), 2000);
    expect(probe.ok).toBe(false);
    expect(!probe.ok && probe.reason).toMatch(
      /^cannot reach the API server at http:\/\/127\.0\.0\.1:\d+: connection refused \(nothing listens there\)$/,
    );
  });
});

describe('kubeConfigFrom: which file was tried', () => {
  it.each<[string, string | undefined, NodeJS.ProcessEnv, string]>([
    [
      '--kubeconfig to a missing file',
      '/nonexistent/kubeconfig',
      {},
      'no kubeconfig at /nonexistent/kubeconfig (--kubeconfig): no such file',
    ],
    [
      'KUBECONFIG to a missing file',
      undefined,
      { KUBECONFIG: '/nonexistent' },
      'no kubeconfig: KUBECONFIG names /nonexistent, and no such file exists; pass --kubeconfig PATH or set KUBECONFIG',
    ],
    [
      'no KUBECONFIG and no ~/.kube/config',
      undefined,
      { HOME: '/nonexistent-home' },
      'no kubeconfig: tried /nonexistent-home/.kube/config (no such file) and this is not a pod with a service account; pass --kubeconfig PATH or set KUBECONFIG',
    ],
  ])('%s', (_what, path, env, message) => {
    expect(() => kubeConfigFrom(path, env)).toThrow(new UsageError(message));
  });
});
