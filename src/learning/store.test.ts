import type { V1ConfigMap } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { FEATURE_NAMES } from '../model/contract.js';
import { ModelFormatError } from '../model/library-json.js';
import { buildBundle } from '../model/pipeline.js';
import { CONFIGMAP_LIMIT_BYTES, encodeModelBlob, ModelTooLargeError } from '../model/store.js';
import { gzipBomb, syntheticRows } from '../model/testing.js';
import { trainForest } from '../model/train.js';
import { summariseReference } from './drift.js';
import {
  annotations,
  ConfigMapModelStore,
  configMapDataBytes,
  controllerNamespace,
  decodeReference,
  encodeReference,
  MODEL_KEY,
  modelConfigMap,
  REFERENCE_KEY,
  storedModelFrom,
  type ConfigMapApi,
  type ModelToStore,
} from './store.js';

const data = syntheticRows(120, 2, FEATURE_NAMES.length);
const bundle = buildBundle(trainForest(data.rows, data.labels, { trees: 5, seed: 1 }), data, {
  name: 'cluster-v1',
  featureNames: FEATURE_NAMES,
  followsContract: true,
  dataDescription: 'synthetic',
  evaluation: null,
  trainedAt: new Date('2025-01-01T00:00:00Z'),
});
const reference = summariseReference(data.rows, 'synthetic');
const model: ModelToStore = {
  blob: encodeModelBlob(bundle),
  modelVersion: bundle.meta.modelVersion,
  reference,
  trainedThrough: Date.parse('2025-02-03T04:05:06Z'),
  outcomes: 120,
  reason: 'better',
};

describe('modelConfigMap and storedModelFrom', () => {
  it('write the model and its reference as binaryData, and read them back', () => {
    const configMap = modelConfigMap('rollguard-model', 'rollguard-system', model);
    expect(configMap.metadata).toMatchObject({
      name: 'rollguard-model',
      namespace: 'rollguard-system',
      labels: { 'app.kubernetes.io/name': 'rollguard', 'app.kubernetes.io/component': 'risk-model' },
      annotations: {
        [annotations.modelVersion]: bundle.meta.modelVersion,
        [annotations.trainedThrough]: '2025-02-03T04:05:06.000Z',
        [annotations.outcomes]: '120',
        [annotations.reason]: 'better',
      },
    });
    expect(Object.keys(configMap.binaryData ?? {})).toEqual([MODEL_KEY, REFERENCE_KEY]);
    expect(configMap.data).toBeUndefined();
    const stored = storedModelFrom(JSON.parse(JSON.stringify(configMap)) as V1ConfigMap);
    expect(stored.bundle).toEqual(bundle);
    expect(stored.reference).toEqual(reference);
    expect(stored.trainedThrough).toBe(model.trainedThrough);
    expect(stored.outcomes).toBe(120);
    expect(stored.bytes).toBe(configMapDataBytes(configMap));
  });

  it('leave out what is unknown', () => {
    const configMap = modelConfigMap('m', 'ns', { ...model, reference: undefined, trainedThrough: undefined });
    expect(Object.keys(configMap.binaryData ?? {})).toEqual([MODEL_KEY]);
    const stored = storedModelFrom(configMap);
    expect(stored.reference).toBeUndefined();
    expect(stored.trainedThrough).toBeUndefined();
  });

  it.each([
    {
      name: 'no model key',
      configMap: { metadata: { name: 'm', namespace: 'ns' } },
      error: /has no binaryData key model.json.gz/,
    },
    {
      name: 'a damaged model',
      configMap: { metadata: { name: 'm', namespace: 'ns' }, binaryData: { [MODEL_KEY]: 'bm90IGd6aXA=' } },
      error: /ConfigMap ns\/m: model blob is not gzip \+ base64 JSON/,
    },
  ])('storedModelFrom refuses $name', ({ configMap, error }) => {
    expect(() => storedModelFrom(configMap)).toThrow(ModelFormatError);
    expect(() => storedModelFrom(configMap)).toThrow(error);
  });

  it('reads a damaged reference as none (drift is then not measured) and keeps the model', () => {
    const configMap = modelConfigMap('m', 'ns', model);
    const damaged = { ...configMap, binaryData: { ...configMap.binaryData, [REFERENCE_KEY]: 'AAAA' } };
    expect(storedModelFrom(damaged).reference).toBeUndefined();
    expect(decodeReference(encodeReference(reference))).toEqual(reference);
  });

  it('reads a reference that would expand past its limit (a gzip bomb) as none, and keeps the model', () => {
    const configMap = modelConfigMap('m', 'ns', model);
    const bomb = gzipBomb(100);
    const bombed = { ...configMap, binaryData: { ...configMap.binaryData, [REFERENCE_KEY]: bomb } };
    const stored = storedModelFrom(bombed);
    expect(stored.reference).toBeUndefined();
    expect(stored.bundle.meta).toEqual(storedModelFrom(configMap).bundle.meta);
  });

  it('refuses a ConfigMap over 1 MiB', () => {
    const huge = Buffer.alloc(CONFIGMAP_LIMIT_BYTES).toString('base64');
    expect(() => modelConfigMap('m', 'ns', { ...model, blob: huge })).toThrow(ModelTooLargeError);
  });

  it('counts binaryData at its decoded size', () => {
    expect(
      configMapDataBytes({ data: { a: 'xyz' }, binaryData: { bb: Buffer.from('12345').toString('base64') } }),
    ).toBe(1 + 3 + 2 + 5);
  });
});

