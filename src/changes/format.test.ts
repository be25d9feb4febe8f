// The three outputs, and the promise that matters most: whatever change-metrics prints, the operator's own
// parser (src/assess/change-description.ts) reads back with no warning and the same values.
import { describe, expect, it } from 'vitest';
import { parseChangeDescription } from '../assess/change-description.js';
import type { ChangeMetrics } from './compute.js';
import { renderAnnotations, renderJson, renderPatch, shellQuote, toAnnotations } from './format.js';

const metrics: ChangeMetrics = {
  changeType: 'bugfix',
  filesChanged: 12,
  directoriesChanged: 5,
  subsystemsChanged: 3,
  linesAdded: 1200,
  linesDeleted: 34,
  changeEntropy: 2.4567,
  isFix: true,
  authors: 2,
  authorExperience: 41,
  dependenciesChanged: 1,
  commit: '0123456789abcdef0123456789abcdef01234567',
  from: 'fedcba9876543210fedcba9876543210fedcba98',
  commits: 4,
  mainAuthor: 'dev@example.com',
};

const invocation = { repo: '.', from: 'v1.4.0', to: 'HEAD' };

/** The key=value lines of the annotations output, as kubectl annotate would receive them. */
function annotationLines(text: string): Record<string, string> {
  const lines = text.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
  return Object.fromEntries(
    lines.map((line) => {
      const at = line.indexOf('=');
      return [line.slice(0, at), line.slice(at + 1)];
    }),
  );
}

describe('toAnnotations', () => {
  it('writes every metric as a string under rollguard.io/, and never the author', () => {
    expect(toAnnotations(metrics)).toEqual({
      'rollguard.io/change-type': 'bugfix',
      'rollguard.io/files-changed': '12',
      'rollguard.io/directories-changed': '5',
      'rollguard.io/subsystems-changed': '3',
      'rollguard.io/lines-added': '1200',
      'rollguard.io/lines-deleted': '34',
      'rollguard.io/change-entropy': '2.4567',
      'rollguard.io/is-fix': 'true',
      'rollguard.io/authors': '2',
      'rollguard.io/author-experience': '41',
      'rollguard.io/dependencies-changed': '1',
      'rollguard.io/commit': '0123456789abcdef0123456789abcdef01234567',
    });
  });

  const variants: [string, Partial<ChangeMetrics>][] = [
    ['the example', {}],
    ['zeros everywhere they are allowed', { filesChanged: 0, linesAdded: 0, linesDeleted: 0, changeEntropy: 0 }],
    ['a non-fix', { isFix: false, changeType: 'feature' }],
    ['a tiny entropy', { changeEntropy: 0.0001 }],
    ['each change type', { changeType: 'hotfix' }],
    ['refactor', { changeType: 'refactor' }],
    ['config', { changeType: 'config' }],
    ['dependency', { changeType: 'dependency', dependenciesChanged: 7 }],
    ['a sha-256 commit', { commit: 'a'.repeat(64) }],
  ];
  it.each(variants)('parses back without warnings: %s', (_name, overrides) => {
    const m = { ...metrics, ...overrides };
    const parsed = parseChangeDescription(toAnnotations(m), undefined);
    expect(parsed.warnings).toEqual([]);
    expect(parsed.changeType).toBe(m.changeType);
    expect(parsed.commit).toBe(m.commit);
    expect(parsed.features).toMatchObject({
      files_changed: m.filesChanged,
      directories_changed: m.directoriesChanged,
      subsystems_changed: m.subsystemsChanged,
      lines_added: m.linesAdded,
      lines_deleted: m.linesDeleted,
      change_entropy: m.changeEntropy,
      is_fix: m.isFix ? 1 : 0,
      authors: m.authors,
      author_experience: m.authorExperience,
      dependencies_changed: m.dependenciesChanged,
    });
  });
});

describe('renderAnnotations', () => {
  const text = renderAnnotations(metrics, invocation);

  it('puts the usage in comment lines first, then one key=value line per annotation', () => {
    const lines = text.trimEnd().split('\n');
    const firstValue = lines.findIndex((line) => !line.startsWith('#'));
    expect(firstValue).toBeGreaterThan(0);
    expect(lines.slice(firstValue).every((line) => /^rollguard\.io\/[a-z-]+=\S+$/.test(line))).toBe(true);
    expect(annotationLines(text)).toEqual(toAnnotations(metrics));
    expect(text).toContain('fedcba987654..0123456789ab (4 commits)');
    expect(text).toContain(
      `kubectl patch deployment/NAME --type merge -p "$(rollguard change-metrics --repo . --from v1.4.0 --to HEAD --format patch)"`,
    );
    expect(text).toContain(`grep -v '^#'`);
  });

  it('quotes revisions for the shell in its usage lines', () => {
    const quoted = renderAnnotations(metrics, { repo: '/src/my repo', from: "it's", to: 'HEAD~1' });
    expect(quoted).toContain(`--repo '/src/my repo' --from 'it'\\''s' --to HEAD~1`);
  });

  it('says "commit" for a single commit', () => {
    expect(renderAnnotations({ ...metrics, commits: 1 }, invocation)).toContain('(1 commit).');
  });
});

describe('shellQuote', () => {
  it.each([
    ['v1.4.0', 'v1.4.0'],
    ['HEAD~3', 'HEAD~3'],
    ['main^', 'main^'],
    ['origin/release-1.2', 'origin/release-1.2'],
    ['a b', `'a b'`],
    ['$(rm -rf /)', `'$(rm -rf /)'`],
    ["it's", `'it'\\''s'`],
    ['', `''`],
  ])('%s -> %s', (word, expected) => {
    expect(shellQuote(word)).toBe(expected);
  });
});

describe('renderPatch and renderJson', () => {
  it('patches only the pod template annotations, all strings', () => {
    const patch = JSON.parse(renderPatch(metrics)) as unknown;
    expect(patch).toEqual({ spec: { template: { metadata: { annotations: toAnnotations(metrics) } } } });
    expect(renderPatch(metrics).endsWith('}\n')).toBe(true);
    expect(renderPatch(metrics).trimEnd()).not.toContain('\n');
  });

  it('prints numbers as numbers and is-fix as a boolean', () => {
    const json = JSON.parse(renderJson(metrics)) as Record<string, unknown>;
    expect(json).toEqual(metrics);
    expect(typeof json.filesChanged).toBe('number');
    expect(typeof json.changeEntropy).toBe('number');
    expect(json.isFix).toBe(true);
  });
});
