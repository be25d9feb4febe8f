import { describe, expect, it } from 'vitest';
import { createLogger } from '../telemetry/logger.js';
import { makeServingCertificate } from './certificates.js';
import { certificateNames, gateSecretName, parseServiceRef, selfCheck, splitAddress } from './webhook-runner.js';
import { startWebhookServer } from './webhook.js';

describe('the webhook runner', () => {
  it('reads --webhook-service as NAMESPACE/NAME:PORT and refuses anything else, saying the form', () => {
    expect(parseServiceRef('rollguard-system/rollguard-gate:443')).toEqual({
      namespace: 'rollguard-system',
      name: 'rollguard-gate',
      port: 443,
    });
    for (const bad of ['rollguard-gate:443', 'ns/name', 'ns/name:0', 'ns/name:70000', 'NS/name:443', 'ns/na_me:443']) {
      expect(() => parseServiceRef(bad), bad).toThrow(/NAMESPACE\/NAME:PORT/);
    }
  });

  it('certifies the name the API server checks: NAME.NAMESPACE.svc for a Service, the host of a URL', () => {
    expect(certificateNames({ service: { namespace: 'rg', name: 'rg-gate', port: 443 }, host: '' })).toEqual([
      'rg-gate.rg.svc',
    ]);
    expect(certificateNames({ url: 'https://[::1]:9443/gate', host: '' })).toEqual(['::1']);
    expect(certificateNames({ host: 'localhost' })).toEqual(['127.0.0.1']);
    expect(gateSecretName('rg-rollguard-gate')).toBe('rg-rollguard-gate-tls');
    expect(splitAddress(':9443')).toEqual({ host: '', port: 9443 });
  });

  it('is ready only when it answers itself with a certificate valid for the name the API server checks', async () => {
    const served = await makeServingCertificate(['rg-gate.rg.svc'], new Date());
    const other = await makeServingCertificate(['rg-gate.rg.svc'], new Date());
    const server = await startWebhookServer({
      host: '127.0.0.1',
      port: 0,
      tls: () => ({ cert: served.certPem, key: served.keyPem }),
      policiesOf: () => [],
      operatorUsername: 'system:serviceaccount:rg:rollguard',
      logger: createLogger('silent'),
    });
    try {
      const at = { host: '127.0.0.1', port: server.port };
      expect(await selfCheck({ ...at, caPem: served.caPem, name: 'rg-gate.rg.svc' })).toBeUndefined();
      expect(await selfCheck({ ...at, caPem: served.caPem, name: 'other.rg.svc' })).toMatch(
        /with a certificate valid for other\.rg\.svc yet/,
      );
      expect(await selfCheck({ ...at, caPem: other.caPem, name: 'rg-gate.rg.svc' })).toMatch(
        /with a certificate valid for rg-gate\.rg\.svc yet/,
      );
    } finally {
      await server.close();
    }
    expect(
      await selfCheck({ host: '127.0.0.1', port: server.port, caPem: served.caPem, name: 'rg-gate.rg.svc' }),
    ).toMatch(/ECONNREFUSED/);
  });
});
