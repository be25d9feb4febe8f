import '@abraham/reflection';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../telemetry/logger.js';
import { makeServingCertificate } from './certificates.js';
import { certificateNames, gateSecretName, parseServiceRef, selfCheck, splitAddress } from './webhook-runner.js';
import { startWebhookServer } from './webhook.js';

/** What cert-manager's selfSigned issuer gives: an end-entity certificate that is its own CA (ca.crt = tls.crt). */
async function selfSignedLeaf(name: string) {
  const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${name}`,
    notBefore: new Date(Date.now() - 60_000),
    notAfter: new Date(Date.now() + 86_400_000),
    keys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }]),
    ],
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)).toString('base64');
  return {
    certPem: cert.toString('pem'),
    keyPem: `-----BEGIN PRIVATE KEY-----\n${der.replace(/(.{64})/g, '$1\n').trimEnd()}\n-----END PRIVATE KEY-----\n`,
  };
}

/** The webhook on a loopback port, serving the certificate given. */
const serve = (tls: { certPem: string; keyPem: string }) =>
  startWebhookServer({
    host: '127.0.0.1',
    port: 0,
    tls: () => ({ cert: tls.certPem, key: tls.keyPem }),
    policiesOf: () => [],
    operatorUsername: 'system:serviceaccount:rg:rollguard',
    logger: createLogger('silent'),
  });

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
    const server = await serve(served);
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

  it("accepts cert-manager's self-signed certificate as its own CA, as the API server does with the injected caBundle", async () => {
    const leaf = await selfSignedLeaf('rg-gate.rg.svc');
    const server = await serve(leaf);
    try {
      const at = { host: '127.0.0.1', port: server.port, caPem: leaf.certPem };
      expect(await selfCheck({ ...at, name: 'rg-gate.rg.svc' })).toBeUndefined();
      expect(await selfCheck({ ...at, name: 'rg-gate.other.svc' })).toMatch(/valid for rg-gate\.other\.svc yet/);
    } finally {
      await server.close();
    }
  });
});
