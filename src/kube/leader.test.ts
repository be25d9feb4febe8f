// Whether this replica may take the leader Lease, judged as client-go does: by when *we* last saw the record
// change, never by the renewTime another node wrote with its own clock.
import { V1MicroTime, type V1Lease, type V1LeaseSpec } from '@kubernetes/client-node';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { canAcquire, electionTimings, LeaderElector, type LeaderElectionOptions, type LeaseStore } from './leader.js';

const me = 'rollguard-7d9f_a1b2c3d4';
const other = 'rollguard-5c8e_e5f6a7b8';
const nowMs = Date.parse('2025-06-02T12:00:00Z');
const defaultDurationMs = 15_000;

function lease(spec: V1LeaseSpec | null): V1Lease {
  return {
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name: 'rollguard-leader', namespace: 'rollguard-system', resourceVersion: '812' },
    ...(spec === null ? {} : { spec }),
  };
}

const heldBy = (holderIdentity: string, extra: V1LeaseSpec = {}) =>
  lease({ holderIdentity, leaseDurationSeconds: 15, renewTime: new V1MicroTime(nowMs - 1000), ...extra });

describe('canAcquire', () => {
  it.each<[string, V1Lease | undefined, number | undefined, boolean]>([
    ['no Lease yet', undefined, undefined, true],
    ['a Lease without spec', lease(null), nowMs, true],
    ['a Lease without holder', lease({ leaseDurationSeconds: 15 }), nowMs, true],
    ['a Lease released (empty holder)', heldBy(''), nowMs, true],
    ['held by me, just renewed', heldBy(me), nowMs, true],
    ['held by me, never observed', heldBy(me), undefined, true],
    ['held by another, never observed', heldBy(other), undefined, false],
    ['held by another, seen change 1 s ago', heldBy(other), nowMs - 1000, false],
    ['held by another, seen change 14.999 s ago', heldBy(other), nowMs - 14_999, false],
    ['held by another, seen change exactly 15 s ago (expired)', heldBy(other), nowMs - 15_000, true],
    ['held by another, seen change 40 s ago', heldBy(other), nowMs - 40_000, true],
  ])('%s → %s', (_what, l, observedAtMs, expected) => {
    expect(canAcquire(l, me, observedAtMs, nowMs, defaultDurationMs)).toBe(expected);
  });

  it.each<[string, number, number, boolean]>([
    // The other node's clock runs an hour behind: its renewTime looks long expired, but we saw it change just now.
    ['renewTime an hour old by our clock, record changed 2 s ago', -3_600_000, nowMs - 2000, false],
    // The other node's clock runs ahead: its renewTime is in our future, but it stopped renewing 20 s ago.
    ['renewTime in our future, record unchanged for 20 s', 60_000, nowMs - 20_000, true],
  ])(
    'judges expiry by our observation, not the object (clock skew): %s → %s',
    (_what, renewOffsetMs, observedAtMs, expected) => {
      const l = heldBy(other, { renewTime: new V1MicroTime(nowMs + renewOffsetMs) });
      expect(canAcquire(l, me, observedAtMs, nowMs, defaultDurationMs)).toBe(expected);
    },
  );

  it.each<[string, number | undefined, number, boolean]>([
    ['the Lease’s 60 s, not our 15 s: 20 s since the change is too soon', 60, nowMs - 20_000, false],
    ['the Lease’s 60 s: 60 s since the change is enough', 60, nowMs - 60_000, true],
    ['the Lease’s 5 s, shorter than ours: 6 s is enough', 5, nowMs - 6000, true],
    ['our 15 s when the Lease does not say: 10 s is too soon', undefined, nowMs - 10_000, false],
    ['our 15 s when the Lease does not say: 15 s is enough', undefined, nowMs - 15_000, true],
    ['a 1 s Lease, 1 s after the change', 1, nowMs - 1000, true],
  ])('uses leaseDurationSeconds from the object: %s', (_what, seconds, observedAtMs, expected) => {
    const l = lease({
      holderIdentity: other,
      renewTime: new V1MicroTime(nowMs),
      ...(seconds === undefined ? {} : { leaseDurationSeconds: seconds }),
    });
    expect(canAcquire(l, me, observedAtMs, nowMs, defaultDurationMs)).toBe(expected);
  });
});

