// The change description CI writes on the pod template: which annotation wins, how each value is parsed and
// range-checked, and the warning a person reads when a value is bad.
import { describe, expect, it } from 'vitest';
import { parseChangeDescription, shownValue, type ChangeFeatures } from './change-description.js';

const p = (key: string) => `rollguard.io/${key}`;

/** Parses one annotation set on the pod template only. */
function one(key: string, value: string) {
  return parseChangeDescription({ [p(key)]: value }, undefined);
}

describe('parseChangeDescription: where each annotation is read from', () => {
  it('reads nothing when neither the template nor the Deployment says anything', () => {
    expect(parseChangeDescription(undefined, undefined)).toEqual({ features: {}, warnings: [], sources: {} });
  });

  it('ignores annotations without the rollguard.io/ prefix', () => {
    const result = parseChangeDescription(
      { 'files-changed': '3', 'example.com/files-changed': '4' },
      { 'lines-added': '9' },
    );
    expect(result.features).toEqual({});
    expect(result.warnings).toEqual([]);
  });

  it('prefers the pod template over the Deployment, annotation by annotation', () => {
    const result = parseChangeDescription(
      { [p('files-changed')]: '3', [p('change-type')]: 'refactor' },
      { [p('files-changed')]: '50', [p('lines-added')]: '120', [p('change-type')]: 'hotfix' },
    );
    expect(result.features).toEqual({ files_changed: 3, lines_added: 120, change_type: 3 });
    expect(result.changeType).toBe('refactor');
    expect(result.sources).toEqual({
      'files-changed': 'pod-template',
      'lines-added': 'deployment',
      'change-type': 'pod-template',
    });
    expect(result.warnings).toEqual([]);
  });

  it('falls back to the Deployment when the template has no annotations at all', () => {
    const result = parseChangeDescription(undefined, { [p('test-coverage')]: '72.5', [p('commit')]: 'ABCDEF0' });
    expect(result.features).toEqual({ test_coverage: 72.5 });
    expect(result.commit).toBe('abcdef0');
    expect(result.sources).toEqual({ 'test-coverage': 'deployment' });
  });

  it('does not fall back to the Deployment when the template value is bad: the template still wins, with a warning', () => {
    const result = parseChangeDescription({ [p('files-changed')]: 'many' }, { [p('files-changed')]: '4' });
    expect(result.features.files_changed).toBeUndefined();
    expect(result.warnings).toEqual([
      {
        annotation: 'rollguard.io/files-changed',
        value: 'many',
        problem: 'is not a number; expected a count of files',
      },
    ]);
  });
});

