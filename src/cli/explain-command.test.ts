// `rollguard explain`'s rendering of one RolloutAssessment (features with the contract's units, actions,
// verification steps, outcome), the narrative lines, and usage errors. Reading a real cluster is in
// test/integration/cli.test.ts.
import { describe, expect, it } from 'vitest';
import type { AssessmentObject } from '../api/objects.js';
import {
  explainHelp,
  featureRows,
  narrativeTarget,
  parseAssessmentRef,
  renderExplanation,
  renderNarrative,
  runExplainCommand,
  type NarrativeSettings,
} from './explain-command.js';
import type { CommandIO } from './output.js';

const rolledBack: AssessmentObject = {
  metadata: { name: 'checkout-7', namespace: 'shop' },
  spec: {
    deployment: 'checkout',
    revision: 7,
    podTemplateHash: '5d8f6c7b9',
    previousRevision: 6,
    previousPodTemplateHash: '7c9d',
    policy: 'guard',
  },
  status: {
    phase: 'RolledBack',
    outcome: 'rolled-back',
    score: 0.64,
    level: 'rollback-ready',
    scorer: 'model',
    modelVersion: 'jit-v1-abc',
    mode: 'enforce',
    assessedAt: '2025-03-04T11:50:00Z',
    features: { lines_added: 1200, test_coverage: 35, error_rate_before: 0.004, hour_of_day: 11 },
    missingFeatures: ['authors', 'latency_p99_before'],
    reasons: ['low test coverage (35 %)', 'a large change (1,200 lines added)'],
    hardRules: [],
    findings: [],
    templateChanges: ['container app: image registry.example/shop:1.6.0 → registry.example/shop:1.7.0'],
    actions: [
      { type: 'annotated', at: '2025-03-04T11:50:00Z', message: 'annotated the Deployment', by: 'rollguard' },
      { type: 'rolled-back', at: '2025-03-04T11:52:10Z', message: 'rolled back to revision 6', by: 'rollguard' },
    ],
    verification: {
      state: 'failed',
      startedAt: '2025-03-04T11:50:05Z',
      completedAt: '2025-03-04T11:52:10Z',
      baselineErrorRate: 0.004,
      message: 'error rate above its limit twice in a row',
      steps: [
        {
          at: '2025-03-04T11:52:00Z',
          metric: 'error-rate',
          value: 0.31,
          baseline: 0.004,
          limit: 0.05,
          verdict: 'fail',
          message: 'error ratio 0.31 above 0.05',
        },
      ],
    },
  },
};

const now = new Date('2025-03-04T12:00:00Z');

describe('parseAssessmentRef', () => {
  it('takes a name or DEPLOYMENT/REVISION', () => {
    expect(parseAssessmentRef('checkout-7')).toEqual({ name: 'checkout-7' });
    expect(parseAssessmentRef('checkout/7')).toEqual({ deployment: 'checkout', revision: 7 });
  });

  it.each(['checkout/', '/7', 'checkout/seven', 'checkout/0'])('refuses %s', (text) => {
    expect(() => parseAssessmentRef(text)).toThrow('is neither a name nor DEPLOYMENT/REVISION');
  });
});

describe('featureRows', () => {
  it("lists recorded features in contract order with the contract's units", () => {
    expect(featureRows(rolledBack.status?.features).map((r) => [r.name, r.value, r.unit])).toEqual([
      ['lines_added', 1200, 'lines (la, absolute)'],
      ['test_coverage', 35, 'percent 0..100'],
      ['hour_of_day', 11, '0..23'],
      ['error_rate_before', 0.004, 'ratio 0..1'],
    ]);
  });

  it('keeps a feature this rollguard does not know, marked so', () => {
    expect(featureRows({ quantum_flux: 3 })).toEqual([
      {
        name: 'quantum_flux',
        value: 3,
        unit: '?',
        source: '?',
        description: 'not in this rollguard’s feature contract',
      },
    ]);
  });
});

describe('renderExplanation', () => {
  const text = renderExplanation(rolledBack, now);

  it('heads with the Deployment, revision, policy, score and outcome', () => {
    expect(text).toContain('RolloutAssessment shop/checkout-7: Deployment checkout, revision 7 (previous 6)');
    expect(text).toContain('policy guard (enforce mode), assessed 2025-03-04T11:50:00Z (10m ago)');
    expect(text).toContain('score 0.64, level rollback-ready, scored by model jit-v1-abc');
    expect(text).toContain('Outcome: rolled-back (phase RolledBack)');
  });

  it('lists reasons, hard rules, findings and template changes', () => {
    expect(text).toContain('Reasons:\n  - low test coverage (35 %)\n  - a large change (1,200 lines added)\n');
    expect(text).toContain('Hard rules: none fired');
    expect(text).toContain('Findings: none');
    expect(text).toContain('registry.example/shop:1.6.0 → registry.example/shop:1.7.0');
  });

  it('tabulates features with units, and names the missing ones', () => {
    expect(text).toContain('Features (4 known):');
    expect(text).toMatch(/ {2}FEATURE +VALUE +UNIT +FROM\n/);
    expect(text).toMatch(/ {2}test_coverage +35 +percent 0\.\.100 +change annotation\n/);
    expect(text).toContain('Missing features (2): authors, latency_p99_before');
  });

  it('tabulates each action and each verification step', () => {
    expect(text).toMatch(/2025-03-04T11:52:10Z +rolled-back +rollguard +rolled back to revision 6/);
    expect(text).toContain('Verification: failed — error rate above its limit twice in a row');
    expect(text).toContain('baseline error rate 0.004');
    expect(text).toMatch(/ {2}TIME +METRIC +VALUE +BASELINE +LIMIT +VERDICT +MESSAGE\n/);
    expect(text).toMatch(/2025-03-04T11:52:00Z +error-rate +0\.31 +0\.004 +0\.05 +fail +error ratio 0\.31 above 0\.05/);
  });

  it('says when verification has not started', () => {
    const fresh: AssessmentObject = { ...rolledBack, status: { ...rolledBack.status, verification: undefined } };
    delete fresh.status?.verification;
    expect(renderExplanation(fresh, now)).toContain('Verification: not started');
  });
});

