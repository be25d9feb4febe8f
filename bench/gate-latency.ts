// `make bench`, the admission gate: the time the gate adds to a safe rollout, from the apply to the new
// ReplicaSet's creation (seen on a watch), with and without the gate, p50 and p99, with 1 and with 50
// rollouts at once. The same operator runs throughout (installed with --gate under a ServiceAccount of its
// own); "without" turns the gate off in the policy (spec.gate.enabled: false), so only the gate differs.
// Goal: p99 added at most 300 ms on a quiet machine.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import {
  AppsV1Api,
  KubeConfig,
  PatchStrategy,
  Watch,
  setHeaderOptions,
  type V1Deployment,
} from '@kubernetes/client-node';
import { parse, stringify } from 'yaml';
import { startLocalCluster, type LocalCluster } from '../test/harness/cluster.js';
import { repoRoot } from '../test/harness/tools.js';
import { safeChange } from '../test/support/changes.js';
import { installCrds, kubectl, percentile, until } from './support.js';

const ns = 'bench-gate';
const roundKey = 'bench.rollguard.io/round';

/** The operator under a ServiceAccount of its own (the gate lets that identity's writes through). */
async function startGatedOperator(cluster: LocalCluster, dir: string): Promise<() => Promise<void>> {
  await kubectl(cluster, ['create', 'namespace', 'bench-gate-system']);
  await kubectl(cluster, ['-n', 'bench-gate-system', 'create', 'serviceaccount', 'rollguard']);
  await kubectl(cluster, [
    'create',
    'clusterrolebinding',
    'bench-gate',
    '--clusterrole=cluster-admin',
    '--serviceaccount=bench-gate-system:rollguard',
  ]);
  const token = (
    await kubectl(cluster, ['-n', 'bench-gate-system', 'create', 'token', 'rollguard', '--duration=2h'])
  ).trim();
  const config = parse(await readFile(cluster.kubeconfig, 'utf8')) as { users: { user: Record<string, unknown> }[] };
  for (const u of config.users) u.user = { token };
  const kubeconfig = path.join(dir, 'kubeconfig');
  await writeFile(kubeconfig, stringify(config), { mode: 0o600 });
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      path.join(repoRoot, 'src/cli/main.ts'),
      'controller',
      `--kubeconfig=${kubeconfig}`,
      '--gate',
      '--metrics-address=127.0.0.1:0',
      '--workers=8',
      '--no-learning',
      '--log-level=warn',
    ],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  await until(
    async () =>
      (await kubectl(cluster, ['get', 'mutatingadmissionpolicybinding', '-o', 'name'])).includes('rollguard-gate')
        ? true
        : undefined,
    120_000,
    `the gate to be installed (${output.slice(-500)})`,
  );
  return async () => {
    child.kill('SIGTERM');
    await new Promise((resolve) => child.once('exit', resolve));
  };
}

function manifest(name: string): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: ns, labels: { 'rollguard.io/enabled': 'true' } },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name }, annotations: { ...safeChange, [roundKey]: 'start' } },
        spec: {
          containers: [
            {
              name: 'app',
              image: `shop/${name}:1.0.0`,
              readinessProbe: { httpGet: { path: '/', port: 80 } },
              resources: { limits: { memory: '64Mi' } },
            },
          ],
        },
      },
    },
  };
}

