// The accepted model, kept in the cluster: a ConfigMap (`rollguard-model` in the controller's namespace) holds
// the model as src/model/store.ts's blob (gzip + base64 of {forest, meta}) and the drift reference of its
// training data, so a restarted or rescheduled controller scores with the model it had learned, not the
// shipped one. binaryData, not data: the values are gzip bytes, and the API server counts binaryData at its
// decoded size against the 1 MiB limit, a quarter less than the base64 text.
//
// Writes are create-or-replace with the resourceVersion that was read, so two writers cannot silently
// overwrite each other (a conflict is retried on a fresh read).
import { existsSync, readFileSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { CoreV1Api, type KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { apiMessage, isConflict, isNotFound } from '../kube/errors.js';
import { ModelFormatError } from '../model/library-json.js';
import {
  CONFIGMAP_LIMIT_BYTES,
  decodeModelBlob,
  gunzipAtMost,
  ModelTooLargeError,
  type ModelBundle,
} from '../model/store.js';
import { parseReferenceSummary, type ReferenceSummary } from './drift.js';

export const DEFAULT_MODEL_CONFIGMAP = 'rollguard-model';
export const MODEL_KEY = 'model.json.gz';
export const REFERENCE_KEY = 'reference.json.gz';

export const annotations = {
  modelVersion: 'rollguard.io/model-version',
  /** The newest outcome the model was trained on, ISO 8601: outcomes after it count as new. */
  trainedThrough: 'rollguard.io/trained-through',
  /** Outcomes the model was trained on. */
  outcomes: 'rollguard.io/training-outcomes',
  /** Why it was accepted, with both held-out figures. */
  reason: 'rollguard.io/accepted-because',
} as const;

const labels = { 'app.kubernetes.io/name': 'rollguard', 'app.kubernetes.io/component': 'risk-model' };

/** What the learning loop keeps. */
export interface ModelToStore {
  /** encodeModelBlob's output. */
  readonly blob: string;
  readonly modelVersion: string;
  readonly reference: ReferenceSummary | undefined;
  readonly trainedThrough: number | undefined;
  readonly outcomes: number;
  readonly reason: string;
}

/** What a load finds. */
export interface StoredModel {
  readonly bundle: ModelBundle;
  readonly reference: ReferenceSummary | undefined;
  readonly trainedThrough: number | undefined;
  readonly outcomes: number | undefined;
  /** Bytes the ConfigMap's data takes, as the API server counts them. */
  readonly bytes: number;
}

export function encodeReference(reference: ReferenceSummary): string {
  return gzipSync(JSON.stringify(reference), { level: 9 }).toString('base64');
}

/** A drift reference is a few histograms per feature: kilobytes. Anything expanding past this is refused. */
export const MAX_REFERENCE_JSON_BYTES = 8 * 1024 * 1024;

/** The reference in a ConfigMap, or undefined when absent or unreadable (drift is then not computed). */
export function decodeReference(value: string | undefined): ReferenceSummary | undefined {
  if (value === undefined) return undefined;
  try {
    const json = gunzipAtMost(Buffer.from(value, 'base64'), MAX_REFERENCE_JSON_BYTES).toString('utf8');
    return parseReferenceSummary(JSON.parse(json));
  } catch {
    return undefined;
  }
}

/** How the API server measures a ConfigMap against its 1 MiB: keys plus values, binaryData decoded. */
export function configMapDataBytes(configMap: V1ConfigMap): number {
  let bytes = 0;
  for (const [key, value] of Object.entries(configMap.data ?? {})) bytes += key.length + Buffer.byteLength(value);
  for (const [key, value] of Object.entries(configMap.binaryData ?? {})) {
    bytes += key.length + Buffer.from(value, 'base64').length;
  }
  return bytes;
}

/** The ConfigMap for a model (pure). Throws ModelTooLargeError when it would be over the API server's limit. */
export function modelConfigMap(name: string, namespace: string, model: ModelToStore): V1ConfigMap {
  const binaryData: Record<string, string> = { [MODEL_KEY]: model.blob };
  if (model.reference !== undefined) binaryData[REFERENCE_KEY] = encodeReference(model.reference);
  const modelAnnotations: Record<string, string> = {
    [annotations.modelVersion]: model.modelVersion,
    [annotations.outcomes]: String(model.outcomes),
    // Annotations are for people: keep the sentence whole but bounded.
    [annotations.reason]: model.reason.slice(0, 1024),
  };
  if (model.trainedThrough !== undefined) {
    modelAnnotations[annotations.trainedThrough] = new Date(model.trainedThrough).toISOString();
  }
  const configMap: V1ConfigMap = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name, namespace, labels: { ...labels }, annotations: modelAnnotations },
    binaryData,
  };
  const bytes = configMapDataBytes(configMap);
  if (bytes > CONFIGMAP_LIMIT_BYTES) {
    throw new ModelTooLargeError(`ConfigMap ${namespace}/${name} would hold ${bytes} bytes, over the 1 MiB limit`);
  }
  return configMap;
}