describe('renderNarrative', () => {
  it('prints the summary after the plain explanation, marked as not part of any decision', () => {
    expect(renderNarrative({ text: 'Three sentences.' }, 'llama3.2')).toBe(
      '\nNarrative (written by llama3.2 from the facts above; not part of any decision):\n  Three sentences.\n',
    );
  });

  it('says why it is unavailable', () => {
    expect(renderNarrative({ unavailable: 'no answer within 10 s' }, 'm')).toBe(
      '\nnarrative unavailable: no answer within 10 s\n',
    );
  });
});

describe('runExplainCommand arguments', () => {
  function capture() {
    const out = { stdout: '', stderr: '' };
    const io: CommandIO = { stdout: (t) => (out.stdout += t), stderr: (t) => (out.stderr += t) };
    return { io, out };
  }

  it('--help documents both forms of ASSESSMENT and the narrative', async () => {
    const { io, out } = capture();
    expect(await runExplainCommand(['--help'], io)).toBe(0);
    expect(out.stdout).toBe(explainHelp);
    expect(out.stdout).toContain('DEPLOYMENT/REVISION');
    expect(out.stdout).toContain('never part of any');
    expect(out.stdout).toContain('Examples:');
  });

  it.each([
    ['no assessment', [], 'name the assessment: NAME or DEPLOYMENT/REVISION'],
    ['two assessments', ['a', 'b'], 'name one assessment, not "a b"'],
    ['a bad revision', ['web/x'], '"web/x" is neither a name nor DEPLOYMENT/REVISION'],
    [
      '--llm-model without --narrative',
      ['web-1', '--llm-model', 'm'],
      '--llm-endpoint, --llm-model, --llm-timeout and --llm-api-key-secret only apply with --narrative',
    ],
    [
      'a bad --llm-api-key-secret',
      ['web-1', '--narrative', '--llm-api-key-secret', 'just-a-name'],
      '--llm-api-key-secret must be NAMESPACE/NAME, e.g. rollguard-system/llm, not "just-a-name"',
    ],
    [
      'a bad --llm-timeout',
      ['web-1', '--narrative', '--llm-endpoint', 'http://127.0.0.1:1/v1', '--llm-model', 'm', '--llm-timeout', 'soon'],
      '--llm-timeout must be a duration such as 10s or 1m, not "soon"',
    ],
  ])('reports %s in one line with exit code 2', async (_name, argv, message) => {
    const saved = { endpoint: process.env.ROLLGUARD_LLM_ENDPOINT, model: process.env.ROLLGUARD_LLM_MODEL };
    delete process.env.ROLLGUARD_LLM_ENDPOINT;
    delete process.env.ROLLGUARD_LLM_MODEL;
    try {
      const { io, out } = capture();
      expect(await runExplainCommand(argv, io)).toBe(2);
      expect(out.stderr).toContain(`rollguard explain: ${message}`);
      expect(out.stderr.trimEnd().split('\n')).toHaveLength(1);
    } finally {
      if (saved.endpoint !== undefined) process.env.ROLLGUARD_LLM_ENDPOINT = saved.endpoint;
      if (saved.model !== undefined) process.env.ROLLGUARD_LLM_MODEL = saved.model;
    }
  });
});

describe('narrativeTarget: where the LLM API key may go', () => {
  const policy = { endpoint: 'http://collector.attacker.example/v1', model: 'any', timeoutMs: 5000 };
  it.each<[string, NarrativeSettings, typeof policy | undefined, string | undefined, object]>([
    [
      'an endpoint a policy names never gets the key',
      {},
      policy,
      'sk-secret',
      { endpoint: policy.endpoint, model: 'any', timeoutMs: 5000 },
    ],
    [
      'the command line endpoint gets it',
      { endpoint: 'http://ollama.local:11434/v1', model: 'llama3.2' },
      policy,
      'sk-secret',
      { endpoint: 'http://ollama.local:11434/v1', model: 'llama3.2', timeoutMs: 5000, apiKey: 'sk-secret' },
    ],
    [
      'a policy model with the command line endpoint: still the command line endpoint',
      { endpoint: 'http://ollama.local:11434/v1' },
      policy,
      'sk-secret',
      { endpoint: 'http://ollama.local:11434/v1', model: 'any', timeoutMs: 5000, apiKey: 'sk-secret' },
    ],
    [
      'no key, no header',
      { endpoint: 'http://ollama.local/v1' },
      undefined,
      undefined,
      { endpoint: 'http://ollama.local/v1' },
    ],
  ])('%s', (_what, settings, fromPolicy, key, expected) => {
    expect(narrativeTarget(settings, fromPolicy, key)).toEqual({ model: undefined, timeoutMs: undefined, ...expected });
  });
});