describe('parseChangeDescription: numeric annotations', () => {
  type Row = [key: string, raw: string, feature: keyof ChangeFeatures, expected: number];
  it.each<Row>([
    ['files-changed', '12', 'files_changed', 12],
    ['files-changed', '0', 'files_changed', 0],
    ['files-changed', ' 12 ', 'files_changed', 12],
    ['files-changed', '+7', 'files_changed', 7],
    ['directories-changed', '4', 'directories_changed', 4],
    ['subsystems-changed', '2', 'subsystems_changed', 2],
    ['lines-added', '1,200', 'lines_added', 1200],
    ['lines-added', '12,345,678', 'lines_added', 12345678],
    ['lines-added', '1e3', 'lines_added', 1000],
    ['lines-deleted', '0', 'lines_deleted', 0],
    ['lines-deleted', '\t40\n', 'lines_deleted', 40],
    ['change-entropy', '2.75', 'change_entropy', 2.75],
    ['change-entropy', '.5', 'change_entropy', 0.5],
    ['authors', '1', 'authors', 1],
    ['authors', '3', 'authors', 3],
    ['author-experience', '12.5', 'author_experience', 12.5],
    ['author-experience', '0', 'author_experience', 0],
    ['test-coverage', '85', 'test_coverage', 85],
    ['test-coverage', '85%', 'test_coverage', 85],
    ['test-coverage', ' 85.5 % ', 'test_coverage', 85.5],
    ['test-coverage', '100', 'test_coverage', 100],
    ['test-coverage', '0%', 'test_coverage', 0],
    ['dependencies-changed', '2', 'dependencies_changed', 2],
  ])('%s=%j becomes %s = %d', (key, raw, feature, expected) => {
    const result = one(key, raw);
    expect(result.warnings).toEqual([]);
    expect(result.features).toEqual({ [feature]: expected });
    expect(result.sources).toEqual({ [key]: 'pod-template' });
  });

  type Bad = [key: string, raw: string, problem: string];
  it.each<Bad>([
    ['files-changed', 'twelve', 'is not a number; expected a count of files'],
    ['files-changed', '', 'is not a number; expected a count of files'],
    ['files-changed', '   ', 'is not a number; expected a count of files'],
    ['files-changed', '85%', 'is not a number; expected a count of files'],
    ['files-changed', '0x10', 'is not a number; expected a count of files'],
    ['files-changed', 'Infinity', 'is not a number; expected a count of files'],
    ['files-changed', 'NaN', 'is not a number; expected a count of files'],
    ['files-changed', '12 files', 'is not a number; expected a count of files'],
    ['files-changed', '-3', 'is out of range; expected a count of files'],
    ['files-changed', '2.5', 'must be a whole number; expected a count of files'],
    ['files-changed', '1e7', 'is out of range; expected a count of files'],
    ['directories-changed', '-1', 'is out of range; expected a count of directories'],
    ['subsystems-changed', '1.5', 'must be a whole number; expected a count of subsystems'],
    ['lines-added', '12,00', 'is not a number; expected a count of lines'],
    ['lines-added', '1.200', 'must be a whole number; expected a count of lines'],
    ['lines-added', '1,200.5', 'is not a number; expected a count of lines'],
    ['lines-deleted', '-10', 'is out of range; expected a count of lines'],
    ['change-entropy', '65', 'is out of range; expected bits (0 to 64)'],
    ['change-entropy', '-0.1', 'is out of range; expected bits (0 to 64)'],
    ['authors', '0', 'is out of range; expected a count of at least 1'],
    ['authors', '1.5', 'must be a whole number; expected a count of at least 1'],
    ['author-experience', 'senior', 'is not a number; expected prior commits'],
    ['test-coverage', '140', 'is out of range; expected a percentage from 0 to 100'],
    ['test-coverage', '140%', 'is out of range; expected a percentage from 0 to 100'],
    ['test-coverage', '-5%', 'is out of range; expected a percentage from 0 to 100'],
    ['test-coverage', '%', 'is not a number; expected a percentage from 0 to 100'],
    ['test-coverage', '85%%', 'is not a number; expected a percentage from 0 to 100'],
    ['test-coverage', '0.85 ratio', 'is not a number; expected a percentage from 0 to 100'],
    ['dependencies-changed', 'some', 'is not a number; expected a count of dependencies'],
  ])('%s=%j is rejected: %s', (key, raw, problem) => {
    const result = one(key, raw);
    expect(result.features).toEqual({});
    expect(result.sources).toEqual({});
    expect(result.warnings).toEqual([{ annotation: `rollguard.io/${key}`, value: raw, problem }]);
  });

  it('keeps every good value when one is bad, and warns only about the bad one', () => {
    const result = parseChangeDescription(
      { [p('files-changed')]: '4', [p('lines-added')]: 'lots', [p('lines-deleted')]: '30' },
      undefined,
    );
    expect(result.features).toEqual({ files_changed: 4, lines_deleted: 30 });
    expect(result.warnings.map((w) => w.annotation)).toEqual(['rollguard.io/lines-added']);
  });

  it('warns when files-changed is 0 although lines were added, but keeps both values', () => {
    const result = parseChangeDescription({ [p('files-changed')]: '0', [p('lines-added')]: '25' }, undefined);
    expect(result.features).toEqual({ files_changed: 0, lines_added: 25 });
    expect(result.warnings).toEqual([
      {
        annotation: 'rollguard.io/files-changed',
        value: '0',
        problem: 'is 0 although lines-added is not; the change description looks inconsistent',
      },
    ]);
  });

  it.each([
    ['0', '0'],
    ['3', '25'],
  ])('does not warn about consistency for files-changed=%s, lines-added=%s', (files, lines) => {
    const result = parseChangeDescription({ [p('files-changed')]: files, [p('lines-added')]: lines }, undefined);
    expect(result.warnings).toEqual([]);
  });
});

