// Which shards a replica takes or hands over, from what the Leases show. Each row is a moment in a
// cluster's life: replicas starting together, one joining, one dying, shards left free.
import { describe, expect, it } from 'vitest';
import { planShards, type ShardView } from './balance.js';
import { shardOf } from './hash.js';

const view = (me: string, members: string[], holders: (string | undefined)[]): ShardView => ({
  shards: holders.length,
  me,
  members,
  holders,
});
const u = undefined;

describe('planShards', () => {
  it.each<[string, ShardView, number, { to: string } | undefined]>([
    ['alone, all free: takes all 6', view('a', ['a'], [u, u, u, u, u, u]), 6, undefined],
    ['three starting, all free: takes its share of 2', view('a', ['a', 'b', 'c'], [u, u, u, u, u, u]), 2, undefined],
    [
      'three, holds 2 already: takes nothing more',
      view('a', ['a', 'b', 'c'], ['a', 'a', u, u, 'b', 'b']),
      0,
      undefined,
    ],
    [
      'two left of three, dead one’s shards free: takes up to 3',
      view('a', ['a', 'b'], ['a', 'a', u, u, 'b', 'b']),
      1,
      undefined,
    ],
    ['one shard, two replicas, the other holds it: nothing', view('a', ['a', 'b'], ['b']), 0, undefined],
    ['one shard, two replicas, free: takes it', view('a', ['a', 'b'], [u]), 1, undefined],
    [
      '5 replicas, holds 2, a newcomer has 0: hands one over',
      view('a', ['a', 'b', 'c', 'd', 'e'], ['a', 'a', 'b', 'b', 'c', 'c']),
      0,
      { to: 'd' },
    ],
    [
      '5 replicas, holds 2, everyone has at least 1: keeps both',
      view('a', ['a', 'b', 'c', 'd', 'e'], ['a', 'a', 'b', 'd', 'c', 'e']),
      0,
      undefined,
    ],
    [
      'holds 3 of 4 with two replicas, other has 1: hands one over',
      view('a', ['a', 'b'], ['a', 'a', 'a', 'b']),
      0,
      { to: 'b' },
    ],
    ['holds 2 of 4 with two replicas: balanced', view('a', ['a', 'b'], ['a', 'a', 'b', 'b']), 0, undefined],
    [
      'newcomer with 0 never takes a held shard',
      view('d', ['a', 'b', 'c', 'd'], ['a', 'a', 'b', 'b', 'c', 'c']),
      0,
      undefined,
    ],
    ['a holder that is not a live member still counts as holding', view('a', ['a'], ['x', 'x', u, u]), 2, undefined],
    [
      // Just after a SIGKILL (or during a graceful stop) a replica's membership Lease can outlive its shard
      // Leases by a round: it looks live, holds nothing, and never takes its share. A shard handed to it would
      // sit unheld for a whole lease duration after the handover.
      'a member holding nothing while a shard lies free (it may be dead): no handover to it',
      view('a', ['a', 'b', 'c', 'd'], ['a', 'a', 'b', 'b', 'c', u]),
      0,
      undefined,
    ],
    [
      'while someone is below floor, take only up to floor',
      view('a', ['a', 'b', 'c'], [u, u, u, u, u, 'b', 'b']),
      2,
      undefined,
    ],
  ])('%s', (_what, v, acquired, handover) => {
    const plan = planShards(v);
    expect(plan.acquire).toHaveLength(acquired);
    for (const shard of plan.acquire) expect(v.holders[shard]).toBeUndefined();
    if (handover === undefined) expect(plan.handover).toBeUndefined();
    else {
      expect(plan.handover?.to).toBe(handover.to);
      expect(v.holders[plan.handover?.shard ?? -1]).toBe(v.me);
    }
  });

  it('spreads replicas that start together over different shards', () => {
    const members = ['rollguard-0_aa', 'rollguard-1_bb', 'rollguard-2_cc'];
    const first = members.map((me) => planShards(view(me, members, Array<string | undefined>(12).fill(u))).acquire);
    const distinct = new Set(first.flat());
    expect(distinct.size).toBeGreaterThan(4);
  });

  it('converges to a balanced spread when every replica plays its plan in turn', () => {
    for (const [shards, replicas] of [
      [6, 3],
      [6, 5],
      [7, 3],
      [1, 3],
      [16, 5],
    ] as const) {
      const members = Array.from({ length: replicas }, (_, i) => `r${i}`);
      const holders: (string | undefined)[] = Array<string | undefined>(shards).fill(u);
      for (let round = 0; round < 20; round++) {
        for (const me of members) {
          const plan = planShards({ shards, me, members, holders });
          for (const s of plan.acquire) holders[s] = me;
          if (plan.handover) holders[plan.handover.shard] = plan.handover.to;
        }
      }
      const counts = members.map((m) => holders.filter((h) => h === m).length);
      expect(holders.every((h) => h !== undefined)).toBe(true);
      expect(Math.max(...counts) - Math.min(...counts)).toBeLessThanOrEqual(1);
    }
  });
});

describe('shardOf', () => {
  it('is stable, in range, and one shard is always 0', () => {
    expect(shardOf('payments', 8)).toBe(shardOf('payments', 8));
    expect(shardOf('payments', 1)).toBe(0);
    for (const ns of ['a', 'team-a', 'team-b', 'kube-system', 'ünïcode']) {
      const s = shardOf(ns, 7);
      expect(s).toBeGreaterThanOrEqual(0);
      expect(s).toBeLessThan(7);
    }
  });

  it('spreads 500 namespaces over 6 shards within 25 % of even', () => {
    const counts = Array<number>(6).fill(0);
    for (let i = 0; i < 500; i++) {
      const s = shardOf(`scale-${String(i).padStart(3, '0')}`, 6);
      counts[s] = (counts[s] ?? 0) + 1;
    }
    expect(Math.min(...counts)).toBeGreaterThan((500 / 6) * 0.75);
    expect(Math.max(...counts)).toBeLessThan((500 / 6) * 1.25);
  });

  it.each([0, -1, 1.5, NaN])('refuses %s shards', (n) => {
    expect(() => shardOf('a', n)).toThrow(/at least 1/);
  });
});
