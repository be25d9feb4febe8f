// `make bench-shards`: three replicas of rollguard sharing 6 shards while a few hundred Deployments arrive and
// roll out in waves, to see whether sharding holds up (replicas were once seen running out of memory with more
// than one shard once a few hundred Deployments arrived). The local control plane with kwok, the workload
// simulator and a real Prometheus (the policies verify, as in production), and each replica as a process of its
// own started as the image starts it (dist/sea), logging to a file (its output drained as it comes). It measures:
//   per replica  resident memory (/proc VmRSS every few seconds): at the start, the most, at the end; the shards
//                it holds at the end; how often it stopped acting on a shard it held (its log line 'no longer
//                acting on this shard'): dropped, its renewal too late, or handed over for balance; how often it
//                took one ('shard taken'); the rollouts it assessed
//   per wave     revisions assessed of those expected (a RolloutAssessment with a score at the wave's revision),
//                revisions assessed twice (two RolloutAssessments of one Deployment uid and revision, or two
//                'rollout assessed' lines for one revision in the replicas' logs), and how long until the last
//                one was assessed
//   the machine's 1-minute load average while it ran (a 2-core machine runs the whole cluster as well)
// It exits 1 when a revision was assessed twice, one was never assessed, or a replica exited.
//
// DEPLOYMENTS=300 in NAMESPACES=30, WAVES=3 new images of every Deployment, SETTLE=30 seconds after each wave,
// LEASE=6s (as test/integration/sharding.test.ts: renewals must land within 4 s on a busy machine, so a
// replica starved of CPU shows up as dropped shards), LOG_DIR=where the replicas' logs go (kept).
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { startLocalCluster } from '../test/harness/cluster.js';
import { repoRoot } from '../test/harness/tools.js';
import {
  commitOf,
  deploymentBody,
  installCrds,
  metricSum,
  policyBody,
  pool,
  sleep,
  startImageOperator,
  until,
  type ImageOperator,
  adminClients,
} from './support.js';

