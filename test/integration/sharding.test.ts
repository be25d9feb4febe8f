// Shards on the real control plane: three replicas of the operator share 4 shards of the namespaces holding
// 60 Deployments, one coordination.k8s.io Lease per shard. What a platform team would check: the shards are
// spread (each replica reports its own on /metrics), every revision is assessed by exactly one replica, the
// replicas' memory stays flat while the rollouts arrive and their Leases keep being renewed, and a SIGKILLed
// replica's shards move to the others within the lease duration with nothing assessed twice across the move.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shardOf } from '../../src/shard/hash.js';
import { kubectl, kubectlJson } from '../support/kubectl.js';
import { deleteNamespace } from '../support/namespace.js';
import { deploymentManifest, type AssessmentView } from '../support/objects.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

const shards = 4;
const leaseSeconds = 6;
const retryMs = 800; // the controller's retry period for a 6 s lease (lease / 7.5)
const perNamespace = 10;
const run = randomBytes(3).toString('hex');
/** Six namespaces: one in every shard first (so whichever replica dies leaves work behind), then a second in two. */
const namespaces = ((): string[] => {
  const byShard = new Map<number, string[]>();
  for (let i = 0; [...byShard.values()].flat().length < 6; i++) {
    const name = `shard-${run}-${i}`;
    const have = byShard.get(shardOf(name, shards)) ?? [];
    if (have.length === 0 || (byShard.size === shards && have.length < 2))
      byShard.set(shardOf(name, shards), [...have, name]);
  }
  return [...byShard.values()].flat();
})();
const leaseNs = `shard-leases-${run}`;
const args = [
  `--shards=${shards}`,
  `--lease-duration=${leaseSeconds}s`,
  `--leader-election-namespace=${leaseNs}`,
  '--leader-election-id=rg',
];
const timeline: string[] = [];
const t0 = Date.now();
const mark = (what: string) => {
  timeline.push(`${((Date.now() - t0) / 1000).toFixed(1).padStart(6)} s  ${what}`);
};

interface Replica {
  name: string;
  operator: RunningOperator;
}

async function metricsOf(r: Replica): Promise<string> {
  return (await fetch(`${r.operator.metricsUrl}/metrics`)).text();
}

async function owned(r: Replica): Promise<number[]> {
  if (r.operator.exited()) return [];
  const text = await metricsOf(r);
  return [...text.matchAll(/^rollguard_shard_owned\{shard="(\d+)"\} 1$/gm)].map((m) => Number(m[1]));
}

