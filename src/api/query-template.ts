// What makes a policy's PromQL template usable, stated once as a regular expression that both the API server
// (CEL `matches`, RE2) and TypeScript run, so `kubectl apply` refuses the same templates the controller would
// fail to render. It follows the lexer in src/prometheus/template.ts: a name placeholder ({{namespace}},
// {{deployment}}, {{podTemplateHash}}, {{deploymentRegex}}, {{hashRegex}}) may only sit inside a double-quoted
// string (or a comment), {{window}} anywhere, and `{{` never starts anything else. A policy mistake must be
// refused when it is written, never discovered as a failing rollout.
import { parseTemplate } from '../prometheus/template.js';

const names = 'namespace|deployment|podTemplateHash|window|deploymentRegex|hashRegex';
/** Any known placeholder. */
const anyPlaceholder = String.raw`\{\{\s*(?:${names})\s*\}\}`;
/** The one placeholder allowed outside double quotes: the rate window, inside `[...]`. */
const windowPlaceholder = String.raw`\{\{\s*window\s*\}\}`;
// Each string kind: a `{` that does not start a placeholder is followed by anything but another `{`.
const doubleQuoted = String.raw`"(?:[^"\\{]|\\[\s\S]|\{[^"\\{]|\{\\[\s\S]|${anyPlaceholder})*\{?"`;
const singleQuoted = String.raw`'(?:[^'\\{]|\\[\s\S]|\{[^'\\{]|\{\\[\s\S]|${windowPlaceholder})*\{?'`;
const backtick = String.raw`\`(?:[^\`{]|\{[^\`{]|${windowPlaceholder})*\{?\``;
// A comment runs to the end of its line (taking the newline, so it cannot end early and hide a string).
const comment = String.raw`#(?:[^\n{]|\{[^\n{]|${anyPlaceholder})*\{?(?:\n|$)`;
const quoted = `(?:${doubleQuoted}|${singleQuoted}|${backtick}|${comment})`;

/** A template whose placeholders are all known and in a place where their values can be escaped. */
export const queryTemplatePattern = new RegExp(
  String.raw`^(?:[^"'\`#{]|\{[^"'\`#{]|\{?${quoted}|${windowPlaceholder})*\{?$`,
);

/** The same rule for the API server: CEL string literal syntax needs each backslash doubled. */
export const queryTemplateCelRule = `self.matches('${queryTemplatePattern.source.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}')`;

/** Why a template cannot be used, in words; undefined when it can. */
export function queryTemplateProblem(template: string): string | undefined {
  const parsed = parseTemplate(template);
  if (!parsed.ok) return parsed.error;
  if (!queryTemplatePattern.test(template)) return 'has a quoted string that is never closed';
  return undefined;
}