const run = promisify(execFile);
const positive = (name: string, fallback: number) => {
  const value = Number(process.env[name] ?? fallback);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a whole number above 0`);
  return value;
};
const deployments = positive('DEPLOYMENTS', 300);
const namespaceCount = Math.min(deployments, positive('NAMESPACES', 30));
const waves = positive('WAVES', 3);
const settleMs = Number(process.env.SETTLE ?? '30') * 1000;
const lease = process.env.LEASE ?? '6s';
const shards = 6;
const replicaNames = ['replica-a', 'replica-b', 'replica-c'];
const leaseNamespace = 'rollguard-system';
const waveTimeoutMs = 600_000;
const sampleEveryMs = 3000;
const say = (line: string) => {
  console.log(`${new Date().toISOString().slice(11, 19)} ${line}`);
};
const nsName = (i: number) => `shards-${String(i).padStart(2, '0')}`;
/** Deployment k lives in namespace k mod NAMESPACES. */
const targets = Array.from({ length: deployments }, (_, k) => ({
  namespace: nsName(k % namespaceCount),
  name: `svc-${k}`,
}));
const benchNamespaces = new Set(targets.map((t) => t.namespace));

interface Replica {
  name: string;
  operator: ImageOperator;
  rss: { at: number; mib: number }[];
}

/** From a replica's log: shards it stopped acting on (a renewal too late, or handed over for balance), took. */
interface ShardCounts {
  drops: number;
  handedOver: number;
  taken: number;
  assessed: number;
  held: number;
}

interface LogLine {
  why?: string;
  msg?: string;
  namespace?: string;
  deployment?: string;
  revision?: number;
  time?: string | number;
}
async function logLines(r: Replica): Promise<LogLine[]> {
  const text = await readFile(r.operator.process.logFile, 'utf8');
  return text.split('\n').flatMap((line) => {
    if (!line.startsWith('{')) return [];
    try {
      return [JSON.parse(line) as LogLine];
    } catch {
      return [];
    }
  });
}

interface AssessmentItem {
  metadata: { namespace?: string; labels?: Record<string, string> };
  spec: { deployment: string; revision: number; deploymentUID?: string };
  status?: { score?: number };
}

interface WaveResult {
  wave: string;
  revision: number;
  assessed: number;
  twiceRecords: number;
  twiceLogged: number;
  seconds: number;
}

async function main(): Promise<void> {
  const started = Date.now();
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
  const logDir = process.env.LOG_DIR
    ? path.resolve(process.env.LOG_DIR)
    : await mkdtemp(path.join(os.tmpdir(), 'rollguard-bench-shards-'));
  await mkdir(logDir, { recursive: true });
  say(
    `bench-shards: ${deployments} Deployments in ${namespaceCount} namespaces, ${waves} waves; ${replicaNames.length} replicas, ${shards} shards, ${lease} leases; replicas' logs in ${logDir}/shards-${stamp}-*.log`,
  );
  say('bundling dist/sea/rollguard.cjs (the replicas run as the image runs them)');
  await run('npx', ['tsx', 'hack/build-dist.ts', '--bundle-only'], { cwd: repoRoot });

  const cluster = await startLocalCluster({
    log: (l) => {
      say(`[harness] ${l}`);
    },
    controlPlane: {
      nodes: Math.ceil(deployments / 400) + 1,
      apiserverArgs: ['--max-requests-inflight=800', '--max-mutating-requests-inflight=400'],
      componentArgs: ['--kube-api-qps=300', '--kube-api-burst=600'],
    },
    simulator: { labelSelector: 'sim.rollguard.io/serve=true', refreshMs: 3000 },
  });
  const loadSamples: number[] = [];
  const loadTimer = setInterval(() => loadSamples.push(os.loadavg()[0] ?? 0), 5000);
  const replicas: Replica[] = [];
  let sampling: NodeJS.Timeout | undefined;
  const results: WaveResult[] = [];
  let missing = 0;
  const exited: string[] = [];
  const dropsAtEnd = new Map<string, ShardCounts>();
  try {
    await installCrds(cluster);
    const { apps, core, custom } = adminClients(cluster);

    await pool([leaseNamespace, ...benchNamespaces], 8, async (name) => {
      await core.createNamespace({ body: { metadata: { name } } }).catch((err: unknown) => {
        if ((err as { code?: number }).code !== 409) throw err;
      });
    });
    await pool([...benchNamespaces], 8, async (namespace) => {
      await custom.patchNamespacedCustomObject(
        {
          group: 'rollguard.io',
          version: 'v1alpha1',
          plural: 'deploymentriskpolicies',
          namespace,
          name: 'shards',
          // Nothing pauses (a paused Deployment would take no next wave); every rollout is verified for a minute.
          body: policyBody(namespace, cluster.prometheus.url, {
            name: 'shards',
            interval: '10s',
            verificationWindow: '1m',
          }),
          fieldManager: 'bench',
          force: true,
        },
        setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
      );
    });

    // ---- the replicas, one after the other (three start-ups at once outlast a busy machine's patience) ----
    for (const name of replicaNames) {
      const operator = await startImageOperator({
        name: `shards-${stamp}-${name}`,
        logDir,
        kubeconfig: cluster.kubeconfig,
        args: [
          `--shards=${shards}`,
          `--lease-duration=${lease}`,
          `--leader-election-namespace=${leaseNamespace}`,
          '--leader-election-id=rollguard',
        ],
        env: { POD_NAME: name },
      });
      replicas.push({ name, operator, rss: [] });
      say(`${name} ready after ${((operator.readyAt - operator.startedAt) / 1000).toFixed(1)} s`);
    }
    const held = async (r: Replica) =>
      r.operator.process.exited()
        ? 0
        : [...(await r.operator.metrics()).matchAll(/^rollguard_shard_owned\{shard="\d+"\} 1$/gm)].length;
    const spread = await until(
      async () => {
        const counts = await Promise.all(replicas.map(held));
        return counts.every((c) => c === shards / replicas.length) ? counts : undefined;
      },
      120_000,
      `${shards} shards spread over ${replicas.length} replicas`,
      500,
    );
    say(`shards spread: ${replicas.map((r, i) => `${r.name} ${spread[i]}`).join(', ')}`);
    const sample = async () => {
      const at = Date.now();
      await Promise.all(
        replicas.map(async (r) => {
          if (r.operator.process.exited()) return;
          r.rss.push({ at, mib: await r.operator.rssMiB() });
        }),
      );
    };
    await sample();
    sampling = setInterval(() => void sample().catch(() => undefined), sampleEveryMs);

    // ---- waves: the Deployments created (revision 1), then a new image of every one per wave ----
    const assessmentsAt = async (revision: number): Promise<AssessmentItem[]> => {
      const listed = (await custom.listClusterCustomObject({
        group: 'rollguard.io',
        version: 'v1alpha1',
        plural: 'rolloutassessments',
        labelSelector: `rollguard.io/revision=${revision}`,
      })) as { items: AssessmentItem[] };
      return listed.items.filter(
        (a) => benchNamespaces.has(a.metadata.namespace ?? '') && a.spec.revision === revision,
      );
    };
    const scoredKeys = (items: readonly AssessmentItem[]) =>
      new Set(
        items.filter((a) => a.status?.score !== undefined).map((a) => `${a.metadata.namespace}/${a.spec.deployment}`),
      );
    for (let wave = 0; wave <= waves; wave++) {
      const revision = wave + 1;
      const label = wave === 0 ? 'create' : `wave ${wave}`;
      const waveStart = Date.now();
      if (wave === 0) {
        await pool(targets, 16, async ({ namespace, name }) => {
          await apps.patchNamespacedDeployment(
            { namespace, name, body: deploymentBody(namespace, name, 0, true, 1), fieldManager: 'bench', force: true },
            setHeaderOptions('Content-Type', PatchStrategy.ServerSideApply),
          );
        });
      } else {
        // A new image, as a delivery pipeline (or `kubectl set image`) sets it: a strategic merge patch.
        await pool(targets, 8, async ({ namespace, name }) => {
          await apps.patchNamespacedDeployment(
            {
              namespace,
              name,
              body: {
                spec: {
                  template: {
                    metadata: { annotations: { 'rollguard.io/commit': commitOf(wave) } },
                    spec: { containers: [{ name: 'app', image: `shop/${name}:1.${wave}.0` }] },
                  },
                },
              },
            },
            setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
          );
        });
      }
      say(`${label}: ${targets.length} Deployments written in ${((Date.now() - waveStart) / 1000).toFixed(0)} s`);
      let lastSaid = Date.now();
      const done = await until(
        async () => {
          const count = scoredKeys(await assessmentsAt(revision)).size;
          if (Date.now() - lastSaid > 30_000 && count < targets.length) {
            say(`  ${label}: ${count}/${targets.length} assessed`);
            lastSaid = Date.now();
          }
          return count >= targets.length ? true : undefined;
        },
        waveTimeoutMs,
        `${label}: every revision ${revision} assessed`,
        3000,
      ).catch((err: unknown) => {
        say(err instanceof Error ? err.message : String(err));
        return false;
      });
      const items = await assessmentsAt(revision);
      const assessedKeys = scoredKeys(items);
      const perUid = new Map<string, number>();
      for (const a of items) {
        const uid = a.spec.deploymentUID ?? a.metadata.labels?.['rollguard.io/deployment-uid'] ?? a.spec.deployment;
        const key = `${a.metadata.namespace}/${uid}@${a.spec.revision}`;
        perUid.set(key, (perUid.get(key) ?? 0) + 1);
      }
      const logged = new Map<string, { by: string; at: number }[]>();
      for (const r of replicas)
        for (const e of await logLines(r)) {
          if (e.msg !== 'rollout assessed' || e.revision !== revision || !benchNamespaces.has(e.namespace ?? ''))
            continue;
          const key = `${e.namespace}/${e.deployment}`;
          logged.set(key, [...(logged.get(key) ?? []), { by: r.name, at: new Date(e.time ?? 0).getTime() }]);
        }
      const twiceLogged = [...logged.entries()].filter(([, by]) => by.length > 1);
      const twiceRecords = [...perUid.entries()].filter(([, n]) => n > 1);
      const lastAssessed = Math.max(...[...logged.values()].flat().map((l) => l.at), waveStart);
      const result: WaveResult = {
        wave: label,
        revision,
        assessed: assessedKeys.size,
        twiceRecords: twiceRecords.length,
        twiceLogged: twiceLogged.length,
        seconds: done ? (lastAssessed - waveStart) / 1000 : NaN,
      };
      results.push(result);
      missing += targets.length - assessedKeys.size;
      say(
        `${label}: ${result.assessed}/${targets.length} revisions ${revision} assessed${done ? ` within ${result.seconds.toFixed(1)} s` : ''}; assessed twice: ${result.twiceRecords} by records, ${result.twiceLogged} by logs; RSS now ${replicas.map((r) => `${r.name} ${Math.round(r.rss[r.rss.length - 1]?.mib ?? NaN)}`).join(', ')} MiB`,
      );
      for (const [key, by] of twiceLogged.slice(0, 10))
        say(
          `  ${key}@${revision} assessed by ${by.map((b) => `${b.by} at ${new Date(b.at).toISOString()}`).join(' and ')}`,
        );
      for (const [key, n] of twiceRecords.slice(0, 10)) say(`  ${key}: ${n} RolloutAssessments`);
      if (!done) {
        const unassessed = targets.filter((t) => !assessedKeys.has(`${t.namespace}/${t.name}`));
        say(
          `  never assessed (first 10): ${unassessed
            .slice(0, 10)
            .map((t) => `${t.namespace}/${t.name}`)
            .join(', ')}`,
        );
      }
      await sleep(settleMs);
    }

    // ---- the end: verification done, memory after it ----
    const verifying = async () =>
      (
        await Promise.all(
          replicas.map(async (r) =>
            r.operator.process.exited() ? 0 : metricSum(await r.operator.metrics(), 'rollguard_rollouts_verifying'),
          ),
        )
      ).reduce((a, b) => a + b, 0);
    const stillVerifying = await until(
      async () => ((await verifying()) === 0 ? 0 : undefined),
      300_000,
      'verification to finish',
      5000,
    ).catch(verifying);
    say(`verification finished${stillVerifying > 0 ? `, but for ${stillVerifying} rollouts after 300 s` : ''}`);
    await sleep(20_000);
    await sample();
    clearInterval(sampling);
    sampling = undefined;
    for (const r of replicas) {
      const lines = await logLines(r);
      dropsAtEnd.set(r.name, {
        drops: lines.filter((l) => l.msg === 'no longer acting on this shard' && !l.why?.startsWith('handed over'))
          .length,
        handedOver: lines.filter((l) => l.msg === 'no longer acting on this shard' && l.why?.startsWith('handed over'))
          .length,
        taken: lines.filter((l) => l.msg === 'shard taken').length,
        assessed: lines.filter((l) => l.msg === 'rollout assessed').length,
        held: await held(r).catch(() => NaN),
      });
    }
    exited.push(...replicas.filter((r) => r.operator.process.exited()).map((r) => r.name));
  } finally {
    if (sampling) clearInterval(sampling);
    clearInterval(loadTimer);
    for (const r of replicas) await r.operator.process.stop();
    await cluster.stop();
  }
  printTables(replicas, dropsAtEnd, results, loadSamples, started);
  const twice = results.reduce((n, r) => n + Math.max(r.twiceRecords, r.twiceLogged), 0);
  if (twice > 0 || missing > 0 || exited.length > 0) {
    say(
      `FAILED: ${twice} revisions assessed twice, ${missing} never assessed${exited.length > 0 ? `; ${exited.join(', ')} exited` : ''}`,
    );
    process.exitCode = 1;
  }
}

