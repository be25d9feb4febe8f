// The commit-message heuristics: parsing git log, fix detection, each commit's claimed type, and the
// release's change type from messages and files together.
import { describe, expect, it } from 'vitest';
import type { ChangeType } from '../assess/change-description.js';
import {
  classifyCommit,
  guessChangeType,
  isFixMessage,
  LogFormatError,
  parseLog,
  type ChangeTypeEvidence,
} from './messages.js';

const h1 = 'a'.repeat(40);
const h2 = 'b'.repeat(40);
const h3 = 'c'.repeat(40);

describe('parseLog', () => {
  it('reads hash, merge, lower-cased email and the whole message of each record', () => {
    const text =
      `${h1}\x1f${h2} ${h3}\x1fDev@Example.COM\x1fMerge branch 'fix/login'\n\0` +
      `\n${h2}\x1f${h3}\x1fops@example.com\x1ffeat: add export\n\nA body\x1fwith a unit separator.\n\0`;
    expect(parseLog(text)).toEqual([
      { hash: h1, authorEmail: 'dev@example.com', merge: true, message: "Merge branch 'fix/login'" },
      {
        hash: h2,
        authorEmail: 'ops@example.com',
        merge: false,
        message: 'feat: add export\n\nA body\x1fwith a unit separator.',
      },
    ]);
  });

  it('reads a root commit (no parents) and an empty log', () => {
    expect(parseLog(`${h1}\x1f\x1fa@b\x1finit\n\0`)).toEqual([
      { hash: h1, authorEmail: 'a@b', merge: false, message: 'init' },
    ]);
    expect(parseLog('')).toEqual([]);
  });

  it('rejects output in another format', () => {
    expect(() => parseLog('commit abc\nAuthor: x\n')).toThrow(LogFormatError);
    expect(() => parseLog(`xyz\x1f\x1fa@b\x1fmsg\0`)).toThrow(LogFormatError);
  });
});

describe('isFixMessage', () => {
  const cases: [string, boolean][] = [
    ['Fix crash when the cart is empty', true],
    ['fix(api): handle empty body', true],
    ['Fixes the login redirect', true],
    ['fixed typo', true],
    ['Fixing flaky test', true],
    ['Login crash FIX', true],
    ['Bug 1234 - wrong total', true],
    ['bugfix: rounding', true],
    ['Correct two bugs in the parser', true],
    ['Hotfix for the payment outage', true],
    ['Remove a defect in the cache', true],
    ['Patch the session timeout', true],
    ['Patched XSS in search', true],
    ['Merge pull request #7 from shop/fix-cart-total', true],
    ["Merge branch 'bugfix/login'", true],
    ['Improve retries\n\nFixes #12', true],
    ['Improve retries\n\nResolves #34', true],
    ['Handle timeouts\n\nresolved: #35', true],
    ['Handle timeouts\n\nResolves SHOP-56', true],
    // Not fixes: other words that contain the letters, features, and bodies that only quote release notes.
    ['Add a prefix to metric names', false],
    ['Add debug logging', false],
    ['Update test fixtures', false],
    ['fixup! feat: add export', false],
    ['feat: add export to CSV', false],
    ['Resolve merge conflicts', false],
    ['Resolves the design discussion', false],
    ['Bump lodash from 4.17.20 to 4.17.21\n\n## Bug Fixes\n- fix prototype pollution', false],
    ['fix(deps): update module golang.org/x/net to v0.30.0', false],
    ['chore(deps): bump axios\n\nFixes a bug upstream', false],
    ['Refactor the cache\n\nThe old code had a bug in eviction.', false],
    ['', false],
  ];
  it.each(cases)('%j: %s', (message, expected) => {
    expect(isFixMessage(message)).toBe(expected);
  });
});

