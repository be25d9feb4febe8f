// What TAB completes, whichever shell (or kubectl) asks: commands, flags from each command's help, namespaces
// after -n, Deployments as deploy/NAME, and file names only where a file is expected.
import { describe, expect, it } from 'vitest';
import { approveHelp } from './approve-command.js';
import { complete, completionScript, flagsOf, type CompletionSource } from './completion.js';
import { statusHelp } from './status-command.js';

const asked: (string | undefined)[] = [];
const source: CompletionSource = {
  commands: ['score', 'history', 'approve', 'abort', 'status', 'model'],
  helpOf: (command) =>
    Promise.resolve(
      command === 'status'
        ? statusHelp
        : command === 'approve'
          ? approveHelp
          : command === 'score'
            ? '  -f, --file FILE   the manifest\n  --json   json\n'
            : undefined,
    ),
  deployments: (namespace) => {
    asked.push(namespace);
    return Promise.resolve(['checkout', 'cart', 'search']);
  },
  namespaces: () => Promise.resolve(['shop', 'default']),
};

describe('complete', () => {
  it.each<[string[], string[]]>([
    [[''], ['score', 'history', 'approve', 'abort', 'status', 'model', 'completion', ':4']],
    [['a'], ['approve', 'abort', ':4']],
    [
      ['completion', ''],
      ['bash', 'zsh', ':4'],
    ],
    [
      ['model', 't'],
      ['train', ':4'],
    ],
    [
      ['status', 'deploy/c'],
      ['deploy/checkout', 'deploy/cart', ':4'],
    ],
    [['status', 'deploy/checkout', ''], [':4']],
    [
      ['status', '-n', ''],
      ['shop', 'default', ':4'],
    ],
    [
      ['status', '-n', 'shop', 'deploy/s'],
      ['deploy/search', ':4'],
    ],
    [
      ['status', '--w'],
      ['--watch', ':4'],
    ],
    [
      ['approve', '--re'],
      ['--revision', ':4'],
    ],
    [['approve', '--revision', ''], [':4']],
    [['score', '-f', ''], [':0']],
    [['unknown', ''], [':4']],
  ])('%j → %j', async (words, expected) => {
    expect(await complete(words, source)).toEqual(expected);
  });

  it('lists Deployments of the namespace given with -n', async () => {
    asked.length = 0;
    await complete(['status', '--namespace', 'shop', ''], source);
    await complete(['status', ''], source);
    expect(asked).toEqual(['shop', undefined]);
  });
});

describe('flagsOf', () => {
  it('reads long and short flags and which take a value', () => {
    const { flags, takesValue } = flagsOf(statusHelp);
    expect(flags).toEqual(
      expect.arrayContaining(['-w', '--watch', '--timeout', '-n', '--namespace', '--context', '--json', '-h']),
    );
    expect([...takesValue].sort()).toEqual(['--context', '--kubeconfig', '--namespace', '--timeout', '-n']);
  });
});

describe('completionScript', () => {
  it.each(['bash', 'zsh'])('%s asks the program itself and covers both names', (shell) => {
    const script = completionScript(shell, 'rollguard');
    expect(script).toContain('__complete');
    expect(script).toMatch(/rollguard kubectl-rollguard/);
  });
  it('refuses other shells by name', () => {
    expect(() => completionScript('fish', 'rollguard')).toThrow('no completion for "fish": say bash or zsh');
  });
});
