// Which shards a replica should take or give away, from what the Leases show: a pure function, so every case
// (a replica joins, one dies, shards left free) is a table-driven test. The goal is balance: with N shards and
// R live replicas each holds floor(N/R) or ceil(N/R). A replica takes free shards up to its share; one that
// holds more than its share hands one shard per round *directly* to the replica with the fewest (it writes
// that replica's identity into the Lease), so the shard is never left free for anyone to race for and the
// recipient picks it up at its next renewal. The giver stops acting on the shard before it writes. Handovers
// wait while any shard is free: the free ones go first, to whoever is short.
export interface ShardView {
  shards: number;
  me: string;
  /** Live replicas (their membership Leases are being renewed), `me` included. */
  members: readonly string[];
  /** Per shard: who holds its Lease now (unexpired, as this replica observed it), or undefined when free. */
  holders: readonly (string | undefined)[];
}

export interface ShardPlan {
  /** Free shards to take now, in order of preference. */
  acquire: number[];
  /** One shard to hand over this round, and to whom. */
  handover?: { shard: number; to: string };
}

/** A per-replica order of shards (rendezvous hashing), so replicas starting together reach for different ones. */
function preference(me: string, shard: number): number {
  let hash = 0x811c9dc5;
  for (const ch of `${me}/${shard}`) {
    hash ^= ch.charCodeAt(0);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

export function planShards(view: ShardView): ShardPlan {
  const members = [...new Set([...view.members, view.me])].sort();
  const count = new Map<string, number>(members.map((m) => [m, 0]));
  for (const holder of view.holders) if (holder !== undefined) count.set(holder, (count.get(holder) ?? 0) + 1);
  const floor = Math.floor(view.shards / members.length);
  const ceil = Math.ceil(view.shards / members.length);
  const mine = view.holders.flatMap((h, shard) => (h === view.me ? [shard] : []));
  const others = members.filter((m) => m !== view.me);
  const someoneShort = others.some((m) => (count.get(m) ?? 0) < floor);

  // Take free shards up to the share; only up to floor while another live replica is below floor.
  const cap = someoneShort ? Math.max(floor, Math.min(ceil, mine.length)) : ceil;
  const free = view.holders
    .flatMap((h, shard) => (h === undefined ? [shard] : []))
    .sort((a, b) => preference(view.me, a) - preference(view.me, b));
  const acquire = free.slice(0, Math.max(0, cap - mine.length));
  if (acquire.length > 0) return { acquire };

  // Give one away when holding more than the share, or more than floor while someone is below floor; but never
  // while a shard lies free. A live replica below its share takes free shards itself, so one that holds
  // nothing while shards lie free may be dead: after a SIGKILL its membership Lease can look live a round
  // longer than its shard Leases, and a shard handed to it would sit unheld for a whole lease duration.
  if (free.length > 0) return { acquire: [] };
  const neediest = others
    .map((m) => ({ m, n: count.get(m) ?? 0 }))
    .sort((a, b) => a.n - b.n || (a.m < b.m ? -1 : 1))[0];
  const surplus = mine.length > ceil || (mine.length > floor && someoneShort);
  if (surplus && neediest !== undefined && neediest.n + 1 < mine.length) {
    const shard = Math.max(...mine);
    return { acquire: [], handover: { shard, to: neediest.m } };
  }
  return { acquire: [] };
}
