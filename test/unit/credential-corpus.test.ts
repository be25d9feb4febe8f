// The credential check on real material (test/corpus/README.md): test strings of public secret scanners,
// real settings, and Deployments from public repositories. `make bench` prints the same figures.
import { beforeAll, describe, expect, it } from 'vitest';
import {
  loadCredentials,
  loadManifests,
  loadSettings,
  measure,
  rollguardChecker,
  type Measurement,
} from '../corpus/evaluate.js';

let m: Measurement;
beforeAll(async () => {
  m = await measure(rollguardChecker);
}, 60_000);

describe('the credential corpus', () => {
  it('is as large as promised: ≥ 100 credentials from public sources, ≥ 100 settings, ≥ 100 manifests', () => {
    const fetched = loadCredentials().filter((c) => /^(gitleaks|trufflehog|detect-secrets) /.test(c.source));
    expect(fetched.length).toBeGreaterThanOrEqual(100);
    expect(loadSettings().length).toBeGreaterThanOrEqual(100);
    expect(loadManifests().length).toBeGreaterThanOrEqual(100);
  });
});

describe('rollguard on the corpus', () => {
  it('finds ≥ 95 % of the credentials under the names vendors document', () => {
    expect(m.recallVendor.found / m.recallVendor.total).toBeGreaterThanOrEqual(0.95);
  });

  it('finds ≥ 95 % of the provider-format credentials under neutral names (APP_SETTING, CONFIG_VALUE)', () => {
    expect(m.recallNeutral.found / m.recallNeutral.total).toBeGreaterThanOrEqual(0.95);
  });

  it('flags at most 2 % of real settings', () => {
    expect(m.falsePositives.flagged.length / m.falsePositives.total).toBeLessThanOrEqual(0.02);
  });

  it('blocks no real public manifest: they carry no plain-text credential beyond defaults that only warn', () => {
    // Every public manifest in the corpus was read by hand: the credentials in them are placeholders or demo
    // defaults (GF_SECURITY_ADMIN_PASSWORD=admin, MYSQL_DB_PASSWORD=password, GOOGLE_API_KEY_VAL), which warn.
    expect(m.manifests.blocked).toEqual([]);
  });
});
