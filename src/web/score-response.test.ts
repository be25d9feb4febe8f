import type { V1Deployment } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import type { RiskModel } from '../assess/score.js';
import { scoreManifest } from '../controller/score-manifest.js';
import { scoreResponseSchema, toScoreResponse } from './score-response.js';

const leakyManifest: V1Deployment = {
  metadata: { name: 'cart', namespace: 'shop' },
  spec: {
    selector: {},
    template: {
      metadata: {
        annotations: {
          'rollguard.io/lines-added': '1200',
          'rollguard.io/change-type': 'bugfix',
          'rollguard.io/commit': 'ABCDEF1',
          'rollguard.io/test-coverage': 'lots',
        },
      },
      spec: {
        containers: [
          {
            name: 'app',
            image: 'shop/cart:1.5.0',
            env: [{ name: 'AWS_ACCESS_KEY_ID', value: 'AKIAIOSFODNN7EXAMPLE' }],
          },
        ],
      },
    },
  },
};

const now = new Date('2025-03-04T10:00:00Z');

describe('toScoreResponse', () => {
  it('shapes a rules-scored assessment, and the shape is the one the OpenAPI document states', async () => {
    const result = await scoreManifest(leakyManifest, {}, { now });
    const response = toScoreResponse(result, { namespace: 'shop', deployment: 'cart' }, now);
    expect(scoreResponseSchema.parse(response)).toEqual(response);
    expect(response).toMatchObject({
      namespace: 'shop',
      deployment: 'cart',
      level: 'block',
      scorer: 'rules',
      modelVersion: null,
      policy: '(defaults)',
      mode: 'enforce',
      changeType: 'bugfix',
      commit: 'abcdef1',
      assessedAt: '2025-03-04T10:00:00.000Z',
    });
    expect(response.hardRules.join(' ')).toMatch(/AWS access key/);
    expect(response.findings).toContainEqual(
      expect.objectContaining({ kind: 'hardcoded-secret', container: 'app' }) as unknown,
    );
    // The secret itself is never repeated.
    expect(JSON.stringify(response)).not.toContain('AKIAIOSFODNN7EXAMPLE');
    expect(response.features.lines_added).toBe(1200);
    expect(response.missingFeatures).toContain('test_coverage');
    expect(response.annotationWarnings).toEqual([
      {
        annotation: 'rollguard.io/test-coverage',
        value: 'lots',
        problem: expect.stringMatching(/not a number/) as unknown,
      },
    ]);
    expect(response.notes.join(' ')).toMatch(/no cluster/);
    expect(response.liveSignals).toBe('no Prometheus address in the policy');
  });

  it('names the model that scored', async () => {
    const model: RiskModel = {
      version: 'test-model-1',
      learnedFeatures: new Set(['lines_added']),
      predict: () => ({ probability: 0.1, contributions: { lines_added: 0.05 } }),
    };
    const safe = structuredClone(leakyManifest);
    const container = safe.spec?.template.spec?.containers[0];
    if (container) container.env = [];
    const result = await scoreManifest(safe, {}, { now, model });
    const response = toScoreResponse(result, { namespace: 'shop' }, now);
    expect(scoreResponseSchema.parse(response)).toEqual(response);
    expect(response.scorer).toBe('model');
    expect(response.modelVersion).toBe('test-model-1');
    expect(response.deployment).toBeNull();
    expect(response.hardRules).toEqual([]);
  });
});