describe('controllerNamespace', () => {
  it.each([
    { name: 'explicit first', sources: { explicit: 'ops', env: { POD_NAMESPACE: 'pod' } }, namespace: 'ops' },
    {
      name: 'then POD_NAMESPACE',
      sources: { env: { POD_NAMESPACE: 'pod' }, serviceAccountNamespace: 'sa' },
      namespace: 'pod',
    },
    {
      name: 'then the service account',
      sources: { env: {}, serviceAccountNamespace: 'sa\n', kubeConfigNamespace: 'kc' },
      namespace: 'sa',
    },
    {
      name: 'then the kubeconfig context',
      sources: { env: { POD_NAMESPACE: ' ' }, kubeConfigNamespace: 'kc' },
      namespace: 'kc',
    },
    { name: 'else default', sources: {}, namespace: 'default' },
  ])('$name', ({ sources, namespace }) => {
    expect(controllerNamespace(sources)).toBe(namespace);
  });
});

function apiError(code: number, message: string): Error {
  return Object.assign(new Error(`HTTP ${code}`), { code, body: JSON.stringify({ message }) });
}

/** A ConfigMap API over one object, with scripted failures. */
class FakeConfigMaps implements ConfigMapApi {
  object: V1ConfigMap | undefined;
  version = 0;
  calls: string[] = [];
  failNext: Error[] = [];

  readNamespacedConfigMap: ConfigMapApi['readNamespacedConfigMap'] = (param) => {
    this.calls.push(`read ${param.namespace}/${param.name}`);
    if (!this.object) return Promise.reject(apiError(404, 'not found'));
    return Promise.resolve(structuredClone(this.object));
  };

  createNamespacedConfigMap: ConfigMapApi['createNamespacedConfigMap'] = (param) => {
    this.calls.push(`create ${param.namespace}`);
    const failure = this.failNext.shift();
    if (failure) return Promise.reject(failure);
    if (this.object) return Promise.reject(apiError(409, 'already exists'));
    this.object = this.stamp(param.body);
    return Promise.resolve(structuredClone(this.object));
  };

  replaceNamespacedConfigMap: ConfigMapApi['replaceNamespacedConfigMap'] = (param) => {
    this.calls.push(`replace ${param.namespace}/${param.name} at ${param.body.metadata?.resourceVersion ?? ''}`);
    const failure = this.failNext.shift();
    if (failure) return Promise.reject(failure);
    if (param.body.metadata?.resourceVersion !== this.object?.metadata?.resourceVersion) {
      return Promise.reject(apiError(409, 'the object has been modified'));
    }
    this.object = this.stamp(param.body);
    return Promise.resolve(structuredClone(this.object));
  };

  private stamp(body: V1ConfigMap): V1ConfigMap {
    this.version++;
    return { ...structuredClone(body), metadata: { ...body.metadata, resourceVersion: String(this.version) } };
  }
}

describe('ConfigMapModelStore', () => {
  it('loads nothing before the first save, creates, then replaces at the read resourceVersion', async () => {
    const api = new FakeConfigMaps();
    const store = new ConfigMapModelStore(api, 'rollguard-system');
    expect(store.location).toBe('ConfigMap rollguard-system/rollguard-model');
    expect(await store.load()).toBeUndefined();
    expect(await store.storedVersion()).toBeUndefined();
    await store.save(model);
    expect(await store.storedVersion()).toBe(bundle.meta.modelVersion);
    expect((await store.load())?.bundle.meta.modelVersion).toBe(bundle.meta.modelVersion);
    api.object = {
      ...api.object,
      metadata: { ...api.object?.metadata, labels: { team: 'ops' }, annotations: { note: 'keep me' } },
    };
    await store.save({ ...model, outcomes: 200 });
    expect(api.calls).toEqual([
      'read rollguard-system/rollguard-model',
      'read rollguard-system/rollguard-model',
      'read rollguard-system/rollguard-model',
      'create rollguard-system',
      'read rollguard-system/rollguard-model',
      'read rollguard-system/rollguard-model',
      'read rollguard-system/rollguard-model',
      'replace rollguard-system/rollguard-model at 1',
    ]);
    // Labels and annotations others put there are kept; ours are updated.
    expect(api.object).toMatchObject({
      metadata: {
        labels: { team: 'ops', 'app.kubernetes.io/name': 'rollguard' },
        annotations: { note: 'keep me', [annotations.outcomes]: '200' },
      },
    });
  });

  it('retries a conflict on a fresh read, and gives up after three', async () => {
    const api = new FakeConfigMaps();
    const store = new ConfigMapModelStore(api, 'ns', 'm');
    api.failNext = [apiError(409, 'modified')];
    await store.save(model);
    expect(api.object).toBeDefined();
    api.failNext = [apiError(409, 'modified'), apiError(409, 'modified'), apiError(409, 'modified')];
    await expect(store.save(model)).rejects.toThrow('writing ConfigMap ns/m: modified');
  });

  it("says where and the API server's reason when it cannot read or write", async () => {
    const api = new FakeConfigMaps();
    const store = new ConfigMapModelStore(api, 'ns', 'm');
    api.failNext = [apiError(403, 'configmaps is forbidden')];
    await expect(store.save(model)).rejects.toThrow('writing ConfigMap ns/m: configmaps is forbidden');
    api.readNamespacedConfigMap = () => Promise.reject(apiError(500, 'etcd is sad'));
    await expect(store.load()).rejects.toThrow('reading ConfigMap ns/m: etcd is sad');
  });
});
