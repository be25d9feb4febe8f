// The credential check measured on test/corpus (README.md there names every source): recall on real-format
// credentials under their vendor's variable name and under neutral names, false positives on real settings,
// and what blocks among real public Deployment manifests. test/unit/credential-corpus.test.ts holds the limits.
import { measure, measureHeldOut, percent, rollguardChecker, summary } from '../test/corpus/evaluate.js';

const started = performance.now();
const m = await measure(rollguardChecker);
for (const line of summary(m)) console.log(line);
const h = await measureHeldOut(rollguardChecker);
console.log(
  `held-out (${h.total} strings of providers no rule was written for): ${percent(h.neutral, h.total)} under a neutral name (${h.neutralBlocked} block, the rest warn), ${percent(h.named, h.total)} under <PROVIDER>_API_KEY`,
);
if (m.missed.length > 0) console.log(`missed: ${m.missed.join('; ')}`);
for (const s of m.falsePositives.flagged) console.log(`flagged setting: ${s.name} (${s.source})`);
for (const b of m.manifests.blocked) console.log(`blocked manifest: ${b.file}: ${b.findings.join('; ')}`);
console.log(`took ${Math.round(performance.now() - started)} ms`);
