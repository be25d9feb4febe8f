// Renders the policy's PromQL templates: `{{namespace}}`, `{{deployment}}`, `{{podTemplateHash}}`,
// `{{window}}`, `{{deploymentRegex}}` and `{{hashRegex}}`. Names come from the cluster and templates from
// users, so nothing is pasted in raw: every value is escaped for the PromQL double-quoted string it lands in
// (regex values are RE2-quoted first), a name placeholder outside double quotes is refused, and `window` must
// be a plain duration. A name therefore cannot end its string and add matchers or operators of its own.

export const PLACEHOLDERS = [
  'namespace',
  'deployment',
  'podTemplateHash',
  'window',
  'deploymentRegex',
  'hashRegex',
] as const;

export type Placeholder = (typeof PLACEHOLDERS)[number];

export interface TemplateValues {
  readonly namespace?: string;
  readonly deployment?: string;
  readonly podTemplateHash?: string;
  /** A PromQL duration such as `1m` or `1m30s`. */
  readonly window?: string;
  /** The Deployments `{{deploymentRegex}}` must match, exactly and nothing else. */
  readonly deployments?: readonly string[];
  /** The pod-template hashes `{{hashRegex}}` must match, exactly and nothing else. */
  readonly podTemplateHashes?: readonly string[];
}

export type RenderResult =
  { readonly ok: true; readonly query: string } | { readonly ok: false; readonly error: string };

type Context = 'code' | 'double-quoted' | 'single-quoted' | 'backtick' | 'comment';

/** `inRegex`: the placeholder sits in the string of a `=~` or `!~` matcher, so its value is an RE2 pattern. */
type Part = { readonly text: string } | { readonly placeholder: Placeholder; readonly inRegex: boolean };

export type ParsedTemplate =
  | { readonly ok: true; readonly parts: readonly Part[]; readonly placeholders: ReadonlySet<Placeholder> }
  | { readonly ok: false; readonly error: string };

const known: ReadonlySet<string> = new Set(PLACEHOLDERS);

function isPlaceholder(name: string): name is Placeholder {
  return known.has(name);
}

/** Prometheus's duration syntax; `window` is substituted unquoted (inside `[...]`), so it must be nothing else. */
const DURATION = /^([0-9]+(ms|s|m|h|d|w|y))+$/;

/**
 * Splits a template into text and placeholders, following PromQL's lexical states so it knows whether each
 * placeholder sits inside a double-quoted string: the only place the escaping below is sound. (A `\'` escape
 * is invalid in a double-quoted PromQL string and vice versa, so one escaping cannot serve both quote kinds.)
 */
export function parseTemplate(template: string): ParsedTemplate {
  const parts: Part[] = [];
  const placeholders = new Set<Placeholder>();
  let context: Context = 'code';
  // Whether the double-quoted string we are in is the right-hand side of a regex matcher.
  let regexString = false;
  let text = '';
  let i = 0;
  while (i < template.length) {
    if (template.startsWith('{{', i)) {
      const end = template.indexOf('}}', i + 2);
      if (end < 0) return { ok: false, error: `unclosed placeholder "{{" at offset ${i} of the query template` };
      const name = template.slice(i + 2, end).trim();
      if (!isPlaceholder(name)) {
        return {
          ok: false,
          error:
            `unknown placeholder {{${name}}} in the query template; ` +
            `known: ${PLACEHOLDERS.map((p) => `{{${p}}}`).join(', ')}`,
        };
      }
      if (name !== 'window' && context !== 'double-quoted' && context !== 'comment') {
        return {
          ok: false,
          error: `placeholder {{${name}}} must sit inside double quotes, e.g. label="{{${name}}}" or label=~"{{${name}}}"`,
        };
      }
      parts.push({ text });
      text = '';
      parts.push({ placeholder: name, inRegex: context === 'double-quoted' && regexString });
      placeholders.add(name);
      i = end + 2;
      continue;
    }
    const c = template.charAt(i);
    text += c;
    i += 1;
    switch (context) {
      case 'code':
        if (c === '"') {
          context = 'double-quoted';
          regexString = /[=!]~\s*$/.test(template.slice(0, i - 1));
        } else if (c === "'") context = 'single-quoted';
        else if (c === '`') context = 'backtick';
        else if (c === '#') context = 'comment';
        break;
      case 'double-quoted':
      case 'single-quoted':
        if (c === '\\' && i < template.length) {
          // An escaped character never ends the string, whatever it is.
          text += template.charAt(i);
          i += 1;
        } else if ((c === '"' && context === 'double-quoted') || (c === "'" && context === 'single-quoted')) {
          context = 'code';
        }
        break;
      case 'backtick':
        if (c === '`') context = 'code';
        break;
      case 'comment':
        if (c === '\n') context = 'code';
        break;
    }
  }
  parts.push({ text });
  return { ok: true, parts: parts.filter((p) => !('text' in p) || p.text !== ''), placeholders };
}

