// The program says its own name the way it was called: `kubectl rollguard` as a kubectl plugin.
import { describe, expect, it } from 'vitest';
import { asInvoked, invocationOf } from './invocation.js';

describe('invocationOf', () => {
  it.each<[string | undefined, string]>([
    ['/usr/local/bin/rollguard', 'rollguard'],
    ['/home/me/.krew/bin/kubectl-rollguard', 'kubectl rollguard'],
    ['/usr/local/bin/kubectl_complete-rollguard', 'kubectl rollguard'],
    ['/app/dist/src/cli/main.js', 'rollguard'],
    ['/app/dist/sea/rollguard.cjs', 'rollguard'],
    ['/tmp/x/kubectl-rollguard.cjs', 'kubectl rollguard'],
    [undefined, 'rollguard'],
  ])('%s → %s', (argv1, name) => {
    expect(invocationOf(argv1)).toBe(name);
  });
});

describe('asInvoked', () => {
  it('rewrites command invocations only', () => {
    const text = [
      'Usage: rollguard status deploy/NAME [-w] [options]',
      "Run 'rollguard <command> --help' for a command's options.",
      '  rollguard approve deploy/checkout -n shop',
      'rollguard resumes the rollout; rollguard.io/approve is set.',
      'see `rollguard explain checkout/7`',
      'rollguard models are shipped; rollguard statuses',
    ].join('\n');
    expect(asInvoked(text, 'kubectl rollguard')).toBe(
      [
        'Usage: kubectl rollguard status deploy/NAME [-w] [options]',
        "Run 'kubectl rollguard <command> --help' for a command's options.",
        '  kubectl rollguard approve deploy/checkout -n shop',
        'rollguard resumes the rollout; rollguard.io/approve is set.',
        'see `kubectl rollguard explain checkout/7`',
        'rollguard models are shipped; rollguard statuses',
      ].join('\n'),
    );
  });
  it('never doubles kubectl in text already written for the plugin', () => {
    expect(asInvoked('approve it: kubectl rollguard approve deploy/x', 'kubectl rollguard')).toBe(
      'approve it: kubectl rollguard approve deploy/x',
    );
  });

  it('leaves text alone for plain rollguard', () => {
    expect(asInvoked('Usage: rollguard status', 'rollguard')).toBe('Usage: rollguard status');
  });
});
