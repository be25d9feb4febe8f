// Malformed manifests given to `rollguard score`: each gets one line naming the file, the Deployment and the
// field, and exit code 2, never a JavaScript error; Helm templates, patches and other kinds are recognised.
import { describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { scoreFromStdin } from '../../test/support/score-stdin.js';

function deployment(containerPatch: Record<string, unknown> = {}, specPatch: Record<string, unknown> = {}) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'checkout', namespace: 'shop' },
    spec: {
      selector: { matchLabels: { app: 'checkout' } },
      template: {
        metadata: { labels: { app: 'checkout' } },
        spec: {
          containers: [
            {
              name: 'app',
              image: 'registry.example/checkout:1.2.0',
              env: [
                { name: 'MODE', value: 'prod' },
                { name: 'REGION', value: 'eu' },
                { name: 'LIMIT', value: '10' },
              ],
              ...containerPatch,
            },
          ],
          ...specPatch,
        },
      },
    },
  };
}

const score = scoreFromStdin;

const env = (value: unknown) => [
  { name: 'MODE', value: 'prod' },
  { name: 'REGION', value: 'eu' },
  { name: 'LIMIT', value },
];

describe('malformed manifests: one line, the place, exit 2', () => {
  it.each<[string, string, string]>([
    [
      'a number as an env value',
      stringify(deployment({ env: env(12345678) })),
      '-: Deployment checkout: spec.template.spec.containers[0].env[2].value: must be text, not 12345678',
    ],
    [
      'a number as the image',
      stringify(deployment({ image: 42 })),
      '-: Deployment checkout: spec.template.spec.containers[0].image: must be text, not 42',
    ],
    [
      'containers as a map',
      stringify(deployment({}, { containers: { app: { image: 'x:1' } } })),
      '-: Deployment checkout: spec.template.spec.containers: must list the containers',
    ],
    [
      'env as a map',
      stringify(deployment({ env: { MODE: 'prod' } })),
      '-: Deployment checkout: spec.template.spec.containers[0].env: must be a list, not an object',
    ],
    [
      'an empty containers list',
      stringify(deployment({}, { containers: [] })),
      '-: Deployment checkout: spec.template.spec.containers: must list at least one container',
    ],
    [
      'containers: with nothing after it',
      stringify(deployment({}, { containers: null })),
      '-: Deployment checkout: spec.template.spec.containers: must list the containers',
    ],
    [
      'args that are not text',
      stringify(deployment({ args: ['--port', 8080] })),
      '-: Deployment checkout: spec.template.spec.containers[0].args[1]: must be text, not 8080',
    ],
    [
      'a container without a name',
      stringify(deployment({ name: undefined })),
      '-: Deployment checkout: spec.template.spec.containers[0].name: is required',
    ],
    [
      'annotations that are not text',
      stringify({ ...deployment(), metadata: { name: 'checkout', annotations: { 'rollguard.io/files-changed': 3 } } }),
      '-: Deployment checkout: metadata.annotations.rollguard.io/files-changed: must be text, not 3',
    ],
  ])('%s', async (_what, text, line) => {
    const r = await score(text);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`rollguard score: ${line}\n`);
    expect(r.stdout).toBe('');
  });

  it('says to render a Helm template first', async () => {
    const text = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "shop.fullname" . }}
spec:
  replicas: {{ .Values.replicaCount }}
`;
    const r = await score(text);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'rollguard score: - is a Helm template ({{ … }} actions), not a manifest: render it first, e.g. helm template RELEASE CHART | rollguard score -f -\n',
    );
  });

  it('recognises a Kustomize patch', async () => {
    const patch = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'checkout' },
      spec: { template: { spec: { containers: [{ name: 'app', env: [{ name: 'MODE', value: 'canary' }] }] } } },
    };
    const r = await score(stringify(patch));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'rollguard score: -: Deployment checkout is a patch (no spec.selector, containers without an image), not a whole Deployment: score the result, e.g. kustomize build DIR | rollguard score -f -\n',
    );
  });

  it('recognises a JSON patch', async () => {
    const r = await score(JSON.stringify([{ op: 'replace', path: '/spec/replicas', value: 3 }]));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'rollguard score: - is a JSON patch (a list of op/path operations), not a Deployment: score what it produces, e.g. kustomize build DIR | rollguard score -f -\n',
    );
  });
});

describe('other kinds', () => {
  it('lists the workloads it skipped next to the Deployments it scored', async () => {
    const statefulSet = { apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' } };
    const daemonSet = { apiVersion: 'apps/v1', kind: 'DaemonSet', metadata: { name: 'agent' } };
    const text = [deployment(), statefulSet, daemonSet, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'x' } }]
      .map((o) => stringify(o))
      .join('---\n');
    const r = await score(text);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(
      'Skipped (rollguard scores apps/v1 Deployments only): StatefulSet db, DaemonSet agent\n',
    );
    const json = await score(text, ['--json']);
    expect((JSON.parse(json.stdout) as { skipped: string[] }).skipped).toEqual(['StatefulSet db', 'DaemonSet agent']);
  });

  it('says when there is nothing to score, naming what the file holds', async () => {
    const r = await score(stringify({ apiVersion: 'apps/v1', kind: 'StatefulSet', metadata: { name: 'db' } }));
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('rollguard score: - holds no apps/v1 Deployment (found StatefulSet db)\n');
  });
});
