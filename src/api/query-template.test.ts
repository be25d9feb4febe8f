// The template rule the API server runs (as CEL) against the renderer's own lexer: they must agree, so a
// policy the API server accepts can always be rendered.
import { describe, expect, it } from 'vitest';
import { defaultErrorRateQuery, defaultLatencyQuery } from './policy.js';
import { queryTemplateCelRule, queryTemplatePattern, queryTemplateProblem } from './query-template.js';
import { parseTemplate } from '../prometheus/template.js';

describe('queryTemplatePattern', () => {
  it.each([
    [defaultErrorRateQuery, true],
    [defaultLatencyQuery, true],
    ['up{namespace="{{namespace}}"}', true],
    ['up{namespace="prefix-{{ namespace }}-x"}', true],
    ['rate(x{a="{{deployment}}",b=~"{{hashRegex}}"}[{{window}}])', true],
    ["rate(x{a='b'}[{{window}}])", true],
    ['x{a="\\"{{namespace}}\\""}', true],
    ['x # {{namespace}} in a comment\n+ y', true],
    ['{a}', true],
    ['x{', true],
    ['', true],
    // Outside double quotes: the value could not be escaped.
    ['up{namespace={{namespace}}}', false],
    ["up{namespace='{{namespace}}'}", false],
    ['up{namespace=`{{namespace}}`}', false],
    ['x # comment\n{{namespace}}', false],
    // A comment cannot hide a string that carries a placeholder into code.
    ['x # "\n{{namespace}}"', false],
    // Unknown, misspelt or unclosed placeholders.
    ['up{namespace="{{namspace}}"}', false],
    ['up{namespace="{{{namespace}}}"}', false],
    ['up{namespace="{{namespace"}', false],
    ['x{{window}', false],
    // A string that never closes.
    ['up{namespace="{{namespace}}}', false],
  ])('%j usable: %s', (template, usable) => {
    expect(queryTemplatePattern.test(template)).toBe(usable);
    expect(queryTemplateProblem(template) === undefined).toBe(usable);
  });

  it('never accepts what the renderer refuses', () => {
    const pieces = ['{{namespace}}', '{{window}}', '{{x}}', '"', "'", '`', '#', '\n', '\\', '{', '}', 'a', '=', ' '];
    // Every template of up to four pieces: the exhaustive table a reviewer cannot write by hand.
    let templates = [''];
    for (let n = 0; n < 4; n += 1) templates = templates.flatMap((t) => pieces.map((p) => t + p));
    for (const template of templates) {
      if (queryTemplatePattern.test(template)) expect(parseTemplate(template).ok, JSON.stringify(template)).toBe(true);
    }
  });

  it('is written for CEL with each backslash doubled', () => {
    expect(queryTemplateCelRule.startsWith("self.matches('^")).toBe(true);
    expect(queryTemplateCelRule).toContain('\\\\{\\\\{');
    expect(queryTemplateCelRule).not.toMatch(/[^\\]\\[s{n]/);
  });
});
