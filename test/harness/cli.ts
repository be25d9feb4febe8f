// `make cluster-up` / `make cluster-down`: the local cluster in the background, for working by hand.
//
//   tsx test/harness/cli.ts up      start it (detached) and print the `export` lines to use it
//   tsx test/harness/cli.ts down    stop it and remove its directory
//   tsx test/harness/cli.ts status  say whether it runs
//
// `up` starts a detached `serve` process that owns every child (they die with it) and records where
// things are in a state file; `down` signals that process and waits until it is gone.
import { spawn } from 'node:child_process';
import { openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { startLocalCluster } from './cluster.js';

interface ClusterState {
  pid: number;
  status: 'starting' | 'ready' | 'failed';
  kubeconfig?: string;
  prometheusUrl?: string;
  binDir?: string;
  prometheusDir?: string;
  dir?: string;
  error?: string;
}

const stateDir = process.env.ROLLGUARD_STATE_DIR ?? path.join(os.homedir(), '.cache', 'rollguard');
const stateFile = path.join(stateDir, 'cluster.json');
const serveLog = path.join(stateDir, 'cluster.log');

async function readState(): Promise<ClusterState | undefined> {
  try {
    return JSON.parse(await readFile(stateFile, 'utf8')) as ClusterState;
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function up(): Promise<number> {
  const existing = await readState();
  if (existing && alive(existing.pid) && existing.status === 'ready') {
    console.log(`The local cluster is already running (pid ${existing.pid}).`);
    printExports(existing);
    return 0;
  }
  await mkdir(stateDir, { recursive: true });
  await rm(stateFile, { force: true });
  const logFd = openSync(serveLog, 'w');
  const child = spawn(process.execPath, [...process.execArgv, fileURLToPath(import.meta.url), 'serve'], {
    detached: true,
    stdio: ['ignore', logFd, logFd],
    env: process.env,
  });
  child.unref();
  console.log(`Starting the local cluster (log: ${serveLog}); the first run builds the tools and takes long.`);
  for (;;) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    const state = await readState();
    if (state?.status === 'ready') {
      console.log(`Local cluster ready: Kubernetes, Prometheus and the workload simulator (pid ${state.pid}).`);
      console.log(
        `Tools (kubectl, helm, promtool, ...) are in ${state.binDir ?? ''} and ${state.prometheusDir ?? ''}.`,
      );
      console.log('Stop it with: make cluster-down');
      printExports(state);
      return 0;
    }
    if (state?.status === 'failed' || (child.pid !== undefined && !alive(child.pid))) {
      console.error(`The local cluster did not start: ${state?.error ?? `see ${serveLog}`}`);
      return 1;
    }
  }
}

function printExports(state: ClusterState): void {
  console.log(`export PATH=${state.binDir ?? ''}:${state.prometheusDir ?? ''}:$PATH`);
  console.log(`export KUBECONFIG=${state.kubeconfig ?? ''}`);
  console.log(`export ROLLGUARD_PROMETHEUS_URL=${state.prometheusUrl ?? ''}`);
}

async function serve(): Promise<void> {
  await writeFile(stateFile, JSON.stringify({ pid: process.pid, status: 'starting' } satisfies ClusterState));
  try {
    const cluster = await startLocalCluster({
      log: (line) => {
        console.log(line);
      },
    });
    await writeFile(
      stateFile,
      JSON.stringify({
        pid: process.pid,
        status: 'ready',
        kubeconfig: cluster.kubeconfig,
        prometheusUrl: cluster.prometheus.url,
        binDir: cluster.tools.binDir,
        prometheusDir: cluster.tools.prometheusDir,
        dir: cluster.dir,
      } satisfies ClusterState),
    );
    const shutdown = () => {
      console.log('stopping the local cluster');
      void cluster
        .stop()
        .then(() => rm(stateFile, { force: true }))
        .finally(() => process.exit(0));
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    console.error(message);
    await writeFile(stateFile, JSON.stringify({ pid: process.pid, status: 'failed', error: message }));
    process.exit(1);
  }
}

async function down(): Promise<number> {
  const state = await readState();
  if (!state || !alive(state.pid)) {
    console.log('No local cluster is running.');
    await rm(stateFile, { force: true });
    return 0;
  }
  process.kill(state.pid, 'SIGTERM');
  const deadline = Date.now() + 60_000;
  while (alive(state.pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
  if (alive(state.pid)) {
    process.kill(state.pid, 'SIGKILL');
    if (state.dir) await rm(state.dir, { recursive: true, force: true });
  }
  await rm(stateFile, { force: true });
  console.log('Local cluster stopped; its processes and directory are gone.');
  return 0;
}

async function status(): Promise<number> {
  const state = await readState();
  if (state && alive(state.pid)) {
    console.log(`Local cluster ${state.status} (pid ${state.pid}).`);
    if (state.status === 'ready') printExports(state);
    return 0;
  }
  console.log('No local cluster is running. Start one with: make cluster-up');
  return 1;
}

const command = process.argv[2];
switch (command) {
  case 'up':
    process.exitCode = await up();
    break;
  case 'serve':
    await serve();
    break;
  case 'down':
    process.exitCode = await down();
    break;
  case 'status':
    process.exitCode = await status();
    break;
  default:
    console.error('usage: tsx test/harness/cli.ts up|down|status');
    process.exitCode = 2;
}
