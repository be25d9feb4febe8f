// The pure half of the narrative: the facts of one assessment as a language model may see them, the chat
// prompt built from them, and the reading of a chat-completions answer. No I/O, so what the model is told
// and what is taken from its answer can be tested exactly.
import type { AssessmentObject } from '../api/objects.js';
import { FEATURE_CONTRACT } from '../model/contract.js';

/** What an assessment records, reduced to what a summary may mention. */
export interface NarrativeFacts {
  namespace: string;
  deployment: string;
  revision?: number | undefined;
  score?: number | undefined;
  level?: string | undefined;
  scorer?: string | undefined;
  mode?: string | undefined;
  phase?: string | undefined;
  outcome?: string | undefined;
  features: Record<string, number>;
  missingFeatures: string[];
  reasons: string[];
  hardRules: string[];
  findings: string[];
  templateChanges: string[];
  actions: { type: string; at: string; message: string }[];
  verification?:
    | {
        state?: string | undefined;
        message?: string | undefined;
        steps: {
          at: string;
          metric: string;
          value?: number | undefined;
          baseline?: number | undefined;
          limit?: number | undefined;
          verdict: string;
        }[];
      }
    | undefined;
}

export type NarrativeResult = { text: string } | { unavailable: string };

export interface ChatMessage {
  role: 'system' | 'user';
  content: string;
}

/** Verification steps the prompt shows: the most recent ones, where the outcome was decided. */
export const maxPromptSteps = 12;
/** Longest text taken from one recorded string, so a long message cannot crowd out the rest. */
const maxFactLength = 300;
/** Longest summary shown; a model that rambles past it is cut. */
export const maxNarrativeLength = 1200;

export function narrativeFactsOf(a: AssessmentObject): NarrativeFacts {
  const s = a.status ?? {};
  const facts: NarrativeFacts = {
    namespace: a.metadata?.namespace ?? '',
    deployment: a.spec?.deployment ?? a.metadata?.name ?? '',
    revision: a.spec?.revision,
    score: s.score,
    level: s.level,
    scorer: s.scorer,
    mode: s.mode,
    phase: s.phase,
    outcome: s.outcome,
    features: s.features ?? {},
    missingFeatures: s.missingFeatures ?? [],
    reasons: s.reasons ?? [],
    hardRules: s.hardRules ?? [],
    findings: s.findings ?? [],
    templateChanges: s.templateChanges ?? [],
    actions: (s.actions ?? []).map((action) => ({ type: action.type, at: action.at, message: action.message })),
  };
  if (s.verification) {
    facts.verification = {
      state: s.verification.state,
      message: s.verification.message,
      steps: (s.verification.steps ?? []).map((step) => ({
        at: step.at,
        metric: step.metric,
        value: step.value,
        baseline: step.baseline,
        limit: step.limit,
        verdict: step.verdict,
      })),
    };
  }
  return facts;
}

const units = new Map<string, string>(FEATURE_CONTRACT.map((f) => [f.name, f.unit]));

function clip(text: string): string {
  const oneLine = text.replace(/\s+/g, ' ').trim();
  return oneLine.length > maxFactLength ? `${oneLine.slice(0, maxFactLength - 1)}…` : oneLine;
}

function num(value: number | undefined): string {
  if (value === undefined) return 'none';
  return Number.isFinite(value) ? String(Number(value.toPrecision(4))) : String(value);
}

function list(title: string, items: readonly string[]): string[] {
  if (items.length === 0) return [`${title}: none`];
  return [`${title}:`, ...items.map((item) => `- ${clip(item)}`)];
}

export const narrativeSystemPrompt = [
  'You summarise a Kubernetes rollout risk assessment made by rollguard for the on-call engineer.',
  'Write exactly 3 sentences of plain text: no lists, no headings, no markdown.',
  'Say how risky the rollout was and why, what rollguard did, and how it ended (or where it stands).',
  'Use only the facts in the assessment below. Do not invent numbers, causes, services, people, times or events that are not in it; if something is not stated, do not guess it.',
  'rollguard has already decided; do not recommend a different decision.',
].join(' ');

