// Turning zod's validation issues into field errors a person can act on: the field's path as kubectl prints
// it (spec.thresholds.monitor, spec.selector.matchExpressions[0].values) and what is wrong, in plain words.
import type { z } from 'zod';

/** One problem with one field. */
export interface FieldError {
  /** Where, as kubectl prints paths: `spec.verification.interval`, `spec.selector.matchExpressions[0].key`. */
  path: string;
  /** What is wrong, in plain words. */
  message: string;
}

export type ParseResult<T> = { ok: true; value: T } | { ok: false; errors: FieldError[] };

export function fieldPath(root: string, path: readonly PropertyKey[]): string {
  let text = root;
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return typeof value;
}

const typeWords: Readonly<Record<string, string>> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list',
  object: 'an object',
  record: 'a map of keys to values',
};

function bound(kind: 'least' | 'most', origin: string, limit: number | bigint, inclusive: boolean): string {
  const n = Number(limit);
  if (origin === 'string') {
    if (kind === 'least' && n === 1) return 'must not be empty';
    return `must be at ${kind} ${n} characters long`;
  }
  if (origin === 'array') return `must have at ${kind} ${n} ${n === 1 ? 'item' : 'items'}`;
  if (inclusive) return `must be at ${kind} ${n}`;
  return kind === 'least' ? `must be greater than ${n}` : `must be less than ${n}`;
}

/** zod's error map for our parses: the same facts as zod's defaults, in the words people use. */
export const plainErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'is required';
      return `must be ${typeWords[issue.expected] ?? issue.expected}, not ${describeValue(issue.input)}`;
    case 'invalid_value':
      return `must be one of ${issue.values.map((v) => String(v)).join(', ')}, not ${describeValue(issue.input)}`;
    case 'too_small':
      return bound('least', issue.origin, issue.minimum, issue.inclusive ?? false);
    case 'too_big':
      return bound('most', issue.origin, issue.maximum, issue.inclusive ?? false);
    case 'invalid_format':
      return issue.format === 'datetime' ? 'must be a time like 2025-01-31T12:00:00Z' : 'has the wrong format';
    default:
      return undefined;
  }
};

/** Parses `raw` with `schema`; on failure, every problem as a FieldError whose path starts at `root`. */
export function parseFields<S extends z.ZodType>(schema: S, raw: unknown, root: string): ParseResult<z.output<S>> {
  const result = schema.safeParse(raw, { error: plainErrorMap });
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    errors: result.error.issues.map((issue) => ({ path: fieldPath(root, issue.path), message: issue.message })),
  };
}

/** Field errors in one line, e.g. for a status condition's message. */
export function formatFieldErrors(errors: readonly FieldError[]): string {
  return errors.map((e) => `${e.path}: ${e.message}`).join('; ');
}
