// Where the controller serves its dashboard: loopback unless the operator's own configuration says otherwise;
// and flags refused before anything touches the cluster.
import { describe, expect, it, vi } from 'vitest';
import { controllerHelp, isLoopbackAddress, runControllerCommand } from './controller-command.js';

describe('isLoopbackAddress', () => {
  it.each<[string, boolean]>([
    ['127.0.0.1:8081', true],
    ['127.1.2.3:0', true],
    ['localhost:8081', true],
    ['[::1]:8081', true],
    [':8081', false],
    ['0.0.0.0:8081', false],
    ['10.0.0.7:8081', false],
    ['8081', false],
    ['127.0.0.1.example.com:8081', false],
  ])('%s → %s', (address, loopback) => {
    expect(isLoopbackAddress(address)).toBe(loopback);
  });

  it('the default dashboard address is loopback', () => {
    const defaultAddress = /default (\S+), loopback/.exec(controllerHelp)?.[1];
    expect(defaultAddress).toBe('127.0.0.1:8081');
    expect(isLoopbackAddress(defaultAddress ?? '')).toBe(true);
  });
});

describe('runControllerCommand: --quiet-write-period', () => {
  it.each(['soon', '2h', '-1s', '30'])('refuses %s, naming the flag and the range', async (value) => {
    const written: string[] = [];
    const spy = vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      written.push(String(chunk));
      return true;
    });
    try {
      expect(await runControllerCommand([`--quiet-write-period=${value}`])).toBe(2);
    } finally {
      spy.mockRestore();
    }
    expect(written.join('')).toBe(
      `rollguard controller: --quiet-write-period must be a duration from 0s to 1h, like 30s, not "${value}"\n`,
    );
  });
});
