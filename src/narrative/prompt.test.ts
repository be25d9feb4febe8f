// The pure half of the narrative: the facts taken from an assessment, the prompt built from them (every
// number with its unit, the instruction not to invent facts, bounded in size), and the reading of answers.
import { describe, expect, it } from 'vitest';
import type { AssessmentObject } from '../api/objects.js';
import {
  buildNarrativePrompt,
  maxNarrativeLength,
  maxPromptSteps,
  narrativeFactsOf,
  narrativeSystemPrompt,
  parseChatCompletion,
  renderFacts,
} from './prompt.js';

const assessment: AssessmentObject = {
  metadata: { name: 'checkout-7', namespace: 'shop' },
  spec: { deployment: 'checkout', revision: 7, podTemplateHash: 'h7', policy: 'guard' },
  status: {
    phase: 'RolledBack',
    outcome: 'rolled-back',
    score: 0.6412,
    level: 'rollback-ready',
    scorer: 'model',
    mode: 'enforce',
    features: { test_coverage: 35, lines_added: 1200, error_rate_before: 0.004 },
    missingFeatures: ['authors'],
    reasons: ['low test coverage (35 %)'],
    hardRules: [],
    findings: ['container app has no memory limit'],
    templateChanges: ['container app: image 1.6.0 → 1.7.0'],
    actions: [{ type: 'rolled-back', at: '2025-03-04T11:52:10Z', message: 'rolled back to revision 6' }],
    verification: {
      state: 'failed',
      message: 'error rate above its limit',
      steps: [
        {
          at: '2025-03-04T11:52:00Z',
          metric: 'error-rate',
          value: 0.31,
          baseline: 0.004,
          limit: 0.05,
          verdict: 'fail',
        },
      ],
    },
  },
};

describe('narrativeFactsOf', () => {
  it('takes what the assessment records and nothing else', () => {
    const facts = narrativeFactsOf(assessment);
    expect(facts).toMatchObject({
      namespace: 'shop',
      deployment: 'checkout',
      revision: 7,
      level: 'rollback-ready',
      outcome: 'rolled-back',
      reasons: ['low test coverage (35 %)'],
      actions: [{ type: 'rolled-back', at: '2025-03-04T11:52:10Z', message: 'rolled back to revision 6' }],
    });
    expect(facts.verification?.steps).toHaveLength(1);
  });

  it('copes with an assessment that has no status yet', () => {
    const facts = narrativeFactsOf({ metadata: { name: 'x-1' }, spec: { deployment: 'x' } });
    expect(facts.reasons).toEqual([]);
    expect(facts.verification).toBeUndefined();
    expect(renderFacts(facts)).toContain('Verification: not started');
  });
});

describe('buildNarrativePrompt', () => {
  const messages = buildNarrativePrompt(narrativeFactsOf(assessment));
  const [system, user] = messages;

  it('asks for 3 sentences for an on-call engineer and forbids inventing facts', () => {
    expect(messages.map((m) => m.role)).toEqual(['system', 'user']);
    expect(system?.content).toBe(narrativeSystemPrompt);
    expect(system?.content).toContain('exactly 3 sentences');
    expect(system?.content).toContain('on-call engineer');
    expect(system?.content).toContain('Use only the facts');
    expect(system?.content).toContain('Do not invent');
  });

  it('gives every feature with its unit, the reasons and each verification step', () => {
    const text = user?.content ?? '';
    expect(text).toContain('Deployment: shop/checkout, revision 7');
    expect(text).toContain('Risk score: 0.6412 (0 safe to 1 risky), level: rollback-ready');
    expect(text).toContain('- test_coverage = 35 (percent 0..100)');
    expect(text).toContain('- error_rate_before = 0.004 (ratio 0..1)');
    expect(text).toContain('Features that were unknown: authors');
    expect(text).toContain('- low test coverage (35 %)');
    expect(text).toContain('Hard rules that fired: none');
    expect(text).toContain('- 2025-03-04T11:52:10Z rolled-back: rolled back to revision 6');
    expect(text).toContain('- 2025-03-04T11:52:00Z error-rate: value 0.31, baseline 0.004, limit 0.05, verdict fail');
  });

  it('is the same text for the same assessment', () => {
    expect(buildNarrativePrompt(narrativeFactsOf(assessment))).toEqual(messages);
  });

  it('keeps only the latest verification steps and clips long texts', () => {
    const facts = narrativeFactsOf(assessment);
    facts.reasons = ['x'.repeat(5000)];
    facts.verification = {
      state: 'running',
      steps: Array.from({ length: 50 }, (_, i) => ({
        at: `2025-03-04T11:${String(i).padStart(2, '0')}:00Z`,
        metric: 'latency',
        verdict: 'pass',
      })),
    };
    const text = renderFacts(facts);
    expect(text).toContain(`(the last ${maxPromptSteps} of 50 checks)`);
    expect(text).not.toContain('11:37:00Z');
    expect(text).toContain('11:49:00Z');
    expect(text).not.toContain('x'.repeat(400));
  });
});

describe('parseChatCompletion', () => {
  const answer = (content: unknown) => ({ choices: [{ index: 0, message: { role: 'assistant', content } }] });

  it('takes the first choice and tidies its whitespace', () => {
    expect(parseChatCompletion(answer('  Revision 7 was rolled back.\n\nIt failed.  '))).toEqual({
      text: 'Revision 7 was rolled back. It failed.',
    });
  });

  it("drops a reasoning model's <think> block", () => {
    expect(parseChatCompletion(answer('<think>let me see…</think>Rolled back.'))).toEqual({ text: 'Rolled back.' });
  });

  it('cuts an over-long answer', () => {
    const result = parseChatCompletion(answer('word '.repeat(1000)));
    expect('text' in result && result.text.length).toBe(maxNarrativeLength);
  });

  it.each([
    ['not JSON', 'Internal Server Error', 'the endpoint did not answer with chat-completions JSON'],
    [
      'an error object',
      { error: { message: 'model "x" not found' } },
      'the endpoint answered with an error: model "x" not found',
    ],
    ['no choices', { choices: [] }, 'the answer has no choices[0].message.content'],
    ['content that is not text', answer(null), 'the answer has no choices[0].message.content'],
    ['empty text', answer('   '), 'the model answered with empty text'],
  ])('says why there is no summary for %s', (_name, body, why) => {
    expect(parseChatCompletion(body)).toEqual({ unavailable: why });
  });
});
