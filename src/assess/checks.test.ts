// Deterministic checks on the new pod template: what is flagged, what is not, and that a finding never repeats
// the secret it found.
import type { V1Container, V1EnvVar, V1PodTemplateSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { checkTemplate, isFloatingImage, type FindingKind } from './checks.js';

/** A container that passes every check, with overrides. */
function container(overrides: Partial<V1Container> = {}): V1Container {
  return {
    name: 'web',
    image: 'registry.example.com/shop:1.4.0',
    readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
    resources: { limits: { memory: '256Mi' } },
    ...overrides,
  };
}

function template(containers: V1Container[], initContainers?: V1Container[]): V1PodTemplateSpec {
  return { spec: { containers, ...(initContainers ? { initContainers } : {}) } };
}

const withEnv = (...env: V1EnvVar[]) => template([container({ env })]);

/** A well-formed container without one of its fields. */
function without(key: 'image' | 'readinessProbe' | 'resources', overrides: Partial<V1Container> = {}): V1Container {
  const { [key]: _dropped, ...rest } = container(overrides);
  return rest;
}

const awsKey = 'AKIAIOSFODNN7EXAMPLE';
const githubToken = `ghp_${'a1B2c3D4e5'.repeat(4)}`;
const privateKey =
  '-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEAu1SU1LfVLPHCozMxH2Mo4lgOEePzNm0tRgeLezV6ffAt0gun\n-----END RSA PRIVATE KEY-----';

describe('checkTemplate: a well-formed template', () => {
  it('finds nothing', () => {
    expect(checkTemplate(template([container()]))).toEqual([]);
  });

  it('finds nothing in an empty template', () => {
    expect(checkTemplate({})).toEqual([]);
  });
});

describe('checkTemplate: credentials in env values', () => {
  it.each([
    ['AWS_ACCESS_KEY_ID', awsKey, 'holds an AWS access key id in plain text'],
    ['UPSTREAM', `key=${awsKey};region=eu-west-1`, 'holds an AWS access key id in plain text'],
    ['TLS_KEY', privateKey, 'holds a private key in plain text'],
    ['SSH_KEY', '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA', 'holds a private key in plain text'],
    ['SIGNING_KEY', '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEI', 'holds a private key in plain text'],
    ['GH', githubToken, 'holds a GitHub token in plain text'],
    ['SLACK', 'xoxb-123456789012-abcdefghijkl', 'holds a Slack token in plain text'],
    ['MAPS', `AIza${'B'.repeat(35)}`, 'holds a Google API key in plain text'],
    ['PASSWORD', 'hunter2', 'looks like a credential set in plain text'],
    ['DB_PASSWORD', 'correct horse battery staple', 'looks like a credential set in plain text'],
    ['db_password', 'hunter2', 'looks like a credential set in plain text'],
    ['API_KEY', '3f9a0c1d', 'looks like a credential set in plain text'],
    ['STRIPE_APIKEY', 'sk_live_123', 'looks like a credential set in plain text'],
    ['SESSION_SECRET', 's3cr3t', 'looks like a credential set in plain text'],
    ['REDIS_AUTH', 'letmein', 'looks like a credential set in plain text'],
  ])('env %s is flagged: %s', (name, value, says) => {
    const findings = checkTemplate(withEnv({ name, value }));
    expect(findings).toEqual([
      {
        kind: 'hardcoded-secret',
        container: 'web',
        message: `env ${name} of container web ${says}; use a Secret (valueFrom.secretKeyRef)`,
      },
    ]);
    // The finding goes into annotations, Events and the assessment: it must never carry the secret.
    for (const finding of findings) expect(finding.message).not.toContain(value);
  });

  it.each([
    ['DB_PASSWORD', '$(DB_PASSWORD_FROM_SECRET)'],
    ['DB_PASSWORD', '${DB_PASSWORD}'],
    ['DB_PASSWORD', '/run/secrets/db-password'],
    ['DB_PASSWORD', 'vault:secret/data/db#password'],
    ['API_TOKEN', 'file:/var/run/token'],
    ['API_TOKEN', 'awssm:prod/api-token'],
    ['PASSWORD', ''],
    ['PASSWORD', '   '],
    ['PUBLIC_KEY', '-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA'],
    ['LOG_LEVEL', 'debug'],
    ['PASSWORDLESS_LOGIN', 'enabled'],
    ['KEYCLOAK_REALM', 'shop'],
    ['AKIA_NOTE', 'AKIA is the prefix of AWS key ids'],
  ])('env %s=%j is not flagged', (name, value) => {
    expect(checkTemplate(withEnv({ name, value }))).toEqual([]);
  });

  it('does not flag a value taken from a Secret or a ConfigMap', () => {
    const findings = checkTemplate(
      withEnv(
        { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
        { name: 'API_TOKEN', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'token' } } },
      ),
    );
    expect(findings).toEqual([]);
  });

  it('flags each credential once, in every container including init containers, and names the container', () => {
    const findings = checkTemplate(
      template(
        [
          container({
            name: 'web',
            env: [
              { name: 'DB_PASSWORD', value: 'hunter2' },
              { name: 'GH', value: githubToken },
            ],
          }),
        ],
        [container({ name: 'migrate', env: [{ name: 'AWS_KEY', value: awsKey }] })],
      ),
    );
    expect(findings.map((f) => [f.kind, f.container, f.message.split(' of container')[0]])).toEqual([
      ['hardcoded-secret', 'migrate', 'env AWS_KEY'],
      ['hardcoded-secret', 'web', 'env DB_PASSWORD'],
      ['hardcoded-secret', 'web', 'env GH'],
    ]);
    for (const f of findings) {
      expect(f.message).not.toContain('hunter2');
      expect(f.message).not.toContain(githubToken);
      expect(f.message).not.toContain(awsKey);
    }
  });

  // Regression test for a fixed bug (src/assess/checks.ts, secretNamePattern, line 24-25): any env var whose name merely contains one of
  // PASSWORD/SECRET/TOKEN/AUTH/... as a word is treated as a plain-text credential, whatever its value. Common
  // settings such as AUTH_ENABLED=true, TOKEN_URL=https://..., SECRET_NAME=<a Secret's name> or
  // PASSWORD_MIN_LENGTH=12 are reported as hard-coded secrets, and with the default rules.blockOnHardcodedSecret:
  // true they put the rollout at level block (paused in enforce mode). Expected: no finding for such values.
  it.each([
    ['AUTH_ENABLED', 'true'],
    ['TOKEN_URL', 'https://auth.example.com/oauth/token'],
    ['SECRET_NAME', 'db-credentials'],
    ['PASSWORD_MIN_LENGTH', '12'],
  ])('env %s=%j (a setting, not a credential) is not flagged', (name, value) => {
    expect(checkTemplate(withEnv({ name, value }))).toEqual([]);
  });
});

