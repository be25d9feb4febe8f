// The webhook's TLS: a CA and a serving certificate made by the operator (@peculiar/x509 on WebCrypto), kept
// in a Secret so every replica serves the same one and a restart keeps it, renewed 30 days before it expires
// or when the names it must cover change. The CA goes into the MutatingWebhookConfiguration's caBundle.
// @peculiar/x509 resolves its algorithms through tsyringe, which needs a Reflect metadata polyfill loaded first.
import '@abraham/reflection';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { CoreV1Api, type KubeConfig, type V1Secret } from '@kubernetes/client-node';
import { isAlreadyExists, isConflict, isNotFound } from '../kube/errors.js';
import { signalOptions } from '../kube/leader.js';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

export interface ServingCertificate {
  caPem: string;
  certPem: string;
  keyPem: string;
}

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const validityMs = 365 * 24 * 3_600_000;
const renewBeforeMs = 30 * 24 * 3_600_000;
const callTimeoutMs = 10_000;

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der)
    .toString('base64')
    .replace(/(.{64})/g, '$1\n');
  return `-----BEGIN ${label}-----\n${b64.trimEnd()}\n-----END ${label}-----\n`;
}

/** A fresh CA and a serving certificate for the DNS names and IP addresses given. */
export async function makeServingCertificate(names: readonly string[], now: Date): Promise<ServingCertificate> {
  const notBefore = new Date(now.getTime() - 5 * 60_000);
  const notAfter = new Date(now.getTime() + validityMs);
  const caKeys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex'),
    name: 'CN=rollguard gate CA',
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
    ],
  });
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: Buffer.from(webcrypto.getRandomValues(new Uint8Array(8))).toString('hex'),
    subject: 'CN=rollguard gate',
    issuer: ca.subject,
    notBefore,
    notAfter,
    signingAlgorithm: algorithm,
    publicKey: keys.publicKey,
    signingKey: caKeys.privateKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(
        names.map((n) =>
          /^[\d.]+$|:/.test(n) ? { type: 'ip' as const, value: n } : { type: 'dns' as const, value: n },
        ),
      ),
    ],
  });
  return {
    caPem: ca.toString('pem'),
    certPem: cert.toString('pem'),
    keyPem: pem('PRIVATE KEY', await webcrypto.subtle.exportKey('pkcs8', keys.privateKey)),
  };
}

/** Whether a stored certificate must be replaced: unreadable, expiring within 30 days, or missing a name. */
export function needsRenewal(certPem: string | undefined, names: readonly string[], now: Date): boolean {
  if (certPem === undefined || certPem === '') return true;
  try {
    const cert = new x509.X509Certificate(certPem);
    if (cert.notAfter.getTime() - now.getTime() < renewBeforeMs) return true;
    const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
    const covered = new Set((san?.names.items ?? []).map((n) => n.value));
    return names.some((n) => !covered.has(n));
  } catch {
    return true;
  }
}

const decode = (v: string | undefined) => (v === undefined ? undefined : Buffer.from(v, 'base64').toString('utf8'));

/**
 * The serving certificate from the Secret, made (or renewed) first when needed. Replicas race safely: the
 * write carries the resourceVersion read, and a loser reads the winner's.
 */
export async function ensureServingCertificate(
  kc: KubeConfig,
  namespace: string,
  secretName: string,
  names: readonly string[],
  now: Date,
): Promise<ServingCertificate> {
  const core = kc.makeApiClient(CoreV1Api);
  const options = () => signalOptions(AbortSignal.timeout(callTimeoutMs));
  for (let attempt = 0; attempt < 3; attempt++) {
    let secret: V1Secret | undefined;
    try {
      secret = await core.readNamespacedSecret({ namespace, name: secretName }, options());
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
    const stored = {
      caPem: decode(secret?.data?.['ca.crt']) ?? '',
      certPem: decode(secret?.data?.['tls.crt']) ?? '',
      keyPem: decode(secret?.data?.['tls.key']) ?? '',
    };
    if (!needsRenewal(stored.certPem, names, now) && stored.keyPem !== '' && stored.caPem !== '') return stored;
    const fresh = await makeServingCertificate(names, now);
    const body: V1Secret = {
      apiVersion: 'v1',
      kind: 'Secret',
      type: 'kubernetes.io/tls',
      metadata: {
        name: secretName,
        namespace,
        labels: { 'app.kubernetes.io/managed-by': 'rollguard' },
        ...(secret?.metadata?.resourceVersion ? { resourceVersion: secret.metadata.resourceVersion } : {}),
      },
      data: {
        'ca.crt': Buffer.from(fresh.caPem).toString('base64'),
        'tls.crt': Buffer.from(fresh.certPem).toString('base64'),
        'tls.key': Buffer.from(fresh.keyPem).toString('base64'),
      },
    };
    try {
      if (secret === undefined) await core.createNamespacedSecret({ namespace, body }, options());
      else await core.replaceNamespacedSecret({ namespace, name: secretName, body }, options());
      return fresh;
    } catch (err) {
      if (!isAlreadyExists(err) && !isConflict(err)) throw err;
    }
  }
  throw new Error(`could not write the gate's certificate Secret ${namespace}/${secretName}: it kept changing`);
}

/**
 * The serving certificate someone else keeps in the Secret (cert-manager's tls.crt, tls.key and ca.crt; without
 * ca.crt the certificate is taken as its own CA): read only, never made or renewed here. Undefined while the
 * Secret is missing or incomplete (cert-manager has not issued it yet).
 */
export async function readServingCertificate(
  kc: KubeConfig,
  namespace: string,
  secretName: string,
): Promise<ServingCertificate | undefined> {
  const core = kc.makeApiClient(CoreV1Api);
  let secret: V1Secret;
  try {
    secret = await core.readNamespacedSecret(
      { namespace, name: secretName },
      signalOptions(AbortSignal.timeout(callTimeoutMs)),
    );
  } catch (err) {
    if (isNotFound(err)) return undefined;
    throw err;
  }
  const certPem = decode(secret.data?.['tls.crt']) ?? '';
  const keyPem = decode(secret.data?.['tls.key']) ?? '';
  if (certPem === '' || keyPem === '') return undefined;
  const caPem = decode(secret.data?.['ca.crt']) ?? '';
  return { certPem, keyPem, caPem: caPem === '' ? certPem : caPem };
}
