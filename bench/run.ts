// `make bench`: every benchmark, one after the other, each printing its figures and ratios.
//   bench/rollouts.ts  assessment latency, reaction time to a bad version, Prometheus queries per interval
//   bench/gate-latency.ts  time the admission gate adds from the apply to the new ReplicaSet, 1 and 50 at once
//   bench/model.ts     training time and AUC against ml-random-forest's trainer and scikit-learn; µs per score
//   bench/verification-quality.ts  false rollbacks and detection under noise, new verdict beside the previous
//   bench/credentials.ts  recall and false-positive rate of the credential check on test/corpus
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../test/harness/tools.js';

let failed = false;
for (const script of ['credentials.ts', 'rollouts.ts', 'gate-latency.ts', 'model.ts', 'verification-quality.ts']) {
  console.log(`\n=== bench/${script} ===`);
  const result = spawnSync(
    process.execPath,
    ['--import', 'tsx', path.join(repoRoot, 'bench', script), ...process.argv.slice(2)],
    {
      stdio: 'inherit',
      cwd: repoRoot,
    },
  );
  if (result.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
