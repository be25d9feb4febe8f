// Loading a training data set from CSV: an RFC 4180 parser and the rules that turn its columns into features,
// labels and times. Written here rather than taken from a library because the parser is ~60 lines and the
// rules (which columns are features, what counts as missing, which errors to report) are the real work.

import { MISSING_VALUE } from './contract.js';

/** A data set that cannot be used; the message is one line saying why. */
export class DatasetError extends Error {
  override name = 'DatasetError';
}

export interface CsvRecord {
  readonly fields: string[];
  /** 1-based line the record starts on (records may span lines inside quotes). */
  readonly line: number;
}

/**
 * RFC 4180: comma-separated fields, CRLF or LF line ends, fields in double quotes may hold commas, line breaks
 * and doubled quotes (""). A quote inside an unquoted field is kept as text (as most tools do); text after a
 * closing quote is an error. Blank lines are skipped; a leading byte-order mark is dropped.
 */
export function parseCsv(text: string): CsvRecord[] {
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = '';
  let line = 1;
  let recordLine = 1;
  let i = text.startsWith('\uFEFF') ? 1 : 0;
  let quotedFieldDone = false;
  const endRecord = (): void => {
    fields.push(field);
    if (!(fields.length === 1 && fields[0] === '' && !quotedFieldDone)) records.push({ fields, line: recordLine });
    fields = [];
    field = '';
    quotedFieldDone = false;
  };
  while (i < text.length) {
    const char = text[i];
    if (char === '"' && field === '' && !quotedFieldDone) {
      const openedOn = line;
      i++;
      for (;;) {
        if (i >= text.length) throw new DatasetError(`line ${openedOn}: a quoted field is never closed`);
        const inner = text.charAt(i);
        if (inner === '"') {
          if (text[i + 1] === '"') {
            field += '"';
            i += 2;
            continue;
          }
          i++;
          break;
        }
        if (inner === '\n') line++;
        field += inner;
        i++;
      }
      quotedFieldDone = true;
      const next = text[i];
      if (next !== undefined && next !== ',' && next !== '\n' && next !== '\r') {
        throw new DatasetError(`line ${line}: text after a closing quote`);
      }
      continue;
    }
    if (char === ',') {
      fields.push(field);
      field = '';
      quotedFieldDone = false;
      i++;
    } else if (char === '\r' || char === '\n') {
      endRecord();
      i += char === '\r' && text[i + 1] === '\n' ? 2 : 1;
      line++;
      recordLine = line;
    } else {
      // A run of ordinary characters at once: slicing is far faster than appending one character at a time.
      let j = i + 1;
      while (j < text.length) {
        const code = text.charCodeAt(j);
        if (code === 44 || code === 10 || code === 13) break;
        j++;
      }
      field += text.slice(i, j);
      i = j;
    }
  }
  if (field !== '' || fields.length > 0 || quotedFieldDone) endRecord();
  return records;
}

const MISSING_TOKENS = new Set(['', 'na', 'n/a', 'nan', 'null', 'none', '?']);
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A cell as a number: null when missing (NA, empty, ...), undefined when not a number; true/false are 1/0. */
export function parseCell(value: string): number | null | undefined {
  const trimmed = value.trim();
  const lower = trimmed.toLowerCase();
  if (MISSING_TOKENS.has(lower)) return null;
  if (lower === 'true') return 1;
  if (lower === 'false') return 0;
  return DECIMAL.test(trimmed) ? Number(trimmed) : undefined;
}

/** A label: 0/1 or true/false in any case; undefined for anything else. */
export function parseLabel(value: string): 0 | 1 | undefined {
  const lower = value.trim().toLowerCase();
  if (lower === '1' || lower === 'true' || lower === '1.0') return 1;
  if (lower === '0' || lower === 'false' || lower === '0.0') return 0;
  return undefined;
}

