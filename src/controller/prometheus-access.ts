// A Prometheus client per policy, with the credentials and CA its spec names read from Secrets in the
// policy's namespace. Clients are cached for a minute so a rotated Secret takes effect without a restart
// and without reading Secrets on every interval.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { PolicySpec } from '../api/policy.js';
import { parseDuration } from '../api/duration.js';
import { PrometheusClient, type PrometheusClientOptions } from '../prometheus/client.js';
import type { MetricsProvider, QueryResultKind } from '../prometheus/types.js';
import { apiMessage } from '../kube/errors.js';

export interface SecretReader {
  read(namespace: string, name: string, key: string): Promise<string>;
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
      throw new Error(`cannot read Secret ${namespace}/${name}: ${apiMessage(err)}`, { cause: err });
    }
    const value = secret.data?.[key];
    if (value === undefined) throw new Error(`Secret ${namespace}/${name} has no key "${key}"`);
    return Buffer.from(value, 'base64').toString('utf8');
  }
}

export type ProviderLookup = { ok: true; provider: MetricsProvider; address: string } | { ok: false; reason: string };

const cacheMs = 60_000;

export class PrometheusAccess {
  private readonly cache = new Map<string, { at: number; lookup: ProviderLookup }>();

  constructor(
    private readonly secrets: SecretReader,
    private readonly onQuery?: (durationSeconds: number, outcome: QueryResultKind) => void,
  ) {}

  async providerFor(namespace: string, spec: PolicySpec): Promise<ProviderLookup> {
    const prometheus = spec.prometheus;
    if (!prometheus.address) return { ok: false, reason: 'the policy names no Prometheus address' };
    const key = `${namespace}\n${JSON.stringify(prometheus)}`;
    const cached = this.cache.get(key);
    if (cached && Date.now() - cached.at < cacheMs) return cached.lookup;
    const lookup = await this.build(namespace, spec);
    this.cache.set(key, { at: Date.now(), lookup });
    return lookup;
  }

  private async build(namespace: string, spec: PolicySpec): Promise<ProviderLookup> {
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
    return { ok: true, provider: new PrometheusClient(options), address: p.address };
  }
}
