// Deterministic checks on the new pod template: a credential hard-coded in an env value, a `:latest` or
// untagged image, a container without a readiness probe or resource limits, a privileged container. A
// finding's message never repeats a secret's value.
import type { V1Container, V1PodTemplateSpec } from '@kubernetes/client-node';

export type FindingKind =
  'hardcoded-secret' | 'latest-image' | 'no-readiness-probe' | 'no-resource-limits' | 'privileged';

export interface Finding {
  kind: FindingKind;
  container: string;
  message: string;
}

/** Patterns of credentials that are never legitimate as a literal env value. */
const secretValuePatterns: { name: string; pattern: RegExp }[] = [
  { name: 'an AWS access key id', pattern: /\b(AKIA|ASIA)[0-9A-Z]{16}\b/ },
  { name: 'a private key', pattern: /-----BEGIN ([A-Z]+ )?PRIVATE KEY-----/ },
  { name: 'a GitHub token', pattern: /\bgh[pousr]_[A-Za-z0-9]{36,}\b/ },
  { name: 'a Slack token', pattern: /\bxox[abprs]-[A-Za-z0-9-]{10,}\b/ },
  { name: 'a Google API key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/ },
];

/** What kind of credential a text holds, if it holds one of the well-known kinds. */
export function credentialIn(value: string): string | undefined {
  return secretValuePatterns.find((p) => p.pattern.test(value))?.name;
}

/**
 * Variable names that say "this holds a secret": the secret word ends the name (DB_PASSWORD, API_KEY,
 * CLIENT_SECRET), so settings about secrets (SECRET_NAME, TOKEN_URL, PASSWORD_MIN_LENGTH, AUTH_ENABLED) are
 * not mistaken for one.
 */
const secretNamePattern = /(^|_)(PASSWORD|PASSWD|SECRET|TOKEN|AUTH|API_?KEY|ACCESS_?KEY|PRIVATE_?KEY|CREDENTIALS?)$/i;

/** Values that are clearly not the secret itself (references, empty, placeholders for injection). */
function looksLikeReference(value: string): boolean {
  return (
    value.trim() === '' ||
    /^(true|false|yes|no|on|off|\d{1,6})$/i.test(value.trim()) || // a flag or a small number, not a secret
    /^\$\(.+\)$/.test(value) || // Kubernetes $(VAR) expansion
    /^\$\{.+\}$/.test(value) ||
    /^(file|vault|awssm|gcpsm|azkv|secret):/i.test(value) ||
    value.startsWith('/') // a path to a mounted secret file
  );
}

function secretFinding(container: V1Container): Finding[] {
  const findings: Finding[] = [];
  for (const env of container.env ?? []) {
    const value = env.value;
    if (value === undefined) continue;
    const byValue = secretValuePatterns.find((p) => p.pattern.test(value));
    if (byValue) {
      findings.push({
        kind: 'hardcoded-secret',
        container: container.name,
        message: `env ${env.name} of container ${container.name} holds ${byValue.name} in plain text; use a Secret (valueFrom.secretKeyRef)`,
      });
    } else if (secretNamePattern.test(env.name) && !looksLikeReference(value)) {
      findings.push({
        kind: 'hardcoded-secret',
        container: container.name,
        message: `env ${env.name} of container ${container.name} looks like a credential set in plain text; use a Secret (valueFrom.secretKeyRef)`,
      });
    }
  }
  return findings;
}

/** True when an image reference has no tag or the tag `latest`, and no digest. */
export function isFloatingImage(image: string | undefined): boolean {
  if (!image) return true;
  if (image.includes('@sha256:')) return false;
  const lastSlash = image.lastIndexOf('/');
  const tagAt = image.indexOf(':', lastSlash + 1);
  if (tagAt < 0) return true;
  return image.slice(tagAt + 1) === 'latest';
}

export function checkTemplate(template: V1PodTemplateSpec): Finding[] {
  const findings: Finding[] = [];
  const initContainers = template.spec?.initContainers ?? [];
  const containers = template.spec?.containers ?? [];
  for (const container of [...initContainers, ...containers]) {
    findings.push(...secretFinding(container));
    if (isFloatingImage(container.image)) {
      findings.push({
        kind: 'latest-image',
        container: container.name,
        message: `container ${container.name} uses image ${container.image ?? '(none)'} without a fixed tag or digest, so what runs can change without a rollout`,
      });
    }
    if (container.securityContext?.privileged === true) {
      findings.push({
        kind: 'privileged',
        container: container.name,
        message: `container ${container.name} runs privileged`,
      });
    }
  }
  for (const container of containers) {
    if (!container.readinessProbe) {
      findings.push({
        kind: 'no-readiness-probe',
        container: container.name,
        message: `container ${container.name} has no readiness probe, so a broken pod can receive traffic`,
      });
    }
    const limits = container.resources?.limits;
    if (limits?.memory === undefined) {
      findings.push({
        kind: 'no-resource-limits',
        container: container.name,
        message: `container ${container.name} has no memory limit`,
      });
    }
  }
  return findings;
}
