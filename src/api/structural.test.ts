// The zod-to-structural rewrite and the structural checker, each on small schemas with one thing wrong.
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { structuralViolations, toStructuralSchema, undescribedFields } from './structural.js';

const str = { type: 'string', description: 'd' };

describe('structuralViolations', () => {
  it.each<[string, unknown, string[]]>([
    ['a plain object', { type: 'object', properties: { a: str }, required: ['a'] }, []],
    ['a map', { type: 'object', additionalProperties: { type: 'integer' } }, []],
    ['free-form on purpose', { type: 'object', 'x-kubernetes-preserve-unknown-fields': true }, []],
    ['int-or-string without a type', { type: 'object', properties: { p: { 'x-kubernetes-int-or-string': true } } }, []],
    [
      'a field without type',
      { type: 'object', properties: { a: { description: 'x' } } },
      ['.a: every field needs a type'],
    ],
    [
      'a $ref',
      { type: 'object', properties: { a: { $ref: '#/$defs/A' } } },
      ['.a: $ref is not allowed; inline the schema', '.a: every field needs a type'],
    ],
    [
      'properties with additionalProperties',
      { type: 'object', properties: { a: str }, additionalProperties: str },
      ['.: properties and additionalProperties cannot be used together'],
    ],
    [
      'additionalProperties false',
      { type: 'object', properties: { a: str }, additionalProperties: false },
      [
        '.: properties and additionalProperties cannot be used together',
        '.: additionalProperties must be a schema, not false',
      ],
    ],
    [
      'a union',
      { type: 'object', properties: { a: { type: 'string', anyOf: [str] } } },
      [".a: anyOf is not allowed in rollguard's schemas"],
    ],
    [
      'an unknown keyword',
      { type: 'object', properties: { a: { type: 'string', const: 'x' } } },
      ['.a: unknown keyword const'],
    ],
    [
      'a bad type',
      { type: 'object', properties: { a: { type: 'null' } } },
      ['.a: type must be one of object, array, string, integer, number, boolean, not "null"'],
    ],
    [
      'an array without items',
      { type: 'object', properties: { a: { type: 'array' } } },
      ['.a: an array needs one items schema'],
    ],
    [
      'an object with no fields',
      { type: 'object', properties: { a: { type: 'object' } } },
      ['.a: an object needs properties, additionalProperties or x-kubernetes-preserve-unknown-fields'],
    ],
    ['metadata may be bare', { type: 'object', properties: { metadata: { type: 'object' } } }, []],
    [
      'metadata may not say more',
      { type: 'object', properties: { metadata: { type: 'object', description: 'm' } } },
      [".metadata: the root's metadata may only say type: object"],
    ],
    [
      'required names a missing field',
      { type: 'object', properties: { a: str }, required: ['b'] },
      ['.: required field "b" is not among the properties'],
    ],
    [
      'a rule without message',
      { type: 'object', properties: { a: str }, 'x-kubernetes-validations': [{ rule: 'self.a != ""' }] },
      ['.: the rule self.a != "" needs a message saying what is wrong'],
    ],
    [
      'a list map whose key is optional',
      {
        type: 'object',
        properties: {
          l: {
            type: 'array',
            'x-kubernetes-list-type': 'map',
            'x-kubernetes-list-map-keys': ['k'],
            items: { type: 'object', properties: { k: str } },
          },
        },
      },
      ['.l: list map key k must be required or defaulted'],
    ],
    [
      'a default that leaves out a field a CEL rule reads',
      {
        type: 'object',
        properties: {
          t: {
            type: 'object',
            default: {},
            properties: { lo: { type: 'number', default: 1 }, hi: { type: 'number', default: 2 } },
            'x-kubernetes-validations': [{ rule: 'self.lo < self.hi', message: 'lo < hi' }],
          },
        },
      },
      [
        ".t default: must set lo, because CEL rules see the default before lo's own default applies",
        ".t default: must set hi, because CEL rules see the default before hi's own default applies",
      ],
    ],
    [
      'a default of {} under a rule that only tests has()',
      {
        type: 'object',
        properties: {
          p: {
            type: 'object',
            default: {},
            properties: { a: { type: 'string', default: 'x' }, b: str },
            'x-kubernetes-validations': [{ rule: '!has(self.b) || self.b != ""', message: 'b' }],
          },
        },
      },
      [],
    ],
    ['not an object at all', 'string', ['.: must be a schema object, not "string"']],
  ])('%s', (_name, schema, problems) => {
    expect(structuralViolations(schema)).toEqual(problems);
  });
});

