import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { LEARNED_FEATURES } from '../model/contract.js';
import {
  APACHEJIT_TO_CONTRACT,
  apacheJitReference,
  apacheJitReferenceInThread,
  isShippedModel,
  ShippedReferenceSource,
  shippedDataPath,
} from './reference.js';

const CSV = [
  'commit_id,project,buggy,fix,year,author_date,la,ld,nf,nd,ns,ent,ndev,age,nuc,aexp,arexp,asexp',
  'a1,apache/x,True,False,2017,1488367395,1439,87,80,4,1,5.7,0.3,50.6,4.2,223,178.8,21.0',
  'b2,apache/y,False,True,2018,1486008708,983,4378,16,8,4,0.72,5.25,0.0,64.75,105,60.8,0.1',
  'c3,apache/y,False,False,2019,1486008709,10,2,1,1,1,0,1,2,3,7,1,1',
].join('\n');

describe('isShippedModel', () => {
  it.each([
    { version: 'jit-apachejit-v1-0123456789ab', shipped: true },
    { version: 'cluster-v1-0123456789ab', shipped: false },
    { version: 'jit-apachejit-v1', shipped: false },
    { version: 'jit-apachejit-v10-0123456789ab', shipped: false },
  ])('$version → $shipped', ({ version, shipped }) => {
    expect(isShippedModel(version)).toBe(shipped);
  });
});

describe('apacheJitReference', () => {
  it('maps the ApacheJIT columns onto the contract, the rest missing', () => {
    const reference = apacheJitReference(CSV);
    expect(reference.rows).toBe(3);
    expect(reference.features.lines_added).toEqual({
      kind: 'numeric',
      n: 3,
      values: [10, 983, 1439],
      weights: [1, 1, 1],
    });
    expect(reference.features.is_fix).toEqual({ kind: 'categorical', n: 3, counts: { '0': 2, '1': 1 } });
    expect(reference.features.test_coverage).toEqual({ kind: 'numeric', n: 3, values: [-1], weights: [3] });
    // ndev is not `authors` (see the mapping's comment).
    expect(reference.features.authors).toEqual({ kind: 'numeric', n: 3, values: [-1], weights: [3] });
  });

  it("maps onto exactly the shipped model's learned features", () => {
    expect(Object.values(APACHEJIT_TO_CONTRACT).sort()).toEqual([...LEARNED_FEATURES].sort());
  });
});

describe('apacheJitReferenceInThread', () => {
  it("summarises in a thread of its own, exactly as on the caller's thread", async () => {
    const { summary, threadId: where } = await apacheJitReferenceInThread(CSV);
    expect(where).not.toBe(threadId);
    expect(summary).toEqual(apacheJitReference(CSV));
  });

  it('passes a parse error back with its message', async () => {
    await expect(apacheJitReferenceInThread('commit_id,la\nx,1')).rejects.toThrow(/buggy/);
  });
});

describe('ShippedReferenceSource', () => {
  it('builds the shipped model reference from the data file in the repository', async () => {
    const file = shippedDataPath();
    expect(file).toBeDefined();
    const meta = JSON.parse(
      await readFile(path.join(path.dirname(file ?? ''), '../../models/default/meta.json'), 'utf8'),
    ) as { modelVersion: string; learnedFeatures: string[]; data: { rows: number } };
    const source = new ShippedReferenceSource();
    const reference = await source.referenceFor(meta.modelVersion);
    expect(reference?.rows).toBe(meta.data.rows);
    for (const feature of meta.learnedFeatures) {
      expect(reference?.features[feature as keyof typeof reference.features]?.n).toBe(meta.data.rows);
    }
    // Cached: the same object the second time.
    expect(await source.referenceFor(meta.modelVersion)).toBe(reference);
  });

  it('has none for other models or without the data file', async () => {
    expect(await new ShippedReferenceSource().referenceFor('cluster-v1-0123456789ab')).toBeUndefined();
    expect(await new ShippedReferenceSource(null).referenceFor('jit-apachejit-v1-0123456789ab')).toBeUndefined();
  });

  it('does not cache a failed read', async () => {
    const source = new ShippedReferenceSource('/nonexistent/apachejit-small.csv');
    await expect(source.referenceFor('jit-apachejit-v1-0123456789ab')).rejects.toThrow(/ENOENT/);
    await expect(source.referenceFor('jit-apachejit-v1-0123456789ab')).rejects.toThrow(/ENOENT/);
  });
});
