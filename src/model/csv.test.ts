// The CSV parser (RFC 4180) and the data set rules: which columns are features, labels, times, and the errors.
import { describe, expect, it } from 'vitest';

import { DatasetError, loadDataset, parseCell, parseCsv, parseDate, parseLabel } from './csv.js';

describe('parseCsv', () => {
  const cases: { name: string; text: string; expected: string[][] }[] = [
    {
      name: 'plain',
      text: 'a,b\n1,2\n',
      expected: [
        ['a', 'b'],
        ['1', '2'],
      ],
    },
    {
      name: 'CRLF and no final newline',
      text: 'a,b\r\n1,2',
      expected: [
        ['a', 'b'],
        ['1', '2'],
      ],
    },
    {
      name: 'quoted comma, quote and newline',
      text: 'a,b\n"x,y","say ""hi""\nthere"\n',
      expected: [
        ['a', 'b'],
        ['x,y', 'say "hi"\nthere'],
      ],
    },
    {
      name: 'empty fields',
      text: 'a,b,c\n,,\n',
      expected: [
        ['a', 'b', 'c'],
        ['', '', ''],
      ],
    },
    { name: 'blank lines skipped', text: 'a\n\n1\n\n', expected: [['a'], ['1']] },
    {
      name: 'byte-order mark dropped',
      text: '\uFEFFa,b\n1,2\n',
      expected: [
        ['a', 'b'],
        ['1', '2'],
      ],
    },
    { name: 'quote inside an unquoted field kept', text: 'a\n5"\n', expected: [['a'], ['5"']] },
    { name: 'quoted empty field', text: 'a\n""\n', expected: [['a'], ['']] },
  ];
  it.each(cases)('$name', ({ text, expected }) => {
    expect(parseCsv(text).map((record) => record.fields)).toEqual(expected);
  });

  it('reports the line a record starts on', () => {
    expect(parseCsv('a\n"x\ny"\nz\n').map((record) => record.line)).toEqual([1, 2, 4]);
  });

  it.each([
    ['a\n"open', 'line 2: a quoted field is never closed'],
    ['a\n"x"y\n', 'line 2: text after a closing quote'],
  ])('rejects %j', (text, message) => {
    expect(() => parseCsv(text)).toThrow(new DatasetError(message));
  });
});

describe('cells', () => {
  it.each([
    ['12', 12],
    [' -3.5e2 ', -350],
    ['.5', 0.5],
    ['TRUE', 1],
    ['false', 0],
    ['NA', null],
    ['', null],
    ['n/a', null],
    ['abc', undefined],
    ['0x10', undefined],
    ['Infinity', undefined],
  ] as const)('parseCell(%j) = %j', (text, expected) => {
    expect(parseCell(text)).toBe(expected);
  });

  it.each([
    ['1', 1],
    ['0', 0],
    ['True', 1],
    ['FALSE', 0],
    ['yes', undefined],
    ['2', undefined],
    ['', undefined],
  ] as const)('parseLabel(%j) = %j', (text, expected) => {
    expect(parseLabel(text)).toBe(expected);
  });

  it.each([
    ['2003/10/10 16:10', Date.UTC(2003, 9, 10, 16, 10)],
    ['2021-03-04', Date.UTC(2021, 2, 4)],
    ['2021-03-04T05:06:07Z', Date.UTC(2021, 2, 4, 5, 6, 7)],
    ['2021-03-04T05:06:07+02:00', Date.UTC(2021, 2, 4, 3, 6, 7)],
    ['2006/7/8 9:06', Date.UTC(2006, 6, 8, 9, 6)],
    ['yesterday', undefined],
  ] as const)('parseDate(%j)', (text, expected) => {
    expect(parseDate(text)).toBe(expected);
  });
});

