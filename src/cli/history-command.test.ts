// `rollguard history`'s rows from RolloutAssessments: order, ages, short actions, outcomes, the table, and
// usage errors. Listing a real cluster page by page is in test/integration/cli.test.ts.
import { describe, expect, it } from 'vitest';
import type { AssessmentObject } from '../api/objects.js';
import {
  historyHelp,
  historyRow,
  newestFirst,
  outcomeText,
  renderHistory,
  runHistoryCommand,
  shortActions,
} from './history-command.js';
import type { CommandIO } from './output.js';

function assessment(
  name: string,
  revision: number,
  assessedAt: string,
  status: NonNullable<AssessmentObject['status']> = {},
): AssessmentObject {
  return {
    metadata: { name: `${name}-${revision}`, namespace: 'shop' },
    spec: { deployment: name, revision, podTemplateHash: 'abc', policy: 'guard' },
    status: { assessedAt, ...status },
  };
}

const now = new Date('2025-03-04T12:00:00Z');
const at = (minutesAgo: number) => new Date(now.getTime() - minutesAgo * 60_000).toISOString();

describe('history rows', () => {
  it('sorts newest first, then by revision', () => {
    const items = [
      assessment('web', 1, at(90)),
      assessment('checkout', 2, at(5)),
      assessment('checkout', 3, at(5)),
      assessment('catalog', 1, at(30)),
    ];
    expect(items.sort(newestFirst).map((a) => a.metadata?.name)).toEqual([
      'checkout-3',
      'checkout-2',
      'catalog-1',
      'web-1',
    ]);
  });

  it('falls back to the creation time when assessedAt is missing', () => {
    const row = historyRow({
      metadata: { name: 'x-1', creationTimestamp: new Date(at(3)) },
      spec: { deployment: 'x' },
    });
    expect(row.assessedAt).toBe(at(3));
  });

  it('keeps what was done in order, without events', () => {
    const row = historyRow(
      assessment('checkout', 2, at(5), {
        score: 0.91,
        level: 'block',
        phase: 'Verified',
        outcome: 'succeeded',
        actions: [
          { type: 'annotated', at: at(5), message: '' },
          { type: 'event', at: at(5), message: '' },
          { type: 'paused', at: at(5), message: '' },
          { type: 'approved', at: at(4), message: '', by: 'alice' },
          { type: 'verified', at: at(1), message: '' },
        ],
      }),
    );
    expect(row.actions).toEqual(['annotated', 'paused', 'approved', 'verified']);
    expect(shortActions(row.actions)).toBe('annotated,paused,approved,verified');
    expect(shortActions(['verification-held', 'verification-held'])).toBe('verification-held');
    expect(shortActions([])).toBe('-');
    expect(shortActions(['annotated', 'paused', 'approved', 'verification-held', 'rolled-back'])).toHaveLength(40);
  });

  it('shows the phase of a rollout still running', () => {
    expect(
      outcomeText({ namespace: '', name: '', deployment: '', actions: [], outcome: 'running', phase: 'Paused' }),
    ).toBe('running (Paused)');
    expect(
      outcomeText({
        namespace: '',
        name: '',
        deployment: '',
        actions: [],
        outcome: 'rolled-back',
        phase: 'RolledBack',
      }),
    ).toBe('rolled-back');
  });

  it('renders a table with the age, score and level, and the namespace with -A', () => {
    const rows = [
      historyRow(
        assessment('checkout', 2, at(5), {
          score: 0.913,
          level: 'block',
          outcome: 'rolled-back',
          actions: [{ type: 'rolled-back', at: at(1), message: '' }],
        }),
      ),
      historyRow(assessment('web', 1, at(200), { score: 0.05, level: 'safe', outcome: 'succeeded' })),
    ];
    expect(renderHistory(rows, now, false)).toBe(
      [
        'DEPLOYMENT   REVISION   AGE   SCORE   LEVEL   ACTIONS       OUTCOME',
        'checkout     2          5m    0.91    block   rolled-back   rolled-back',
        'web          1          3h    0.05    safe    -             succeeded',
        '',
      ].join('\n'),
    );
    expect(renderHistory(rows, now, true).split('\n')[1]).toMatch(/^shop {8}checkout/);
  });
});

describe('runHistoryCommand arguments', () => {
  function capture() {
    const out = { stdout: '', stderr: '' };
    const io: CommandIO = { stdout: (t) => (out.stdout += t), stderr: (t) => (out.stderr += t) };
    return { io, out };
  }

  it('--help has examples', async () => {
    const { io, out } = capture();
    expect(await runHistoryCommand(['--help'], io)).toBe(0);
    expect(out.stdout).toBe(historyHelp);
    expect(out.stdout).toContain('Examples:');
  });

  it.each([
    ['two Deployments', ['a', 'b'], 'name at most one Deployment, not "a b"'],
    ['-n with -A', ['-n', 'x', '-A'], '--namespace and --all-namespaces contradict each other'],
    ['a negative limit', ['--limit=-3'], '--limit must be a whole number of at least 0, not "-3"'],
    ['a zero chunk size', ['--chunk-size', '0'], '--chunk-size must be a whole number of at least 1, not "0"'],
  ])('reports %s in one line with exit code 2', async (_name, argv, message) => {
    const { io, out } = capture();
    expect(await runHistoryCommand(argv, io)).toBe(2);
    expect(out.stderr).toContain(`rollguard history: ${message}`);
    expect(out.stderr.trimEnd().split('\n')).toHaveLength(1);
    expect(out.stdout).toBe('');
  });
});
