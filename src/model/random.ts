// A small seeded pseudo-random generator, so a forest trained twice with the same seed is the same forest.
// Math.random cannot be seeded; mulberry32 is tiny, fast, and plenty for bootstrap draws and feature picks.

/** A generator of floats in [0, 1). */
export type Random = () => number;

/** mulberry32: 32 bits of state, full period 2^32, passes the statistical tests that matter for sampling. */
export function createRandom(seed: number): Random {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** An integer in [0, n). */
export function randomInt(random: Random, n: number): number {
  return Math.floor(random() * n);
}

/**
 * A well-mixed seed for the i-th stream of a seed (splitmix32's finaliser), so each tree has its own generator:
 * a tree then does not depend on how many draws the trees before it made, and trees could be grown in parallel.
 */
export function deriveSeed(seed: number, stream: number): number {
  let z = (Math.imul(seed >>> 0, 0x9e3779b9) + Math.imul(stream + 1, 0x85ebca6b)) >>> 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}
