// Three coordinators sharing an in-memory Lease store with compare-and-swap, on real timers with short
// timings: they spread the shards, never hold one twice at once, take over a replica that goes silent within
// the lease duration, and rebalance when a replica joins. The Kubernetes side is the integration test's
// (test/integration/sharding.test.ts); this one checks the protocol itself quickly and repeatably.
import type { V1Lease } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { ShardCoordinator, type ShardLeaseStore } from './coordinator.js';

class MemoryStore {
  private rv = 0;
  readonly leases = new Map<string, V1Lease>();
  private copy(l: V1Lease): V1Lease {
    return structuredClone(l);
  }
  /**
   * A view for one replica, each call answered after `latencyMs` (a busy API server); `hang()` makes its calls
   * never answer (a dead or cut-off replica). Every call honours its deadline as the real client does.
   */
  client(latencyMs = 2): ShardLeaseStore & { hang: () => void; slow: (ms: number) => void } {
    let hung = false;
    const gate = <T>(f: () => T, signal: AbortSignal): Promise<T> =>
      new Promise<T>((resolve, reject) => {
        const timer = hung
          ? undefined
          : setTimeout(() => {
              try {
                resolve(f());
              } catch (err) {
                reject(err instanceof Error ? err : new Error(String(err)));
              }
            }, latencyMs);
        signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(new Error('aborted'));
        });
      });
    const conflict = () => Object.assign(new Error('conflict'), { code: 409 });
    return {
      hang: () => {
        hung = true;
      },
      slow: (ms) => {
        latencyMs = ms;
      },
      list: (signal) => gate(() => [...this.leases.values()].map((l) => this.copy(l)), signal),
      create: (lease, signal) =>
        gate(() => {
          const name = lease.metadata?.name ?? '';
          if (this.leases.has(name)) throw conflict();
          const stored = { ...this.copy(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
          this.leases.set(name, stored);
          return this.copy(stored);
        }, signal),
      replace: (lease, signal) =>
        gate(() => {
          const name = lease.metadata?.name ?? '';
          const current = this.leases.get(name);
          if (!current || current.metadata?.resourceVersion !== lease.metadata?.resourceVersion) throw conflict();
          const stored = { ...this.copy(lease), metadata: { ...lease.metadata, resourceVersion: String(++this.rv) } };
          this.leases.set(name, stored);
          return this.copy(stored);
        }, signal),
      delete: (name, signal) =>
        gate(() => {
          this.leases.delete(name);
        }, signal),
    };
  }
}

const timings = { leaseDurationMs: 900, renewDeadlineMs: 600, retryPeriodMs: 100, attemptTimeoutMs: 300 };
const shards = 6;
const running: ShardCoordinator[] = [];
afterEach(async () => {
  for (const c of running.splice(0)) await c.stop();
});

function start(store: MemoryStore, name: string, latencyMs?: number, options: Partial<typeof timings> = timings) {
  const client = store.client(latencyMs);
  const c = new ShardCoordinator(
    client,
    { namespace: 'ns', group: 'rg', shards, identity: name, ...options },
    pino({ level: 'silent' }),
  );
  const events: string[] = [];
  c.run({
    onAcquired: (s) => events.push(`+${s}`),
    onLost: (s) => events.push(`-${s}`),
  });
  running.push(c);
  return { c, client, events, name };
}

/** Samples ownership every 10 ms until `done` holds; fails on any shard owned twice at once. */
async function watch(all: { c: ShardCoordinator; name: string }[], done: () => boolean, timeoutMs = 8000) {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    const seen = new Map<number, string>();
    for (const { c, name } of all) {
      for (const s of c.ownedShards()) {
        const other = seen.get(s);
        if (other !== undefined) throw new Error(`shard ${s} owned by ${other} and ${name} at once`);
        seen.set(s, name);
      }
    }
    if (Date.now() > deadline)
      throw new Error(
        `timed out; shards held: ${all.map(({ c, name }) => `${name} [${c.ownedShards().join(',')}]`).join(' ')}`,
      );
    await new Promise((r) => setTimeout(r, 10));
  }
}

const counts = (all: { c: ShardCoordinator }[]) => all.map(({ c }) => c.ownedShards().length);
const covered = (all: { c: ShardCoordinator }[]) => new Set(all.flatMap(({ c }) => c.ownedShards())).size === shards;

