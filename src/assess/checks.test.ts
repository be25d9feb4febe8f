// Deterministic checks on the new pod template: what is flagged, what is not, and that a finding never repeats
// the secret it found.
import type { V1Container, V1EnvVar, V1PodSpec, V1PodTemplateSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { checkTemplate, isFloatingImage, type FindingKind } from './checks.js';
import type { CredentialKind } from './credentials.js';

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

describe('checkTemplate: credentials in env values, args and command', () => {
  type Row = [name: string, value: string, credential: CredentialKind, severity: 'block' | 'warn', says: string];
  it.each<Row>([
    ['AWS_ACCESS_KEY_ID', awsKey, 'providerKey', 'block', 'an AWS access key id'],
    ['UPSTREAM', `key=${awsKey};region=eu-west-1`, 'providerKey', 'block', 'an AWS access key id'],
    ['TLS_KEY', privateKey, 'providerKey', 'block', 'a private key'],
    [
      'SSH_KEY',
      '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA',
      'providerKey',
      'block',
      'a private key',
    ],
    ['SIGNING_KEY', '-----BEGIN PGP PRIVATE KEY BLOCK-----\nlQOYBF', 'providerKey', 'block', 'a private key'],
    ['GH', githubToken, 'providerKey', 'block', 'a GitHub token'],
    ['SLACK', 'xoxb-123456789012-abcdefghijkl', 'providerKey', 'block', 'a Slack token'],
    ['MAPS', `AIza${'B'.repeat(34)}-`, 'providerKey', 'block', 'a Google API key'],
    ['APP_SETTING', 'Bearer abcdefghijklmnop0123456789', 'providerKey', 'block', 'a bearer token'],
    ['DATABASE_URL', 'postgres://u:p@h/db', 'urlPassword', 'block', 'a password in a URL'],
    [
      'DB',
      'Server=db;Database=shop;User Id=sa;Password=Tr0ub4dor&3;',
      'urlPassword',
      'block',
      'a password in a connection string',
    ],
    ['PASSWORD', 'hunter2', 'weakSecret', 'warn', 'a weak password'],
    ['DB_PASSWORD', '123456', 'weakSecret', 'warn', 'a weak password'],
    ['PGPASSWORD', 'changeme', 'weakSecret', 'warn', 'a placeholder or default value'],
    ['DB_PASSWORD', 'correct horse battery staple', 'secretByName', 'block', 'a password'],
    ['db_password', 'Tr0ub4dor&3x', 'secretByName', 'block', 'a password'],
    ['DJANGO_SECRET_KEY', 'django-insecure-7#k2m!x9@q$w3e8r5t0y', 'secretByName', 'block', 'a secret key or token'],
    ['SECRET_KEY_BASE', 'a3f9c0d1e2b4a6f8c0d2e4f6a8b0c2d4e6f8a0b2', 'secretByName', 'block', 'a secret key or token'],
    ['API_KEY', '3f9a0c1d', 'weakSecret', 'warn', 'a short or weak secret'],
    ['REDIS_AUTH', 'letmein', 'weakSecret', 'warn', 'a placeholder or default value'],
    ['MINIO_SECRET_KEY', 'minio123', 'weakSecret', 'warn', 'a short or weak secret'],
    ['TWILIO_AUTH_TOKEN', 'daf7b3d34b9787f1212316eea62ba186', 'secretByName', 'block', 'a secret key or token'],
    ['GOOGLE_API_KEY', 'GOOGLE_API_KEY_VAL', 'weakSecret', 'warn', 'a placeholder or default value'],
    ['SERVICE_URL', 'https://username:password@example.com', 'weakSecret', 'warn', 'a placeholder password in a URL'],
    [
      'APP_SETTING',
      'thog-secret-8fbfc135085421e62d8f1982af17bbf6xYZ',
      'randomValue',
      'warn',
      'a random-looking value, like a key of a provider rollguard does not know',
    ],
  ])('env %s is flagged', (name, value, credential, severity, says) => {
    const findings = checkTemplate(withEnv({ name: 'OTHER', value: 'x' }, { name, value }));
    expect(findings).toEqual([
      {
        kind: 'hardcoded-secret',
        container: 'web',
        field: 'spec.template.spec.containers[0].env[1].value',
        credential,
        severity,
        message: expect.stringContaining(
          `${name} (spec.template.spec.containers[0].env[1].value) of container web holds ${says} in plain text;`,
        ) as unknown,
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
    ['ETCD_INITIAL_CLUSTER_TOKEN', 'etcd-cluster'],
    ['IMAGE_PULL_SECRET', 'regcred'],
    ['TLS_SECRET', 'envoy-ingress-tls'],
    ['AUTH', 'oidc'],
    ['AUTH', 'none'],
    ['API_AUTH', 'Bearer'],
    ['SMTP_AUTH', 'login'],
    ['TOKEN', '3600s'],
    ['AUTH_ENABLED', 'true'],
    ['TOKEN_URL', 'https://auth.example.com/oauth/token'],
    ['SECRET_NAME', 'db-credentials'],
    ['PASSWORD_MIN_LENGTH', '12'],
    ['FOREIGN_KEY_ID', 'vh987tyw9ehy8ghis7vwyhiwbwitefy7w3ASDGYDGUASDG'],
    ['GIT_COMMIT', '9fceb02d0ae598e95dc970b74767f19372d61af8'],
    ['INSTANCE', '203db13e-70c7-462b-9a3d-bf32640cb0be'],
    ['DATABASE_URL', 'postgres://shop@db:5432/shop'],
    ['DATABASE_URL', 'postgres://shop:$(DB_PASSWORD)@db:5432/shop'],
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

  it('looks into args and command of containers, init containers and ephemeral containers', () => {
    const spec = {
      containers: [
        container({
          name: 'web',
          command: ['java', '-Dspring.datasource.password=S3cure!Passw0rd', '-jar', 'app.jar'],
          args: ['--api-token', githubToken, '--log-level', 'info'],
        }),
      ],
      initContainers: [container({ name: 'migrate', args: ['migrate', '--url', 'mysql://root:Xy9!kq2Lm@db/shop'] })],
      ephemeralContainers: [
        { name: 'debug', image: 'busybox:1.36', command: ['sh', '-c', `export TOKEN=${githubToken}`] },
      ],
    } as V1PodSpec;
    const findings = checkTemplate({ spec });
    expect(findings.map((f) => [f.container, f.field, f.credential])).toEqual([
      ['web', 'spec.template.spec.containers[0].command[1]', 'secretByName'],
      ['web', 'spec.template.spec.containers[0].args[1]', 'providerKey'],
      ['migrate', 'spec.template.spec.initContainers[0].args[2]', 'urlPassword'],
      ['debug', 'spec.template.spec.ephemeralContainers[0].command[2]', 'providerKey'],
    ]);
    expect(findings[2]?.message).toContain('of init container migrate');
    expect(findings[3]?.message).toContain('of ephemeral container debug');
    for (const f of findings) {
      expect(f.message).not.toContain('S3cure');
      expect(f.message).not.toContain(githubToken);
      expect(f.message).not.toContain('Xy9!kq2Lm');
    }
  });

  it('uses what secretlint found, and takes the severity and exceptions from the policy', () => {
    const spec = withEnv(
      { name: 'APP_SETTING', value: 'opaque-provider-format' },
      { name: 'DB_PASSWORD', value: 'changeme' },
    );
    const matches = new Map([['opaque-provider-format', 'a Stripe key']]);
    expect(checkTemplate(spec, matches).map((f) => [f.credential, f.severity])).toEqual([
      ['providerKey', 'block'],
      ['weakSecret', 'warn'],
    ]);
    const policy = {
      severity: {
        providerKey: 'warn',
        urlPassword: 'block',
        secretByName: 'block',
        weakSecret: 'off',
        randomValue: 'off',
      },
      exceptions: [],
    } as const;
    expect(checkTemplate(spec, matches, policy).map((f) => [f.credential, f.severity])).toEqual([
      ['providerKey', 'warn'],
    ]);
    const excepted = {
      ...policy,
      exceptions: [{ container: 'web', env: 'APP_SETTING', reason: 'a public key id' }],
    };
    expect(checkTemplate(spec, matches, excepted)).toEqual([]);
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
