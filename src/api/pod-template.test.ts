// Pod templates compared by content, without the pod-template-hash label, and their digests: the digest
// must never change for a given template, since records keep it.
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { sameTemplate, sameTemplateOf, templateDigest, templateDigestOf, withoutHash } from './pod-template.js';

function podTemplate(image: string): V1PodTemplateSpec {
  return {
    metadata: { labels: { app: 'web' }, annotations: { 'rollguard.io/change-type': 'feature' } },
    spec: { containers: [{ name: 'web', image, ports: [{ containerPort: 8080 }] }] },
  };
}

describe('sameTemplate', () => {
  const t = podTemplate('shop:1.2');
  const withHash = (template: V1PodTemplateSpec, hash: string): V1PodTemplateSpec => ({
    ...template,
    metadata: { ...template.metadata, labels: { ...template.metadata?.labels, 'pod-template-hash': hash } },
  });

  it.each<[string, V1PodTemplateSpec | undefined, V1PodTemplateSpec | undefined, boolean]>([
    ['the same template', t, podTemplate('shop:1.2'), true],
    ['the ReplicaSet copy with its pod-template-hash label', t, withHash(t, 'ccc333'), true],
    ['two copies with different hash labels', withHash(t, 'a'), withHash(t, 'b'), true],
    [
      'the same template with keys in another order',
      t,
      {
        spec: { containers: [{ ports: [{ containerPort: 8080 }], image: 'shop:1.2', name: 'web' }] },
        metadata: { annotations: { 'rollguard.io/change-type': 'feature' }, labels: { app: 'web' } },
      },
      true,
    ],
    ['a different image', t, podTemplate('shop:1.3'), false],
    ['a different label', t, { ...t, metadata: { ...t.metadata, labels: { app: 'web', track: 'canary' } } }, false],
    [
      'a different annotation',
      t,
      { ...t, metadata: { ...t.metadata, annotations: { 'rollguard.io/change-type': 'hotfix' } } },
      false,
    ],
    ['containers in another order', podTemplateWith(['a', 'b']), podTemplateWith(['b', 'a']), false],
    ['nothing and an empty template', undefined, {}, true],
  ])('%s → %s', (_what, a, b, same) => {
    expect(sameTemplate(a, b)).toBe(same);
    expect(sameTemplate(b, a)).toBe(same);
  });

  it('does not modify the template it strips', () => {
    const template = withHash(t, 'ccc333');
    const stripped = withoutHash(template);
    expect(stripped.metadata?.labels).toEqual({ app: 'web' });
    expect(template.metadata?.labels).toEqual({ app: 'web', 'pod-template-hash': 'ccc333' });
  });
});

function podTemplateWith(names: string[]): V1PodTemplateSpec {
  return { spec: { containers: names.map((name) => ({ name, image: `${name}:1` })) } };
}

describe('templateDigest', () => {
  // Computed by the first release that wrote spec.templateDigest; a change here would orphan held records.
  it.each<[string, V1PodTemplateSpec | undefined, string]>([
    [
      'a template with mixed-case keys and a hash label',
      {
        metadata: {
          labels: { app: 'web', 'pod-template-hash': 'abc' },
          annotations: { 'rollguard.io/change-type': 'feature', Zeta: '1', alpha: '2' },
        },
        spec: {
          containers: [
            { name: 'web', image: 'shop:1.2', env: [{ name: 'B', value: 'x' }], ports: [{ containerPort: 8080 }] },
          ],
        },
      },
      '9c7321e68cf376dfff51db9b1556f981',
    ],
    ['no template', undefined, '9630561a8cd8cef037b771af2a4732c6'],
    ['an empty template', {}, '9630561a8cd8cef037b771af2a4732c6'],
  ])('%s → %s', (_what, template, digest) => {
    expect(templateDigest(template)).toBe(digest);
  });
});

describe('templateDigestOf', () => {
  const owner = (image: string, resourceVersion?: string) => ({
    metadata: resourceVersion === undefined ? {} : { resourceVersion },
    spec: { template: podTemplate(image) },
  });

  it('is the digest of the template, for the Deployment and its ReplicaSet alike', () => {
    const deployment = owner('shop:1.2', '10');
    const replicaSet = owner('shop:1.2', '11');
    replicaSet.spec.template.metadata = {
      ...replicaSet.spec.template.metadata,
      labels: { app: 'web', 'pod-template-hash': 'h' },
    };
    expect(templateDigestOf(deployment)).toBe(templateDigest(podTemplate('shop:1.2')));
    expect(sameTemplateOf(deployment, replicaSet)).toBe(true);
    expect(sameTemplateOf(deployment, owner('shop:1.3', '12'))).toBe(false);
  });
  it('follows a new resourceVersion of the same object', () => {
    const deployment = owner('shop:1.2', '10');
    const before = templateDigestOf(deployment);
    deployment.spec.template = podTemplate('shop:1.3');
    deployment.metadata = { resourceVersion: '11' };
    expect(templateDigestOf(deployment)).not.toBe(before);
    expect(templateDigestOf(deployment)).toBe(templateDigest(podTemplate('shop:1.3')));
  });
  it('digests an object without a resourceVersion every time, so a hand-built one that changes is followed', () => {
    const built = owner('shop:1.2');
    const before = templateDigestOf(built);
    built.spec.template = podTemplate('shop:1.3');
    expect(templateDigestOf(built)).not.toBe(before);
  });
});