const DATE_TIME =
  /^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * A date as epoch milliseconds: YYYY-MM-DD or YYYY/M/D, optionally with H:MM[:SS] and a zone (UTC when none,
 * so the order never depends on the machine's time zone). Undefined when it is not such a date.
 */
export function parseDate(value: string): number | undefined {
  const match = DATE_TIME.exec(value.trim());
  if (match === null) return undefined;
  const [, year, month, day, hour, minute, second, zone] = match;
  const utc = Date.UTC(
    Number(year),
    Number(month) - 1,
    Number(day),
    Number(hour ?? 0),
    Number(minute ?? 0),
    Number(second ?? 0),
  );
  let offsetMinutes = 0;
  if (zone !== undefined && zone !== 'Z') {
    const digits = zone.replace(':', '');
    offsetMinutes = (digits.startsWith('-') ? -1 : 1) * (Number(digits.slice(1, 3)) * 60 + Number(digits.slice(3, 5)));
  }
  return Number.isNaN(utc) ? undefined : utc - offsetMinutes * 60_000;
}

export interface DatasetOptions {
  /** The label column: 0/1 or true/false, 1 = risky (defect-inducing, rolled back). */
  readonly label: string;
  /** A column to order rows by: numbers (e.g. unix seconds) or dates. */
  readonly time?: string | undefined;
  /** Columns that must not become features (ids, leaks). */
  readonly exclude?: readonly string[] | undefined;
}

export interface Dataset {
  /** Feature columns, in file order. */
  readonly featureNames: string[];
  /** One row per record, in file order; missing values are -1. */
  readonly rows: number[][];
  readonly labels: (0 | 1)[];
  /** Per row, when a time column was given: numbers as they are, dates as epoch milliseconds. */
  readonly times: number[] | undefined;
  /** Columns that are not features because they hold text or no values at all. */
  readonly ignoredColumns: string[];
  /** Rows labelled 1. */
  readonly positives: number;
  /** Rows left out because their time is missing (NA, empty, …): they cannot be placed in time. */
  readonly skippedWithoutTime: number;
}

/**
 * Turns CSV text into a data set: every column other than the label, time and excluded ones whose values are
 * all numbers, true/false or missing is a feature; other columns (hashes, names) are listed as ignored.
 */
export function loadDataset(text: string, options: DatasetOptions): Dataset {
  const records = parseCsv(text);
  const header = records[0];
  if (header === undefined) throw new DatasetError('the file is empty');
  const names = header.fields.map((name) => name.trim());
  const seen = new Set<string>();
  for (const name of names) {
    if (seen.has(name)) throw new DatasetError(`column "${name}" appears twice in the header`);
    seen.add(name);
  }
  const columnOf = (name: string, what: string): number => {
    const at = names.indexOf(name);
    if (at < 0) throw new DatasetError(`no ${what} column "${name}"; the columns are: ${names.join(', ')}`);
    return at;
  };
  const labelAt = columnOf(options.label, 'label');
  const timeAt = options.time === undefined ? undefined : columnOf(options.time, 'time');
  const excluded = new Set((options.exclude ?? []).map((name) => columnOf(name, 'excluded')));
  const all = records.slice(1);
  if (all.length === 0) throw new DatasetError('the file has a header but no data rows');
  for (const record of all) {
    if (record.fields.length !== names.length) {
      throw new DatasetError(`line ${record.line} has ${record.fields.length} fields, the header has ${names.length}`);
    }
  }
  // A row without a time cannot be ordered for a time-ordered split: leave it out and say how many, rather
  // than stop at the first one (exported data often has a few). A time that is present but unreadable is an
  // error, below: that is a wrong column or format, not a gap.
  const data = timeAt === undefined ? all : all.filter((record) => parseCell(record.fields[timeAt] ?? '') !== null);
  const skippedWithoutTime = all.length - data.length;
  if (data.length === 0) {
    throw new DatasetError(`every row's time "${options.time ?? ''}" is missing (NA or empty): nothing to order`);
  }

  const labels = data.map((record) => {
    const raw = record.fields[labelAt] ?? '';
    const label = parseLabel(raw);
    if (label === undefined) {
      throw new DatasetError(
        `label "${options.label}" on line ${record.line} is "${raw}"; labels must be 0/1 or true/false`,
      );
    }
    return label;
  });
  const positives = labels.reduce<number>((sum, label) => sum + label, 0);
  if (positives === 0 || positives === labels.length) {
    throw new DatasetError(
      `label "${options.label}" is not binary: every row is ${positives === 0 ? '0 (safe)' : '1 (risky)'}`,
    );
  }

  const times = timeAt === undefined ? undefined : parseTimes(data, timeAt, options.time ?? '');

  const featureColumns: number[] = [];
  const ignoredColumns: string[] = [];
  const parsedColumns: (number | null)[][] = [];
  names.forEach((name, column) => {
    if (column === labelAt || column === timeAt || excluded.has(column)) return;
    const values: (number | null)[] = [];
    let usable = true;
    let present = 0;
    for (const record of data) {
      const value = parseCell(record.fields[column] ?? '');
      if (value === undefined) {
        usable = false;
        break;
      }
      if (value !== null) present++;
      values.push(value);
    }
    if (!usable || present === 0) {
      ignoredColumns.push(name);
      return;
    }
    featureColumns.push(column);
    parsedColumns.push(values);
  });
  if (featureColumns.length === 0) {
    throw new DatasetError('no numeric feature columns besides the label, time and excluded ones');
  }
  const rows = data.map((_, r) => parsedColumns.map((values) => values[r] ?? MISSING_VALUE));
  return {
    featureNames: featureColumns.map((column) => names[column] ?? ''),
    rows,
    labels,
    times,
    ignoredColumns,
    positives,
    skippedWithoutTime,
  };
}

/** A time column: all numbers, or else all dates; one error naming the first value that is neither. */
function parseTimes(data: readonly CsvRecord[], at: number, name: string): number[] {
  const raw = data.map((record) => (record.fields[at] ?? '').trim());
  const numbers = raw.map((value) => (DECIMAL.test(value) ? Number(value) : undefined));
  if (numbers.every((value) => value !== undefined)) return numbers;
  return raw.map((value, r) => {
    const date = parseDate(value);
    if (date === undefined) {
      const line = data[r]?.line ?? 0;
      throw new DatasetError(`time "${name}" on line ${line} is "${value}": neither a number nor a date`);
    }
    return date;
  });
}
