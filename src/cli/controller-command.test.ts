// Where the controller serves its dashboard: loopback unless the operator's own configuration says otherwise.
import { describe, expect, it } from 'vitest';
import { controllerHelp, isLoopbackAddress } from './controller-command.js';

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