describe('parseChangeDescription: change-type', () => {
  it.each([
    ['feature', 'feature', 0, undefined],
    ['bugfix', 'bugfix', 1, 1],
    ['hotfix', 'hotfix', 2, 1],
    ['refactor', 'refactor', 3, undefined],
    ['config', 'config', 4, undefined],
    ['dependency', 'dependency', 5, undefined],
    ['BugFix', 'bugfix', 1, 1],
    ['  HOTFIX ', 'hotfix', 2, 1],
  ] as const)('%j is %s (change_type %d, is_fix %s)', (raw, changeType, index, isFix) => {
    const result = one('change-type', raw);
    expect(result.warnings).toEqual([]);
    expect(result.changeType).toBe(changeType);
    expect(result.features.change_type).toBe(index);
    expect(result.features.is_fix).toBe(isFix);
    expect(result.sources['change-type']).toBe('pod-template');
  });

  it.each(['feat', 'bug-fix', '', 'fix', '1'])('%j is rejected with the list of valid types', (raw) => {
    const result = one('change-type', raw);
    expect(result.changeType).toBeUndefined();
    expect(result.features).toEqual({});
    expect(result.warnings).toEqual([
      {
        annotation: 'rollguard.io/change-type',
        value: raw,
        problem: 'is not one of feature, bugfix, hotfix, refactor, config, dependency',
      },
    ]);
  });
});

describe('parseChangeDescription: is-fix', () => {
  it.each([
    ['true', 1],
    ['TRUE', 1],
    [' yes ', 1],
    ['1', 1],
    ['false', 0],
    ['No', 0],
    ['0', 0],
  ])('%j means is_fix = %d', (raw, expected) => {
    const result = one('is-fix', raw);
    expect(result.warnings).toEqual([]);
    expect(result.features).toEqual({ is_fix: expected });
    expect(result.sources).toEqual({ 'is-fix': 'pod-template' });
  });

  it.each(['maybe', 'y', '2', ''])('%j is rejected and is_fix stays missing', (raw) => {
    const result = one('is-fix', raw);
    expect(result.features).toEqual({});
    expect(result.sources).toEqual({});
    expect(result.warnings).toEqual([
      { annotation: 'rollguard.io/is-fix', value: raw, problem: 'must be true or false' },
    ]);
  });

  it.each(['bugfix', 'hotfix'])('a %s is a fix even when is-fix is garbage (which is still reported)', (type) => {
    const result = parseChangeDescription({ [p('change-type')]: type, [p('is-fix')]: 'perhaps' }, undefined);
    expect(result.features.is_fix).toBe(1);
    expect(result.warnings.map((w) => w.annotation)).toEqual(['rollguard.io/is-fix']);
  });

  it.each(['feature', 'refactor', 'config', 'dependency'])('a %s says nothing about is_fix', (type) => {
    expect(one('change-type', type).features.is_fix).toBeUndefined();
  });

  it('an explicit is-fix=true on a feature is kept', () => {
    const result = parseChangeDescription({ [p('change-type')]: 'feature', [p('is-fix')]: 'true' }, undefined);
    expect(result.features).toEqual({ change_type: 0, is_fix: 1 });
  });
});