describe('ShardCoordinator', () => {
  it('spreads shards, takes over a silent replica within the lease duration, and rebalances on a join', async () => {
    const store = new MemoryStore();
    const replicas = [start(store, 'a'), start(store, 'b'), start(store, 'c')];
    await watch(replicas, () => covered(replicas) && counts(replicas).every((n) => n === 2));

    // c goes silent: its watchdog drops its shards within the renew deadline, the others take them after the
    // lease duration, never overlapping.
    const victim = replicas[2];
    if (!victim) throw new Error('no replica c');
    const lost = victim.c.ownedShards();
    const silentAt = Date.now();
    victim.client.hang();
    const survivors = replicas.slice(0, 2);
    await watch(replicas, () => covered(survivors));
    const tookMs = Date.now() - silentAt;
    expect(victim.c.ownedShards()).toEqual([]);
    // Each shard it held ended with a loss.
    for (const shard of lost) expect(victim.events.filter((e) => e.endsWith(`${shard}`)).at(-1)).toBe(`-${shard}`);
    expect(tookMs).toBeLessThan(timings.leaseDurationMs + 4 * timings.retryPeriodMs + 1000);
    expect(counts(survivors).sort()).toEqual([3, 3]);

    // Two join: 6 shards over 4 replicas → 2, 2, 1, 1, by direct handovers.
    const joined = [start(store, 'd'), start(store, 'e')];
    const live = [...survivors, ...joined];
    await watch(
      [...live, victim],
      () => covered(live) && Math.min(...counts(live)) >= 1 && Math.max(...counts(live)) <= 2,
    );
    expect(joined.every((j) => j.events.some((e) => e.startsWith('+')))).toBe(true);
  }, 20_000);

  it('releases its shards and membership on stop, so the others take them at once', async () => {
    const store = new MemoryStore();
    const a = start(store, 'a');
    const b = start(store, 'b');
    await watch([a, b], () => covered([a, b]) && counts([a, b]).every((n) => n === 3));
    const stoppedAt = Date.now();
    await a.c.stop();
    await watch([a, b], () => b.c.ownedShards().length === shards);
    // Released Leases last 1 s; the membership is gone at once, so b's share rises to all six.
    expect(Date.now() - stoppedAt).toBeLessThan(1000 + 4 * timings.retryPeriodMs + 300);
    expect([...store.leases.keys()].some((k) => k.includes('member-a'))).toBe(false);
  }, 20_000);

  it('removes its membership before it releases a shard on stop', async () => {
    const store = new MemoryStore();
    const a = start(store, 'a');
    await watch([a], () => a.c.ownedShards().length === shards);
    // What the store holds at the moment of each release: the membership must already be gone.
    const membershipAtRelease: boolean[] = [];
    const replace = a.client.replace.bind(a.client);
    a.client.replace = (lease, signal) => {
      membershipAtRelease.push([...store.leases.keys()].some((k) => k.includes('member-a')));
      return replace(lease, signal);
    };
    await a.c.stop();
    expect(membershipAtRelease).toEqual(Array.from({ length: shards }, () => false));
  }, 20_000);

  it('keeps its shards while every call takes over half a round deadline: renewals do not wait for the list', async () => {
    const store = new MemoryStore();
    const a = start(store, 'a');
    await watch([a], () => a.c.ownedShards().length === shards);
    // A list and then a write take 400 ms, past the round's 300 ms deadline; a write alone takes 200 ms.
    a.client.slow(200);
    const until = Date.now() + 3000;
    while (Date.now() < until) {
      expect(a.c.ownedShards()).toHaveLength(shards);
      await new Promise((r) => setTimeout(r, 10));
    }
    expect(a.events.filter((e) => e.startsWith('-'))).toEqual([]);
  }, 20_000);

  it('keeps a shard whose renewal was applied after its caller gave up: the next round renews from the list', async () => {
    const store = new MemoryStore();
    const a = start(store, 'a');
    await watch([a], () => a.c.ownedShards().length === shards);
    // One renewal lands on the server but its answer is lost (a deadline hit on the way back): the copy this
    // replica keeps is one version behind, and its next renewal from it conflicts.
    const replace = a.client.replace.bind(a.client);
    let lost = 0;
    a.client.replace = async (lease, signal) => {
      const written = await replace(lease, signal);
      if (lost === 0 && written.metadata?.name === 'rg-shard-0') {
        lost++;
        throw new Error('the request deadline passed');
      }
      return written;
    };
    const until = Date.now() + 1500;
    while (Date.now() < until) await new Promise((r) => setTimeout(r, 10));
    expect(lost).toBe(1);
    expect(a.c.ownedShards()).toHaveLength(shards);
    expect(a.events.filter((e) => e.startsWith('-'))).toEqual([]);
  }, 20_000);

  it('balances on a slow API server: a replica that joins last is handed its share', async () => {
    // The CLI's proportions (renew deadline 2/3 of the lease, a round's deadline half of that) and calls that
    // take a quarter of a round's deadline, as on a busy control plane. Six shards, three replicas joining
    // one after the other: the last one must not be left with nothing.
    const slow = { leaseDurationMs: 1500, renewDeadlineMs: 1000, retryPeriodMs: 200, attemptTimeoutMs: 500 };
    const latencyMs = 120;
    const store = new MemoryStore();
    const a = start(store, 'a', latencyMs, slow);
    await watch([a], () => a.c.ownedShards().length === shards, 15_000);
    const b = start(store, 'b', latencyMs, slow);
    await watch([a, b], () => counts([a, b]).every((n) => n === 3), 15_000);
    const c = start(store, 'c', latencyMs, slow);
    const all = [a, b, c];
    await watch(all, () => covered(all) && counts(all).every((n) => n === 2), 15_000);
  }, 60_000);
});
