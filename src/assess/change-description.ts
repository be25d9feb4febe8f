// The change description CI puts on the pod template (or, failing that, on the Deployment): parsed and
// range-checked. A bad value never fails the assessment: it becomes a warning (the controller turns each into
// a warning Event) and the feature is left missing.
import { credentialIn } from './credentials.js';

export const annotationPrefix = 'rollguard.io/';

export const changeTypes = ['feature', 'bugfix', 'hotfix', 'refactor', 'config', 'dependency'] as const;
export type ChangeType = (typeof changeTypes)[number];

/** Numeric change features, by contract name (src/model/contract.ts). */
export interface ChangeFeatures {
  files_changed?: number;
  directories_changed?: number;
  subsystems_changed?: number;
  lines_added?: number;
  lines_deleted?: number;
  change_entropy?: number;
  is_fix?: number;
  authors?: number;
  author_experience?: number;
  test_coverage?: number;
  dependencies_changed?: number;
  change_type?: number;
}

export interface AnnotationWarning {
  annotation: string;
  value: string;
  problem: string;
}

export interface ChangeDescription {
  features: ChangeFeatures;
  changeType?: ChangeType;
  commit?: string;
  warnings: AnnotationWarning[];
  /** Where each annotation was read from, for the record. */
  sources: Record<string, 'pod-template' | 'deployment'>;
}

interface NumericSpec {
  annotation: string;
  feature: keyof ChangeFeatures;
  integer: boolean;
  min: number;
  max: number;
  unit: string;
}

const numeric: NumericSpec[] = [
  { annotation: 'files-changed', feature: 'files_changed', integer: true, min: 0, max: 1e6, unit: 'a count of files' },
  {
    annotation: 'directories-changed',
    feature: 'directories_changed',
    integer: true,
    min: 0,
    max: 1e6,
    unit: 'a count of directories',
  },
  {
    annotation: 'subsystems-changed',
    feature: 'subsystems_changed',
    integer: true,
    min: 0,
    max: 1e5,
    unit: 'a count of subsystems',
  },
  { annotation: 'lines-added', feature: 'lines_added', integer: true, min: 0, max: 1e8, unit: 'a count of lines' },
  { annotation: 'lines-deleted', feature: 'lines_deleted', integer: true, min: 0, max: 1e8, unit: 'a count of lines' },
  { annotation: 'change-entropy', feature: 'change_entropy', integer: false, min: 0, max: 64, unit: 'bits (0 to 64)' },
  { annotation: 'authors', feature: 'authors', integer: true, min: 1, max: 1e5, unit: 'a count of at least 1' },
  {
    annotation: 'author-experience',
    feature: 'author_experience',
    integer: false,
    min: 0,
    max: 1e7,
    unit: 'prior commits',
  },
  {
    annotation: 'test-coverage',
    feature: 'test_coverage',
    integer: false,
    min: 0,
    max: 100,
    unit: 'a percentage from 0 to 100',
  },
  {
    annotation: 'dependencies-changed',
    feature: 'dependencies_changed',
    integer: true,
    min: 0,
    max: 1e5,
    unit: 'a count of dependencies',
  },
];

const truthy = new Set(['true', 'yes', '1']);
const falsy = new Set(['false', 'no', '0']);

function lookup(
  key: string,
  template: Record<string, string> | undefined,
  deployment: Record<string, string> | undefined,
): { value: string; source: 'pod-template' | 'deployment' } | undefined {
  const full = annotationPrefix + key;
  // Annotations are text on the API server; a manifest or a request can still carry a number or a list, which
  // must become a warning like any other bad value, not a crash.
  const text = (value: unknown) =>
    typeof value === 'string' ? value : ((JSON.stringify(value) as string | undefined) ?? String(value));
  const fromTemplate: unknown = template?.[full];
  if (fromTemplate !== undefined && fromTemplate !== null) return { value: text(fromTemplate), source: 'pod-template' };
  const fromDeployment: unknown = deployment?.[full];
  if (fromDeployment !== undefined && fromDeployment !== null)
    return { value: text(fromDeployment), source: 'deployment' };
  return undefined;
}

/** How much of a bad value a warning repeats: enough to recognise it, not enough to carry a payload. */
export const MAX_SHOWN_VALUE_CHARS = 40;

