// Runs the webhook gate for `rollguard controller --gate` on a cluster without MutatingAdmissionPolicy: the
// serving certificate from its Secret (made or renewed as needed, read again every minute), the HTTPS
// server, and the MutatingWebhookConfiguration pointing at it (a URL, or a Service in front of the operator's
// pods) with the CA as caBundle. Ready only once a request to itself, verified against that CA under the name
// the API server will check, has been answered: the pod must not take webhook traffic before it can serve it.
import { request } from 'node:https';
import { checkServerIdentity } from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../telemetry/logger.js';
import { ensureServingCertificate, readServingCertificate, type ServingCertificate } from './certificates.js';
import type { PolicyLike } from './decision.js';
import type { GateInstaller, WebhookTarget } from './installer.js';
import { startWebhookServer, webhookPath } from './webhook.js';

/** The Secret holding the webhook's CA and serving certificate: the gate objects' name plus -tls. */
export const gateSecretName = (gateName: string) => `${gateName}-tls`;
/**
 * How often each replica reads the Secret again: when one replica renews the certificate (a new CA too) and
 * writes the new caBundle, the others must serve the new certificate within this long. One GET a minute.
 */
const recheckMs = 60_000;
const selfCheckTimeoutMs = 5_000;

export interface ServiceRef {
  namespace: string;
  name: string;
  port: number;
}

