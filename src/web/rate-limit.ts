// A token bucket per caller (the authenticated user of the score API, or the client address for token checks):
// `burst` requests at once, then `ratePerSecond` on average. Pure apart from the clock, which the caller
// passes in, so it is tested without waiting. Bounded: buckets that have filled up again carry no state and
// are dropped, and beyond `maxKeys` the least recently used go first.

export interface RateLimit {
  /** Average requests per second allowed, per key. */
  ratePerSecond: number;
  /** Requests allowed at once after a quiet spell. */
  burst: number;
}

export type RateDecision = { allowed: true; remaining: number } | { allowed: false; retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly limit: RateLimit,
    private readonly maxKeys = 10_000,
  ) {
    if (!(limit.ratePerSecond > 0) || !Number.isFinite(limit.ratePerSecond)) {
      throw new RangeError(`a rate must be a positive number of requests per second, not ${limit.ratePerSecond}`);
    }
    if (!Number.isInteger(limit.burst) || limit.burst < 1) {
      throw new RangeError(`a burst must be a whole number of at least 1, not ${limit.burst}`);
    }
  }

  /** Takes one token for `key` at time `nowMs`, or says how long until one is available. */
  take(key: string, nowMs: number): RateDecision {
    const bucket = this.refilled(key, nowMs);
    // Re-insert so the map's order is least recently used first.
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      this.trim(nowMs);
      return { allowed: true, remaining: Math.floor(bucket.tokens) };
    }
    const waitSeconds = (1 - bucket.tokens) / this.limit.ratePerSecond;
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil(waitSeconds)) };
  }

  /** How many keys hold state (for tests and for bounding memory). */
  get size(): number {
    return this.buckets.size;
  }

  private refilled(key: string, nowMs: number): Bucket {
    const bucket = this.buckets.get(key);
    if (!bucket) return { tokens: this.limit.burst, updatedMs: nowMs };
    // A clock that steps back never takes tokens away.
    const elapsedSeconds = Math.max(0, nowMs - bucket.updatedMs) / 1000;
    bucket.tokens = Math.min(this.limit.burst, bucket.tokens + elapsedSeconds * this.limit.ratePerSecond);
    bucket.updatedMs = Math.max(bucket.updatedMs, nowMs);
    return bucket;
  }

  private trim(nowMs: number): void {
    if (this.buckets.size <= this.maxKeys) return;
    for (const [key, bucket] of this.buckets) {
      const full = bucket.tokens + (Math.max(0, nowMs - bucket.updatedMs) / 1000) * this.limit.ratePerSecond;
      if (full >= this.limit.burst) this.buckets.delete(key);
    }
    // Still too many busy callers: forget the least recently seen (they start again with a full bucket).
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.maxKeys) break;
      this.buckets.delete(key);
    }
  }
}
