// What changed between the previous and the new pod template: the counts the model sees and the lines a person
// reads.
import type { V1Container, V1PodTemplateSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { diffTemplates, type TemplateDiff } from './template-diff.js';

function web(overrides: Partial<V1Container> = {}): V1Container {
  return {
    name: 'web',
    image: 'shop:1.4.0',
    env: [
      { name: 'MODE', value: 'prod' },
      { name: 'WORKERS', value: '4' },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
    ],
    envFrom: [{ configMapRef: { name: 'shop-config' } }],
    volumeMounts: [{ name: 'cache', mountPath: '/cache' }],
    resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '256Mi' } },
    readinessProbe: { httpGet: { path: '/ready', port: 8080 } },
    livenessProbe: { httpGet: { path: '/live', port: 8080 } },
    ...overrides,
  };
}

function pod(
  containers: V1Container[],
  extra: {
    initContainers?: V1Container[];
    volumes?: { name: string; emptyDir?: object; configMap?: { name: string } }[];
  } = {},
): V1PodTemplateSpec {
  return {
    metadata: { labels: { app: 'shop' } },
    spec: {
      containers,
      volumes: extra.volumes ?? [{ name: 'cache', emptyDir: {} }],
      ...(extra.initContainers ? { initContainers: extra.initContainers } : {}),
    },
  };
}

const base = pod([web()]);
const zero: Omit<TemplateDiff, 'changes'> = {
  images_changed: 0,
  env_changed: 0,
  config_changed: 0,
  resources_changed: 0,
  probes_changed: 0,
  replicas_changed: 0,
};