/** Escapes a value for the inside of a PromQL double-quoted string (Go's escapes, which PromQL uses). */
export function escapeLabelValue(value: string): string {
  let out = '';
  for (const ch of value) {
    const code = ch.codePointAt(0) ?? 0;
    if (ch === '\\') out += '\\\\';
    else if (ch === '"') out += '\\"';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

/** RE2's metacharacters, as Go's regexp.QuoteMeta escapes them. */
const RE2_META = /[\\.+*?()|[\]{}^$]/g;

/** Quotes a value so RE2 (PromQL's regex engine) matches it literally. Not yet escaped for a string. */
export function escapeRegex(value: string): string {
  return value.replace(RE2_META, '\\$&');
}

/**
 * An RE2 alternation matching exactly the given values (PromQL anchors regexes at both ends). Sorted and
 * de-duplicated, so the same set of rollouts always yields the same query text.
 */
export function regexAlternation(values: readonly string[]): string {
  return [...new Set(values)].sort().map(escapeRegex).join('|');
}

function valueFor(name: Placeholder, values: TemplateValues, inRegex: boolean): { value: string } | { error: string } {
  const need = (v: string | undefined, what: string): { value: string } | { error: string } => {
    if (v === undefined) return { error: `placeholder {{${name}}} has no value here (${what} unknown)` };
    if (v === '') return { error: `placeholder {{${name}}} would be empty, which matches series without the label` };
    if (!v.isWellFormed()) return { error: `the value for {{${name}}} is not valid Unicode` };
    // In deployment=~"{{deployment}}" a name's "." would match any character: `cart.v2` must not match `cartXv2`.
    return { value: escapeLabelValue(inRegex ? escapeRegex(v) : v) };
  };
  const list = (vs: readonly string[] | undefined, what: string): { value: string } | { error: string } => {
    if (vs === undefined) return { error: `placeholder {{${name}}} has no value here (${what} unknown)` };
    // An empty alternation would match the empty string, i.e. every series lacking the label.
    if (vs.length === 0 || vs.includes(''))
      return { error: `placeholder {{${name}}} needs at least one non-empty ${what}` };
    if (!vs.every((v) => v.isWellFormed())) return { error: `a value for {{${name}}} is not valid Unicode` };
    return { value: escapeLabelValue(regexAlternation(vs)) };
  };
  switch (name) {
    case 'namespace':
      return need(values.namespace, 'namespace');
    case 'deployment':
      return need(values.deployment, 'Deployment');
    case 'podTemplateHash':
      return need(values.podTemplateHash, 'pod-template-hash');
    case 'window':
      if (values.window === undefined)
        return { error: 'placeholder {{window}} has no value here (rate window unknown)' };
      if (!DURATION.test(values.window)) {
        return { error: `the rate window ${JSON.stringify(values.window)} is not a duration such as 1m or 30s` };
      }
      return { value: values.window };
    case 'deploymentRegex':
      return list(values.deployments, 'Deployment');
    case 'hashRegex':
      return list(values.podTemplateHashes, 'pod-template-hash');
  }
}

/** Renders a parsed template; fails with a clear message instead of producing a query that means something else. */
export function renderParsed(parsed: ParsedTemplate, values: TemplateValues): RenderResult {
  if (!parsed.ok) return parsed;
  let query = '';
  for (const part of parsed.parts) {
    if ('text' in part) {
      query += part.text;
      continue;
    }
    const v = valueFor(part.placeholder, values, part.inRegex);
    if ('error' in v) return { ok: false, error: v.error };
    query += v.value;
  }
  return { ok: true, query };
}

export function renderQuery(template: string, values: TemplateValues): RenderResult {
  return renderParsed(parseTemplate(template), values);
}
