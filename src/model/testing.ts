// Synthetic data for the model tests: seeded, so every run sees the same rows.
import { gzipSync } from 'node:zlib';
import { createRandom, randomInt } from './random.js';

/**
 * Rows of `width` columns where column 0 decides the label (risky above 50, with `noise` of labels flipped),
 * column 1 is weakly related, and the rest are noise; -1 (missing) appears in column 2.
 */
export function syntheticRows(
  count: number,
  seed = 1,
  width = 4,
  noise = 0.1,
): { rows: number[][]; labels: (0 | 1)[] } {
  const random = createRandom(seed);
  const rows: number[][] = [];
  const labels: (0 | 1)[] = [];
  for (let i = 0; i < count; i++) {
    const row = Array.from({ length: width }, () => randomInt(random, 100));
    const decisive = row[0] ?? 0;
    row[1] = decisive + randomInt(random, 60);
    if (random() < 0.2) row[2] = -1;
    const risky = decisive > 50 !== random() < noise;
    rows.push(row);
    labels.push(risky ? 1 : 0);
  }
  return { rows, labels };
}

/** `mib` MiB of zeros as concatenated gzip members (gunzip reads them all): cheap to make, huge to expand. */
export function gzipBomb(mib: number): string {
  const member = gzipSync(Buffer.alloc(1024 * 1024), { level: 9 });
  return Buffer.concat(Array.from({ length: mib }, () => member)).toString('base64');
}