describe('diffTemplates', () => {
  it('reports nothing for an identical template', () => {
    expect(diffTemplates(base, pod([web()]))).toEqual({ ...zero, changes: [] });
  });

  it('reports nothing, whatever changed, when there is no previous template (the first revision)', () => {
    const next = pod([web({ image: 'shop:2.0.0' }), { name: 'sidecar', image: 'envoy:1.30' }]);
    expect(diffTemplates(undefined, next, { previous: 1, next: 5 })).toEqual({ ...zero, changes: [] });
  });

  type Row = [what: string, next: V1PodTemplateSpec, counts: Partial<Omit<TemplateDiff, 'changes'>>, changes: string[]];
  it.each<Row>([
    [
      'a new image',
      pod([web({ image: 'shop:1.5.0' })]),
      { images_changed: 1 },
      ['image of container web: shop:1.4.0 → shop:1.5.0'],
    ],
    [
      'a container added',
      pod([web(), { name: 'sidecar', image: 'envoy:1.30' }]),
      { images_changed: 1 },
      ['container sidecar added (image envoy:1.30)'],
    ],
    [
      'a container added without an image',
      pod([web(), { name: 'sidecar' }]),
      { images_changed: 1 },
      ['container sidecar added (image none)'],
    ],
    [
      'a container renamed (one removed, one added)',
      pod([web({ name: 'app' })]),
      { images_changed: 2 },
      ['container app added (image shop:1.4.0)', 'container web removed'],
    ],
    [
      'an init container whose image changed',
      pod([web()], { initContainers: [{ name: 'migrate', image: 'migrate:2' }] }),
      { images_changed: 1 },
      ['container migrate added (image migrate:2)'],
    ],
    [
      'one env var changed',
      pod([
        web({
          env: [
            { name: 'MODE', value: 'canary' },
            { name: 'WORKERS', value: '4' },
            { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
          ],
        }),
      ]),
      { env_changed: 1 },
      ['environment of container web: MODE changed'],
    ],
    [
      'env vars added, removed and changed, counted by name',
      pod([
        web({
          env: [
            { name: 'WORKERS', value: '8' },
            { name: 'FEATURE_X', value: 'on' },
            { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
          ],
        }),
      ]),
      { env_changed: 3 },
      ['environment of container web: FEATURE_X, MODE, WORKERS changed'],
    ],
    [
      'env vars only reordered',
      pod([
        web({
          env: [
            { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
            { name: 'WORKERS', value: '4' },
            { name: 'MODE', value: 'prod' },
          ],
        }),
      ]),
      {},
      [],
    ],
    [
      'an env var moved from a literal to a Secret',
      pod([
        web({
          env: [
            { name: 'MODE', valueFrom: { secretKeyRef: { name: 'm', key: 'mode' } } },
            { name: 'WORKERS', value: '4' },
            { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
          ],
        }),
      ]),
      { env_changed: 1 },
      ['environment of container web: MODE changed'],
    ],
    [
      'a Secret reference pointing elsewhere',
      pod([
        web({
          env: [
            { name: 'MODE', value: 'prod' },
            { name: 'WORKERS', value: '4' },
            { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-v2', key: 'password' } } },
          ],
        }),
      ]),
      { env_changed: 1 },
      ['environment of container web: DB_PASSWORD changed'],
    ],
    [
      'envFrom changed',
      pod([web({ envFrom: [{ configMapRef: { name: 'shop-config-v2' } }] })]),
      { config_changed: 1 },
      ['configuration sources of container web changed'],
    ],
    [
      'a volume mount added',
      pod([
        web({
          volumeMounts: [
            { name: 'cache', mountPath: '/cache' },
            { name: 'certs', mountPath: '/certs' },
          ],
        }),
      ]),
      { config_changed: 1 },
      ['configuration sources of container web changed'],
    ],
    [
      'pod volumes changed',
      pod([web()], { volumes: [{ name: 'cache', configMap: { name: 'cache-seed' } }] }),
      { config_changed: 1 },
      ['volumes changed'],
    ],
    [
      'a memory limit raised',
      pod([web({ resources: { requests: { cpu: '100m', memory: '128Mi' }, limits: { memory: '512Mi' } } })]),
      { resources_changed: 1 },
      ['resources of container web changed'],
    ],
    [
      'the readiness probe changed',
      pod([web({ readinessProbe: { httpGet: { path: '/healthz', port: 8080 } } })]),
      { probes_changed: 1 },
      ['probes of container web changed'],
    ],
    [
      'a startup probe added',
      pod([web({ startupProbe: { tcpSocket: { port: 8080 } } })]),
      { probes_changed: 1 },
      ['probes of container web changed'],
    ],
    [
      'the liveness probe changed',
      pod([web({ livenessProbe: { httpGet: { path: '/live', port: 9090 } } })]),
      { probes_changed: 1 },
      ['probes of container web changed'],
    ],
    [
      'image, env, resources and probes together',
      pod([
        web({
          image: 'shop:2.0.0',
          env: [{ name: 'MODE', value: 'prod' }],
          resources: { limits: { memory: '1Gi' } },
          readinessProbe: { exec: { command: ['true'] } },
        }),
      ]),
      { images_changed: 1, env_changed: 2, resources_changed: 1, probes_changed: 1 },
      [
        'image of container web: shop:1.4.0 → shop:2.0.0',
        'environment of container web: DB_PASSWORD, WORKERS changed',
        'resources of container web changed',
        'probes of container web changed',
      ],
    ],
  ])('%s', (_what, next, counts, changes) => {
    expect(diffTemplates(base, next)).toEqual({ ...zero, ...counts, changes });
  });

  it('counts env changes across containers', () => {
    const previous = pod([web(), web({ name: 'worker' })]);
    const next = pod([web({ env: [] }), web({ name: 'worker', env: [{ name: 'MODE', value: 'batch' }] })]);
    const diff = diffTemplates(previous, next);
    expect(diff.env_changed).toBe(3 + 3);
    expect(diff.changes).toEqual([
      'environment of container web: DB_PASSWORD, MODE, WORKERS changed',
      'environment of container worker: DB_PASSWORD, MODE, WORKERS changed',
    ]);
  });

  it('counts each container whose image changed', () => {
    const previous = pod([web(), web({ name: 'worker', image: 'worker:1' })]);
    const next = pod([web({ image: 'shop:1.5.0' }), web({ name: 'worker', image: 'worker:2' })]);
    expect(diffTemplates(previous, next).images_changed).toBe(2);
  });

  it.each<[string, { previous?: number; next?: number } | undefined, number, string[]]>([
    ['scaled 3 → 5', { previous: 3, next: 5 }, 1, ['replicas: 3 → 5']],
    ['scaled 5 → 0', { previous: 5, next: 0 }, 1, ['replicas: 5 → 0']],
    ['same replicas', { previous: 3, next: 3 }, 0, []],
    ['previous replicas unknown', { next: 3 }, 0, []],
    ['next replicas unknown', { previous: 3 }, 0, []],
    ['no replica information', undefined, 0, []],
  ])('replicas: %s', (_what, replicas, changed, changes) => {
    const diff = diffTemplates(base, pod([web()]), replicas);
    expect(diff.replicas_changed).toBe(changed);
    expect(diff.changes).toEqual(changes);
  });
});

describe('diffTemplates: key order', () => {
  it('sees no change between equal templates whose keys come in another order (a list versus a watch)', () => {
    const fromList = {
      metadata: { labels: { app: 'web' } },
      spec: {
        containers: [
          {
            name: 'web',
            image: 'web:1',
            readinessProbe: { httpGet: { path: '/', port: 80 }, periodSeconds: 10 },
            resources: { limits: { memory: '1Gi', cpu: '1' } },
          },
        ],
      },
    };
    const fromWatch = {
      spec: {
        containers: [
          {
            resources: { limits: { cpu: '1', memory: '1Gi' } },
            readinessProbe: { periodSeconds: 10, httpGet: { port: 80, path: '/' } },
            image: 'web:1',
            name: 'web',
          },
        ],
      },
      metadata: { labels: { app: 'web' } },
    };
    const diff = diffTemplates(fromList, fromWatch);
    expect(diff.changes).toEqual([]);
    expect(diff.probes_changed + diff.resources_changed).toBe(0);
  });
});
