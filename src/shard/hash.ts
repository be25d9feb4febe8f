// Which shard a namespace belongs to. FNV-1a (32 bit) over the name's UTF-8 bytes: stable across processes,
// versions and machines (every replica must agree), cheap, and spreads similar names (team-a, team-b) well.
export function shardOf(namespace: string, shards: number): number {
  if (!Number.isInteger(shards) || shards < 1)
    throw new Error(`the number of shards must be at least 1, not ${shards}`);
  if (shards === 1) return 0;
  return stableHash(namespace) % shards;
}

/** FNV-1a (32 bit) of the text's UTF-8 bytes: the same number in every process, for spreading keys evenly. */
export function stableHash(text: string): number {
  let hash = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(text)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** The Lease name of a shard. */
export function shardLeaseName(group: string, shard: number): string {
  return `${group}-shard-${shard}`;
}

/** The Lease name of a replica's membership (its heartbeat, so others know how many replicas share the work). */
export function memberLeaseName(group: string, identity: string): string {
  return `${group}-member-${identity}`
    .toLowerCase()
    .replace(/[^a-z0-9.-]/g, '-')
    .slice(0, 253);
}
