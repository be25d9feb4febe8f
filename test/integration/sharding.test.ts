// Shards on the real control plane: three, then five replicas of the operator share 6 shards of the namespaces
// holding 64 Deployments, one coordination.k8s.io Lease per shard. What a platform team would check: the shards
// are spread (each replica reports its own on /metrics), every revision is assessed by exactly one replica, the
// replicas' memory stays flat while the rollouts arrive and their Leases keep being renewed, a scale from 3 to 5
// replicas hands shards over with no shard held twice and none left unheld for a lease duration while rollouts
// keep arriving, a SIGKILLed replica's shards move to the others within the lease duration with nothing
// assessed twice across the move, and a failing rollout whose replica is SIGKILLed mid-verification is rolled
// back exactly once, by the shard's next holder, carrying on from the record.
import { randomBytes } from 'node:crypto';
import { AppsV1Api, KubeConfig, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { shardOf } from '../../src/shard/hash.js';
import { kubectl, kubectlJson } from '../support/kubectl.js';
import { deleteNamespace } from '../support/namespace.js';
import {
  applyDeployment,
  applyPolicy,
  assessmentOf,
  assessmentOutcome,
  deploymentManifest,
  eventsOf,
  fastVerificationPolicy,
  getDeployment,
  type AssessmentView,
} from '../support/objects.js';
import { startOperator, type RunningOperator } from '../support/operator.js';
import { waitFor } from '../support/wait.js';

const shards = 6; // 2/2/2 over three replicas, 2/1/1/1/1 over five: every replica matters
const leaseSeconds = 6;
const retryMs = 800; // the controller's retry period for a 6 s lease (lease / 7.5)
const perNamespace = 8;
const apps = Array.from({ length: perNamespace }, (_, j) => j);
const run = randomBytes(3).toString('hex');
/** Eight namespaces: one in every shard first (so whichever replica dies leaves work behind), then a second in two. */
const namespaces = ((): string[] => {
  const byShard = new Map<number, string[]>();
  for (let i = 0; [...byShard.values()].flat().length < shards + 2; i++) {
    const name = `shard-${run}-${i}`;
    const have = byShard.get(shardOf(name, shards)) ?? [];
    if (have.length === 0 || (byShard.size === shards && have.length < 2))
      byShard.set(shardOf(name, shards), [...have, name]);
  }
  return [...byShard.values()].flat();
})();
const leaseNs = `shard-leases-${run}`;
/** A namespace of its own for the rollback across a shard move: a policy that verifies, on a short clock. */
const rollbackNs = `shard-${run}-rollback`;
const args = [
  `--shards=${shards}`,
  `--lease-duration=${leaseSeconds}s`,
  `--leader-election-namespace=${leaseNs}`,
  '--leader-election-id=rg',
];
const timeline: { at: number; what: string }[] = [];
const t0 = Date.now();
const mark = (what: string, at = Date.now()) => {
  timeline.push({ at, what });
};

interface Replica {
  name: string;
  operator: RunningOperator;
}

async function metricsOf(r: Replica): Promise<string> {
  return (await fetch(`${r.operator.metricsUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
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

/**
 * Who holds what, failing if two replicas claim the same shard. The replicas are read one after the other, so
 * a handover between two reads could look like a shard held twice: a claim is confirmed by reading the first
 * claimant again, after the second claim was read. A handover's giver stops before its recipient starts, so
 * only a real double hold is still there.
 */
async function ownership(replicas: readonly Replica[]): Promise<Map<number, string>> {
  const holders = new Map<number, Replica>();
  for (const r of replicas) {
    for (const shard of await owned(r)) {
      const other = holders.get(shard);
      if (other !== undefined && (await owned(other)).includes(shard))
        throw new Error(`shard ${shard} is held by both ${other.name} and ${r.name}`);
      holders.set(shard, r);
    }
  }
  return new Map([...holders.entries()].map(([s, r]) => [s, r.name]));
}

/** Every shard held, each replica holding floor or ceil of its share (balance.ts). */
function isBalanced(holders: ReadonlyMap<number, string>, replicas: readonly Replica[]): boolean {
  if (holders.size < shards) return false;
  const counts = replicas.map((r) => [...holders.values()].filter((h) => h === r.name).length);
  return (
    Math.min(...counts) === Math.floor(shards / replicas.length) &&
    Math.max(...counts) === Math.ceil(shards / replicas.length)
  );
}

async function balanced(replicas: readonly Replica[]): Promise<Map<number, string> | undefined> {
  const holders = await ownership(replicas);
  return isBalanced(holders, replicas) ? holders : undefined;
}

const describeHolders = (holders: ReadonlyMap<number, string>) =>
  [...holders.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([s, h]) => `${s}→${h}`)
    .join(' ');

async function start(name: string): Promise<Replica> {
  // Shares the machine with the rest of the suite: start-up may take longer than the default minute.
  return { name, operator: await startOperator(args, { POD_NAME: name }, { startTimeoutMs: 180_000 }) };
}

/** `rollout assessed` log lines of every replica (a killed one's included), as namespace/name@revision. */
function assessedLines(replicas: readonly Replica[]): { key: string; by: string; at: number }[] {
  return replicas.flatMap((r) =>
    r.operator
      .logs()
      .filter((l) => l.includes('"msg":"rollout assessed"'))
      .map((l) => {
        const e = JSON.parse(l) as { namespace: string; deployment: string; revision: number; time: string };
        return { key: `${e.namespace}/${e.deployment}@${e.revision}`, by: r.name, at: Date.parse(e.time) };
      }),
  );
}

/**
 * A new image for `app-<j>` (j in `which`) of every namespace given, the way a delivery pipeline (or `kubectl
 * set image`) changes it: a strategic merge patch, straight to the API server, 8 at a time, so that the
 * rollouts land as a burst within the second or two a shard takes to move, and queue up at their replicas (a
 * kubectl process takes seconds to start on a loaded machine). Returns when each landed, by namespace/name.
 */
async function rollOut(
  api: AppsV1Api,
  chosen: readonly string[],
  version: number,
  which: readonly number[],
): Promise<Map<string, number>> {
  const landed = new Map<string, number>();
  const pending = which.flatMap((j) => chosen.map((namespace) => ({ namespace, name: `app-${j}` })));
  const worker = async () => {
    for (let next = pending.shift(); next; next = pending.shift()) {
      const { namespace, name } = next;
      await api.patchNamespacedDeployment(
        {
          namespace,
          name,
          body: {
            spec: {
              template: {
                metadata: { annotations: { 'rollguard.io/lines-added': String(10 + version) } },
                spec: { containers: [{ name: 'app', image: `registry.example/${name}:1.${version}.0` }] },
              },
            },
          },
        },
        setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
      );
      landed.set(`${namespace}/${name}`, Date.now());
    }
  };
  await Promise.all(Array.from({ length: 8 }, worker));
  return landed;
}

/** Deployments `app-<j>` (j in `which`) of every namespace given, at image 1.<version>.0: one `kubectl apply`. */
function deploymentsList(chosen: readonly string[], version: number, which: readonly number[] = apps): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'List',
    items: chosen.flatMap((namespace) =>
      which.map(
        (j) =>
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
    ),
  });
}

interface Move {
  shard: number;
  from: string;
  to: string;
  at: number;
  /** How long the shard was held by nobody before `to` showed it. */
  unheldMs: number;
}

/**
 * Reads ownership from every replica's /metrics every `intervalMs` until stopped, as an operator's dashboard
 * would: fails (at stop) on a shard held twice, and records every change of holder and the longest stretch
 * each shard was held by nobody (to the resolution of one poll).
 */
function watchOwnership(replicas: readonly Replica[], intervalMs = 100) {
  const state = { running: true, failure: undefined as Error | undefined, polls: 0, longestPollMs: 0 };
  let holders: ReadonlyMap<number, string> = new Map();
  const lastHolder = new Map<number, string>();
  const unheldSince = new Map<number, number>();
  const longestUnheldMs = Array.from({ length: shards }, () => 0);
  const moves: Move[] = [];
  const poll = async () => {
    holders = await ownership(replicas);
    const at = Date.now();
    state.polls++;
    for (let shard = 0; shard < shards; shard++) {
      const holder = holders.get(shard);
      if (holder === undefined) {
        if (!unheldSince.has(shard)) unheldSince.set(shard, at);
        continue;
      }
      const since = unheldSince.get(shard);
      const unheldMs = since === undefined ? 0 : at - since;
      unheldSince.delete(shard);
      longestUnheldMs[shard] = Math.max(longestUnheldMs[shard] ?? 0, unheldMs);
      const before = lastHolder.get(shard);
      if (state.polls > 1 && (before !== holder || unheldMs > 0))
        moves.push({ shard, from: before ?? 'nobody', to: holder, at, unheldMs });
      lastHolder.set(shard, holder);
    }
  };
  const loop = (async () => {
    while (state.running) {
      const started = Date.now();
      try {
        await poll();
        state.longestPollMs = Math.max(state.longestPollMs, Date.now() - started);
      } catch (err) {
        state.failure = err instanceof Error ? err : new Error('reading ownership failed', { cause: err });
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, intervalMs - (Date.now() - started))));
    }
  })();
  return {
    moves,
    /** The holders as of the last poll. */
    holders: () => holders,
    failed: () => state.failure !== undefined,
    async stop(): Promise<{ longestUnheldMs: number[]; polls: number; longestPollMs: number }> {
      state.running = false;
      await loop;
      if (state.failure) throw state.failure;
      const end = Date.now();
      for (const [shard, since] of unheldSince)
        longestUnheldMs[shard] = Math.max(longestUnheldMs[shard] ?? 0, end - since);
      return { longestUnheldMs, polls: state.polls, longestPollMs: state.longestPollMs };
    },
  };
}

/**
 * Per shard, when each replica acted on it, from its own `shard taken` and `shard given up` lines (one clock:
 * all run on this machine). A replica still holding a shard holds it until `endOf(replica)`.
 */
function heldIntervals(
  replicas: readonly Replica[],
  endOf: (r: Replica) => number,
): Map<number, { by: string; from: number; to: number }[]> {
  const byShard = new Map<number, { by: string; from: number; to: number }[]>();
  for (const r of replicas) {
    const open = new Map<number, number>();
    for (const line of r.operator.logs()) {
      if (!line.includes('"msg":"shard taken"') && !line.includes('"msg":"shard given up"')) continue;
      const e = JSON.parse(line) as { msg: string; shard: number; time: string };
      const at = Date.parse(e.time);
      if (e.msg === 'shard taken') open.set(e.shard, at);
      else {
        const from = open.get(e.shard);
        if (from === undefined) continue;
        open.delete(e.shard);
        byShard.set(e.shard, [...(byShard.get(e.shard) ?? []), { by: r.name, from, to: at }]);
      }
    }
    for (const [shard, from] of open)
      byShard.set(shard, [...(byShard.get(shard) ?? []), { by: r.name, from, to: endOf(r) }]);
  }
  for (const list of byShard.values()) list.sort((a, b) => a.from - b.from);
  return byShard;
}

/** No shard acted on by two replicas at once, by their own logs; returns the longest gap per shard after `since`. */
function expectOneActorAtATime(replicas: readonly Replica[], endOf: (r: Replica) => number, since: number): number[] {
  const overlaps: string[] = [];
  const longestGapMs = Array.from({ length: shards }, () => 0);
  for (const [shard, list] of heldIntervals(replicas, endOf)) {
    for (let i = 1; i < list.length; i++) {
      const prev = list[i - 1];
      const next = list[i];
      if (!prev || !next) continue;
      if (next.from < prev.to)
        overlaps.push(`shard ${shard}: ${next.by} took it ${prev.to - next.from} ms before ${prev.by} let go`);
      else if (next.from >= since) longestGapMs[shard] = Math.max(longestGapMs[shard] ?? 0, next.from - prev.to);
    }
  }
  expect(overlaps).toEqual([]);
  return longestGapMs;
}

/** The assessments in the namespaces: one kubectl for all (one per namespace, every 2 s, loaded the machine). */
async function assessmentsIn(chosen: readonly string[]): Promise<AssessmentView[]> {
  const all = await kubectlJson<{ items: AssessmentView[] }>(['get', 'rolloutassessments', '--all-namespaces']);
  return all.items.filter((a) => chosen.includes((a.metadata as { namespace?: string }).namespace ?? ''));
}

/** Waits until every Deployment of the namespaces has a scored assessment of `revision`; returns all of them. */
async function allAssessed(chosen: readonly string[], revision: number): Promise<AssessmentView[]> {
  return waitFor(
    `${chosen.length * perNamespace} Deployments assessed at revision ${revision}`,
    async () => {
      const all = await assessmentsIn(chosen);
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
      list(
        [leaseNs, rollbackNs, ...namespaces].map((name) => ({
          apiVersion: 'v1',
          kind: 'Namespace',
          metadata: { name },
        })),
      ),
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
    for (const ns of [...namespaces, rollbackNs, leaseNs]) await deleteNamespace(ns);
    const lines = timeline
      .sort((a, b) => a.at - b.at)
      .map(({ at, what }) => `${((at - t0) / 1000).toFixed(1).padStart(6)} s  ${what}`);
    console.log(`sharding timeline:\n${lines.join('\n')}`);
  }, 300_000);

  it('three replicas spread six shards, assess each of 64 Deployments once, and stay small', async () => {
    mark(`starting 3 replicas (${shards} shards, ${leaseSeconds} s leases)`);
    // One after the other: three start-ups at once on a busy machine outlast the harness's patience.
    for (const name of ['shard-a', 'shard-b', 'shard-c']) replicas.push(await start(name));
    const holders = await waitFor(`${shards} shards spread over 3 replicas`, () => balanced(replicas), {
      timeoutMs: 60_000,
      intervalMs: 200,
    });
    mark(`shards spread: ${describeHolders(holders)}`);
    const before = await Promise.all(replicas.map(residentMiB));

    await kubectl(['apply', '-f', '-'], deploymentsList(namespaces, 0));
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

  it('a scale from 3 to 5 replicas rebalances while rollouts arrive, with no shard held twice or left unheld', async () => {
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(inject('kubeconfig'));
    const api = kubeConfig.makeApiClient(AppsV1Api);
    const watch = watchOwnership(replicas);
    const scaleStart = Date.now();
    mark(`scaling to 5 replicas; shards held by ${describeHolders(await ownership(replicas))}`);
    // Both at once, as `kubectl scale --replicas=5` would; each is watched from the moment it has started.
    const starts = ['shard-d', 'shard-e'].map(async (name) => {
      replicas.push(await start(name));
      mark(`${name} started`);
    });
    // Rollouts keep arriving during the handover: a new revision of half the Deployments of every namespace
    // the moment the first new replica is up (shards start moving then), of the other half the moment a shard
    // is seen changing hands. Disjoint halves, so no revision is superseded before a replica could assess it.
    const half = perNamespace / 2;
    const waves: Promise<Map<string, number>>[] = [];
    try {
      await Promise.any(starts);
      const firstUpAt = Date.now();
      waves.push(rollOut(api, namespaces, 1, apps.slice(0, half)));
      waves.push(
        waitFor(
          'a shard to change hands',
          () => Promise.resolve(watch.moves.some((m) => m.from !== m.to) || watch.failed() || undefined),
          { timeoutMs: 60_000, intervalMs: 50 },
        ).then(() => rollOut(api, namespaces, 1, apps.slice(half))),
      );
      for (const s of await Promise.allSettled(starts)) if (s.status === 'rejected') throw s.reason;
      const allUpAt = Date.now();
      await waitFor(
        `${shards} shards spread over 5 replicas`,
        () => Promise.resolve(isBalanced(watch.holders(), replicas) || watch.failed() || undefined),
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      if (watch.failed()) await watch.stop(); // throws what went wrong
      const balancedAt = Date.now();
      mark(
        `shards spread: ${describeHolders(watch.holders())}, ${((balancedAt - firstUpAt) / 1000).toFixed(1)} s after the first new replica was up, ${((balancedAt - allUpAt) / 1000).toFixed(1)} s after the second`,
      );
      const landed = await Promise.all(waves);
      for (const [i, times] of landed.entries()) {
        const at = [...times.values()];
        mark(
          `wave ${i + 1}: revision 2 of ${at.length} Deployments landed from here to ${((Math.max(...at) - t0) / 1000).toFixed(1)} s`,
          Math.min(...at),
        );
      }

      const assessments = await allAssessed(namespaces, 2);
      mark('every Deployment assessed at revision 2');
      const { longestUnheldMs, polls, longestPollMs } = await watch.stop();
      for (const m of watch.moves)
        mark(
          `shard ${m.shard}: ${m.from === m.to ? `${m.to} let go and took it back` : `${m.from} → ${m.to}`}, unheld ${m.unheldMs} ms`,
          m.at,
        );
      const loggedGapMs = expectOneActorAtATime(replicas, () => Date.now(), scaleStart);
      // Rollouts whose shard changed hands between their arrival and their assessment: the handover's hard case.
      const handedOverAt = new Map(
        [...heldIntervals(replicas, () => Date.now())].map(([shard, list]) => [
          shard,
          list.flatMap((held, i) => (list[i + 1] !== undefined && list[i + 1]?.by !== held.by ? [held.to] : [])),
        ]),
      );
      const assessedAt = new Map(assessedLines(replicas).map((l) => [l.key, l.at]));
      const acrossAMove = landed
        .flatMap((times) => [...times.entries()])
        .filter(([key, at]) => {
          const done = assessedAt.get(`${key}@2`) ?? Infinity;
          const shard = shardOf(key.split('/')[0] ?? '', shards);
          return (handedOverAt.get(shard) ?? []).some((moved) => moved > at && moved < done);
        }).length;
      mark(
        `longest unheld per shard, ${polls} polls of /metrics (the slowest ${longestPollMs} ms): ${longestUnheldMs.join('/')} ms; the replicas' logs: ${loggedGapMs.join('/')} ms (lease ${leaseSeconds * 1000} ms); ${acrossAMove} rollouts arrived before their shard moved and were assessed after`,
      );
      // The gap is held to the lease by the replicas' own logs, timed to the millisecond. What /metrics showed is
      // printed beside it but is no measure: a poll of five replicas takes up to a couple of seconds when one is
      // busy, and a new replica already holds shards before it answers the test's readiness check, so the poll
      // can see a shard as unheld while its new holder acts on it.
      expect(Math.max(...loggedGapMs)).toBeLessThan(leaseSeconds * 1000);
      // Once spread, it stays so (a replica that let go under load took the shard back; nothing flapped), and
      // every revision of the scale-up was assessed once, by one replica.
      expect(watch.moves.filter((m) => m.at > balancedAt && m.from !== m.to)).toEqual([]);
      expectOncePerRevision(assessments, replicas);
    } finally {
      await Promise.allSettled([...starts, ...waves]);
      await watch.stop().catch(() => undefined);
    }
  }, 400_000);

  it('a SIGKILLed replica’s shards move within the lease duration; nothing is assessed twice', async () => {
    const holders = await waitFor('every shard held', () => balanced(replicas), { timeoutMs: 30_000 });
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
    await kubectl(['apply', '-f', '-'], deploymentsList(orphaned, 2));
    mark(`applied revision 3 of ${orphaned.length * perNamespace} Deployments in the dead replica's namespaces`);

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

    const assessments = await allAssessed(orphaned, 3);
    mark('every revision 3 in the moved namespaces assessed');
    expectOncePerRevision(assessments, replicas);
    expectOneActorAtATime(replicas, (r) => (r === victim ? killedAt : Date.now()), killedAt);
  }, 300_000);

  it('a failing rollout whose replica is SIGKILLed mid-verification is rolled back once, by the next holder', async () => {
    const fast = fastVerificationPolicy({
      selector: { matchLabels: { 'rollguard.io/enabled': 'true' } },
      prometheusAddress: inject('prometheusUrl'),
      window: '30s',
    });
    // Four failed intervals to roll back: 6 s after the first for the test to see it (kubectl, on a loaded
    // machine) and kill the replica before it could roll back itself.
    await applyPolicy(rollbackNs, 'verify', { ...fast, verification: { ...fast.verification, failureLimit: 4 } });
    // Exact traffic from the simulator: 0 % errors, then 30 %.
    const release = (errorRate: string, image: string) =>
      applyDeployment({
        namespace: rollbackNs,
        name: 'pay',
        image,
        annotations: {
          'sim.rollguard.io/exact': 'true',
          'sim.rollguard.io/error-rate': errorRate,
          'sim.rollguard.io/latency-ms': '20',
          'rollguard.io/change-type': 'feature',
          'rollguard.io/lines-added': '20',
          'rollguard.io/test-coverage': '90',
        },
      });
    await release('0.0', 'registry.example/pay:1.0.0');
    await assessmentOutcome(rollbackNs, 'pay', 1, 'succeeded');
    await release('0.3', 'registry.example/pay:1.1.0');
    mark(`${rollbackNs}/pay: revision 2 (30 % errors) applied`);
    await waitFor(
      'a failed interval of revision 2 on record',
      async () =>
        ((await assessmentOf(rollbackNs, 'pay', 2))?.status?.verification?.consecutiveFailures ?? 0) >= 1 || undefined,
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    // The replica acting on the namespace dies between the first failed interval and the limit of four.
    const live = replicas.filter((r) => !r.operator.exited());
    const shard = shardOf(rollbackNs, shards);
    const holder = (await ownership(live)).get(shard);
    const victim = live.find((r) => r.name === holder);
    if (!victim) throw new Error(`shard ${shard} of ${rollbackNs} is held by nobody`);
    const killedAt = Date.now();
    await victim.operator.kill();
    mark(`SIGKILL ${victim.name} after pay-2's first failed interval (it held shard ${shard})`);

    const ra = await assessmentOutcome(rollbackNs, 'pay', 2, 'rolled-back');
    mark(`pay-2 rolled back ${((Date.now() - killedAt) / 1000).toFixed(1)} s after the kill`);
    expect(ra.status?.actions?.filter((a) => a.type === 'rolled-back')).toHaveLength(1);
    await kubectl(['-n', rollbackNs, 'rollout', 'status', 'deployment/pay', '--timeout=60s']);
    // Two more verification intervals: a second holder, or a stale one, would roll back again by now.
    await new Promise((resolve) => setTimeout(resolve, 4000));
    const d = await getDeployment(rollbackNs, 'pay');
    expect(d.metadata.annotations?.['deployment.kubernetes.io/revision']).toBe('3');
    expect(d.spec.template.metadata?.annotations?.['sim.rollguard.io/error-rate']).toBe('0.0');
    expect((await eventsOf(rollbackNs, 'pay')).filter((e) => e.reason === 'RolledBack')).toHaveLength(1);
    // By the replicas' own logs: one rollback, and not by the replica that died.
    const rolledBackBy = replicas.flatMap((r) =>
      r.operator
        .logs()
        .filter((l) => l.includes('"msg":"rolled back"') && l.includes(`"namespace":"${rollbackNs}"`))
        .map(() => r.name),
    );
    mark(`rolled back by ${rolledBackBy.join(', ')}`);
    expect(rolledBackBy).toHaveLength(1);
    expect(rolledBackBy[0]).not.toBe(victim.name);
  }, 400_000);
});
