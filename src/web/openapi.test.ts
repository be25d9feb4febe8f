import { describe, expect, it } from 'vitest';
import { openApiDocument } from './openapi.js';

interface Doc {
  openapi: string;
  paths: Record<string, Record<string, { responses: Record<string, unknown>; requestBody?: unknown }>>;
  components: { schemas: Record<string, { properties?: Record<string, unknown>; required?: string[] }> };
}

describe('openApiDocument', () => {
  const doc = JSON.parse(
    JSON.stringify(openApiDocument({ maxBodyBytes: 1024 * 1024, ratePerSecond: 10, burst: 20 })),
  ) as Doc;

  it('is OpenAPI 3.0 and describes the score endpoint with every error it gives', () => {
    expect(doc.openapi).toMatch(/^3\.0\./);
    const post = doc.paths['/v1/score']?.post;
    expect(post).toBeDefined();
    expect(Object.keys(post?.responses ?? {}).sort()).toEqual(
      ['200', '400', '401', '403', '405', '408', '413', '415', '429', '500', '503'].sort(),
    );
    expect(JSON.stringify(post)).toContain('1 MiB');
    expect(doc.paths['/v1/openapi.json']?.get).toBeDefined();
  });

  it('has the request and response schemas, generated from the zod schemas', () => {
    const { ManifestRequest, ChangeRequest, ScoreResponse, Error: ErrorSchema } = doc.components.schemas;
    expect(ManifestRequest?.required).toEqual(['deployment']);
    expect(ChangeRequest?.required).toEqual(['changeDescription']);
    expect(Object.keys(ScoreResponse?.properties ?? {})).toEqual(
      expect.arrayContaining([
        'score',
        'level',
        'reasons',
        'hardRules',
        'findings',
        'templateChanges',
        'missingFeatures',
        'features',
        'policy',
        'notes',
        'modelVersion',
      ]),
    );
    expect(ErrorSchema?.required).toEqual(['error']);
    // Every $ref points at a schema the document has.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/components\/schemas\/([A-Za-z]+)"/g)].map((m) => m[1]);
    expect(refs.length).toBeGreaterThan(0);
    for (const ref of refs) expect(doc.components.schemas).toHaveProperty(ref ?? '');
    // OpenAPI 3.0 has no $schema and no const.
    expect(JSON.stringify(doc)).not.toMatch(/"\$schema"|"const"/);
  });
});
