// Every form `git diff --numstat` prints a path in: plain, C-quoted, the three rename forms, binary files.
// The inputs are copied from real git 2.39 output.
import { describe, expect, it } from 'vitest';
import { NumstatFormatError, parseNumstat, parsePathColumn, type NumstatEntry } from './numstat.js';

describe('parsePathColumn', () => {
  const cases: [string, string, { path: string; oldPath?: string }][] = [
    ['a plain path', 'src/app/main.ts', { path: 'src/app/main.ts' }],
    ['a path with spaces', 'docs/read me.md', { path: 'docs/read me.md' }],
    ['a top-level rename', 'sp ace.txt => sp ace2.txt', { path: 'sp ace2.txt', oldPath: 'sp ace.txt' }],
    ['a rename across directories', 'bin.dat => d1/d2/bin.dat', { path: 'd1/d2/bin.dat', oldPath: 'bin.dat' }],
    ['a braced rename', 'src/{old => new}/a.txt', { path: 'src/new/a.txt', oldPath: 'src/old/a.txt' }],
    ['a braced rename of the name', 'src/{a.ts => b.ts}', { path: 'src/b.ts', oldPath: 'src/a.ts' }],
    ['a braced rename at the top', '{lib => src}/x/y.ts', { path: 'src/x/y.ts', oldPath: 'lib/x/y.ts' }],
    ['a move into a subdirectory', 'src/{ => sub}/a.txt', { path: 'src/sub/a.txt', oldPath: 'src/a.txt' }],
    ['a move out of a subdirectory', 'src/{sub => }/a.txt', { path: 'src/a.txt', oldPath: 'src/sub/a.txt' }],
    ['a move from the top into a directory', '{ => pkg}/a.txt', { path: 'pkg/a.txt', oldPath: 'a.txt' }],
    ['a quoted path with a tab', '"tab\\tname.txt"', { path: 'tab\tname.txt' }],
    ['a quoted path with a quote and backslash', '"say \\"hi\\"\\\\.txt"', { path: 'say "hi"\\.txt' }],
    ['octal UTF-8 bytes', '"\\303\\274n\\303\\257.txt"', { path: 'ünï.txt' }],
    ['raw UTF-8 (core.quotePath=false)', 'src/ünï.txt', { path: 'src/ünï.txt' }],
    [
      'a rename where both sides are quoted',
      '"tab\\tname.txt" => "tab\\tname2.txt"',
      { path: 'tab\tname2.txt', oldPath: 'tab\tname.txt' },
    ],
    ['a quoted source, plain target', '"a\\tb" => c.txt', { path: 'c.txt', oldPath: 'a\tb' }],
    ['a plain source, quoted target', 'c.txt => "a\\tb"', { path: 'a\tb', oldPath: 'c.txt' }],
    [
      'octal bytes in a rename',
      '"\\303\\274n\\303\\257.txt" => "src/\\303\\274n\\303\\257.txt"',
      { path: 'src/ünï.txt', oldPath: 'ünï.txt' },
    ],
  ];
  it.each(cases)('reads %s', (_name, column, expected) => {
    expect(parsePathColumn(column)).toEqual(expected);
  });

  it.each([
    ['an unterminated quote', '"abc'],
    ['an unknown escape', '"a\\qb"'],
    ['text after a quoted path', '"a" b'],
  ])('rejects %s', (_name, column) => {
    expect(() => parsePathColumn(column)).toThrow(NumstatFormatError);
  });
});

describe('parseNumstat', () => {
  const cases: [string, string, NumstatEntry[]][] = [
    ['nothing', '', []],
    [
      'added, deleted and modified files',
      '10\t0\tsrc/new.ts\n0\t7\tsrc/gone.ts\n3\t2\tREADME.md\n',
      [
        { path: 'src/new.ts', added: 10, deleted: 0, binary: false },
        { path: 'src/gone.ts', added: 0, deleted: 7, binary: false },
        { path: 'README.md', added: 3, deleted: 2, binary: false },
      ],
    ],
    [
      'a binary file: changed, with no lines',
      '-\t-\tassets/logo.png\n',
      [{ path: 'assets/logo.png', added: 0, deleted: 0, binary: true }],
    ],
    [
      'a binary file that was renamed',
      '-\t-\tbin.dat => d1/d2/bin.dat\n',
      [{ path: 'd1/d2/bin.dat', oldPath: 'bin.dat', added: 0, deleted: 0, binary: true }],
    ],
    [
      'a rename with an edit',
      '1\t0\tsrc/{old => new}/a.txt\n',
      [{ path: 'src/new/a.txt', oldPath: 'src/old/a.txt', added: 1, deleted: 0, binary: false }],
    ],
    [
      'blank lines and a missing final newline',
      '\n2\t1\ta.ts\n\n4\t4\tb.ts',
      [
        { path: 'a.ts', added: 2, deleted: 1, binary: false },
        { path: 'b.ts', added: 4, deleted: 4, binary: false },
      ],
    ],
    [
      'large counts',
      '120000\t99999\tdata/big.csv',
      [{ path: 'data/big.csv', added: 120000, deleted: 99999, binary: false }],
    ],
  ];
  it.each(cases)('parses %s', (_name, text, expected) => {
    expect(parseNumstat(text)).toEqual(expected);
  });

  it.each([
    ['a line without counts', 'src/a.ts'],
    ['a negative count', '-1\t2\ta.ts'],
    ['a missing path', '1\t2\t'],
    ['a diff line', 'diff --git a/x b/x'],
  ])('rejects %s', (_name, text) => {
    expect(() => parseNumstat(text)).toThrow(NumstatFormatError);
  });
});
