// Parsing `git diff --numstat` into one entry per changed file. Pure: the text comes from the git shell
// (git.ts). We read the human form, not `-z`, because it is what people paste into bug reports and what the
// tests show; the forms it takes are few and all handled here: plain paths, C-quoted paths, and the three
// ways git prints a rename (`a => b`, `pre/{old => new}/post`, and `"quoted" => plain` when either side needs
// quoting). The one ambiguity of the human form is a file whose name itself contains " => "; we read it as a
// rename, which only ever moves that one file between two directories in the counts.

export interface NumstatEntry {
  /** The path after the change (for a deleted file, the path it had). */
  readonly path: string;
  /** Set for a rename or copy: the path before. */
  readonly oldPath?: string;
  /** Lines added; 0 for a binary file. */
  readonly added: number;
  /** Lines deleted; 0 for a binary file. */
  readonly deleted: number;
  /** git printed `-	-`: it does not count lines in binary files, but the file did change. */
  readonly binary: boolean;
}

export class NumstatFormatError extends Error {
  override name = 'NumstatFormatError';
}

const escapes: Record<string, number> = { a: 7, b: 8, t: 9, n: 10, v: 11, f: 12, r: 13, '"': 34, '\\': 92 };

/**
 * Reads one C-style quoted string (git's quote_c_style) starting at `text[start] === '"'`. Octal escapes are
 * bytes of the UTF-8 name, so they are gathered as bytes and decoded together.
 */
function readQuoted(text: string, start: number): { value: string; end: number } {
  const bytes: number[] = [];
  let i = start + 1;
  while (i < text.length) {
    const ch = text.charAt(i);
    if (ch === '"') return { value: Buffer.from(bytes).toString('utf8'), end: i + 1 };
    if (ch === '\\') {
      const next = text.charAt(i + 1);
      const octal = /^[0-7]{3}/.exec(text.slice(i + 1, i + 4));
      if (octal) {
        bytes.push(parseInt(octal[0], 8));
        i += 4;
        continue;
      }
      const code = escapes[next];
      if (code === undefined) throw new NumstatFormatError(`unknown escape \\${next} in ${text}`);
      bytes.push(code);
      i += 2;
      continue;
    }
    // Characters git did not escape (with core.quotePath=false that includes non-ASCII) are copied as UTF-8.
    const codePoint = text.codePointAt(i) ?? 0;
    const char = String.fromCodePoint(codePoint);
    bytes.push(...Buffer.from(char, 'utf8'));
    i += char.length;
  }
  throw new NumstatFormatError(`unterminated quoted path in ${text}`);
}

/** Joins the parts of a `pre{old => new}post` rename; an empty middle leaves `//` or a leading `/` to drop. */
function joinRenamePart(prefix: string, middle: string, suffix: string): string {
  return (prefix + middle + suffix).replace(/\/{2,}/g, '/').replace(/^\//, '');
}

/** Splits the path column of one numstat line into the path before and after. */
export function parsePathColumn(column: string): { path: string; oldPath?: string } {
  const arrow = ' => ';
  if (column.startsWith('"')) {
    const first = readQuoted(column, 0);
    const rest = column.slice(first.end);
    if (rest === '') return { path: first.value };
    if (!rest.startsWith(arrow)) throw new NumstatFormatError(`unexpected text after a quoted path: ${column}`);
    const target = rest.slice(arrow.length);
    const second = target.startsWith('"') ? readQuoted(target, 0) : { value: target, end: target.length };
    if (second.end !== target.length) throw new NumstatFormatError(`unexpected text after a quoted path: ${column}`);
    return { path: second.value, oldPath: first.value };
  }
  const braces = /^(.*)\{([^{}]*) => ([^{}]*)\}(.*)$/.exec(column);
  if (braces) {
    const [, prefix = '', before = '', after = '', suffix = ''] = braces;
    return { path: joinRenamePart(prefix, after, suffix), oldPath: joinRenamePart(prefix, before, suffix) };
  }
  const at = column.indexOf(arrow);
  if (at >= 0) {
    const target = column.slice(at + arrow.length);
    return {
      path: target.startsWith('"') ? readQuoted(target, 0).value : target,
      oldPath: column.slice(0, at),
    };
  }
  return { path: column };
}

/** Parses the whole output of `git diff --numstat`; blank lines are skipped, anything else unexpected throws. */
export function parseNumstat(text: string): NumstatEntry[] {
  const entries: NumstatEntry[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    const match = /^(\d+|-)\t(\d+|-)\t(.+)$/.exec(line);
    if (!match) throw new NumstatFormatError(`not a numstat line: ${line}`);
    const [, addedText = '', deletedText = '', column = ''] = match;
    const binary = addedText === '-' || deletedText === '-';
    entries.push({
      ...parsePathColumn(column),
      added: binary ? 0 : Number(addedText),
      deleted: binary ? 0 : Number(deletedText),
      binary,
    });
  }
  return entries;
}