/**
 * A bad annotation value as Events and status repeat it: credentials redacted (someone pasted a token into
 * the wrong field), control characters replaced, and cut to MAX_SHOWN_VALUE_CHARS with the full length said.
 * Anyone who can read Events must not learn more from a warning than from the annotation's name.
 */
export function shownValue(raw: string): string {
  const kind = credentialIn(raw);
  if (kind !== undefined) return `[redacted: looks like ${kind}]`;
  if (/[A-Za-z0-9+/_-]{32,}/.test(raw)) return '[redacted: a long token]';
  const chars = [...raw].map((c) => (/[\p{Cc}\p{Cf}]/u.test(c) ? '?' : c));
  if (chars.length <= MAX_SHOWN_VALUE_CHARS) return chars.join('');
  return `${chars.slice(0, MAX_SHOWN_VALUE_CHARS).join('')}… (${String(chars.length)} characters)`;
}

/** Parses one number the way a person writes it: "85", " 85 ", "85%" for coverage, "1,200" for counts. */
function parseNumber(raw: string, allowPercent: boolean): number {
  let text = raw.trim();
  if (allowPercent && text.endsWith('%')) text = text.slice(0, -1).trim();
  if (/^\d{1,3}(,\d{3})+$/.test(text)) text = text.replace(/,/g, '');
  if (text === '' || !/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) return NaN;
  return Number(text);
}

export function parseChangeDescription(
  templateAnnotations: Record<string, string> | undefined,
  deploymentAnnotations: Record<string, string> | undefined,
): ChangeDescription {
  const result: ChangeDescription = { features: {}, warnings: [], sources: {} };
  const warn = (annotation: string, value: string, problem: string) => {
    result.warnings.push({ annotation: annotationPrefix + annotation, value: shownValue(value), problem });
  };

  for (const spec of numeric) {
    const found = lookup(spec.annotation, templateAnnotations, deploymentAnnotations);
    if (!found) continue;
    const value = parseNumber(found.value, spec.feature === 'test_coverage');
    if (!Number.isFinite(value)) {
      warn(spec.annotation, found.value, `is not a number; expected ${spec.unit}`);
      continue;
    }
    if (spec.integer && !Number.isInteger(value)) {
      warn(spec.annotation, found.value, `must be a whole number; expected ${spec.unit}`);
      continue;
    }
    if (value < spec.min || value > spec.max) {
      warn(spec.annotation, found.value, `is out of range; expected ${spec.unit}`);
      continue;
    }
    result.features[spec.feature] = value;
    result.sources[spec.annotation] = found.source;
  }

  const type = lookup('change-type', templateAnnotations, deploymentAnnotations);
  if (type) {
    const normalised = type.value.trim().toLowerCase();
    const index = (changeTypes as readonly string[]).indexOf(normalised);
    const changeType = changeTypes[index];
    if (changeType === undefined) {
      warn('change-type', type.value, `is not one of ${changeTypes.join(', ')}`);
    } else {
      result.changeType = changeType;
      result.features.change_type = index;
      result.sources['change-type'] = type.source;
    }
  }

  const fix = lookup('is-fix', templateAnnotations, deploymentAnnotations);
  if (fix) {
    const normalised = fix.value.trim().toLowerCase();
    if (truthy.has(normalised)) result.features.is_fix = 1;
    else if (falsy.has(normalised)) result.features.is_fix = 0;
    else warn('is-fix', fix.value, 'must be true or false');
    if (result.features.is_fix !== undefined) result.sources['is-fix'] = fix.source;
  }
  // When is-fix is not given, a bugfix or hotfix change type says it is a fix; an explicit is-fix wins.
  if (result.features.is_fix === undefined && (result.changeType === 'bugfix' || result.changeType === 'hotfix')) {
    result.features.is_fix = 1;
  }

  const commit = lookup('commit', templateAnnotations, deploymentAnnotations);
  if (commit) {
    const value = commit.value.trim();
    if (/^[0-9a-fA-F]{7,64}$/.test(value)) result.commit = value.toLowerCase();
    else warn('commit', commit.value, 'must be a git commit id (7 to 64 hexadecimal characters)');
  }

  if (
    result.features.lines_added !== undefined &&
    result.features.files_changed === 0 &&
    result.features.lines_added > 0
  ) {
    warn('files-changed', '0', 'is 0 although lines-added is not; the change description looks inconsistent');
  }
  return result;
}
