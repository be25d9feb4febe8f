// A Prometheus client per policy, with the credentials and CA its spec names read from Secrets in the
// policy's namespace — only Secrets labelled rollguard.io/credentials=true. Credentials are re-read every minute so a rotated Secret takes effect without a
// restart and without reading Secrets on every interval; the client (and its kept-alive connections) is
// kept as long as what it was built from is unchanged. A client that is replaced, or that no policy has
// asked for in a while (the policy changed or went away), is closed, so its sockets do not pile up.
import { createHash } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { PolicySpec } from '../api/policy.js';
import { parseDuration } from '../api/duration.js';
import { PrometheusClient, type PrometheusClientOptions } from '../prometheus/client.js';
import type { MetricsProvider, QueryPurpose, QueryResultKind } from '../prometheus/types.js';
import { apiMessage, statusCode } from '../kube/errors.js';

export interface SecretReader {
  read(namespace: string, name: string, key: string): Promise<string>;
}

/**
 * The label a Secret must carry before rollguard uses it: whoever can edit a policy can name any Secret of the
 * namespace, so the Secret's owner opts in, not the policy's author.
 */
export const credentialsLabel = 'rollguard.io/credentials';

/** Why a Secret may not be used, or undefined when it opted in. Pure. */
export function secretRefusal(
  namespace: string,
  name: string,
  labels: Record<string, string> | undefined,
): string | undefined {
  if (labels?.[credentialsLabel] === 'true') return undefined;
  return (
    `Secret ${namespace}/${name} is not labelled ${credentialsLabel}=true, so rollguard does not use it; ` +
    `if it holds this policy's Prometheus credentials: kubectl -n ${namespace} label secret ${name} ${credentialsLabel}=true`
  );
}

export class KubeSecretReader implements SecretReader {
  private readonly core: CoreV1Api;
  constructor(kc: KubeConfig) {
    this.core = kc.makeApiClient(CoreV1Api);
  }
  async read(namespace: string, name: string, key: string): Promise<string> {
    let secret;
    try {
      secret = await this.core.readNamespacedSecret({ namespace, name });
    } catch (err) {
      const hint =
        statusCode(err) === 403
          ? `; rollguard may not read Secrets in ${namespace}: bind the ClusterRole rollguard-secret-reader there (chart value rbac.secretNamespaces)`
          : '';
      throw new Error(`cannot read Secret ${namespace}/${name}: ${apiMessage(err)}${hint}`, { cause: err });
    }
    const refusal = secretRefusal(namespace, name, secret.metadata?.labels);
    if (refusal !== undefined) throw new Error(refusal);
    const value = secret.data?.[key];
    if (value === undefined) throw new Error(`Secret ${namespace}/${name} has no key "${key}"`);
    return Buffer.from(value, 'base64').toString('utf8');
  }
}

export type ProviderLookup = { ok: true; provider: MetricsProvider; address: string } | { ok: false; reason: string };

/** What a client needs besides the options: closing its connections. */
export interface ClosableProvider extends MetricsProvider {
  close(): void;
}

export interface PrometheusAccessOptions {
  /** Called after every query with its duration and outcome; for telemetry. */
  onQuery?: (durationSeconds: number, outcome: QueryResultKind, purpose: QueryPurpose) => void;
  /** Builds a client; the real one unless a test counts them. */
  makeClient?: (options: PrometheusClientOptions) => ClosableProvider;
  now?: () => number;
  /** How long credentials are trusted before they are read again (default 1 minute). */
  refreshMs?: number;
  /** A client no policy asked for in this long is closed (default 10 minutes). */
  idleMs?: number;
}

interface Entry {
  /** When the credentials were last read. */
  readAt: number;
  usedAt: number;
  lookup: ProviderLookup;
  /** A digest of the options the client was built from; equal options keep the client. */
  fingerprint: string | undefined;
  client: ClosableProvider | undefined;
}

type Built = { ok: true; options: PrometheusClientOptions; address: string } | { ok: false; reason: string };

/** A digest, not the options themselves, so no credential is kept in a second place. */
function fingerprintOf(options: PrometheusClientOptions): string {
  const { onQuery: _onQuery, ...rest } = options;
  return createHash('sha256').update(JSON.stringify(rest)).digest('hex');
}

export class PrometheusAccess {
  private readonly entries = new Map<string, Entry>();
  private readonly building = new Map<string, Promise<ProviderLookup>>();
  private readonly onQuery: PrometheusAccessOptions['onQuery'];
  private readonly makeClient: (options: PrometheusClientOptions) => ClosableProvider;
  private readonly now: () => number;
  private readonly refreshMs: number;
  private readonly idleMs: number;
  private readonly closing = new Set<NodeJS.Timeout>();

