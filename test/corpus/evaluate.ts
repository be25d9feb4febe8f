// Measures a credential checker on the corpus in this folder (see README.md): recall on real-format
// credentials placed under their vendor's variable name and under a neutral one, false positives on real
// non-secret settings, and what blocks in real public Deployment manifests. Shared by the unit test
// (test/unit/credential-corpus.test.ts) and `make bench` (bench/credentials.ts).
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { V1Deployment, V1PodTemplateSpec } from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { checkTemplate } from '../../src/assess/checks.js';
import { scanTemplate } from '../../src/assess/secret-scan.js';

const here = import.meta.dirname;

export interface CorpusCredential {
  provider: string;
  /** format: recognisable by its value alone; name: a generic shape, a secret only by the name it sits under. */
  format: 'format' | 'name';
  value: string;
  names: string[];
  source: string;
}

export interface CorpusSetting {
  name: string;
  value: string;
  source: string;
}

export interface CorpusManifest {
  file: string;
  deployment: V1Deployment;
}

export const neutralNames = ['APP_SETTING', 'CONFIG_VALUE'] as const;

export function loadCredentials(): CorpusCredential[] {
  return JSON.parse(readFileSync(path.join(here, 'credentials.json'), 'utf8')) as CorpusCredential[];
}

export function loadSettings(): CorpusSetting[] {
  return JSON.parse(readFileSync(path.join(here, 'non-secrets.json'), 'utf8')) as CorpusSetting[];
}

export function loadManifests(): CorpusManifest[] {
  const dir = path.join(here, 'manifests');
  return readdirSync(dir)
    .filter((f) => f.endsWith('.yaml'))
    .sort()
    .map((file) => {
      const [doc] = parseAllDocuments(readFileSync(path.join(dir, file), 'utf8'));
      return { file, deployment: doc?.toJS() as V1Deployment };
    });
}

/** What a checker says about one pod template: the blocking and warning findings, as `field: message`. */
export interface Verdicts {
  block: string[];
  warn: string[];
}

/** A checker under test: the pod template in, its credential findings out. */
export type Checker = (template: V1PodTemplateSpec) => Promise<Verdicts>;

const templateWith = (name: string, value: string): V1PodTemplateSpec => ({
  spec: { containers: [{ name: 'app', image: 'registry.example.com/app:1.0.0', env: [{ name, value }] }] },
});

export interface Measurement {
  /** Found (block or warn) under the vendor's name, over all credentials. */
  recallVendor: { found: number; total: number; blocked: number };
  /** Found under neutral names, over the credentials recognisable by value alone. */
  recallNeutral: { found: number; total: number };
  /** Found under neutral names, over every credential (for the record; generic shapes cannot be told apart). */
  recallNeutralAll: { found: number; total: number };
  falsePositives: { flagged: CorpusSetting[]; total: number };
  manifests: { total: number; blocked: { file: string; findings: string[] }[]; warned: number };
  missed: string[];
}

export async function measure(check: Checker): Promise<Measurement> {
  const credentials = loadCredentials();
  const m: Measurement = {
    recallVendor: { found: 0, total: 0, blocked: 0 },
    recallNeutral: { found: 0, total: 0 },
    recallNeutralAll: { found: 0, total: 0 },
    falsePositives: { flagged: [], total: 0 },
    manifests: { total: 0, blocked: [], warned: 0 },
    missed: [],
  };
  for (const c of credentials) {
    for (const name of c.names) {
      const v = await check(templateWith(name, c.value));
      m.recallVendor.total++;
      if (v.block.length + v.warn.length > 0) m.recallVendor.found++;
      else m.missed.push(`${c.provider} under ${name}`);
      if (v.block.length > 0) m.recallVendor.blocked++;
    }
    for (const name of neutralNames) {
      const v = await check(templateWith(name, c.value));
      const found = v.block.length + v.warn.length > 0;
      m.recallNeutralAll.total++;
      if (found) m.recallNeutralAll.found++;
      if (c.format === 'format') {
        m.recallNeutral.total++;
        if (found) m.recallNeutral.found++;
        else m.missed.push(`${c.provider} under ${name}`);
      }
    }
  }
  for (const s of loadSettings()) {
    const v = await check(templateWith(s.name, s.value));
    m.falsePositives.total++;
    if (v.block.length + v.warn.length > 0) m.falsePositives.flagged.push(s);
  }
  for (const { file, deployment } of loadManifests()) {
    const template = deployment.spec?.template;
    if (!template) continue;
    m.manifests.total++;
    const v = await check(template);
    if (v.block.length > 0) m.manifests.blocked.push({ file, findings: v.block });
    if (v.warn.length > 0) m.manifests.warned++;
  }
  return m;
}

/**
 * Recall on held-out.json: trufflehog test strings of providers no rule in rollguard was written for, kept
 * out of every tuning so it estimates how the check does on formats it has not seen. Under a neutral name and
 * under `<PROVIDER>_API_KEY`.
 */
export async function measureHeldOut(
  check: Checker,
): Promise<{ total: number; neutral: number; neutralBlocked: number; named: number }> {
  const items = JSON.parse(readFileSync(path.join(here, 'held-out.json'), 'utf8')) as {
    provider: string;
    value: string;
  }[];
  const result = { total: items.length, neutral: 0, neutralBlocked: 0, named: 0 };
  for (const item of items) {
    const neutral = await check(templateWith('APP_SETTING', item.value));
    const named = await check(templateWith(`${item.provider.toUpperCase()}_API_KEY`, item.value));
    if (neutral.block.length + neutral.warn.length > 0) result.neutral++;
    if (neutral.block.length > 0) result.neutralBlocked++;
    if (named.block.length + named.warn.length > 0) result.named++;
  }
  return result;
}

export const percent = (n: number, d: number) => (d === 0 ? 'n/a' : `${((100 * n) / d).toFixed(1)} %`);

export function summary(m: Measurement): string[] {
  return [
    `recall, vendor names:  ${percent(m.recallVendor.found, m.recallVendor.total)} (${m.recallVendor.found}/${m.recallVendor.total}; ${m.recallVendor.blocked} block, the rest warn)`,
    `recall, neutral names: ${percent(m.recallNeutral.found, m.recallNeutral.total)} (${m.recallNeutral.found}/${m.recallNeutral.total} placements of provider-format credentials under ${neutralNames.join(', ')})`,
    `  every credential under a neutral name: ${percent(m.recallNeutralAll.found, m.recallNeutralAll.total)} (generic shapes are secrets only by their name)`,
    `false positives:       ${percent(m.falsePositives.flagged.length, m.falsePositives.total)} (${m.falsePositives.flagged.length}/${m.falsePositives.total} real settings flagged)`,
    `real manifests:        ${m.manifests.blocked.length}/${m.manifests.total} blocked, ${m.manifests.warned} with a warning`,
  ];
}

/** rollguard's checker as the controller runs it: secretlint's scan, then checkTemplate under the default policy. */
export const rollguardChecker: Checker = async (template) => {
  const findings = checkTemplate(template, await scanTemplate(template)).filter((f) => f.kind === 'hardcoded-secret');
  return {
    block: findings.filter((f) => f.severity === 'block').map((f) => f.message),
    warn: findings.filter((f) => f.severity === 'warn').map((f) => f.message),
  };
};
