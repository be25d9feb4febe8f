// The informer under the ReplicaSet scope (controller/cache-scope.ts), on the real control plane: a namespace
// left out of the cache is let in and the cache listed again. The reconciler reads the cache as soon as it is
// told about an object, so every object the informer tells about must be readable at that moment, through
// the relist too. (A fresh cache that told about its objects before it was swapped in sent the reconciler to
// the old cache, which did not hold them: the first revisions of a namespace that got its first policy after
// start were never assessed.)
import { AppsV1Api, KubeConfig, type V1ReplicaSet } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { ResilientInformer } from '../../src/kube/informer.js';
import { createLogger } from '../../src/telemetry/logger.js';
import { kubectl, kubectlJson } from '../support/kubectl.js';
import { createNamespace, deleteNamespace } from '../support/namespace.js';
import { deploymentManifest } from '../support/objects.js';
import { waitFor } from '../support/wait.js';

interface Told {
  namespace: string;
  name: string;
  readable: boolean;
}

async function replicaSetNames(namespace: string): Promise<string[]> {
  const list = await kubectlJson<{ items: { metadata: { name: string } }[] }>(['-n', namespace, 'get', 'replicasets']);
  return list.items.map((i) => i.metadata.name).sort();
}

describe('an informer whose filter lets a namespace in', () => {
  let cached = '';
  let leftOut = '';
  const allowed = new Set<string>();
  const told: Told[] = [];
  let informer: ResilientInformer<V1ReplicaSet>;

  beforeAll(async () => {
    cached = await createNamespace('relist-cached');
    leftOut = await createNamespace('relist-left-out');
    for (const namespace of [cached, leftOut]) {
      await kubectl(['apply', '-f', '-'], deploymentManifest({ namespace, name: 'web' }));
    }
    await waitFor(
      'a ReplicaSet in each namespace',
      async () =>
        (await replicaSetNames(cached)).length && (await replicaSetNames(leftOut)).length ? true : undefined,
      { timeoutMs: 60_000, intervalMs: 500 },
    );

    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(inject('kubeconfig'));
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    allowed.add(cached);
    informer = new ResilientInformer<V1ReplicaSet>({
      name: 'replicasets',
      kubeConfig,
      path: '/apis/apps/v1/replicasets',
      list: () => apps.listReplicaSetForAllNamespaces(),
      listPage: (token, limit) =>
        apps.listReplicaSetForAllNamespaces({ limit, ...(token ? { _continue: token } : {}) }),
      pageSize: 2,
      transform: (rs) => (allowed.has(rs.metadata?.namespace ?? '') ? rs : undefined),
      logger: createLogger('silent'),
      onObject: (rs) => {
        const namespace = rs.metadata?.namespace ?? '';
        const name = rs.metadata?.name ?? '';
        // What a reconciler woken by this would find.
        told.push({ namespace, name, readable: informer.get(name, namespace) !== undefined });
      },
    });
    await informer.start();
  }, 120_000);

  afterAll(async () => {
    await informer.stop();
    await deleteNamespace(cached);
    await deleteNamespace(leftOut);
  });

  it('caches only what the filter lets in', async () => {
    expect(informer.list(cached).map((rs) => rs.metadata?.name)).toEqual(await replicaSetNames(cached));
    expect(informer.list(leftOut)).toEqual([]);
    expect(told.filter((t) => t.namespace === leftOut)).toEqual([]);
  });

  it('after a relist, holds the namespace let in and tells only about objects a reader can find', async () => {
    allowed.add(leftOut);
    told.length = 0;
    await informer.relist();

    const names = await replicaSetNames(leftOut);
    expect(informer.list(leftOut).map((rs) => rs.metadata?.name)).toEqual(names);
    const toldThere = told.filter((t) => t.namespace === leftOut);
    expect(toldThere.map((t) => t.name).sort()).toEqual(expect.arrayContaining(names));
    expect(told.filter((t) => !t.readable)).toEqual([]);
  });

  it('keeps watching after the relist: a new ReplicaSet is cached and readable when told', async () => {
    const before = new Set(await replicaSetNames(leftOut));
    told.length = 0;
    await kubectl(
      ['apply', '-f', '-'],
      deploymentManifest({ namespace: leftOut, name: 'web', image: 'registry.example/shop:2.0.0' }),
    );
    const fresh = await waitFor(
      'the new ReplicaSet told about',
      () => Promise.resolve(told.find((t) => t.namespace === leftOut && !before.has(t.name))),
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(fresh.readable).toBe(true);
    expect(informer.get(fresh.name, leftOut)).toBeDefined();
    expect(told.filter((t) => !t.readable)).toEqual([]);
  });
});