  constructor(
    private readonly secrets: SecretReader,
    options:
      | PrometheusAccessOptions
      | ((durationSeconds: number, outcome: QueryResultKind, purpose: QueryPurpose) => void) = {},
  ) {
    const o = typeof options === 'function' ? { onQuery: options } : options;
    this.onQuery = o.onQuery;
    this.makeClient = o.makeClient ?? ((clientOptions) => new PrometheusClient(clientOptions));
    this.now = o.now ?? Date.now;
    this.refreshMs = o.refreshMs ?? 60_000;
    this.idleMs = o.idleMs ?? 10 * 60_000;
  }

  async providerFor(namespace: string, spec: PolicySpec): Promise<ProviderLookup> {
    if (!spec.prometheus.address) return { ok: false, reason: 'the policy names no Prometheus address' };
    this.closeIdle();
    const key = `${namespace}\n${JSON.stringify(spec.prometheus)}`;
    const entry = this.entries.get(key);
    if (entry && this.now() - entry.readAt < this.refreshMs) {
      entry.usedAt = this.now();
      return entry.lookup;
    }
    // One refresh per key at a time: two callers at once must not build two clients and leak one.
    let pending = this.building.get(key);
    if (!pending) {
      pending = this.refresh(key, namespace, spec).finally(() => this.building.delete(key));
      this.building.set(key, pending);
    }
    return pending;
  }

  /** How many clients are open (for tests and telemetry). */
  openClients(): number {
    return [...this.entries.values()].filter((e) => e.client !== undefined).length;
  }

  /** Closes every client; for shutdown. */
  close(): void {
    for (const timer of this.closing) clearTimeout(timer);
    this.closing.clear();
    for (const entry of this.entries.values()) entry.client?.close();
    this.entries.clear();
  }

  private async refresh(key: string, namespace: string, spec: PolicySpec): Promise<ProviderLookup> {
    const built = await this.build(namespace, spec);
    const now = this.now();
    const old = this.entries.get(key);
    if (!built.ok) {
      // Keep nothing that was built from credentials that can no longer be read.
      if (old?.client) this.retire(old.client, spec);
      const lookup: ProviderLookup = built;
      this.entries.set(key, { readAt: now, usedAt: now, lookup, fingerprint: undefined, client: undefined });
      return lookup;
    }
    const fingerprint = fingerprintOf(built.options);
    if (old?.client && old.fingerprint === fingerprint) {
      old.readAt = now;
      old.usedAt = now;
      return old.lookup;
    }
    if (old?.client) this.retire(old.client, spec);
    const client = this.makeClient(built.options);
    const lookup: ProviderLookup = { ok: true, provider: client, address: built.address };
    this.entries.set(key, { readAt: now, usedAt: now, lookup, fingerprint, client });
    return lookup;
  }

  /** Closes a replaced client once the queries it may still be answering have timed out. */
  private retire(client: ClosableProvider, spec: PolicySpec): void {
    const graceMs = parseDuration(spec.prometheus.timeout) + 1000;
    const timer = setTimeout(() => {
      this.closing.delete(timer);
      client.close();
    }, graceMs);
    timer.unref();
    this.closing.add(timer);
  }

  private closeIdle(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (now - entry.usedAt < this.idleMs || this.building.has(key)) continue;
      entry.client?.close();
      this.entries.delete(key);
    }
  }

  private async build(namespace: string, spec: PolicySpec): Promise<Built> {
    const p = spec.prometheus;
    if (!p.address) return { ok: false, reason: 'the policy names no Prometheus address' };
    const options: { -readonly [K in keyof PrometheusClientOptions]: PrometheusClientOptions[K] } = {
      address: p.address,
      timeoutMs: parseDuration(p.timeout),
      insecureSkipVerify: p.insecureSkipVerify,
    };
    if (this.onQuery) options.onQuery = this.onQuery;
    try {
      if (p.caSecretRef) options.caPem = await this.secrets.read(namespace, p.caSecretRef.name, p.caSecretRef.key);
      if (p.bearerTokenSecretRef) {
        options.bearerToken = (
          await this.secrets.read(namespace, p.bearerTokenSecretRef.name, p.bearerTokenSecretRef.key)
        ).trim();
      }
      if (p.basicAuthSecretRef) {
        options.basicAuth = {
          username: await this.secrets.read(namespace, p.basicAuthSecretRef.name, 'username'),
          password: await this.secrets.read(namespace, p.basicAuthSecretRef.name, 'password'),
        };
      }
    } catch (err) {
      return { ok: false, reason: err instanceof Error ? err.message : String(err) };
    }
    return { ok: true, options, address: p.address };
  }
}
