// vitest global setup for the integration project: one real local cluster for the whole run. If it cannot
// start, the run fails here with the reason; no integration test is ever skipped for want of a cluster.
import type { TestProject } from 'vitest/node';
import { startLocalCluster } from './cluster.js';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    prometheusUrl: string;
    binDir: string;
    prometheusDir: string;
    clusterDir: string;
    simulatorPort: number;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startLocalCluster({
    log: (line) => {
      console.log(`[harness] ${line}`);
    },
    keepDir: process.env.ROLLGUARD_KEEP_CLUSTER_DIR === '1',
  });
  project.provide('kubeconfig', cluster.kubeconfig);
  project.provide('prometheusUrl', cluster.prometheus.url);
  project.provide('binDir', cluster.tools.binDir);
  project.provide('prometheusDir', cluster.tools.prometheusDir);
  project.provide('clusterDir', cluster.dir);
  project.provide('simulatorPort', cluster.simulator.port);
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
    await cluster.stop();
  };
}