describe('parseChangeDescription: commit', () => {
  it.each([
    ['abcdef0', 'abcdef0'],
    ['ABCDEF0', 'abcdef0'],
    [' 0123456789abcdef0123456789abcdef01234567 ', '0123456789abcdef0123456789abcdef01234567'],
    ['a'.repeat(64), 'a'.repeat(64)],
  ])('%j is recorded as %s', (raw, expected) => {
    const result = one('commit', raw);
    expect(result.commit).toBe(expected);
    expect(result.warnings).toEqual([]);
    // A commit id is a label for the record, not a feature.
    expect(result.features).toEqual({});
  });

  it.each(['abc123', 'g123456', 'abcdef0-dirty', 'a'.repeat(65), '', 'v1.2.3'])('%j is rejected', (raw) => {
    const result = one('commit', raw);
    expect(result.commit).toBeUndefined();
    expect(result.warnings).toEqual([
      {
        annotation: 'rollguard.io/commit',
        value: raw.length > 64 ? '[redacted: a long token]' : raw,
        problem: 'must be a git commit id (7 to 64 hexadecimal characters)',
      },
    ]);
  });
});

describe('parseChangeDescription: a full description as CI writes it', () => {
  it('turns every annotation into its contract feature', () => {
    const result = parseChangeDescription(
      {
        [p('change-type')]: 'bugfix',
        [p('files-changed')]: '3',
        [p('directories-changed')]: '2',
        [p('subsystems-changed')]: '1',
        [p('lines-added')]: '40',
        [p('lines-deleted')]: '12',
        [p('change-entropy')]: '1.2',
        [p('authors')]: '1',
        [p('author-experience')]: '250',
        [p('test-coverage')]: '91%',
        [p('dependencies-changed')]: '0',
        [p('commit')]: '9fceb02d0ae598e95dc970b74767f19372d61af8',
      },
      undefined,
    );
    expect(result.warnings).toEqual([]);
    expect(result.features).toEqual({
      files_changed: 3,
      directories_changed: 2,
      subsystems_changed: 1,
      lines_added: 40,
      lines_deleted: 12,
      change_entropy: 1.2,
      is_fix: 1,
      authors: 1,
      author_experience: 250,
      test_coverage: 91,
      dependencies_changed: 0,
      change_type: 1,
    });
    expect(result.changeType).toBe('bugfix');
    expect(result.commit).toBe('9fceb02d0ae598e95dc970b74767f19372d61af8');
  });
});

describe('a bad value as warnings repeat it (Events, status)', () => {
  const token = `ghp_${'a1B2'.repeat(9)}`;
  it.each<[string, string, string]>([
    ['a short value, as is', 'many', 'many'],
    ['a GitHub token pasted into the wrong field', token, '[redacted: looks like a GitHub token]'],
    ['a token inside other text', `see ${token} here`, '[redacted: looks like a GitHub token]'],
    [
      'a long opaque token',
      'Zm9vYmFyYmF6cXV4cXV1eGNvcmdlZ3JhdWx0Z2FycGx5',
      '[redacted: looks like a random-looking key]',
    ],
    ['a long token of one kind of character', 'a'.repeat(48), '[redacted: a long token]'],
    ['control characters replaced', 'a\u0000b\u001bc\u202ed', 'a?b?c?d'],
    ['cut at 40 characters, saying how long it was', 'x '.repeat(1000), `${'x '.repeat(20)}… (2000 characters)`],
    ['40 characters stay whole', 'y'.repeat(10) + ' '.repeat(30), 'y'.repeat(10) + ' '.repeat(30)],
  ])('%s', (_what, raw, shown) => {
    expect(shownValue(raw)).toBe(shown);
    const warnings = parseChangeDescription({ 'rollguard.io/lines-added': raw }, {}).warnings;
    expect(warnings.map((w) => w.value)).toEqual([shown]);
  });

  it('a value thousands of characters long never reaches the warning whole', () => {
    const [warning] = parseChangeDescription({ 'rollguard.io/commit': 'not hex '.repeat(4000) }, {}).warnings;
    expect(warning?.value.length).toBeLessThan(70);
  });
});
