// Tests for query templates: substitution, the refusals, and hostile names that try to change the query.
import { describe, expect, it } from 'vitest';
import { escapeLabelValue, escapeRegex, parseTemplate, regexAlternation, renderQuery } from './template.js';

/**
 * The query with the contents of every double-quoted string replaced by `S`: if a value could end its string,
 * the skeleton would change. Follows PromQL's escapes the way its lexer does.
 */
function skeleton(query: string): string {
  let out = '';
  let inString = false;
  for (let i = 0; i < query.length; i++) {
    const c = query.charAt(i);
    if (inString) {
      if (c === '\\') i++;
      else if (c === '"') {
        inString = false;
        out += 'S"';
      }
    } else {
      out += c;
      if (c === '"') inString = true;
    }
  }
  return out;
}

/** The string literals of a query, unescaped as PromQL (Go) would read them. */
function literals(query: string): string[] {
  const found: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"/g;
  for (const m of query.matchAll(re)) {
    found.push(
      (m[1] ?? '').replace(/\\(x[0-9a-f]{2}|.)/g, (_, e: string) => {
        if (e.startsWith('x')) return String.fromCharCode(parseInt(e.slice(1), 16));
        return ({ n: '\n', r: '\r', t: '\t' } as Record<string, string>)[e] ?? e;
      }),
    );
  }
  return found;
}

const template =
  'sum by (deployment, pod_template_hash) (rate(http_requests_total{namespace="{{namespace}}",' +
  'deployment=~"{{deploymentRegex}}",pod_template_hash=~"{{hashRegex}}",code=~"5.."}[{{window}}]))';

const benign = { namespace: 'shop', deployments: ['web'], podTemplateHashes: ['5d8f9c'], window: '1m' };

describe('renderQuery', () => {
  it('substitutes every placeholder', () => {
    expect(
      renderQuery(
        'x{namespace="{{namespace}}",deployment="{{ deployment }}",pod_template_hash="{{podTemplateHash}}"}[{{window}}]',
        { namespace: 'shop', deployment: 'web', podTemplateHash: '5d8f9c', window: '1m30s' },
      ),
    ).toEqual({
      ok: true,
      query: 'x{namespace="shop",deployment="web",pod_template_hash="5d8f9c"}[1m30s]',
    });
  });

  it('builds sorted, de-duplicated alternations for the batch placeholders', () => {
    const result = renderQuery(template, {
      ...benign,
      deployments: ['web', 'api', 'web', 'cart.v2'],
      podTemplateHashes: ['b', 'a'],
    });
    expect(result).toEqual({
      ok: true,
      query: expect.stringContaining('deployment=~"api|cart\\\\.v2|web",pod_template_hash=~"a|b"') as unknown,
    });
  });

  it.each([
    ['unknown placeholder', 'up{job="{{job}}"}', /unknown placeholder \{\{job\}\}.*known: \{\{namespace\}\}/],
    ['unclosed placeholder', 'up{job="{{namespace"}', /unclosed placeholder/],
    ['name placeholder outside quotes', 'up{namespace={{namespace}}}', /must sit inside double quotes/],
    ['name placeholder in single quotes', "up{namespace='{{namespace}}'}", /must sit inside double quotes/],
    ['name placeholder in a raw string', 'up{namespace=`{{namespace}}`}', /must sit inside double quotes/],
  ])('refuses a template with an %s', (_name, bad, error) => {
    const result = renderQuery(bad, benign);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(error);
  });

  it('knows a closing quote escaped inside a string does not end it', () => {
    const parsed = parseTemplate('up{a="x\\"{{namespace}}"}');
    expect(parsed.ok).toBe(true);
  });

  it.each([
    ['a missing value', { ...benign, namespace: undefined }, /\{\{namespace\}\} has no value/],
    ['an empty namespace', { ...benign, namespace: '' }, /would be empty/],
    ['an empty list of Deployments', { ...benign, deployments: [] }, /at least one non-empty Deployment/],
    ['an empty Deployment name in the list', { ...benign, deployments: ['web', ''] }, /at least one non-empty/],
    ['a window that is not a duration', { ...benign, window: '1m]) or vector(1) #' }, /is not a duration/],
    ['a lone surrogate', { ...benign, namespace: 'a\uD800' }, /not valid Unicode/],
  ])('refuses %s', (_name, values, error) => {
    const { namespace, ...rest } = values;
    const result = renderQuery(template, namespace === undefined ? rest : { ...rest, namespace });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(error);
  });

  const hostile = [
    'web"} or vector(1) #',
    'web\\',
    'web\\"}',
    '"}[5m])) or on() vector(0) or sum(x{a="',
    'a.b*c+d?(e)|f[g]{h}^i$j\\k',
    '.*',
    'line\nbreak\ttab\x00nul\x7f',
    'ünïcødé-名前',
  ];

  it.each(hostile)('a hostile name cannot change the query: %j', (name) => {
    const good = renderQuery(template, benign);
    const bad = renderQuery(template, { ...benign, namespace: name, deployments: [name], podTemplateHashes: [name] });
    if (!good.ok || !bad.ok) throw new Error('render failed');
    expect(skeleton(bad.query)).toBe(skeleton(good.query));
    const [ns, deploymentRegex, hashRegex] = literals(bad.query);
    expect(ns).toBe(name);
    // The regex literal, read by RE2 (same escapes as JS here), matches exactly the name and nothing else.
    for (const re of [deploymentRegex, hashRegex]) {
      const compiled = new RegExp(`^(?:${re ?? ''})$`, 's');
      expect(compiled.test(name)).toBe(true);
      expect(compiled.test(`${name}x`)).toBe(false);
      expect(compiled.test('webx')).toBe(false);
    }
  });
});