describe('classifyCommit', () => {
  const cases: [string, ChangeType | undefined][] = [
    ['feat: add CSV export', 'feature'],
    ['feat(api)!: drop v1', 'feature'],
    ['Feature: dark mode', 'feature'],
    ['fix: rounding of totals', 'bugfix'],
    ['fix(cart): empty cart crash', 'bugfix'],
    ['hotfix: payment outage', 'hotfix'],
    ['Hotfix payment outage', 'hotfix'],
    ["Merge branch 'hotfix/1.4.2'", 'hotfix'],
    ['fix: hot-fix the payment outage', 'hotfix'],
    ['refactor: split the cart module', 'refactor'],
    ['perf: cache the price list', 'refactor'],
    ['chore(deps): bump axios from 1.6.0 to 1.7.0', 'dependency'],
    ['build(deps-dev): bump vitest', 'dependency'],
    ['fix(deps): update module golang.org/x/net to v0.30.0', 'dependency'],
    ['Bump lodash from 4.17.20 to 4.17.21', 'dependency'],
    ['Bump the npm group with 3 updates', 'dependency'],
    ['Update dependency express to v5', 'dependency'],
    ['Update module github.com/stretchr/testify to v1.9.0', 'dependency'],
    ['deps: upgrade pino', 'dependency'],
    ['config: raise the pool size', 'config'],
    ['Fix crash when the cart is empty', 'bugfix'],
    ['Refactored the session store', 'refactor'],
    ['Add CSV export', 'feature'],
    ['Implement SSO', 'feature'],
    // Neutral: says nothing about the kind of change.
    ['chore: release 1.4.0', undefined],
    ['docs: explain the flags', undefined],
    ['ci: cache node_modules', undefined],
    ['test: cover the empty cart', undefined],
    ['style: prettier', undefined],
    ['Merge pull request #7 from shop/add-export', undefined],
    ['Update README', undefined],
    ['WIP: something', undefined],
    ['constructor: prototype keys are not types', undefined],
    ['', undefined],
  ];
  it.each(cases)('%j: %s', (message, expected) => {
    expect(classifyCommit(message)).toBe(expected);
  });
});

describe('guessChangeType', () => {
  const evidence = (overrides: Partial<ChangeTypeEvidence>): ChangeTypeEvidence => ({
    commitTypes: [],
    isFix: false,
    paths: ['src/a.ts', 'src/b.ts'],
    dependencyFiles: 0,
    configFiles: 0,
    ...overrides,
  });
  const cases: [string, Partial<ChangeTypeEvidence>, ChangeType][] = [
    ['nothing said: feature', {}, 'feature'],
    ['a hotfix wins over everything', { commitTypes: ['feature', 'hotfix', 'bugfix'] }, 'hotfix'],
    ['a hotfix wins over dependency-only files', { commitTypes: ['hotfix'], dependencyFiles: 2 }, 'hotfix'],
    ['only dependency files', { commitTypes: ['feature'], dependencyFiles: 2 }, 'dependency'],
    ['only configuration files', { commitTypes: ['bugfix'], configFiles: 2 }, 'config'],
    ['dependency and config files mixed: the messages decide', { dependencyFiles: 1, configFiles: 1 }, 'feature'],
    ['any feature makes a feature release', { commitTypes: ['bugfix', 'feature', 'refactor'] }, 'feature'],
    ['fixes beat refactors', { commitTypes: ['refactor', 'bugfix', undefined] }, 'bugfix'],
    ['refactors alone', { commitTypes: ['refactor', undefined] }, 'refactor'],
    ['dependency updates touching more than manifests', { commitTypes: ['dependency', undefined] }, 'dependency'],
    ['config commits touching more than config', { commitTypes: ['config'] }, 'config'],
    ['an untyped fix message', { commitTypes: [undefined], isFix: true }, 'bugfix'],
    ['no files (an empty merge)', { paths: [] }, 'feature'],
  ];
  it.each(cases)('%s', (_name, overrides, expected) => {
    expect(guessChangeType(evidence(overrides))).toBe(expected);
  });
});