export interface GateWebhookOptions {
  kubeConfig: KubeConfig;
  /** host:port to listen on. */
  address: string;
  /** How the API server reaches it: a URL (default https://127.0.0.1:PORT/gate for a loopback address) ... */
  url: string | undefined;
  /** ... or a Service in front of the operator's pods (the certificate then names NAME.NAMESPACE.svc). */
  service?: ServiceRef | undefined;
  secretNamespace: string;
  /** The gate objects' name; the Secret is this plus -tls. */
  gateName: string;
  /**
   * cert-manager (or the user) keeps the certificate in the Secret and the caBundle in the configuration: only
   * read the Secret (again every minute, for renewals), never make it, never touch the configuration.
   */
  certificateFromSecret?: boolean;
  /** How long to wait for that Secret at start-up before giving up (default 2 minutes). */
  secretWaitMs?: number;
  policiesOf: (namespace: string) => readonly PolicyLike[];
  operatorUsername: string;
  /** Writes the configuration (or its caBundle); none with certificateFromSecret. */
  installer: GateInstaller | undefined;
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

const dnsLabel = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;

/** `--webhook-service NAMESPACE/NAME:PORT`, e.g. rollguard-system/rollguard-gate:443. */
export function parseServiceRef(text: string): ServiceRef {
  const match = /^([^/]+)\/([^:]+):(\d+)$/.exec(text);
  const [, namespace = '', name = '', port = ''] = match ?? [];
  const portNumber = Number(port);
  if (!match || !dnsLabel.test(namespace) || !dnsLabel.test(name) || portNumber < 1 || portNumber > 65535) {
    throw new Error(
      `--webhook-service must be NAMESPACE/NAME:PORT, e.g. rollguard-system/rollguard-gate:443, not "${text}"`,
    );
  }
  return { namespace, name, port: portNumber };
}

/** The names the serving certificate must cover: what the API server checks for a URL's host or a Service. */
export function certificateNames(o: {
  url?: string | undefined;
  service?: ServiceRef | undefined;
  host: string;
}): string[] {
  if (o.service !== undefined) return [`${o.service.name}.${o.service.namespace}.svc`];
  if (o.url !== undefined) return [new URL(o.url).hostname.replace(/^\[|\]$/g, '')];
  return [o.host === 'localhost' ? '127.0.0.1' : o.host];
}

/**
 * POSTs an empty AdmissionReview to the webhook as the API server would: TLS verified against the CA, under the
 * name the API server checks. Resolves with why it failed, or undefined when it answered.
 */
export function selfCheck(o: { host: string; port: number; caPem: string; name: string }): Promise<string | undefined> {
  const body = JSON.stringify({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'self-check' },
  });
  return new Promise((resolve) => {
    const req = request(
      {
        host: o.host,
        port: o.port,
        path: webhookPath,
        method: 'POST',
        ca: o.caPem,
        checkServerIdentity: (_host, cert) => checkServerIdentity(o.name, cert),
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
        timeout: selfCheckTimeoutMs,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          let allowed = false;
          try {
            allowed = (JSON.parse(text) as { response?: { allowed?: unknown } }).response?.allowed === true;
          } catch {
            // not JSON: not the webhook answering
          }
          const ok = res.statusCode === 200 && allowed;
          resolve(ok ? undefined : `the gate webhook answered itself with HTTP ${String(res.statusCode)}`);
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${selfCheckTimeoutMs / 1000} s`)));
    req.on('error', (err) => {
      resolve(`the gate webhook does not answer itself with a certificate valid for ${o.name} yet: ${err.message}`);
    });
    req.end(body);
  });
}

export interface GateWebhook {
  port: number;
  /** The URL or Service the MutatingWebhookConfiguration points at, for the log. */
  target: string;
  /** Why the pod must not take webhook traffic, or undefined when it serves a valid certificate. */
  notReady(): string | undefined;
  stop(): void;
}

export async function startGateWebhook(o: GateWebhookOptions): Promise<GateWebhook> {
  const { host, port } = splitAddress(o.address);
  const loopback = /^(127(\.\d{1,3}){3}|::1|localhost)$/.test(host);
  if (o.url !== undefined && o.service !== undefined) {
    throw new Error('give --webhook-url or --webhook-service, not both');
  }
  if (o.url === undefined && o.service === undefined && !loopback) {
    throw new Error(
      '--webhook-service (in the cluster, e.g. rollguard-system/rollguard-gate:443) or --webhook-url is required when the webhook does not listen on loopback',
    );
  }
  const names = certificateNames({ url: o.url, service: o.service, host });
  const secretName = gateSecretName(o.gateName);
  const external = o.certificateFromSecret === true;
  const load = async (): Promise<ServingCertificate> => {
    if (!external) return ensureServingCertificate(o.kubeConfig, o.secretNamespace, secretName, names, new Date());
    const found = await readServingCertificate(o.kubeConfig, o.secretNamespace, secretName);
    if (found === undefined) {
      throw new Error(
        `Secret ${o.secretNamespace}/${secretName} has no tls.crt and tls.key yet: is cert-manager installed and the Certificate ready? (kubectl -n ${o.secretNamespace} describe certificate ${o.gateName})`,
      );
    }
    return found;
  };
  const deadline = Date.now() + (o.secretWaitMs ?? 120_000);
  let current: ServingCertificate | undefined;
  while (current === undefined) {
    try {
      current = await load();
    } catch (err) {
      // cert-manager issues the certificate a few seconds after the chart creates the Certificate.
      if (!external || Date.now() >= deadline) throw err;
      o.logger.warn({ err }, 'waiting for the gate webhook certificate');
      await new Promise((resolve) => setTimeout(resolve, 5_000));
    }
  }
  let served: ServingCertificate = current;
  const server = await startWebhookServer({
    host: host === '' ? '0.0.0.0' : host,
    port,
    tls: () => ({ cert: served.certPem, key: served.keyPem }),
    policiesOf: o.policiesOf,
    operatorUsername: o.operatorUsername,
    logger: o.logger,
  });
  const selfHost = host === '' || host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  let problem: string | undefined = 'the gate webhook has not answered itself yet';
  let notAfter = 0;
  const check = async (served: ServingCertificate) => {
    notAfter = new X509Certificate(served.certPem).validToDate.getTime();
    problem = await selfCheck({ host: selfHost, port: server.port, caPem: served.caPem, name: names[0] ?? selfHost });
    if (problem !== undefined) o.logger.warn({ reason: problem }, 'the gate webhook is not ready');
  };
  const target = (caPem: string): WebhookTarget =>
    o.service !== undefined
      ? { service: o.service, caPem }
      : { url: o.url ?? `https://${names[0] ?? '127.0.0.1'}:${server.port}${webhookPath}`, caPem };
  const where = (t: WebhookTarget) =>
    'url' in t ? t.url : `service ${t.service.namespace}/${t.service.name}:${t.service.port}${webhookPath}`;
  try {
    await check(served);
    await o.installer?.install(target(served.caPem));
  } catch (err) {
    await server.close();
    throw err;
  }
  o.logger.info(
    { target: where(target(served.caPem)), port: server.port, certificate: external ? secretName : 'own' },
    'gate webhook serving',
  );
  const timer = setInterval(
    () => {
      void (async () => {
        const next = await load();
        if (next.certPem !== served.certPem) {
          served = next;
          await check(served);
          await o.installer?.install(target(served.caPem));
          o.logger.info('gate webhook certificate renewed');
        }
      })().catch((err: unknown) => {
        o.logger.warn({ err }, 'could not check the gate webhook certificate; trying again later');
      });
    },
    // Another replica or cert-manager renews on its own schedule: notice it within a minute.
    recheckMs,
  ).unref();
  // Not answering itself is worth another try soon (a slow start, a certificate another replica just replaced).
  const retry = setInterval(() => {
    if (problem !== undefined) void check(served).catch(() => undefined);
  }, 5_000).unref();
  return {
    port: server.port,
    target: where(target(served.caPem)),
    notReady: () => problem ?? (Date.now() >= notAfter ? 'the gate webhook certificate has expired' : undefined),
    stop: () => {
      clearInterval(timer);
      clearInterval(retry);
      void server.close();
    },
  };
}