/** The facts as plain lines, every number with its unit, in a fixed order: the same assessment, the same text. */
export function renderFacts(facts: NarrativeFacts): string {
  const lines = [
    `Deployment: ${clip(facts.namespace)}/${clip(facts.deployment)}, revision ${facts.revision ?? 'unknown'}`,
    `Risk score: ${num(facts.score)} (0 safe to 1 risky), level: ${facts.level ?? 'unknown'}, scored by: ${facts.scorer ?? 'unknown'}, policy mode: ${facts.mode ?? 'unknown'}`,
    `Phase: ${facts.phase ?? 'unknown'}, outcome: ${facts.outcome ?? 'unknown'}`,
    ...list('Reasons for the score', facts.reasons),
    ...list('Hard rules that fired', facts.hardRules),
    ...list('Findings in the pod template', facts.findings),
    ...list('Changes to the pod template', facts.templateChanges),
    'Features:',
    ...Object.keys(facts.features)
      .sort()
      .map((name) => `- ${name} = ${num(facts.features[name])} (${units.get(name) ?? 'no unit'})`),
    `Features that were unknown: ${facts.missingFeatures.length === 0 ? 'none' : facts.missingFeatures.join(', ')}`,
    ...list(
      'Actions rollguard took or saw',
      facts.actions.map((a) => `${a.at} ${a.type}: ${a.message}`),
    ),
  ];
  const v = facts.verification;
  if (v) {
    lines.push(`Verification: state ${v.state ?? 'unknown'}${v.message ? `, ${clip(v.message)}` : ''}`);
    const steps = v.steps.slice(-maxPromptSteps);
    if (v.steps.length > steps.length) lines.push(`(the last ${steps.length} of ${v.steps.length} checks)`);
    for (const step of steps) {
      lines.push(
        `- ${step.at} ${clip(step.metric)}: value ${num(step.value)}, baseline ${num(step.baseline)}, limit ${num(step.limit)}, verdict ${step.verdict}`,
      );
    }
  } else {
    lines.push('Verification: not started');
  }
  return lines.join('\n');
}

/** The chat prompt for one assessment: the rules in the system message, the facts in the user message. */
export function buildNarrativePrompt(facts: NarrativeFacts): ChatMessage[] {
  return [
    { role: 'system', content: narrativeSystemPrompt },
    {
      role: 'user',
      content: `The assessment:\n${renderFacts(facts)}\n\nSummarise it in 3 sentences for the on-call engineer, using only these facts.`,
    },
  ];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * The summary from a chat-completions answer (`choices[0].message.content`), or why there is none. Reasoning
 * models' `<think>…</think>` is dropped, whitespace collapsed, and an over-long answer cut.
 */
export function parseChatCompletion(body: unknown): NarrativeResult {
  if (!isRecord(body)) return { unavailable: 'the endpoint did not answer with chat-completions JSON' };
  if (isRecord(body.error)) {
    const message = typeof body.error.message === 'string' ? body.error.message : 'no message';
    return { unavailable: `the endpoint answered with an error: ${clip(message)}` };
  }
  const choices = Array.isArray(body.choices) ? body.choices : [];
  const first: unknown = choices[0];
  const message = isRecord(first) && isRecord(first.message) ? first.message : undefined;
  if (typeof message?.content !== 'string') {
    return { unavailable: 'the answer has no choices[0].message.content' };
  }
  const text = message.content
    .replace(/<think>[\s\S]*?(<\/think>|$)/g, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  if (text === '') return { unavailable: 'the model answered with empty text' };
  return { text: text.length > maxNarrativeLength ? `${text.slice(0, maxNarrativeLength - 1)}…` : text };
}
