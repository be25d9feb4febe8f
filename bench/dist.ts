// The single executable as a user meets it (`make dist` first): its size, and how long it takes to start —
// the first run (which unpacks the model into the cache), then --version, --help and an offline score — next
// to plain Node starting an empty script and to the same bundle run by Node without the executable's code
// cache, so a loaded machine's figures can still be read as ratios.
//   tsx bench/dist.ts [--runs N]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { deploymentManifest } from '../test/support/objects.js';
import { riskyChange } from '../test/support/changes.js';
import { repoRoot } from '../test/harness/tools.js';

const runsAt = process.argv.indexOf('--runs');
const runs = runsAt > 0 ? Number(process.argv[runsAt + 1]) : 11;
const binary = path.join(repoRoot, 'dist', 'rollguard-linux-amd64');
const bundle = path.join(repoRoot, 'dist', 'sea', 'rollguard.cjs');
const node = path.join(repoRoot, 'node_modules', 'node', 'bin', 'node');
if (!existsSync(binary)) throw new Error(`${binary} is missing: run make dist first`);

const home = mkdtempSync(path.join(os.tmpdir(), 'rollguard-bench-dist-'));
const env = { HOME: home, PATH: '/usr/bin:/bin' };
const manifest = path.join(home, 'checkout.json');
writeFileSync(manifest, deploymentManifest({ namespace: 'shop', name: 'checkout', annotations: riskyChange }));

function once(file: string, args: string[]): number {
  const started = performance.now();
  try {
    execFileSync(file, args, { env, stdio: 'ignore' });
  } catch {
    // score exits 20 for block: a figure, not a failure.
  }
  return performance.now() - started;
}

function median(file: string, args: string[]): number {
  const times = Array.from({ length: runs }, () => once(file, args)).sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)] ?? 0;
}

const ms = (value: number) => `${value.toFixed(0).padStart(6)} ms`;
console.log(`executable  ${(statSync(binary).size / 1024 / 1024).toFixed(1)} MiB (${binary})`);
console.log(`first run   ${ms(once(binary, ['--version']))}  (unpacks the model and data into the cache)`);
const baseline = median(node, ['-e', '0']);
const rows: [string, number][] = [
  ['node -e 0 (Node 24 itself)', baseline],
  ['rollguard --version', median(binary, ['--version'])],
  ['rollguard --help', median(binary, ['--help'])],
  ['rollguard score --no-cluster', median(binary, ['score', '-f', manifest, '--no-cluster'])],
  ['node rollguard.cjs --help (no code cache)', median(node, [bundle, '--help'])],
];
console.log(`median of ${runs} runs:`);
for (const [what, value] of rows) {
  console.log(`  ${what.padEnd(44)} ${ms(value)}  ${(value / baseline).toFixed(2)}× Node's own start`);
}
rmSync(home, { recursive: true, force: true });