async function residentMiB(r: Replica): Promise<number> {
  const match = /^rollguard_process_resident_memory_bytes (\d+(?:\.\d+)?(?:e\+\d+)?)$/m.exec(await metricsOf(r));
  if (!match?.[1]) throw new Error(`${r.name} reports no resident memory`);
  return Number(match[1]) / 2 ** 20;
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

/** Every shard held, each replica holding floor or ceil of its share. */
async function balanced(replicas: readonly Replica[]): Promise<Map<number, string> | undefined> {
  const holders = await ownership(replicas);
  if (holders.size < shards) return undefined;
  const counts = replicas.map((r) => [...holders.values()].filter((h) => h === r.name).length);
  return Math.max(...counts) - Math.min(...counts) <= 1 && Math.min(...counts) >= 1 ? holders : undefined;
}

const describeHolders = (holders: Map<number, string>) =>
  [...holders.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([s, h]) => `${s}→${h}`)
    .join(' ');

async function start(name: string): Promise<Replica> {
  // Shares the machine with the rest of the suite: start-up may take longer than the default minute.
  return { name, operator: await startOperator(args, { POD_NAME: name }, { startTimeoutMs: 180_000 }) };
}

/** `rollout assessed` log lines of every replica (a killed one's included), as namespace/name@revision. */
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

/** Waits until every Deployment of the namespaces has a scored assessment of `revision`; returns all of them. */
async function allAssessed(chosen: readonly string[], revision: number): Promise<AssessmentView[]> {
  return waitFor(
    `${chosen.length * perNamespace} Deployments assessed at revision ${revision}`,
    async () => {
      const all = (await Promise.all(chosen.map(assessmentsIn))).flat();
      const done = all.filter((a) => a.spec.revision === revision && a.status?.score !== undefined);
      return done.length >= chosen.length * perNamespace ? all : undefined;
    },
    { timeoutMs: 120_000, intervalMs: 2000 },
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
  const seen = new Map<string, string[]>();
  for (const { key, by } of assessedLines(replicas)) seen.set(key, [...(seen.get(key) ?? []), by]);
  expect([...seen.entries()].filter(([, by]) => by.length > 1)).toEqual([]);
}

describe('sharding across replicas', () => {
  const replicas: Replica[] = [];

  beforeAll(async () => {
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
          spec: { selector },
        })),
      ),
    );
  }, 300_000);

  afterAll(async () => {
    for (const r of replicas) await r.operator.stop();
    for (const ns of [...namespaces, leaseNs]) await deleteNamespace(ns);
    console.log(`sharding timeline:\n${timeline.join('\n')}`);
  }, 300_000);

  it('three replicas spread four shards, assess each of 60 Deployments once, and stay small', async () => {
    mark(`starting 3 replicas (${shards} shards, ${leaseSeconds} s leases)`);
    // One after the other: three start-ups at once on a busy machine outlast the harness's patience.
    for (const name of ['shard-a', 'shard-b', 'shard-c']) replicas.push(await start(name));
    const holders = await waitFor('4 shards spread over 3 replicas', () => balanced(replicas), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    mark(`shards spread: ${describeHolders(holders)}`);
    const before = await Promise.all(replicas.map(residentMiB));

    for (const ns of namespaces) await kubectl(['apply', '-f', '-'], deploymentsList(ns, 0));
    mark(`applied ${namespaces.length * perNamespace} Deployments in ${namespaces.length} namespaces`);
    const assessments = await allAssessed(namespaces, 1);
    mark('every Deployment assessed at revision 1');
    // Once each, whichever replica held the shard at the time (on a busy machine a shard may move meanwhile).
    expectOncePerRevision(assessments, replicas);
    expect(new Set(assessedLines(replicas).map((l) => l.by)).size).toBeGreaterThan(1);
    // A few more lease rounds under the rollouts' aftermath: memory stays where it was.
    await new Promise((resolve) => setTimeout(resolve, 5 * retryMs));
    const rss = await Promise.all(replicas.map(residentMiB));
    mark(
      `resident memory before → after: ${replicas.map((r, i) => `${r.name} ${Math.round(before[i] ?? 0)} → ${Math.round(rss[i] ?? 0)} MiB`).join(', ')}`,
    );
    for (const [i, mib] of rss.entries()) expect(mib).toBeLessThan((before[i] ?? 0) + 200);
  }, 400_000);

  it('a SIGKILLed replica’s shards move within the lease duration; nothing is assessed twice', async () => {
    const holders = await ownership(replicas);
    // The replica with the most namespaces dies.
    const load = (name: string) => namespaces.filter((ns) => holders.get(shardOf(ns, shards)) === name).length;
    const victim = [...replicas].sort((a, b) => load(b.name) - load(a.name))[0];
    if (!victim) throw new Error('no replicas');
    const lost = [...holders.entries()].filter(([, h]) => h === victim.name).map(([s]) => s);
    const survivors = replicas.filter((r) => r !== victim);
    mark(`SIGKILL ${victim.name} (held shards ${lost.join(', ')})`);

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
    expect(await waitFor('the survivors balanced', () => balanced(survivors), { timeoutMs: 30_000 })).toBeDefined();

    const assessments = await allAssessed(orphaned, 2);
    mark('every revision 2 in the moved namespaces assessed');
    expectOncePerRevision(assessments, replicas);
  }, 300_000);
});