async function measure(cluster: LocalCluster, kc: KubeConfig): Promise<void> {
  const apps = kc.makeApiClient(AppsV1Api);
  await kubectl(cluster, ['create', 'namespace', ns]);
  const setGate = async (enabled: boolean) => {
    await kubectl(
      cluster,
      ['apply', '-f', '-'],
      JSON.stringify({
        apiVersion: 'rollguard.io/v1alpha1',
        kind: 'DeploymentRiskPolicy',
        metadata: { name: 'bench', namespace: ns },
        // No pause at any level: every change here is safe and should go; only the gate's own time is measured.
        spec: {
          selector: { matchLabels: { 'rollguard.io/enabled': 'true' } },
          levels: { block: { pause: false } },
          gate: { enabled },
        },
      }),
    );
    // The API server reads policies through its own informer: give it a moment to see the change.
    await new Promise((r) => setTimeout(r, 3000));
  };
  await setGate(false);
  const names = Array.from({ length: 50 }, (_, i) => `app-${String(i).padStart(2, '0')}`);
  const created = new Map<string, number>();
  const watch = await new Watch(kc).watch(
    `/apis/apps/v1/namespaces/${ns}/replicasets`,
    {},
    (
      type,
      obj: {
        metadata?: { ownerReferences?: { name: string }[] };
        spec?: { template?: { metadata?: { annotations?: Record<string, string> } } };
      },
    ) => {
      if (type !== 'ADDED') return;
      const key = `${obj.metadata?.ownerReferences?.[0]?.name ?? ''}@${obj.spec?.template?.metadata?.annotations?.[roundKey] ?? ''}`;
      if (!created.has(key)) created.set(key, performance.now());
    },
    () => undefined,
  );
  for (const name of names) await apps.createNamespacedDeployment({ namespace: ns, body: manifest(name) });
  await until(
    () => (names.every((n) => created.has(`${n}@start`)) ? true : undefined),
    300_000,
    'the first ReplicaSets',
  );

  const results: { gate: string; n: number; p50: number; p99: number; samples: number }[] = [];
  for (const gate of [false, true]) {
    await setGate(gate);
    for (const n of [1, 50]) {
      const samples: number[] = [];
      // Enough one-at-a-time rounds that p99 is not simply the slowest sample.
      const rounds = n === 1 ? 100 : 4;
      for (let round = 0; round < rounds; round++) {
        const tag = `${gate ? 'on' : 'off'}-${n}-${round}`;
        await Promise.all(
          names.slice(0, n).map(async (name) => {
            const sent = performance.now();
            await apps.patchNamespacedDeployment(
              { namespace: ns, name, body: { spec: { template: { metadata: { annotations: { [roundKey]: tag } } } } } },
              setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
            );
            const at = await until(() => created.get(`${name}@${tag}`), 120_000, `${name} ${tag} ReplicaSet`);
            samples.push(at - sent);
          }),
        );
      }
      results.push({
        gate: gate ? 'with gate' : 'without',
        n,
        p50: percentile(samples, 50),
        p99: percentile(samples, 99),
        samples: samples.length,
      });
    }
  }
  watch.abort();
  console.log('\nApply → new ReplicaSet created (ms), same operator, gate on or off in the policy:');
  console.log('rollouts at once | without p50 / p99 | with gate p50 / p99 | added p50 / p99 | samples');
  for (const n of [1, 50]) {
    const off = results.find((r) => r.gate === 'without' && r.n === n);
    const on = results.find((r) => r.gate === 'with gate' && r.n === n);
    if (!off || !on) continue;
    const f = (v: number) => v.toFixed(0).padStart(5);
    console.log(
      `${String(n).padStart(16)} | ${f(off.p50)} / ${f(off.p99)}     | ${f(on.p50)} / ${f(on.p99)}       | ${f(on.p50 - off.p50)} / ${f(on.p99 - off.p99)}   | ${off.samples} + ${on.samples}`,
    );
  }
  console.log(
    `goal: p99 added ≤ 300 ms on a quiet machine; this machine's load average: ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}`,
  );
}

const dir = await mkdtemp(path.join(os.tmpdir(), 'rollguard-bench-gate-'));
const cluster = await startLocalCluster({
  log: (l) => {
    console.log(`[harness] ${l}`);
  },
});
let stopOperator: (() => Promise<void>) | undefined;
try {
  await installCrds(cluster);
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfig);
  stopOperator = await startGatedOperator(cluster, dir);
  await measure(cluster, kc);
} finally {
  await stopOperator?.();
  await cluster.stop();
  await rm(dir, { recursive: true, force: true });
}
