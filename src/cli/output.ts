// What the `score`, `doctor`, `history` and `explain` commands share: the injectable writer (tests capture
// stdout and stderr), argument parsing that turns every usage problem into one line and exit code 2, aligned
// tables for people and JSON for scripts, ages as kubectl prints them, progress on stderr for long listings,
// and reaching the cluster (kubeconfig, the context's namespace, a /version probe with a real time limit).
import http from 'node:http';
import https from 'node:https';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import type { KubeConfig } from '@kubernetes/client-node';
import { loadKubeConfig } from '../kube/config.js';
import { networkMessage } from '../kube/errors.js';
import { asInvoked, invocation } from './invocation.js';

// ---------------------------------------------------------------------------------------------------------
// Writing

export interface CommandIO {
  readonly stdout: (text: string) => void;
  readonly stderr: (text: string) => void;
  /** stderr is a terminal: progress redraws one line in place instead of printing a line per step. */
  readonly stderrIsTTY?: boolean;
  /** The text on standard input, for `-f -`. */
  readonly readStdin?: () => Promise<string>;
  /** The wall clock (ages, the time a manifest is scored at); new Date() by default. */
  readonly now?: () => Date;
}

async function readProcessStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

export const processIO: CommandIO = {
  // Help and hints name the command as it was called: `kubectl rollguard status …` for the kubectl plugin.
  stdout: (text) => process.stdout.write(asInvoked(text, invocation)),
  stderr: (text) => process.stderr.write(asInvoked(text, invocation)),
  stderrIsTTY: process.stderr.isTTY,
  readStdin: readProcessStdin,
};

export function nowOf(io: CommandIO): Date {
  return io.now ? io.now() : new Date();
}

/** A problem with how the command was called or with its input files: one line on stderr, exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** The first line of an error's message: commands print one line per problem. */
export function errorLine(err: unknown): string {
  const text = err instanceof Error ? err.message : String(err);
  return text.split('\n')[0] ?? text;
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** node:util parseArgs with positionals allowed and strict checking; its errors become UsageErrors. */
export function parseCommandLine<O extends Options>(argv: string[], options: O) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    // parseArgs explains in a sentence and then adds "To specify a positional argument…": keep the sentence.
    throw new UsageError(errorLine(err).replace(/\. To specify a positional argument.*$/, ''));
  }
}

/** A whole number of at least `min` from an option, or a UsageError naming the option. */
export function wholeNumber(value: string | undefined, flag: string, fallback: number, min: number): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value.trim()) || Number(value) < min) {
    throw new UsageError(`--${flag} must be a whole number of at least ${min}, not "${value}"`);
  }
  return Number(value);
}

// ---------------------------------------------------------------------------------------------------------
// Formatting

export const marks = { ok: '✓', fail: '✗', warn: '!' } as const;

/** Width as a terminal shows it: code points, not UTF-16 units (✓, ✗, — and µ are one column each). */
function displayWidth(text: string): number {
  return [...text].length;
}

function padEnd(text: string, width: number): string {
  return text + ' '.repeat(Math.max(0, width - displayWidth(text)));
}

/**
 * Rows under a header, columns padded to their widest cell and separated by three spaces, the way kubectl
 * prints lists. The last column is not padded, so long text there does not push trailing spaces.
 */
export function renderTable(headers: readonly string[], rows: readonly (readonly string[])[], indent = ''): string {
  const all = [headers, ...rows];
  const widths = headers.map((_, column) => Math.max(...all.map((row) => displayWidth(row[column] ?? ''))));
  return all
    .map(
      (row) =>
        indent +
        row
          .map((cell, column) => (column === row.length - 1 ? cell : padEnd(cell, widths[column] ?? 0)))
          .join('   ')
          .trimEnd(),
    )
    .join('\n')
    .concat('\n');
}

