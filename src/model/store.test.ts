// Model directories and ConfigMap blobs: round trips, the size limit, and refusing mismatched meta.json.
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

import { afterEach, beforeEach, describe, expect, it } from 'vitest';

import { FEATURE_NAMES, toFeatureVector } from './contract.js';
import { loadForest } from './forest.js';
import { ModelFormatError } from './library-json.js';
import { buildBundle } from './pipeline.js';
import {
  blobSize,
  checkBundle,
  decodeModelBlob,
  encodeModelBlob,
  loadModelDir,
  MAX_BLOB_BYTES,
  META_FILE,
  MODEL_FILE,
  ModelTooLargeError,
  saveModelDir,
  type ModelBundle,
} from './store.js';
import { gzipBomb, syntheticRows } from './testing.js';
import { trainForest } from './train.js';

function contractBundle(trees = 10): ModelBundle {
  const { rows, labels } = syntheticRows(300, 5);
  const vectors = rows.map((row) => toFeatureVector({ files_changed: row[0] ?? 0, lines_added: row[1] ?? 0 }));
  const forest = trainForest(vectors, labels, { trees });
  return buildBundle(
    forest,
    { rows: vectors, labels },
    {
      name: 'test',
      featureNames: FEATURE_NAMES,
      followsContract: true,
      dataDescription: 'synthetic',
      evaluation: null,
      trainedAt: new Date(Date.UTC(2024, 0, 2)),
    },
  );
}

describe('model directory', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'rollguard-model-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('saves and loads model.json, meta.json and the card', async () => {
    const bundle = contractBundle();
    await saveModelDir(dir, bundle, '# card\n');
    const loaded = await loadModelDir(dir);
    expect(loaded).toEqual(JSON.parse(JSON.stringify(bundle)));
    expect(await readFile(path.join(dir, 'MODEL_CARD.md'), 'utf8')).toBe('# card\n');
    expect(loaded.meta).toMatchObject({
      contractVersion: 1,
      featureNames: [...FEATURE_NAMES],
      learnedFeatures: ['files_changed', 'lines_added'],
      trainedAt: '2024-01-02T00:00:00.000Z',
      trees: 10,
    });
    expect(loaded.meta.modelVersion).toMatch(/^test-[0-9a-f]{12}$/);
    expect(Object.values(loaded.meta.importances).reduce((s, v) => s + v, 0)).toBeCloseTo(1, 3);
    const vector = toFeatureVector({ files_changed: 80, lines_added: 100 });
    expect(loadForest(loaded.forest).score(vector)).toBeGreaterThan(0.5);
  });

  it('gives the same version to the same model', () => {
    expect(contractBundle().meta.modelVersion).toBe(contractBundle().meta.modelVersion);
    expect(contractBundle(11).meta.modelVersion).not.toBe(contractBundle().meta.modelVersion);
  });

  it.each([
    ['a missing model.json', () => Promise.resolve(), /cannot read .*model\.json/],
    [
      'model.json that is not JSON',
      async () => {
        await saveModelDir(dir, contractBundle());
        await writeFile(path.join(dir, MODEL_FILE), '{');
      },
      /model\.json is not valid JSON/,
    ],
    [
      'meta.json without featureNames',
      async () => {
        const bundle = contractBundle();
        await saveModelDir(dir, bundle);
        await writeFile(path.join(dir, META_FILE), JSON.stringify({ ...bundle.meta, featureNames: undefined }));
      },
      /no featureNames list/,
    ],
  ] as const)('refuses %s', async (_, prepare, message) => {
    await prepare();
    await expect(loadModelDir(dir)).rejects.toThrow(message);
  });
});

describe('checkBundle', () => {
  const bundle = contractBundle(3);
  it.each([
    [{ featureNames: ['a'] }, /names 1 features, the model uses 25/],
    [{ contractVersion: 2 }, /follows feature contract 2, this build knows 1/],
    [{ featureNames: [...FEATURE_NAMES].reverse() }, /featureNames differ/],
    [{ modelVersion: '' }, /no modelVersion/],
  ])('refuses meta %j', (change, message) => {
    expect(() => checkBundle(bundle.forest, { ...bundle.meta, ...change })).toThrow(ModelFormatError);
    expect(() => checkBundle(bundle.forest, { ...bundle.meta, ...change })).toThrow(message);
  });
  it('accepts a model over its own columns', () => {
    const meta = { ...bundle.meta, contractVersion: null, featureNames: FEATURE_NAMES.map((n) => `x_${n}`) };
    expect(checkBundle(bundle.forest, meta).meta.contractVersion).toBeNull();
  });
});

describe('ConfigMap blob', () => {
  it('round-trips and is far smaller than the JSON', () => {
    const bundle = contractBundle();
    const blob = encodeModelBlob(bundle);
    expect(blob).toMatch(/^[A-Za-z0-9+/]+=*$/);
    expect(blob.length).toBe(blobSize(bundle));
    expect(blob.length).toBeLessThan(JSON.stringify(bundle).length / 2);
    expect(decodeModelBlob(blob)).toEqual(JSON.parse(JSON.stringify(bundle)));
  });

  it('refuses a model over the limit, saying how big it is', () => {
    const bundle = contractBundle(2);
    // Incompressible padding in the description pushes the blob over the limit.
    const padding = randomBytes(MAX_BLOB_BYTES).toString('base64');
    const huge = { ...bundle, meta: { ...bundle.meta, data: { ...bundle.meta.data, description: padding } } };
    expect(() => encodeModelBlob(huge)).toThrow(ModelTooLargeError);
    expect(() => encodeModelBlob(huge)).toThrow(/compressed model is \d+ KiB, a ConfigMap leaves room for 1008 KiB/);
  });

  it('refuses a blob that expands past the limit (a gzip bomb) without expanding it all', () => {
    // 200 MiB of zeros gzip to about 200 KiB: small enough for a ConfigMap, far too big to expand.
    const bomb = gzipBomb(200);
    expect(bomb.length).toBeLessThan(MAX_BLOB_BYTES);
    expect(() => decodeModelBlob(bomb)).toThrow(/model blob expands past 64 MiB; refusing it/);
  });

  it.each([
    ['not base64 gzip', 'hello'],
    ['gzip of something else', Buffer.from('x').toString('base64')],
  ])('refuses %s', (_, blob) => {
    expect(() => decodeModelBlob(blob)).toThrow(ModelFormatError);
  });
});