describe('loadDataset', () => {
  const csv = [
    'id,project,when,nf,la,fix,buggy,notes',
    'a1,x,2020-01-03,3,10,True,true,',
    'b2,x,2020-01-01,NA,200,False,FALSE,',
    'c3,y,2020-01-02,7,,false,True,',
  ].join('\n');

  it('turns numeric and true/false columns into features and fills missing with -1', () => {
    const dataset = loadDataset(csv, { label: 'buggy', time: 'when' });
    expect(dataset.featureNames).toEqual(['nf', 'la', 'fix']);
    expect(dataset.rows).toEqual([
      [3, 10, 1],
      [-1, 200, 0],
      [7, -1, 0],
    ]);
    expect(dataset.labels).toEqual([1, 0, 1]);
    expect(dataset.positives).toBe(2);
    expect(dataset.times).toEqual([Date.UTC(2020, 0, 3), Date.UTC(2020, 0, 1), Date.UTC(2020, 0, 2)]);
    expect(dataset.ignoredColumns).toEqual(['id', 'project', 'notes']);
  });

  it.each([
    ['empty', ''],
    ['NA', 'NA'],
    ['null', 'null'],
    ['N/A', 'N/A'],
  ])('skips rows whose time is missing (%s) and counts them, instead of stopping', (_what, missing) => {
    const dataset = loadDataset(
      `t,a,y\n2020-01-01,1,0\n${missing},2,1\n2020-01-03,3,1\n${missing},4,0\n2020-01-02,5,0\n`,
      { label: 'y', time: 't' },
    );
    expect(dataset.skippedWithoutTime).toBe(2);
    expect(dataset.rows).toEqual([[1], [3], [5]]);
    expect(dataset.labels).toEqual([0, 1, 0]);
    expect(dataset.times).toEqual([Date.UTC(2020, 0, 1), Date.UTC(2020, 0, 3), Date.UTC(2020, 0, 2)]);
  });

  it('skips nothing without a time column, and counts nothing', () => {
    const dataset = loadDataset('t,a,y\n,1,0\n,2,1\n', { label: 'y' });
    expect(dataset.rows).toHaveLength(2);
    expect(dataset.skippedWithoutTime).toBe(0);
  });

  it('leaves excluded columns out and keeps numeric times as numbers', () => {
    const dataset = loadDataset('t,a,b,y\n5,1,2,0\n3,4,5,1\n', { label: 'y', time: 't', exclude: ['b'] });
    expect(dataset.featureNames).toEqual(['a']);
    expect(dataset.times).toEqual([5, 3]);
  });

  const errors: { name: string; text: string; options: Parameters<typeof loadDataset>[1]; message: string }[] = [
    { name: 'empty file', text: '', options: { label: 'y' }, message: 'the file is empty' },
    { name: 'header only', text: 'a,y\n', options: { label: 'y' }, message: 'the file has a header but no data rows' },
    {
      name: 'no label column',
      text: 'a,b\n1,2\n',
      options: { label: 'y' },
      message: 'no label column "y"; the columns are: a, b',
    },
    {
      name: 'no time column',
      text: 'a,y\n1,0\n2,1\n',
      options: { label: 'y', time: 't' },
      message: 'no time column "t"; the columns are: a, y',
    },
    {
      name: 'unknown exclude',
      text: 'a,y\n1,0\n2,1\n',
      options: { label: 'y', exclude: ['z'] },
      message: 'no excluded column "z"; the columns are: a, y',
    },
    {
      name: 'label not 0/1',
      text: 'a,y\n1,0\n2,maybe\n',
      options: { label: 'y' },
      message: 'label "y" on line 3 is "maybe"; labels must be 0/1 or true/false',
    },
    {
      name: 'label one class',
      text: 'a,y\n1,0\n2,0\n',
      options: { label: 'y' },
      message: 'label "y" is not binary: every row is 0 (safe)',
    },
    {
      name: 'ragged row',
      text: 'a,y\n1,0\n2\n',
      options: { label: 'y' },
      message: 'line 3 has 1 fields, the header has 2',
    },
    {
      name: 'duplicate header',
      text: 'a,a,y\n1,2,0\n',
      options: { label: 'y' },
      message: 'column "a" appears twice in the header',
    },
    {
      name: 'no features',
      text: 'a,y\nx,0\nz,1\n',
      options: { label: 'y' },
      message: 'no numeric feature columns besides the label, time and excluded ones',
    },
    {
      name: 'every time missing',
      text: 'a,t,y\n1,NA,0\n2,,1\n',
      options: { label: 'y', time: 't' },
      message: 'every row\'s time "t" is missing (NA or empty): nothing to order',
    },
    {
      name: 'bad time',
      text: 'a,t,y\n1,2020-01-01,0\n2,soon,1\n',
      options: { label: 'y', time: 't' },
      message: 'time "t" on line 3 is "soon": neither a number nor a date',
    },
  ];
  it.each(errors)('one clear error: $name', ({ text, options, message }) => {
    expect(() => loadDataset(text, options)).toThrow(new DatasetError(message));
  });
});