describe('a name inside a regex matcher', () => {
  it.each<[string, string, string]>([
    ['=~ quotes the dot', 'up{deployment=~"{{deployment}}"}', 'up{deployment=~"cart\\\\.v2"}'],
    ['!~ quotes it too', 'up{deployment!~"{{deployment}}"}', 'up{deployment!~"cart\\\\.v2"}'],
    ['spaces before the string', 'up{deployment =~  "{{deployment}}"}', 'up{deployment =~  "cart\\\\.v2"}'],
    ['inside a larger pattern', 'up{pod=~"{{deployment}}-.+"}', 'up{pod=~"cart\\\\.v2-.+"}'],
    ['= stays literal', 'up{deployment="{{deployment}}"}', 'up{deployment="cart.v2"}'],
    ['a later = string after a regex one', 'up{a=~"x",deployment="{{deployment}}"}', 'up{a=~"x",deployment="cart.v2"}'],
  ])('%s', (_what, template, query) => {
    expect(renderQuery(template, { deployment: 'cart.v2' })).toEqual({ ok: true, query });
  });

  it('the regex matches only that Deployment, as RE2 (anchored) reads it', () => {
    const rendered = renderQuery('up{deployment=~"{{deployment}}"}', { deployment: 'cart.v2' });
    if (!rendered.ok) throw new Error(rendered.error);
    const pattern = literals(rendered.query)[0] ?? '';
    expect(new RegExp(`^(?:${pattern})$`).test('cart.v2')).toBe(true);
    expect(new RegExp(`^(?:${pattern})$`).test('cartXv2')).toBe(false);
  });
});

describe('escaping helpers', () => {
  it.each([
    ['plain', 'plain'],
    ['a"b', 'a\\"b'],
    ['a\\b', 'a\\\\b'],
    ['a\nb', 'a\\nb'],
    ['a\x01b', 'a\\x01b'],
  ])('escapeLabelValue(%j) = %j', (value, escaped) => {
    expect(escapeLabelValue(value)).toBe(escaped);
  });

  it.each([
    ['web', 'web'],
    ['a.b', 'a\\.b'],
    ['(a|b)*', '\\(a\\|b\\)\\*'],
    ['^[x]{2}$+?\\', '\\^\\[x\\]\\{2\\}\\$\\+\\?\\\\'],
  ])('escapeRegex(%j) = %j', (value, escaped) => {
    expect(escapeRegex(value)).toBe(escaped);
  });

  it('regexAlternation sorts and de-duplicates', () => {
    expect(regexAlternation(['b.x', 'a', 'b.x'])).toBe('a|b\\.x');
  });
});
