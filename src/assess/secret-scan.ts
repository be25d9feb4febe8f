// The provider-format scan of a pod template's literal strings by secretlint's recommended rule set
// (@secretlint/core with @secretlint/secretlint-rule-preset-recommend). secretlint is asynchronous, so this
// runs before the pure assessment and hands it a map from text to provider; credentials.ts judges the rest.
import { createHash } from 'node:crypto';
import { lintSource } from '@secretlint/core';
import { creator as recommended } from '@secretlint/secretlint-rule-preset-recommend';
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { scannableTexts, type ProviderMatches } from './credentials.js';

const config = { rules: [{ id: '@secretlint/secretlint-rule-preset-recommend', rule: recommended }] };

/** secretlint's rule ids and message ids in words, for the finding ("holds a Stripe secret key"). */
function describeRule(ruleId: string, messageId: string): string {
  const rule = ruleId.replace(/^@secretlint\/secretlint-rule-/, '');
  const names: Record<string, string> = {
    aws: 'an AWS credential',
    gcp: 'a Google Cloud credential',
    privatekey: 'a private key',
    npm: 'an npm token',
    basicauth: 'a password in a URL',
    slack: messageId === 'IncomingWebhook' ? 'a Slack webhook URL' : 'a Slack token',
    sendgrid: 'a SendGrid API key',
    shopify: 'a Shopify token',
    stripe: 'a Stripe key',
    github: 'a GitHub token',
    gitlab: 'a GitLab token',
    grafana: 'a Grafana token',
    openai: 'an OpenAI key',
    anthropic: 'an Anthropic key',
    'database-connection-string': 'a password in a database connection string',
    '1password': 'a 1Password token',
    cloudflare: 'a Cloudflare token',
    databricks: 'a Databricks token',
    docker: 'a Docker registry credential',
    figma: 'a Figma token',
    groq: 'a Groq key',
    'hashicorp-vault': 'a HashiCorp Vault token',
    huggingface: 'a Hugging Face token',
    linear: 'a Linear API key',
    notion: 'a Notion token',
    tailscale: 'a Tailscale key',
    vercel: 'a Vercel token',
  };
  return names[rule] ?? `a credential (${rule})`;
}

const recent = new Map<string, Promise<(readonly [number, string])[]>>();

/** Between two texts in the one source secretlint reads: no rule matches across a blank line and a NUL. */
const separator = '\n\n\u0000\n\n';

/** secretlint's verdicts on one source: for each text (by index) that holds a credential, what it is. */
async function lintJoined(content: string, starts: readonly number[]): Promise<(readonly [number, string])[]> {
  let messages: { ruleId: string; messageId: string; severity: string; range: readonly [number, number] }[];
  try {
    const result = await lintSource({
      source: { content, filePath: 'env', contentType: 'text' },
      options: { config, maskSecrets: true, noPhysicFilePath: true },
    });
    messages = result.messages;
  } catch {
    // A rule that throws on odd text is a miss, never a failed assessment: credentials.ts still looks at it.
    return [];
  }
  const verdicts = new Map<number, string>();
  for (const m of messages) {
    if (m.severity !== 'error' && m.severity !== 'warning') continue;
    // The last text that starts at or before the match.
    let index = -1;
    for (let k = 0; k < starts.length && (starts[k] ?? Infinity) <= m.range[0]; k++) index = k;
    if (index >= 0 && !verdicts.has(index)) verdicts.set(index, describeRule(m.ruleId, m.messageId));
  }
  return [...verdicts];
}

/**
 * Texts secretlint finds a provider credential in, each with what it is in words. All texts go through one
 * lint of one source (one call per text cost about 1.4 ms each, which a burst of score requests felt). The
 * same texts are scanned again and again (every reconcile, a burst of identical requests): the verdicts, or
 * the lint in flight, are remembered by a digest of the texts, so no secret is kept as a key. Never throws.
 */
export async function scanTexts(texts: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const scanned = [...new Set(texts)].filter((text) => text.length >= 8 && text.length <= 65_536);
  if (scanned.length === 0) return found;
  const starts: number[] = [];
  let content = '';
  for (const text of scanned) {
    starts.push(content.length);
    content += text + separator;
  }
  const digest = createHash('sha256').update(content).digest('hex');
  let verdicts = recent.get(digest);
  if (!verdicts) {
    verdicts = lintJoined(content, starts);
    recent.set(digest, verdicts);
    if (recent.size > 1000) recent.delete(recent.keys().next().value ?? '');
  }
  for (const [index, what] of await verdicts) {
    const text = scanned[index];
    if (text !== undefined) found.set(text, what);
  }
  return found;
}

/** The provider scan of every env value, argument and command item in the template. */
export function scanTemplate(template: V1PodTemplateSpec): Promise<ProviderMatches> {
  return scanTexts(scannableTexts(template));
}
