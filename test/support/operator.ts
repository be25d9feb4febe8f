// The operator as a real process (`rollguard controller`), run from source with tsx, against the run's
// cluster: tests start, kill and restart it the way a node failure or a rolling upgrade would.
import { spawn, type ChildProcess } from 'node:child_process';
import { appendFileSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { inject } from 'vitest';
import { repoRoot } from '../harness/tools.js';
import { waitFor } from './wait.js';

export interface RunningOperator {
  /** Everything it logged so far (JSON lines). */
  logs(): string[];
  metricsUrl: string;
  /** SIGTERM and wait: a graceful stop. */
  stop(): Promise<void>;
  /** SIGKILL and wait: a crash. */
  kill(): Promise<void>;
  exited(): boolean;
}

export interface OperatorOptions {
  /** Another kubeconfig than the run's (e.g. one that reaches the API server through a proxy). */
  kubeconfig?: string;
  /** How long start-up may take before the test gives up (default 60 s). */
  startTimeoutMs?: number;
}

const operatorLogFile = process.env.ROLLGUARD_TEST_OPERATOR_LOG;

export async function startOperator(
  extraArgs: string[] = [],
  env: NodeJS.ProcessEnv = {},
  options: OperatorOptions = {},
): Promise<RunningOperator> {
  const lines: string[] = [];
  const child: ChildProcess = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(repoRoot, 'src/cli/main.ts'),
      'controller',
      `--kubeconfig=${options.kubeconfig ?? inject('kubeconfig')}`,
      '--metrics-address=127.0.0.1:0',
      '--log-level=debug',
      // Tests share one cluster: a loop retraining on other tests' outcomes would change scores mid-run.
      // A test that wants learning passes --learning (the last flag wins).
      '--no-learning',
      ...extraArgs,
    ],
    { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let buffered = '';
  const collect = (chunk: Buffer) => {
    buffered += chunk.toString('utf8');
    const parts = buffered.split('\n');
    buffered = parts.pop() ?? '';
    lines.push(...parts.filter((l) => l.trim() !== ''));
    // A failed test shows what it asserted; the operator's own log says why. Set to a file to keep it.
    if (operatorLogFile) appendFileSync(operatorLogFile, parts.map((l) => `${l}\n`).join(''));
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  let done = false;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      done = true;
      resolve();
    });
  });
  let metricsUrl: string;
  try {
    const port = await waitFor(
      'the operator to report its metrics port',
      () => {
        if (done) return Promise.reject(new Error(`the operator exited during start-up:\n${lines.join('\n')}`));
        for (const line of lines) {
          const match = /"metricsPort":(\d+)/.exec(line);
          if (match?.[1]) return Promise.resolve(Number(match[1]));
        }
        return Promise.resolve(undefined);
      },
      { timeoutMs: options.startTimeoutMs ?? 60_000, intervalMs: 100 },
    );
    metricsUrl = `http://127.0.0.1:${port}`;
    let why = '';
    await waitFor(
      'the operator to be ready (caches synced)',
      async () => {
        const res = await fetch(`${metricsUrl}/readyz`);
        why = await res.text();
        return res.ok ? true : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 200 },
    ).catch((err: unknown) => {
      // Say why: /readyz's answer and the operator's last lines.
      throw new Error(
        `${err instanceof Error ? err.message : String(err)}; /readyz said: ${why}\n${lines.slice(-20).join('\n')}`,
      );
    });
  } catch (err) {
    // Never leave a half-started operator behind: it would keep acting, unseen by the test.
    child.kill('SIGKILL'); // a no-op when it already exited
    await exited;
    throw err;
  }
  const signalAndWait = async (signal: NodeJS.Signals) => {
    if (!done) child.kill(signal);
    await exited;
  };
  return {
    logs: () => [...lines],
    metricsUrl,
    stop: () => signalAndWait('SIGTERM'),
    kill: () => signalAndWait('SIGKILL'),
    exited: () => done,
  };
}

/**
 * A copy of `kubeconfig` whose cluster is reached at `address` (host:port) instead, written into `dir`; with
 * `token`, as another user.
 */
export async function kubeconfigVia(kubeconfig: string, address: string, dir: string, token?: string): Promise<string> {
  const config = parse(await readFile(kubeconfig, 'utf8')) as {
    clusters: { cluster: { server: string } }[];
    users: { user: { token?: string } }[];
  };
  for (const c of config.clusters) c.cluster.server = `https://${address}`;
  if (token !== undefined) for (const u of config.users) u.user = { token };
  const file = path.join(dir, `kubeconfig-via-${address.replace(/[^0-9]/g, '-')}`);
  await writeFile(file, stringify(config), { mode: 0o600 });
  return file;
}

/** The API server URL of the kubeconfig's first cluster. */
export async function apiServerOf(kubeconfig: string): Promise<string> {
  const config = parse(await readFile(kubeconfig, 'utf8')) as { clusters: { cluster: { server: string } }[] };
  const server = config.clusters[0]?.cluster.server;
  if (!server) throw new Error(`${kubeconfig} names no cluster`);
  return server;
}