// ---- The elector itself, on a fake Lease store and fake timers: what a hung API connection does. ----

/** One Lease in memory, shared by replicas, with compare-and-swap on resourceVersion like the API server. */
class FakeLeaseServer {
  lease: V1Lease | undefined;
  private version = 0;
  /** Replicas whose calls hang until their deadline aborts them. */
  readonly hanging = new Set<string>();
  /** When each call of each replica was aborted, and how long after it started. */
  readonly abortedAfterMs: number[] = [];

  storeFor(replica: string): LeaseStore {
    const call = <T>(signal: AbortSignal, body: () => T): Promise<T> => {
      if (!this.hanging.has(replica)) {
        try {
          return Promise.resolve(structuredClone(body()));
        } catch (err) {
          return Promise.reject(err instanceof Error ? err : new Error(String(err)));
        }
      }
      const started = Date.now();
      return new Promise<T>((_resolve, reject) => {
        signal.addEventListener('abort', () => {
          this.abortedAfterMs.push(Date.now() - started);
          reject(signal.reason as Error);
        });
      });
    };
    const conflict = () => Object.assign(new Error('conflict'), { code: 409 });
    return {
      read: (signal) => call(signal, () => this.lease),
      create: (lease, signal) =>
        call(signal, () => {
          if (this.lease) throw conflict();
          this.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.version) } };
          return this.lease;
        }),
      replace: (lease, signal) =>
        call(signal, () => {
          if (lease.metadata?.resourceVersion !== this.lease?.metadata?.resourceVersion) throw conflict();
          this.lease = { ...lease, metadata: { ...lease.metadata, resourceVersion: String(++this.version) } };
          return this.lease;
        }),
    };
  }
}

const quiet = pino({ level: 'silent' });
const options = { namespace: 'rollguard-system', name: 'rollguard-controller' };

function replica(server: FakeLeaseServer, identity: string) {
  const elector = new LeaderElector(server.storeFor(identity), { ...options, identity }, quiet);
  const state = { started: 0, lost: [] as string[] };
  elector.run({
    onStartedLeading: () => {
      state.started++;
    },
    onStoppedLeading: (why) => {
      state.lost.push(why);
    },
  });
  return { elector, state };
}