describe('toStructuralSchema', () => {
  const convert = (schema: z.ZodType) =>
    toStructuralSchema(z.toJSONSchema(schema, { target: 'openapi-3.0', io: 'input' }));

  it.each<[string, z.ZodType, unknown]>([
    [
      'drops additionalProperties false and the ±2^53 integer bounds, keeps defaults out of required',
      z.object({ a: z.int().min(1).default(3), b: z.string() }).strict(),
      {
        type: 'object',
        required: ['b'],
        properties: { a: { type: 'integer', default: 3, minimum: 1 }, b: { type: 'string' } },
      },
    ],
    [
      'writes a map as additionalProperties',
      z.record(z.string(), z.number()),
      { type: 'object', additionalProperties: { type: 'number' } },
    ],
    [
      'turns const into a one-value enum, bounded in length',
      z.literal('x'),
      { type: 'string', enum: ['x'], maxLength: 1 },
    ],
    [
      'bounds an enum by its longest value',
      z.enum(['In', 'DoesNotExist']),
      { type: 'string', enum: ['In', 'DoesNotExist'], maxLength: 12 },
    ],
    [
      'keeps descriptions and CEL rules, in reading order',
      z
        .object({ a: z.string() })
        .meta({ 'x-kubernetes-validations': [{ rule: 'true', message: 'm' }] })
        .describe('why'),
      {
        description: 'why',
        type: 'object',
        required: ['a'],
        properties: { a: { type: 'string' } },
        'x-kubernetes-validations': [{ rule: 'true', message: 'm' }],
      },
    ],
    ['keeps format date-time without zod’s long pattern', z.iso.datetime(), { type: 'string', format: 'date-time' }],
    [
      'marks an open map as free-form',
      z.record(z.string(), z.unknown()),
      { type: 'object', 'x-kubernetes-preserve-unknown-fields': true },
    ],
  ])('%s', (_name, schema, expected) => {
    const structural = convert(schema);
    expect(structural).toEqual(expected);
    expect(JSON.stringify(Object.keys(structural))).toBe(JSON.stringify(Object.keys(expected as object)));
  });

  it.each<[string, unknown, RegExp]>([
    [
      'a union',
      { type: 'object', properties: { a: { anyOf: [{ type: 'string' }, { type: 'number' }] } } },
      /\.a\.anyOf: unions are not structural/,
    ],
    ['a tuple', { type: 'array', items: [{ type: 'string' }] }, /items: tuples are not structural/],
    [
      'an unknown keyword',
      { type: 'string', contentEncoding: 'base64' },
      /Kubernetes schemas have no keyword contentEncoding/,
    ],
    [
      'a recursive $ref',
      { $defs: { A: { type: 'object', properties: { a: { $ref: '#/$defs/A' } } } }, $ref: '#/$defs/A' },
      /recursive \$ref/,
    ],
    ['a dangling $ref', { $ref: '#/$defs/Nope' }, /cannot resolve \$ref/],
  ])('refuses %s', (_name, schema, message) => {
    expect(() => toStructuralSchema(schema)).toThrow(message);
  });

  it('inlines a $ref', () => {
    expect(
      toStructuralSchema({
        $defs: { Name: { type: 'string', maxLength: 3 } },
        type: 'object',
        properties: { a: { $ref: '#/$defs/Name', description: 'a name' } },
      }),
    ).toEqual({ type: 'object', properties: { a: { description: 'a name', type: 'string', maxLength: 3 } } });
  });
});

describe('undescribedFields', () => {
  it('lists fields without a description, however deep, but not metadata', () => {
    expect(
      undescribedFields({
        type: 'object',
        properties: {
          metadata: { type: 'object' },
          a: { description: 'a', type: 'array', items: { type: 'object', properties: { b: { type: 'string' } } } },
          c: { type: 'string' },
        },
      }),
    ).toEqual(['.a[*].b', '.c']);
  });
});