/** Reads a model ConfigMap (pure). Throws ModelFormatError when it holds no usable model. */
export function storedModelFrom(configMap: V1ConfigMap): StoredModel {
  const where = `ConfigMap ${configMap.metadata?.namespace ?? ''}/${configMap.metadata?.name ?? ''}`;
  const blob = configMap.binaryData?.[MODEL_KEY];
  if (blob === undefined) throw new ModelFormatError(`${where} has no binaryData key ${MODEL_KEY}`);
  let bundle: ModelBundle;
  try {
    bundle = decodeModelBlob(blob);
  } catch (err) {
    throw new ModelFormatError(`${where}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const meta = configMap.metadata?.annotations ?? {};
  const through = meta[annotations.trainedThrough];
  const throughMs = through === undefined ? NaN : Date.parse(through);
  const outcomes = Number(meta[annotations.outcomes]);
  return {
    bundle,
    reference: decodeReference(configMap.binaryData?.[REFERENCE_KEY]),
    trainedThrough: Number.isNaN(throughMs) ? undefined : throughMs,
    outcomes: Number.isInteger(outcomes) && meta[annotations.outcomes] !== undefined ? outcomes : undefined,
    bytes: configMapDataBytes(configMap),
  };
}

/** Where accepted models are kept. */
export interface ModelStore {
  /** The kept model, or undefined when none was kept yet. Throws when one is there but unusable. */
  load(): Promise<StoredModel | undefined>;
  save(model: ModelToStore): Promise<void>;
  /** The kept model's version, without decoding the model: for a standby to notice the leader's new model. */
  storedVersion(): Promise<string | undefined>;
  /** Where, for log lines. */
  readonly location: string;
}

/** The CoreV1Api calls the store makes (a fake in tests). */
export type ConfigMapApi = Pick<
  CoreV1Api,
  'readNamespacedConfigMap' | 'createNamespacedConfigMap' | 'replaceNamespacedConfigMap'
>;

export class ConfigMapModelStore implements ModelStore {
  readonly location: string;

  constructor(
    private readonly api: ConfigMapApi,
    private readonly namespace: string,
    private readonly name: string = DEFAULT_MODEL_CONFIGMAP,
  ) {
    this.location = `ConfigMap ${namespace}/${name}`;
  }

  static fromKubeConfig(kubeConfig: KubeConfig, namespace: string, name?: string): ConfigMapModelStore {
    return new ConfigMapModelStore(kubeConfig.makeApiClient(CoreV1Api), namespace, name);
  }

  private async read(): Promise<V1ConfigMap | undefined> {
    try {
      return await this.api.readNamespacedConfigMap({ name: this.name, namespace: this.namespace });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw new Error(`reading ${this.location}: ${apiMessage(err)}`, { cause: err });
    }
  }

  async load(): Promise<StoredModel | undefined> {
    const configMap = await this.read();
    return configMap === undefined ? undefined : storedModelFrom(configMap);
  }

  async storedVersion(): Promise<string | undefined> {
    return (await this.read())?.metadata?.annotations?.[annotations.modelVersion];
  }

  async save(model: ModelToStore): Promise<void> {
    const desired = modelConfigMap(this.name, this.namespace, model);
    for (let attempt = 1; ; attempt++) {
      const existing = await this.read();
      try {
        if (existing === undefined) {
          await this.api.createNamespacedConfigMap({
            namespace: this.namespace,
            body: desired,
            fieldManager: 'rollguard',
          });
        } else {
          // Keep what others put on the object (labels, annotations); ours win on the keys we own.
          const body: V1ConfigMap = {
            ...desired,
            metadata: {
              ...desired.metadata,
              resourceVersion: existing.metadata?.resourceVersion ?? '',
              labels: { ...existing.metadata?.labels, ...desired.metadata?.labels },
              annotations: { ...existing.metadata?.annotations, ...desired.metadata?.annotations },
            },
          };
          await this.api.replaceNamespacedConfigMap({
            name: this.name,
            namespace: this.namespace,
            body,
            fieldManager: 'rollguard',
          });
        }
        return;
      } catch (err) {
        // 409: created or changed since the read; read again and retry a couple of times.
        if (isConflict(err) && attempt < 3) continue;
        throw new Error(`writing ${this.location}: ${apiMessage(err)}`, { cause: err });
      }
    }
  }
}

export const SERVICE_ACCOUNT_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/**
 * The namespace the controller runs in, where its model ConfigMap lives: an explicit choice, else
 * $POD_NAMESPACE (the downward API), else the service account's namespace file (in a pod), else the
 * kubeconfig context's namespace (running outside the cluster), else "default".
 */
export function controllerNamespace(sources: {
  readonly explicit?: string | undefined;
  readonly env?: NodeJS.ProcessEnv;
  readonly serviceAccountNamespace?: string | undefined;
  readonly kubeConfigNamespace?: string | undefined;
}): string {
  const candidates = [
    sources.explicit,
    sources.env?.POD_NAMESPACE,
    sources.serviceAccountNamespace,
    sources.kubeConfigNamespace,
  ];
  for (const candidate of candidates) {
    const trimmed = candidate?.trim();
    if (trimmed) return trimmed;
  }
  return 'default';
}

/** The service account namespace file's content, when running in a pod. */
export function readServiceAccountNamespace(file = SERVICE_ACCOUNT_NAMESPACE_FILE): string | undefined {
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}
