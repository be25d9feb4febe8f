// Runs the webhook gate for `rollguard controller --gate` on a cluster without MutatingAdmissionPolicy: the
// serving certificate from its Secret (made or renewed as needed, checked again every 12 hours), the HTTPS
// server, and the MutatingWebhookConfiguration pointing at it with the CA as caBundle.
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../telemetry/logger.js';
import { ensureServingCertificate, type ServingCertificate } from './certificates.js';
import type { PolicyLike } from './decision.js';
import type { GateInstaller } from './installer.js';
import { startWebhookServer, webhookPath } from './webhook.js';

export const gateSecretName = 'rollguard-gate-tls';
const recheckMs = 12 * 3_600_000;

export interface GateWebhookOptions {
  kubeConfig: KubeConfig;
  /** host:port to listen on. */
  address: string;
  /** How the API server reaches it; default https://127.0.0.1:PORT/gate for a loopback address. */
  url: string | undefined;
  secretNamespace: string;
  policiesOf: (namespace: string) => readonly PolicyLike[];
  operatorUsername: string;
  installer: GateInstaller;
  logger: Logger;
}

export function splitAddress(address: string): { host: string; port: number } {
  const at = address.lastIndexOf(':');
  const host = at <= 0 ? '' : address.slice(0, at).replace(/^\[|\]$/g, '');
  const port = Number(address.slice(at + 1));
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new Error(`--webhook-address "${address}" has no valid port`);
  return { host, port };
}

export async function startGateWebhook(o: GateWebhookOptions): Promise<{ port: number; url: string; stop(): void }> {
  const { host, port } = splitAddress(o.address);
  const loopback = /^(127(\.\d{1,3}){3}|::1|localhost)$/.test(host);
  if (o.url === undefined && !loopback) {
    throw new Error(
      '--webhook-url is required when the webhook does not listen on loopback (e.g. https://rollguard-gate.rollguard-system.svc:443/gate)',
    );
  }
  // The name in the URL must be in the certificate; the URL's port is known once the server listens.
  const hostOf = (url: string) => new URL(url).hostname.replace(/^\[|\]$/g, '');
  const names = [o.url !== undefined ? hostOf(o.url) : host === 'localhost' ? '127.0.0.1' : host];
  let current: ServingCertificate = await ensureServingCertificate(
    o.kubeConfig,
    o.secretNamespace,
    gateSecretName,
    names,
    new Date(),
  );
  const server = await startWebhookServer({
    host: host === '' ? '0.0.0.0' : host,
    port,
    tls: () => ({ cert: current.certPem, key: current.keyPem }),
    policiesOf: o.policiesOf,
    operatorUsername: o.operatorUsername,
    logger: o.logger,
  });
  const url = o.url ?? `https://${names[0] ?? '127.0.0.1'}:${server.port}${webhookPath}`;
  await o.installer.install({ url, caPem: current.caPem });
  o.logger.info({ url, port: server.port }, 'gate webhook serving');
  const timer = setInterval(() => {
    void (async () => {
      const next = await ensureServingCertificate(o.kubeConfig, o.secretNamespace, gateSecretName, names, new Date());
      if (next.certPem !== current.certPem) {
        current = next;
        await o.installer.install({ url, caPem: current.caPem });
        o.logger.info('gate webhook certificate renewed');
      }
    })().catch((err: unknown) => {
      o.logger.warn({ err }, 'could not check the gate webhook certificate; trying again later');
    });
  }, recheckMs).unref();
  return {
    port: server.port,
    url,
    stop: () => {
      clearInterval(timer);
      void server.close();
    },
  };
}
