// The whole local environment in one call: tools, control plane, workload simulator and Prometheus, in one
// temporary directory that `stop()` removes after stopping every process.
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { startControlPlane, stopAll, type ControlPlane, type ControlPlaneOptions } from './control-plane.js';
import { freePort } from './ports.js';
import { startPrometheus, type LocalPrometheus } from './prometheus.js';
import { startSimulator, type SimulatorOptions, type WorkloadSimulator } from './simulator.js';
import { ensureTools, type ToolPaths } from './tools.js';

export interface LocalCluster {
  dir: string;
  kubeconfig: string;
  tools: ToolPaths;
  controlPlane: ControlPlane;
  prometheus: LocalPrometheus;
  simulator: WorkloadSimulator;
  /** Environment for child processes: KUBECONFIG, ROLLGUARD_PROMETHEUS_URL, and the tools first on PATH. */
  env: NodeJS.ProcessEnv;
  stop(): Promise<void>;
}

export interface ClusterOptions {
  /** Keep the directory after stopping (for reading logs); default false. */
  keepDir?: boolean;
  log?: (line: string) => void;
  /** Extra users, an audit log, more API server flags (the fault suite). */
  controlPlane?: ControlPlaneOptions;
  /** Which pods the workload simulator serves and how often it looks (the scale benchmark). */
  simulator?: SimulatorOptions;
}

export async function startLocalCluster(options: ClusterOptions = {}): Promise<LocalCluster> {
  const log = options.log ?? (() => undefined);
  const started = Date.now();
  const tools = await ensureTools();
  log(`tools ready in ${tools.binDir} and ${tools.prometheusDir} (${elapsed(started)})`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'rollguard-cluster-'));
  let controlPlane: ControlPlane | undefined;
  let simulator: WorkloadSimulator | undefined;
  let prometheus: LocalPrometheus | undefined;
  const stop = async () => {
    await prometheus?.stop();
    await simulator?.stop();
    if (controlPlane) await stopAll(controlPlane.processes);
    if (!options.keepDir) await rm(dir, { recursive: true, force: true });
  };
  try {
    controlPlane = await startControlPlane(dir, tools.binDir, options.controlPlane);
    log(`control plane ready at ${controlPlane.server} (${elapsed(started)})`);
    simulator = await startSimulator(controlPlane.kubeconfig, await freePort(), undefined, options.simulator);
    prometheus = await startPrometheus(dir, tools.prometheusDir, `127.0.0.1:${simulator.port}`);
    log(`Prometheus ready at ${prometheus.url}, scraping the workload simulator (${elapsed(started)})`);
  } catch (err) {
    await stop();
    throw err;
  }
  const env = {
    ...process.env,
    KUBECONFIG: controlPlane.kubeconfig,
    ROLLGUARD_PROMETHEUS_URL: prometheus.url,
    PATH: `${tools.binDir}:${tools.prometheusDir}:${process.env.PATH ?? ''}`,
  };
  return { dir, kubeconfig: controlPlane.kubeconfig, tools, controlPlane, prometheus, simulator, env, stop };
}

function elapsed(since: number): string {
  return `${((Date.now() - since) / 1000).toFixed(1)}s`;
}
