// The generated CRDs: structural, described, named and printed as planned, and identical to the files in crds/.
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import {
  customResourceDefinition,
  deploymentRiskPolicyDefinition,
  generatedCrdFiles,
  resourceDefinitions,
  rolloutAssessmentDefinition,
  type CustomResourceDefinition,
} from './crd.js';
import { structuralViolations, undescribedFields, type StructuralSchema } from './structural.js';

const repoRoot = new URL('../../', import.meta.url);

function rootSchema(crd: CustomResourceDefinition): StructuralSchema {
  const [version] = crd.spec.versions;
  if (!version) throw new Error('no version');
  return version.schema.openAPIV3Schema;
}

function at(schema: StructuralSchema, ...path: string[]): StructuralSchema {
  let node = schema;
  for (const name of path) {
    const next = node.properties?.[name];
    if (!next) throw new Error(`no field ${path.join('.')}`);
    node = next;
  }
  return node;
}

describe.each(resourceDefinitions.map((def) => [def.kind, def] as const))('the %s CRD', (_kind, def) => {
  const crd = customResourceDefinition(def);
  const schema = rootSchema(crd);

  it('has a structural schema the API server accepts', () => {
    expect(structuralViolations(schema)).toEqual([]);
  });

  it('describes every field, for kubectl explain', () => {
    expect(undescribedFields(schema)).toEqual([]);
  });

  it('is namespaced, v1alpha1 served and stored, with the status subresource', () => {
    expect(crd.metadata.name).toBe(`${def.plural}.rollguard.io`);
    expect(crd.spec.scope).toBe('Namespaced');
    expect(crd.spec.names.categories).toEqual(['rollguard']);
    expect(crd.spec.versions).toHaveLength(1);
    expect(crd.spec.versions[0]).toMatchObject({
      name: 'v1alpha1',
      served: true,
      storage: true,
      subresources: { status: {} },
    });
  });

  it('requires spec and leaves status to the controller', () => {
    expect(schema.required).toEqual(['spec']);
    expect(at(schema, 'status').required).toBeUndefined();
  });
});

describe('names and printer columns', () => {
  it.each([
    [deploymentRiskPolicyDefinition, 'drp', ['Mode', 'Ready', 'Covered', 'Assessments', 'Pauses', 'Rollbacks', 'Age']],
    [rolloutAssessmentDefinition, 'ra', ['Deployment', 'Revision', 'Score', 'Level', 'Outcome', 'Phase', 'Age']],
  ])('%#: short name and columns', (def, shortName, columns) => {
    const crd = customResourceDefinition(def);
    expect(crd.spec.names.shortNames).toEqual([shortName]);
    expect(crd.spec.versions[0]?.additionalPrinterColumns.map((c) => c.name)).toEqual(columns);
  });

  it.each(
    resourceDefinitions.flatMap((def) => def.printerColumns.map((column) => [def.kind, column.name, column] as const)),
  )('%s column %s points at a field of the schema with its type', (_kind, _name, column) => {
    const def = resourceDefinitions.find((d) => d.printerColumns.includes(column));
    if (!def) throw new Error('no definition');
    if (column.jsonPath.startsWith('.metadata.')) return;
    const path = column.jsonPath
      .replace(/\[\?.*$/, '')
      .slice(1)
      .split('.');
    const field = at(rootSchema(customResourceDefinition(def)), ...path);
    if (column.name === 'Ready') {
      expect(field.items?.properties?.status?.enum).toEqual(['True', 'False', 'Unknown']);
    } else {
      expect(field.type).toBe(column.type);
    }
  });
});

describe('the policy schema carries what the API server enforces', () => {
  const spec = at(rootSchema(customResourceDefinition(deploymentRiskPolicyDefinition)), 'spec');

  it.each<[string, string[], Partial<StructuralSchema>]>([
    ['mode default and enum', ['mode'], { default: 'enforce', enum: ['enforce', 'advisory', 'shadow'] }],
    ['the full thresholds default', ['thresholds'], { default: { monitor: 0.4, rollbackReady: 0.6, block: 0.8 } }],
    ['duration pattern', ['verification', 'interval'], { pattern: '^([0-9]+(ms|s|m|h))+$', default: '10s' }],
    ['block pauses by default', ['levels', 'block', 'pause'], { default: true }],
    ['onNoData holds by default', ['verification', 'onNoData'], { default: 'hold' }],
    ['gitOps pauses by default', ['rollback', 'gitOps'], { default: 'pause' }],
  ])('%s', (_name, path, expected) => {
    expect(at(spec, ...path)).toMatchObject(expected);
  });

  it.each<[string, string[], RegExp]>([
    ['thresholds in order', ['thresholds'], /self\.monitor < self\.rollbackReady && self\.rollbackReady < self\.block/],
    ['interval above zero', ['verification', 'interval'], /matches/],
    ['rate window above zero', ['metrics', 'rateWindow'], /matches/],
    ['one kind of credentials', ['prometheus'], /bearerTokenSecretRef/],
  ])('a CEL rule for %s', (_name, path, rule) => {
    const rules = at(spec, ...path)['x-kubernetes-validations'] ?? [];
    expect(rules.map((r) => r.rule).join(' ')).toMatch(rule);
    expect(rules.every((r) => typeof r.message === 'string' && r.message.length > 0)).toBe(true);
  });

  it('makes the empty selector explicit in the description', () => {
    expect(at(spec, 'selector').description).toMatch(/empty selector \{\} covers every Deployment/);
  });
});

describe('the files in crds/', () => {
  it.each(generatedCrdFiles().map((file) => [file.path, file] as const))(
    '%s is what hack/gen-crds.ts generates (run `npx tsx hack/gen-crds.ts` if not)',
    async (path, file) => {
      const onDisk = await readFile(new URL(path, repoRoot), 'utf8');
      expect(onDisk).toBe(file.content);
    },
  );

  it.each(generatedCrdFiles().map((file) => [file.path, file] as const))(
    '%s says it is generated and parses back to the CRD',
    (_path, file) => {
      expect(file.content.split('\n').slice(0, 2).join('\n')).toMatch(
        /^# Generated by `npx tsx hack\/gen-crds\.ts`.*\n# Do not edit by hand/,
      );
      const def = resourceDefinitions.find((d) => file.path.endsWith(`_${d.plural}.yaml`));
      if (!def) throw new Error(`no definition for ${file.path}`);
      expect(parseYaml(file.content)).toEqual(customResourceDefinition(def));
    },
  );
});