function printTables(
  replicas: readonly Replica[],
  counts: ReadonlyMap<string, ShardCounts>,
  waves: readonly WaveResult[],
  load: readonly number[],
  started: number,
): void {
  const table = (header: string[], rows: string[][]) => {
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
    const line = (cells: string[]) => `| ${cells.map((c, i) => c.padEnd(widths[i] ?? 0)).join(' | ')} |`;
    console.log(line(header));
    console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
    for (const r of rows) console.log(line(r));
  };
  const mib = (v: number | undefined) => (v === undefined || Number.isNaN(v) ? '-' : `${Math.round(v)} MiB`);
  console.log(
    `\n${deployments} Deployments in ${namespaceCount} namespaces, ${replicas.length} replicas, ${shards} shards, ${lease} leases, ${waves.length - 1} waves\n`,
  );
  table(
    [
      'replica',
      'start RSS',
      'max RSS',
      'end RSS',
      'shards held at end',
      'shard drops',
      'handed over',
      'shards taken',
      'assessed',
    ],
    replicas.map((r) => {
      const c = counts.get(r.name);
      return [
        r.name,
        mib(r.rss[0]?.mib),
        mib(Math.max(...r.rss.map((s) => s.mib))),
        mib(r.rss[r.rss.length - 1]?.mib),
        String(c?.held ?? 'exited'),
        String(c?.drops ?? '-'),
        String(c?.handedOver ?? '-'),
        String(c?.taken ?? '-'),
        String(c?.assessed ?? '-'),
      ];
    }),
  );
  console.log('');
  table(
    ['wave', 'revision', 'assessed / expected', 'assessed twice (records / logs)', 'all assessed, from first write'],
    waves.map((w) => [
      w.wave,
      String(w.revision),
      `${w.assessed} / ${deployments}`,
      `${w.twiceRecords} / ${w.twiceLogged}`,
      Number.isNaN(w.seconds) ? 'never' : `${w.seconds.toFixed(1)} s`,
    ]),
  );
  const mean = load.reduce((a, b) => a + b, 0) / Math.max(1, load.length);
  console.log(
    `\nmachine load (1-minute average): mean ${mean.toFixed(2)}, max ${Math.max(...load, 0).toFixed(2)} on ${os.cpus().length} cores; ${((Date.now() - started) / 60_000).toFixed(1)} minutes in all`,
  );
}

await main();
