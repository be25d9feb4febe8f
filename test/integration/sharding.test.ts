// Shards on the real control plane: three replicas of the operator share 6 shards of 10 namespaces holding
// 200 Deployments, one coordination.k8s.io Lease per shard. What a platform team would check: the shards are
// spread (each replica reports its own on /metrics), every revision is assessed by exactly one replica, a
// SIGKILLed replica's shards move to the others within the lease duration and nothing is assessed or rolled
// back twice across the move, and adding replicas (3 → 5) rebalances with every shard held all along but for
// the handover itself. The timeline is printed for the closing note.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { shardOf } from '../../src/shard/hash.js';
import { kubectl, kubectlJson } from '../support/kubectl.js';
import { deleteNamespace } from '../support/namespace.js';
import {
  assessmentOf,
  deploymentManifest,
  eventsOf,
  fastVerificationPolicy,
  getDeployment,
  type AssessmentView,
} from '../support/objects.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

const shards = 6;
const leaseSeconds = 6;
const retryMs = 800; // the controller's retry period for a 6 s lease (lease / 7.5)
const perNamespace = 20;
const run = randomBytes(3).toString('hex');
const namespaces = Array.from({ length: 10 }, (_, i) => `shard-${run}-${i}`);
const leaseNs = `shard-leases-${run}`;
const args = [
  `--shards=${shards}`,
  `--lease-duration=${leaseSeconds}s`,
  `--leader-election-namespace=${leaseNs}`,
  '--leader-election-id=rg',
];
const exact = { 'sim.rollguard.io/exact': 'true', 'sim.rollguard.io/latency-ms': '20' };
const timeline: string[] = [];
const t0 = Date.now();
const mark = (what: string) => {
  timeline.push(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s  ${what}`);
};

interface Replica {
  name: string;
  operator: RunningOperator;
}

async function owned(r: Replica): Promise<number[]> {
  if (r.operator.exited()) return [];
  const text = await (await fetch(`${r.operator.metricsUrl}/metrics`)).text();
  return [...text.matchAll(/^rollguard_shard_owned\{shard="(\d+)"\} 1$/gm)].map((m) => Number(m[1]));
}

/** Who holds what, failing at once if two replicas claim the same shard. */
async function ownership(replicas: readonly Replica[]): Promise<Map<number, string>> {
  const holders = new Map<number, string>();
  for (const r of replicas) {
    for (const shard of await owned(r)) {
      const other = holders.get(shard);
      if (other !== undefined) throw new Error(`shard ${shard} is held by both ${other} and ${r.name}`);
      holders.set(shard, r.name);
    }
  }
  return holders;
}

async function balanced(replicas: readonly Replica[]): Promise<Map<number, string> | undefined> {
  const holders = await ownership(replicas);
  if (holders.size < shards) return undefined;
  const counts = replicas.map((r) => [...holders.values()].filter((h) => h === r.name).length);
  return Math.max(...counts) - Math.min(...counts) <= 1 ? holders : undefined;
}

async function start(name: string): Promise<Replica> {
  // Shares the machine with the rest of the suite: start-up may take longer than the default minute.
  return { name, operator: await startOperator(args, { POD_NAME: name }, { startTimeoutMs: 180_000 }) };
}

/** `rollout assessed` log lines of every replica (the killed one's included), as namespace/name@revision. */
function assessedLines(replicas: readonly Replica[]): { key: string; by: string }[] {
  return replicas.flatMap((r) =>
    r.operator
      .logs()
      .filter((l) => l.includes('"msg":"rollout assessed"'))
      .map((l) => {
        const e = JSON.parse(l) as { namespace: string; deployment: string; revision: number };
        return { key: `${e.namespace}/${e.deployment}@${e.revision}`, by: r.name };
      }),
  );
}

function deploymentsList(namespace: string, version: number): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: Array.from(
      { length: perNamespace },
      (_, j) =>
        JSON.parse(
          deploymentManifest({
            namespace,
            name: `app-${j}`,
            replicas: 1,
            image: `registry.example/app-${j}:1.${version}.0`,
            annotations: { 'rollguard.io/lines-added': String(10 + version) },
          }),
        ) as object,
    ),
  });
}

async function assessmentsIn(namespace: string): Promise<AssessmentView[]> {
  return (await kubectlJson<{ items: AssessmentView[] }>(['-n', namespace, 'get', 'rolloutassessments'])).items;
}

/** Waits until every Deployment of the namespaces has an assessment of `revision`; returns all assessments. */
async function allAssessed(chosen: readonly string[], revision: number): Promise<AssessmentView[]> {
  return waitFor(
    `${chosen.length * perNamespace} Deployments assessed at revision ${revision}`,
    async () => {
      const all = (await Promise.all(chosen.map(assessmentsIn))).flat();
      const done = all.filter((a) => a.spec.revision === revision && a.status?.score !== undefined);
      return done.length >= chosen.length * perNamespace ? all : undefined;
    },
    { timeoutMs: 600_000, intervalMs: 2000 },
  );
}

function expectOncePerRevision(assessments: readonly AssessmentView[], replicas: readonly Replica[]): void {
  const perDeploymentRevision = new Map<string, number>();
  for (const a of assessments) {
    const namespace = (a.metadata as { namespace?: string }).namespace ?? '';
    const key = `${namespace}/${a.spec.deployment}@${a.spec.revision}`;
    perDeploymentRevision.set(key, (perDeploymentRevision.get(key) ?? 0) + 1);
  }
  expect([...perDeploymentRevision.entries()].filter(([, n]) => n !== 1)).toEqual([]);
  const lines = assessedLines(replicas);
  const seen = new Map<string, string[]>();
  for (const { key, by } of lines) seen.set(key, [...(seen.get(key) ?? []), by]);
  const twice = [...seen.entries()].filter(([, by]) => by.length > 1);
  expect(twice).toEqual([]);
}

describe('sharding across replicas', () => {
  const replicas: Replica[] = [];
  const badNs = namespaces[0] ?? '';

  beforeAll(async () => {
    // Namespaces first, then their policies: two kubectl calls in all.
    const list = (items: object[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
    await kubectl(
      ['apply', '-f', '-'],
      list([leaseNs, ...namespaces].map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }))),
    );
    const selector = { matchLabels: { 'rollguard.io/enabled': 'true' } };
    await kubectl(
      ['apply', '-f', '-'],
      list(
        namespaces.map((ns) => ({
          apiVersion: 'rollguard.io/v1alpha1',
          kind: 'DeploymentRiskPolicy',
          metadata: { name: 'guard', namespace: ns },
          spec:
            ns === badNs
              ? fastVerificationPolicy({ selector, prometheusAddress: inject('prometheusUrl'), window: '30s' })
              : { selector },
        })),
      ),
    );
  }, 900_000);

  afterAll(async () => {
    for (const r of replicas) await r.operator.stop();
    for (const ns of [...namespaces, leaseNs]) await deleteNamespace(ns);
    console.log(`sharding timeline:\n${timeline.join('\n')}`);
  }, 900_000);

  it('three replicas spread six shards and assess each of 200 Deployments once', async () => {
    mark('starting 3 replicas (6 shards, 6 s leases)');
    // One after the other: three start-ups at once on a busy machine outlast the harness's patience.
    for (const name of ['shard-a', 'shard-b', 'shard-c']) replicas.push(await start(name));
    const holders = await waitFor('6 shards spread over 3 replicas', () => balanced(replicas), { timeoutMs: 60_000 });
    mark(
      `shards spread: ${[...holders.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([s, h]) => `${s}→${h}`)
        .join(' ')}`,
    );
    expect(new Set(holders.values()).size).toBe(3);

    for (const ns of namespaces) await kubectl(['apply', '-f', '-'], deploymentsList(ns, 0));
    mark(`applied ${namespaces.length * perNamespace} Deployments in ${namespaces.length} namespaces`);
    const assessments = await allAssessed(namespaces, 1);
    mark('every Deployment assessed at revision 1');
    expectOncePerRevision(assessments, replicas);
    // Each replica assessed only namespaces of the shards it holds.
    for (const { key, by } of assessedLines(replicas)) {
      const ns = key.slice(0, key.indexOf('/'));
      expect(holders.get(shardOf(ns, shards))).toBe(by);
    }
  }, 900_000);

  it('a SIGKILLed replica’s shards move within the lease duration; nothing is assessed or rolled back twice', async () => {
    // A bad version starts verifying in the namespace whose holder is about to die.
    const holders = await ownership(replicas);
    const victimName = holders.get(shardOf(badNs, shards)) ?? '';
    const victim = replicas.find((r) => r.name === victimName);
    if (!victim) throw new Error(`nobody holds ${badNs}`);
    const lost = [...holders.entries()].filter(([, h]) => h === victimName).map(([s]) => s);
    const survivors = replicas.filter((r) => r !== victim);
    const manifest = (version: number, errorRate: string) =>
      deploymentManifest({
        namespace: badNs,
        name: 'checkout',
        replicas: 2,
        image: `registry.example/checkout:1.${version}.0`,
        annotations: { ...exact, 'sim.rollguard.io/error-rate': errorRate, 'rollguard.io/lines-added': '5' },
      });
    await kubectl(['apply', '-f', '-'], manifest(0, '0.0'));
    await waitFor(
      'checkout revision 1 assessed',
      async () => (await assessmentOf(badNs, 'checkout', 1))?.status?.score,
    );
    await kubectl(['-n', badNs, 'rollout', 'status', 'deployment/checkout', '--timeout=60s']);
    await kubectl(['apply', '-f', '-'], manifest(1, '0.5'));
    await waitFor(
      'checkout revision 2 assessed',
      async () => (await assessmentOf(badNs, 'checkout', 2))?.status?.score,
    );
    mark(
      `bad version of ${badNs}/checkout assessed by ${victimName}; SIGKILL ${victimName} (held shards ${lost.join(', ')})`,
    );

    const killedAt = Date.now();
    await victim.operator.kill();
    // New revisions in the victim's namespaces while nobody holds them.
    const orphaned = namespaces.filter((ns) => lost.includes(shardOf(ns, shards)));
    for (const ns of orphaned) await kubectl(['apply', '-f', '-'], deploymentsList(ns, 1));
    mark(`applied revision 2 of ${orphaned.length * perNamespace} Deployments in the dead replica's namespaces`);

    const movedAt = await waitFor(
      'the dead replica’s shards to move',
      async () => {
        const now = await ownership(survivors);
        return lost.every((s) => now.has(s)) ? Date.now() : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    const takeoverMs = movedAt - killedAt;
    mark(`shards ${lost.join(', ')} held again after ${(takeoverMs / 1000).toFixed(1)} s (lease ${leaseSeconds} s)`);
    // The lease duration from the last renewal seen, plus at most one retry period to notice, plus this poll.
    expect(takeoverMs).toBeLessThan(leaseSeconds * 1000 + 2 * retryMs + 1500);
    expect(await balanced(survivors)).toBeDefined();

    const assessments = await allAssessed(orphaned, 2);
    mark('every revision 2 in the moved namespaces assessed');
    expectOncePerRevision(assessments, replicas);

    // The bad version is rolled back once, by whichever replica held its shard when it failed.
    const rolledBack = await waitFor(
      'checkout rolled back',
      async () => {
        const d = await getDeployment(badNs, 'checkout');
        return d.metadata.annotations?.['rollguard.io/rolled-back-from'] === '2' ? d : undefined;
      },
      { timeoutMs: 90_000, intervalMs: 500 },
    );
    mark('checkout revision 2 rolled back');
    expect(rolledBack.spec.template.metadata?.annotations?.['sim.rollguard.io/error-rate']).toBe('0.0');
    // Long enough for a second rollback to show if one were coming.
    await new Promise((resolve) => setTimeout(resolve, 3 * leaseSeconds * 1000));
    const after = await getDeployment(badNs, 'checkout');
    expect(after.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    expect((await eventsOf(badNs, 'checkout')).filter((e) => e.reason === 'RolledBack')).toHaveLength(1);
    const record = await assessmentOf(badNs, 'checkout', 2);
    expect(record?.status?.outcome).toBe('rolled-back');
    expect(record?.status?.actions?.filter((a) => a.type === 'rolled-back')).toHaveLength(1);
    expectOncePerRevision(await assessmentsIn(badNs), replicas);
  }, 900_000);

  it('scaling from 3 to 5 replicas rebalances, every shard held by one replica at a time', async () => {
    const live = replicas.filter((r) => !r.operator.exited());
    const fourth = await start('shard-d');
    live.push(fourth);
    replicas.push(fourth);
    await waitFor('3 replicas balanced', () => balanced(live), { timeoutMs: 60_000 });
    mark(`3 replicas again: ${live.map((r) => r.name).join(', ')}`);

    // Watch ownership every 100 ms while two more replicas join: never two holders, and how long a shard goes
    // without any.
    const unheldSince = new Map<number, number>();
    const longestGap = new Map<number, number>();
    const watch = { on: true };
    const watcher = (async () => {
      while (watch.on) {
        const now = Date.now();
        const holders = await ownership(live);
        for (let s = 0; s < shards; s++) {
          if (holders.has(s)) {
            const since = unheldSince.get(s);
            if (since !== undefined) longestGap.set(s, Math.max(longestGap.get(s) ?? 0, now - since));
            unheldSince.delete(s);
          } else if (!unheldSince.has(s)) unheldSince.set(s, now);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
    for (const name of ['shard-e', 'shard-f']) {
      const joined = await start(name);
      live.push(joined);
      replicas.push(joined);
    }
    mark('2 more replicas started: 5 in all');
    const final = await waitFor(
      '5 replicas balanced',
      async () => {
        const holders = await balanced(live);
        return holders && new Set(holders.values()).size === 5 ? holders : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    // Rollouts during and after the rebalance are each assessed once.
    for (const ns of namespaces) await kubectl(['apply', '-f', '-'], deploymentsList(ns, 2));
    const assessments = await allAssessed(namespaces, 3);
    watch.on = false;
    await watcher;
    const gaps = [...longestGap.values()];
    mark(
      `rebalanced: ${[...final.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([s, h]) => `${s}→${h}`)
        .join(' ')}; longest time a shard was unheld ${Math.max(0, ...gaps)} ms (${gaps.length} handovers seen)`,
    );
    expect(unheldSince.size).toBe(0);
    // A handover names the new holder in the Lease; it starts at its next round (one retry period).
    for (const gap of gaps) expect(gap).toBeLessThan(2 * retryMs + 1500);
    expectOncePerRevision(assessments, replicas);
    mark('every revision 3 assessed once');
  }, 900_000);
});