describe('isFloatingImage', () => {
  it.each<[string | undefined, boolean]>([
    [undefined, true],
    ['', true],
    ['nginx', true],
    ['nginx:latest', true],
    ['library/nginx', true],
    ['registry.example.com/team/app', true],
    ['registry.example.com/team/app:latest', true],
    // A registry port is not a tag.
    ['host:5000/app', true],
    ['localhost:5000/team/app', true],
    ['localhost:5000/team/app:latest', true],
    ['nginx:1.27', false],
    ['nginx:1.27-alpine', false],
    ['host:5000/app:1.0.3', false],
    ['ghcr.io/org/app:v1.2.3', false],
    ['nginx:latest-2024', false],
    // A digest pins the image whatever the tag says.
    [`nginx@sha256:${'a'.repeat(64)}`, false],
    [`nginx:latest@sha256:${'a'.repeat(64)}`, false],
    [`host:5000/app@sha256:${'b'.repeat(64)}`, false],
  ])('%j → %s', (image, floating) => {
    expect(isFloatingImage(image)).toBe(floating);
  });
});

describe('checkTemplate: image, privilege, readiness and limits', () => {
  type Row = [what: string, c: V1Container, kinds: FindingKind[], message?: string];
  it.each<Row>([
    [
      'an untagged image',
      container({ image: 'shop' }),
      ['latest-image'],
      'container web uses image shop without a fixed tag or digest, so what runs can change without a rollout',
    ],
    ['a :latest image', container({ image: 'shop:latest' }), ['latest-image']],
    ['an image on a registry with a port and no tag', container({ image: 'host:5000/app' }), ['latest-image']],
    [
      'no image at all',
      without('image'),
      ['latest-image'],
      'container web uses image (none) without a fixed tag or digest, so what runs can change without a rollout',
    ],
    ['a pinned image', container({ image: 'host:5000/app:2.0.1' }), []],
    [
      'a privileged container',
      container({ securityContext: { privileged: true } }),
      ['privileged'],
      'container web runs privileged',
    ],
    ['privileged: false', container({ securityContext: { privileged: false } }), []],
    ['a security context without privileged', container({ securityContext: { runAsNonRoot: true } }), []],
    [
      'no readiness probe',
      without('readinessProbe'),
      ['no-readiness-probe'],
      'container web has no readiness probe, so a broken pod can receive traffic',
    ],
    [
      'only a liveness probe',
      without('readinessProbe', { livenessProbe: { tcpSocket: { port: 8080 } } }),
      ['no-readiness-probe'],
    ],
    ['no resources at all', without('resources'), ['no-resource-limits'], 'container web has no memory limit'],
    ['requests but no limits', container({ resources: { requests: { memory: '128Mi' } } }), ['no-resource-limits']],
    ['a CPU limit but no memory limit', container({ resources: { limits: { cpu: '500m' } } }), ['no-resource-limits']],
    ['a memory limit only', container({ resources: { limits: { memory: '64Mi' } } }), []],
    [
      'everything wrong at once',
      { name: 'web', image: 'shop:latest', securityContext: { privileged: true } },
      ['latest-image', 'privileged', 'no-readiness-probe', 'no-resource-limits'],
    ],
  ])('%s', (_what, c, kinds, message) => {
    const findings = checkTemplate(template([c]));
    expect(findings.map((f) => f.kind)).toEqual(kinds);
    for (const f of findings) expect(f.container).toBe('web');
    if (message !== undefined) expect(findings[0]?.message).toBe(message);
  });

  it('asks init containers for a pinned image and no privilege, but not for a readiness probe or limits', () => {
    const findings = checkTemplate(
      template([container()], [{ name: 'init-db', image: 'migrate:latest', securityContext: { privileged: true } }]),
    );
    expect(findings.map((f) => [f.kind, f.container])).toEqual([
      ['latest-image', 'init-db'],
      ['privileged', 'init-db'],
    ]);
  });

  it('checks every container and names each one', () => {
    const findings = checkTemplate(
      template([container({ name: 'web' }), without('readinessProbe', { name: 'sidecar', image: 'envoy' })]),
    );
    expect(findings.map((f) => [f.kind, f.container])).toEqual([
      ['latest-image', 'sidecar'],
      ['no-readiness-probe', 'sidecar'],
    ]);
  });
});