/** A titled list, one item a line; `none` is printed in place of an empty list, or the section is left out. */
export function section(title: string, items: readonly string[], none?: string): string {
  if (items.length === 0) return none === undefined ? '' : `${title}: ${none}\n`;
  return `${title}:\n${items.map((item) => `  - ${item}\n`).join('')}`;
}

/** Two-space indented JSON and a newline: what every `--json` prints. */
export function toJson(value: unknown): string {
  return `${JSON.stringify(value, null, 2)}\n`;
}

/** Time since `from` as kubectl's AGE column prints it: 45s, 12m, 5h, 3d. */
export function formatAge(from: Date | undefined, now: Date): string {
  if (!from || Number.isNaN(from.getTime())) return '<unknown>';
  const seconds = Math.max(0, Math.floor((now.getTime() - from.getTime()) / 1000));
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h`;
  return `${Math.floor(hours / 24)}d`;
}

/** A number for people: at most `digits` decimals, no trailing zeros, no exponent for everyday values. */
export function formatNumber(value: number | undefined, digits = 3): string {
  if (value === undefined) return '-';
  if (!Number.isFinite(value)) return String(value);
  return value.toLocaleString('en-US', { maximumFractionDigits: digits, useGrouping: false });
}

/** Text cut to `max` characters with an ellipsis, for table cells. */
export function truncate(text: string, max: number): string {
  const chars = [...text];
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

// ---------------------------------------------------------------------------------------------------------
// Progress

/**
 * Progress of a long listing, on stderr so stdout stays clean for tables and JSON. Silent until `show()`
 * (a caller shows it once the work turns out long, e.g. a second page); on a terminal it redraws one line
 * in place and erases it at the end, elsewhere (CI logs) it prints one line per step.
 */
export class Progress {
  private shown = false;
  private drawn = false;

  constructor(
    private readonly io: CommandIO,
    private readonly label: string,
  ) {}

  show(): void {
    this.shown = true;
  }

  update(detail: string): void {
    if (!this.shown) return;
    if (this.io.stderrIsTTY) {
      this.io.stderr(`\r\x1b[2K${this.label}: ${detail}`);
      this.drawn = true;
    } else {
      this.io.stderr(`${this.label}: ${detail}\n`);
    }
  }

  done(): void {
    if (this.drawn) this.io.stderr('\r\x1b[2K');
    this.drawn = false;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reaching the cluster

const serviceAccountToken = '/var/run/secrets/kubernetes.io/serviceaccount/token';

/**
 * The kubeconfig: the file given, else $KUBECONFIG, ~/.kube/config or the in-cluster service account. When
 * there is none, a UsageError that says which files were tried, in one line (client-node would otherwise fall
 * back to http://localhost:8080 and fail later with an unrelated TLS message).
 */
export function kubeConfigFrom(path: string | undefined, env: NodeJS.ProcessEnv = process.env): KubeConfig {
  const fix = 'pass --kubeconfig PATH or set KUBECONFIG';
  let source: string;
  if (path !== undefined) {
    if (!existsSync(path)) throw new UsageError(`no kubeconfig at ${path} (--kubeconfig): no such file`);
    source = path;
  } else if (env.KUBECONFIG) {
    const files = env.KUBECONFIG.split(delimiter).filter((f) => f !== '');
    if (!files.some((f) => existsSync(f))) {
      throw new UsageError(`no kubeconfig: KUBECONFIG names ${files.join(', ')}, and no such file exists; ${fix}`);
    }
    source = `KUBECONFIG=${env.KUBECONFIG}`;
  } else {
    const home = join(env.HOME ?? homedir(), '.kube', 'config');
    const inCluster = env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(serviceAccountToken);
    if (!existsSync(home) && !inCluster) {
      throw new UsageError(
        `no kubeconfig: tried ${home} (no such file) and this is not a pod with a service account; ${fix}`,
      );
    }
    source = existsSync(home) ? home : 'the in-cluster service account';
  }
  try {
    return loadKubeConfig(path);
  } catch (err) {
    throw new UsageError(`cannot use the kubeconfig from ${source}: ${errorLine(err)}`);
  }
}

/**
 * The kubeconfig, checked with a GET /version: the cluster a command needs, or a UsageError of one line that
 * names the server, the context and why it could not be used (refused, TLS, unauthorised with the user, …).
 */
export async function connectCluster(path: string | undefined, timeoutMs = 10_000): Promise<KubeConfig> {
  const kc = kubeConfigFrom(path);
  const probe = await probeApiServer(kc, timeoutMs);
  if (!probe.ok) throw new UsageError(`${probe.reason} (context ${kc.getCurrentContext() || '(in-cluster)'})`);
  return kc;
}

/** The namespace of the kubeconfig's current context, as kubectl uses it when -n is not given. */
export function contextNamespace(kc: KubeConfig): string {
  const context = kc.getContextObject(kc.getCurrentContext());
  return context?.namespace ?? 'default';
}

export type ApiProbe = { ok: true; server: string; version: string } | { ok: false; server: string; reason: string };

/**
 * GET /version with the kubeconfig's credentials and a real time limit: the socket is destroyed when the time
 * is up, so an unreachable API server costs `timeoutMs`, not the system's TCP timeout, and leaves nothing
 * pending that would keep the process alive.
 */
export async function probeApiServer(kc: KubeConfig, timeoutMs: number): Promise<ApiProbe> {
  const server = kc.getCurrentCluster()?.server ?? '';
  let url: URL;
  try {
    url = new URL('/version', server);
  } catch {
    return { ok: false, server, reason: `the kubeconfig's server "${server}" is not a URL` };
  }
  const options: https.RequestOptions = { method: 'GET', headers: { accept: 'application/json' } };
  try {
    await kc.applyToHTTPSOptions(options);
  } catch (err) {
    const plain = url.protocol === 'http:' && errorLine(err).includes('HTTP protocol is not allowed');
    return {
      ok: false,
      server,
      reason: plain
        ? `the kubeconfig's server ${server} is plain HTTP, which the Kubernetes client accepts only with insecure-skip-tls-verify: true for that cluster`
        : `the kubeconfig's credentials for ${server} could not be used: ${errorLine(err)}`,
    };
  }
  return new Promise((resolve) => {
    const get = url.protocol === 'http:' ? http.request : https.request;
    const request = get(url, options, (response) => {
      let body = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => {
        if (body.length < 65_536) body += chunk;
      });
      response.on('end', () => {
        clearTimeout(timer);
        const status = response.statusCode ?? 0;
        const user = kc.getCurrentUser()?.name ?? 'unknown';
        if (status === 401) {
          resolve({
            ok: false,
            server,
            reason: `unauthorised: ${server} refused the credentials of user ${user} (HTTP 401)`,
          });
          return;
        }
        if (status === 403) {
          resolve({ ok: false, server, reason: `forbidden: user ${user} may not read ${url.href} (HTTP 403)` });
          return;
        }
        if (status === 404) {
          resolve({
            ok: false,
            server,
            reason: `not found: ${url.href} answered HTTP 404, so ${server} is not a Kubernetes API server`,
          });
          return;
        }
        if (status !== 200) {
          resolve({ ok: false, server, reason: `the API server at ${server} answered HTTP ${status} to GET /version` });
          return;
        }
        try {
          const info = JSON.parse(body) as { gitVersion?: unknown };
          resolve({ ok: true, server, version: typeof info.gitVersion === 'string' ? info.gitVersion : 'unknown' });
        } catch {
          resolve({ ok: false, server, reason: 'the API server did not answer GET /version with JSON' });
        }
      });
    });
    const timer = setTimeout(() => {
      request.destroy(new Error(`no answer within ${timeoutMs / 1000} s`));
    }, timeoutMs);
    request.on('error', (err) => {
      clearTimeout(timer);
      resolve({ ok: false, server, reason: `cannot reach the API server at ${server}: ${networkMessage(err)}` });
    });
    request.end();
  });
}
