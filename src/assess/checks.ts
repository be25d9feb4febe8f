// Deterministic checks on the new pod template: a credential in plain text (credentials.ts), a `:latest` or
// untagged image, a container without a readiness probe or resource limits, a privileged container. A
// finding's message never repeats a secret's value.
import type { V1Container, V1PodTemplateSpec } from '@kubernetes/client-node';
import {
  defaultCredentialPolicy,
  describeCredential,
  findCredentials,
  type CredentialKind,
  type CredentialPolicy,
  type ProviderMatches,
} from './credentials.js';

export type FindingKind =
  'hardcoded-secret' | 'latest-image' | 'no-readiness-probe' | 'no-resource-limits' | 'privileged';

export interface Finding {
  kind: FindingKind;
  container: string;
  message: string;
  /** For a credential: the field it sits in (spec.template.spec.containers[0].env[2].value). */
  field?: string;
  /** For a credential: which kind, whose severity the policy sets. */
  credential?: CredentialKind;
  /** For a credential: block (a hard rule) or warn (a finding and a risk factor only). */
  severity?: 'block' | 'warn';
}

/** True when an image reference has no tag or the tag `latest`, and no digest. */
export function isFloatingImage(image: unknown): boolean {
  if (typeof image !== 'string' || !image) return true;
  if (image.includes('@sha256:')) return false;
  const lastSlash = image.lastIndexOf('/');
  const tagAt = image.indexOf(':', lastSlash + 1);
  if (tagAt < 0) return true;
  return image.slice(tagAt + 1) === 'latest';
}

export function checkTemplate(
  template: V1PodTemplateSpec,
  providerMatches: ProviderMatches = new Map(),
  credentialPolicy: CredentialPolicy = defaultCredentialPolicy,
): Finding[] {
  const findings: Finding[] = findCredentials(template, providerMatches, credentialPolicy).map((c) => ({
    kind: 'hardcoded-secret',
    container: c.container,
    message: describeCredential(c),
    field: c.field,
    credential: c.credential,
    severity: c.severity,
  }));
  // The API server guarantees these shapes; a manifest given to `rollguard score` or the score API may not
  // have them, and a check must not crash on what it was asked to judge.
  const list = (value: unknown): V1Container[] =>
    Array.isArray(value)
      ? (value as unknown[])
          .filter((c): c is V1Container => typeof c === 'object' && c !== null)
          .map((c, i): V1Container => {
            const { image, ...rest } = c;
            return {
              ...rest,
              name: typeof c.name === 'string' ? c.name : `#${i}`,
              ...(typeof image === 'string' ? { image } : {}),
            };
          })
      : [];
  const initContainers = list(template.spec?.initContainers);
  const containers = list(template.spec?.containers);
  for (const container of [...initContainers, ...containers]) {
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
