// The model card: the sections the issue asks for, and what it says about unlearned features.
import { describe, expect, it } from 'vitest';

import { renderModelCard } from './card.js';
import type { ModelMeta } from './store.js';

const meta: ModelMeta = {
  modelVersion: 'jit-test-0123456789ab',
  contractVersion: 1,
  featureNames: [],
  learnedFeatures: ['files_changed', 'lines_added'],
  data: { description: 'd', rows: 100, positives: 20 },
  trainer: {
    trees: 10,
    seed: 1,
    maxDepth: null,
    minSamplesLeaf: 5,
    minSamplesSplit: 2,
    maxFeatures: 'sqrt',
    maxBins: 256,
  },
  importances: { files_changed: 0.3, lines_added: 0.7, authors: 0 },
  evaluation: {
    method: 'time-ordered: trained on the oldest 70 % by t, tested on the newest 30 %',
    auc: 0.8123,
    threshold: 0.5,
    precision: 0.5,
    recall: 0.25,
    f1: 1 / 3,
    confusion: { truePositives: 2, falsePositives: 2, trueNegatives: 20, falseNegatives: 6 },
    caughtTop10: 0.375,
    caughtTop20: 0.5,
    rows: 30,
    positives: 8,
    trainRows: 70,
    testRows: 30,
    trainMs: 12.4,
  },
  trainedAt: '2024-01-02T00:00:00.000Z',
  trees: 10,
  nodes: 321,
};

const text = { title: 'T', summary: ['S.'], data: ['From here.'], rebuild: 'make model', limits: ['Limited.'] };

describe('renderModelCard', () => {
  const card = renderModelCard(meta, text);
  it.each([
    '# T',
    '## Data',
    '- From here.',
    '- 100 rows, 20 of them risky (20.0 %).',
    '## Features',
    '| 0 | `files_changed` | count (nf) | change annotation | yes | 0.300 |',
    '| 7 | `authors` | count | change annotation | no — missing (-1) in the training data; rules only | – |',
    '## Evaluation on newer data',
    'Time-ordered: trained on the oldest 70 % by t, tested on the newest 30 %.',
    '| AUC | 0.812 |',
    '| risky changes caught in the riskiest 10 % | 37.5 % |',
    '| risky | 2 | 6 |',
    '- `lines_added` 0.700',
    '## Rebuild',
    'make model',
    '## Limits',
    '- Limited.',
    'jit-test-0123456789ab',
  ])('holds %j', (line) => {
    expect(card).toContain(line);
  });

  it('says when there was no evaluation and when the model is not over the contract', () => {
    const plain = renderModelCard({ ...meta, evaluation: null, contractVersion: null, featureNames: ['x'] }, text);
    expect(plain).toContain('Not evaluated');
    expect(plain).toContain('not the feature contract');
    expect(plain).toContain('| 0 | `x` | no (constant) | 0.000 |');
  });
});