describe('LeaderElector with a hung API connection', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: nowMs });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('the old leader stops before the standby takes over: never two leaders, not for a millisecond', async () => {
    const server = new FakeLeaseServer();
    const a = replica(server, 'replica-a');
    await vi.advanceTimersByTimeAsync(10);
    expect(a.elector.isLeader()).toBe(true);
    const b = replica(server, 'replica-b');
    await vi.advanceTimersByTimeAsync(5_000);
    expect(b.elector.isLeader()).toBe(false);

    // A's connection hangs: its calls never answer.
    server.hanging.add('replica-a');
    const hungAt = Date.now();
    let aStoppedAt: number | undefined;
    let bLeadsAt: number | undefined;
    for (let t = 0; t < 40_000; t += 50) {
      await vi.advanceTimersByTimeAsync(50);
      expect(a.elector.isLeader() && b.elector.isLeader()).toBe(false);
      if (aStoppedAt === undefined && a.state.lost.length > 0) aStoppedAt = Date.now();
      if (bLeadsAt === undefined && b.elector.isLeader()) bLeadsAt = Date.now();
    }
    expect(a.state.lost).toEqual(['could not renew the lease within 10s']);
    expect(a.elector.isLeader()).toBe(false);
    // A gives up within the renew deadline of its last renewal (at most one retry period before the hang).
    expect(aStoppedAt).toBeDefined();
    expect((aStoppedAt ?? 0) - hungAt).toBeLessThanOrEqual(10_000);
    // B takes over, and only after A stopped.
    expect(bLeadsAt).toBeDefined();
    expect(bLeadsAt ?? 0).toBeGreaterThan(aStoppedAt ?? Infinity);
    expect(b.state.started).toBe(1);
    expect(server.lease?.spec?.holderIdentity).toBe('replica-b');
    await b.elector.stop();
  });

  it('gives up on the watchdog even while the attempt in flight never returns', async () => {
    const server = new FakeLeaseServer();
    // A deadline longer than the renew deadline is refused, so the watchdog is what must fire here:
    // an attempt that ignores its signal entirely.
    const store = server.storeFor('replica-a');
    let hang = false;
    const never = new Promise<never>(() => undefined);
    const elector = new LeaderElector(
      {
        read: (signal) => (hang ? never : store.read(signal)),
        create: (lease, signal) => (hang ? never : store.create(lease, signal)),
        replace: (lease, signal) => (hang ? never : store.replace(lease, signal)),
      },
      { ...options, identity: 'replica-a' },
      quiet,
    );
    const lost: number[] = [];
    elector.run({ onStartedLeading: () => undefined, onStoppedLeading: () => lost.push(Date.now()) });
    await vi.advanceTimersByTimeAsync(10);
    expect(elector.isLeader()).toBe(true);
    const lastRenewal = Date.now() - 10;
    hang = true;
    await vi.advanceTimersByTimeAsync(9_900);
    expect(lost).toEqual([]);
    await vi.advanceTimersByTimeAsync(200);
    expect(lost).toHaveLength(1);
    expect((lost[0] ?? 0) - lastRenewal).toBeLessThanOrEqual(10_000 + 2_000);
    expect(elector.isLeader()).toBe(false);
  });

  it('every Lease call carries a deadline shorter than the renew deadline', async () => {
    const server = new FakeLeaseServer();
    server.hanging.add('replica-a');
    const a = replica(server, 'replica-a');
    await vi.advanceTimersByTimeAsync(30_000);
    // One attempt every 5 s deadline + 2 s retry.
    expect(server.abortedAfterMs.length).toBeGreaterThanOrEqual(4);
    for (const ms of server.abortedAfterMs) expect(ms).toBeLessThan(10_000);
    expect(a.elector.isLeader()).toBe(false);
    await a.elector.stop();
  });

  it('a leader that renews keeps leading; stop() hands the Lease over at once', async () => {
    const server = new FakeLeaseServer();
    const a = replica(server, 'replica-a');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(a.elector.isLeader()).toBe(true);
    expect(a.state.lost).toEqual([]);
    await a.elector.stop();
    expect(server.lease?.spec?.holderIdentity).toBe('');
    const b = replica(server, 'replica-b');
    await vi.advanceTimersByTimeAsync(10);
    expect(b.elector.isLeader()).toBe(true);
    await b.elector.stop();
  });
});

describe('electionTimings', () => {
  it.each<[string, Partial<LeaderElectionOptions>, string | undefined]>([
    ['the defaults', {}, undefined],
    ['a renew deadline as long as the lease', { renewDeadlineMs: 15_000 }, 'renew deadline must be shorter'],
    ['an attempt as long as the renew deadline', { attemptTimeoutMs: 10_000 }, 'must time out before'],
    ['a retry period past the renew deadline', { retryPeriodMs: 12_000 }, 'retry period'],
    ['short timings that fit', { leaseDurationMs: 3000, renewDeadlineMs: 2000, retryPeriodMs: 500 }, undefined],
  ])('%s', (_what, timings, error) => {
    const check = () => electionTimings({ ...options, ...timings });
    if (error === undefined) expect(check().attemptTimeoutMs).toBeLessThan(check().renewDeadlineMs);
    else expect(check).toThrow(error);
  });
});
