// vitest global setup for the integration project: one real local cluster for the whole run. If it cannot
// start, the run fails here with the reason; no integration test is ever skipped for want of a cluster.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { TestProject } from 'vitest/node';
import { startLocalCluster } from './cluster.js';
import { startControlServer } from './control-server.js';
import { repoRoot } from './tools.js';

const run = promisify(execFile);

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    prometheusUrl: string;
    binDir: string;
    prometheusDir: string;
    clusterDir: string;
    simulatorPort: number;
    /** POST /prometheus/stop and /prometheus/start here to play a monitoring outage. */
    harnessControlUrl: string;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startLocalCluster({
    log: (line) => {
      console.log(`[harness] ${line}`);
    },
    keepDir: process.env.ROLLGUARD_KEEP_CLUSTER_DIR === '1',
  });
  // The CRDs, installed as users install them (kubectl apply of crds/), once for the whole run.
  try {
    const kubectl = path.join(cluster.tools.binDir, 'kubectl');
    await run(kubectl, [
      `--kubeconfig=${cluster.kubeconfig}`,
      'apply',
      '--server-side',
      '-f',
      path.join(repoRoot, 'crds'),
    ]);
    await run(kubectl, [
      `--kubeconfig=${cluster.kubeconfig}`,
      'wait',
      '--for=condition=Established',
      'crd',
      '--all',
      '--timeout=60s',
    ]);
  } catch (err) {
    await cluster.stop();
    throw new Error(`installing the CRDs from crds/ failed: ${(err as { stderr?: string }).stderr ?? String(err)}`, {
      cause: err,
    });
  }
  project.provide('kubeconfig', cluster.kubeconfig);
  project.provide('prometheusUrl', cluster.prometheus.url);
  project.provide('binDir', cluster.tools.binDir);
  project.provide('prometheusDir', cluster.tools.prometheusDir);
  project.provide('clusterDir', cluster.dir);
  project.provide('simulatorPort', cluster.simulator.port);
  const control = await startControlServer(cluster.prometheus);
  project.provide('harnessControlUrl', control.url);
  process.env.KUBECONFIG = cluster.kubeconfig;
  process.env.ROLLGUARD_PROMETHEUS_URL = cluster.prometheus.url;
  process.env.PATH = `${cluster.tools.binDir}:${cluster.tools.prometheusDir}:${process.env.PATH ?? ''}`;
  const stopOnSignal = (signal: NodeJS.Signals) => {
    void cluster.stop().finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  return async () => {
    process.off('SIGINT', stopOnSignal);
    process.off('SIGTERM', stopOnSignal);
    await control.close();
    await cluster.stop();
  };
}
