import { describe, expect, it } from 'vitest';
import { TokenBuckets } from './rate-limit.js';

describe('TokenBuckets', () => {
  it('allows a burst, then refuses with the seconds until the next token', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 10, burst: 20 });
    for (let i = 0; i < 20; i++) expect(buckets.take('alice', 0).allowed).toBe(true);
    expect(buckets.take('alice', 0)).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('refills at the rate, never above the burst', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 10, burst: 20 });
    for (let i = 0; i < 20; i++) buckets.take('alice', 0);
    // 0.5 s later: 5 tokens.
    for (let i = 0; i < 5; i++) expect(buckets.take('alice', 500).allowed).toBe(true);
    expect(buckets.take('alice', 500).allowed).toBe(false);
    // An hour later: the bucket is full again, at 20.
    for (let i = 0; i < 20; i++) expect(buckets.take('alice', 3_600_000).allowed).toBe(true);
    expect(buckets.take('alice', 3_600_000).allowed).toBe(false);
  });

  it('keeps callers apart', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 1 });
    expect(buckets.take('alice', 0).allowed).toBe(true);
    expect(buckets.take('alice', 0).allowed).toBe(false);
    expect(buckets.take('bob', 0).allowed).toBe(true);
  });

  it('rounds the wait up to whole seconds, at least one', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 0.25, burst: 1 });
    buckets.take('slow', 0);
    expect(buckets.take('slow', 0)).toEqual({ allowed: false, retryAfterSeconds: 4 });
    expect(buckets.take('slow', 3_500)).toEqual({ allowed: false, retryAfterSeconds: 1 });
  });

  it('never takes tokens away when the clock steps back', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 2 });
    buckets.take('alice', 10_000);
    expect(buckets.take('alice', 5_000).allowed).toBe(true);
  });

  it('stays bounded, dropping full buckets first and then the least recently used', () => {
    const buckets = new TokenBuckets({ ratePerSecond: 1, burst: 2 }, 3);
    buckets.take('a', 0);
    buckets.take('b', 0);
    buckets.take('c', 0);
    buckets.take('d', 0);
    expect(buckets.size).toBe(3);
    // Much later every bucket is full again: they are all dropped but the one just used.
    buckets.take('e', 60_000);
    buckets.take('f', 60_000);
    buckets.take('g', 60_000);
    buckets.take('h', 60_000);
    expect(buckets.size).toBeLessThanOrEqual(3);
    // The most recent caller kept its state: one token left of two.
    expect(buckets.take('h', 60_000).allowed).toBe(true);
    expect(buckets.take('h', 60_000).allowed).toBe(false);
  });

  it('refuses nonsense limits', () => {
    expect(() => new TokenBuckets({ ratePerSecond: 0, burst: 1 })).toThrow(/positive/);
    expect(() => new TokenBuckets({ ratePerSecond: 1, burst: 0.5 })).toThrow(/whole number/);
  });
});
