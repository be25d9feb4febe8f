// The provider-format scan of a pod template's literal strings by secretlint's recommended rule set
// (@secretlint/core with @secretlint/secretlint-rule-preset-recommend). secretlint is asynchronous, so this
// runs before the pure assessment and hands it a map from text to provider; credentials.ts judges the rest.
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

/** Texts secretlint finds a provider credential in, each with what it is in words. Never throws. */
export async function scanTexts(texts: readonly string[]): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  await Promise.all(
    texts
      .filter((text) => text.length >= 8 && text.length <= 65_536)
      .map(async (text) => {
        try {
          const result = await lintSource({
            source: { content: text, filePath: 'env', contentType: 'text' },
            options: { config, maskSecrets: true, noPhysicFilePath: true },
          });
          const first = result.messages.find((m) => m.severity === 'error' || m.severity === 'warning');
          if (first) found.set(text, describeRule(first.ruleId, first.messageId));
        } catch {
          // A rule that throws on odd text is a miss for that text, never a failed assessment: the patterns in
          // credentials.ts still look at it.
        }
      }),
  );
  return found;
}

/** The provider scan of every env value, argument and command item in the template. */
export function scanTemplate(template: V1PodTemplateSpec): Promise<ProviderMatches> {
  return scanTexts(scannableTexts(template));
}
