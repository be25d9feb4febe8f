// `rollguard change-metrics` arguments: help, formats and every usage problem, each one line with exit code 2.
// None of these reach git; the command against a real repository is in test/integration/change-metrics.test.ts.
import { describe, expect, it } from 'vitest';
import { CHANGE_METRICS_HELP, runChangeMetricsCommand } from './cli.js';

async function run(argv: string[]) {
  let stdout = '';
  let stderr = '';
  const code = await runChangeMetricsCommand(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
  });
  return { code, stdout, stderr };
}

describe('runChangeMetricsCommand', () => {
  it.each([['--help'], ['-h']])('%s prints the help with examples and a CI snippet', async (flag) => {
    const result = await run([flag]);
    expect(result).toEqual({ code: 0, stdout: CHANGE_METRICS_HELP, stderr: '' });
    expect(result.stdout).toContain('Examples:');
    expect(result.stdout).toContain('kubectl patch deployment/web --type merge');
    expect(result.stdout).toContain('fetch-depth: 0');
    expect(result.stdout).toContain('--format patch');
  });

  const usage: [string, string[], string][] = [
    ['no --from', ['--to', 'HEAD'], '--from is required: the release before this one'],
    [
      'an unknown format',
      ['--from', 'a', '--format', 'yaml'],
      '--format must be one of annotations, patch, json, not "yaml"',
    ],
    [
      '--json against another format',
      ['--from', 'a', '--json', '--format', 'patch'],
      '--json and --format patch disagree',
    ],
    [
      'a zero subsystem depth',
      ['--from', 'a', '--subsystem-depth', '0'],
      '--subsystem-depth must be a whole number of 1 or more, not "0"',
    ],
    [
      'a fractional subsystem depth',
      ['--from', 'a', '--subsystem-depth', '1.5'],
      '--subsystem-depth must be a whole number of 1 or more, not "1.5"',
    ],
    ['a positional argument', ['--from', 'a', 'HEAD'], 'unexpected argument "HEAD"'],
    ['an unknown option', ['--form', 'a'], "Unknown option '--form'"],
    ['a missing option value', ['--from'], "Option '--from <value>' argument missing"],
  ];
  it.each(usage)('reports %s in one line with exit code 2', async (_name, argv, message) => {
    const result = await run(argv);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain(`rollguard change-metrics: ${message}`);
    expect(result.stderr.trimEnd().split('\n')).toHaveLength(1);
  });
});
