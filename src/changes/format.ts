// The change description as the operator reads it: `rollguard.io/` annotations (string values, as
// Kubernetes requires) in lines for `kubectl annotate`, a JSON merge patch of the pod template for
// `kubectl patch`, or one JSON object for scripts. Pure rendering; the annotation names and value forms are
// the ones src/assess/change-description.ts parses, and a test holds the two together.

import { annotationPrefix } from '../assess/change-description.js';
import type { ChangeMetrics } from './compute.js';

/**
 * The annotations, in the order the design lists them. The main author's email is deliberately absent: it
 * would be copied onto every pod of the Deployment and adds nothing the model uses.
 */
export function toAnnotations(metrics: ChangeMetrics): Record<string, string> {
  const values: [string, string | number | boolean][] = [
    ['change-type', metrics.changeType],
    ['files-changed', metrics.filesChanged],
    ['directories-changed', metrics.directoriesChanged],
    ['subsystems-changed', metrics.subsystemsChanged],
    ['lines-added', metrics.linesAdded],
    ['lines-deleted', metrics.linesDeleted],
    ['change-entropy', metrics.changeEntropy],
    ['is-fix', metrics.isFix],
    ['authors', metrics.authors],
    ['author-experience', metrics.authorExperience],
    ['dependencies-changed', metrics.dependenciesChanged],
    ['commit', metrics.commit],
  ];
  return Object.fromEntries(values.map(([key, value]) => [annotationPrefix + key, String(value)]));
}

/** Quotes a word for a POSIX shell only when it needs it, so the usage lines stay copy-pasteable. */
export function shellQuote(word: string): string {
  return /^[\w@%+=:,./^~-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

export interface Invocation {
  readonly repo: string;
  readonly from: string;
  readonly to: string;
}

/**
 * `key=value` lines for `kubectl annotate`, after comment lines saying how to use them. The comments come
 * first and all start with '#', so `grep -v '^#'` leaves exactly the arguments kubectl needs.
 */
export function renderAnnotations(metrics: ChangeMetrics, invocation: Invocation): string {
  const command = `rollguard change-metrics --repo ${shellQuote(invocation.repo)} --from ${shellQuote(invocation.from)} --to ${shellQuote(invocation.to)}`;
  const comments = [
    `# rollguard change description of ${metrics.from.slice(0, 12)}..${metrics.commit.slice(0, 12)} (${metrics.commits} commit${metrics.commits === 1 ? '' : 's'}).`,
    '# Best on the pod template, so each revision carries its own (this starts a rollout: do it with the new image):',
    `#   kubectl patch deployment/NAME --type merge -p "$(${command} --format patch)"`,
    '# or on the Deployment itself, which rollguard reads when the pod template has none:',
    `#   kubectl annotate --overwrite deployment/NAME $(${command} | grep -v '^#')`,
  ];
  const lines = Object.entries(toAnnotations(metrics)).map(([key, value]) => `${key}=${value}`);
  return `${[...comments, ...lines].join('\n')}\n`;
}

/** A JSON merge patch (RFC 7386) of the pod template's annotations; also valid as a strategic merge patch. */
export function renderPatch(metrics: ChangeMetrics): string {
  return `${JSON.stringify({ spec: { template: { metadata: { annotations: toAnnotations(metrics) } } } })}\n`;
}

/** One JSON object: numbers as numbers, is-fix as a boolean, plus the range's context. */
export function renderJson(metrics: ChangeMetrics): string {
  return `${JSON.stringify(metrics)}\n`;
}
