// An in-memory cluster for the unit tests of the controller's shell (reconciler, verifier, wiring): informer
// caches, the writer and the Event sink over one store, answering as the API server does where the shell
// depends on it — a resourceVersion precondition that no longer holds is a 409 conflict, creating a name
// that exists is a 409, a missing object is a 404, a merge patch follows RFC 7386 and the guarded JSON patch
// of a rollback checks its `test` operation. Every call is counted, so a test can say how many API calls
// and status writes one rollout costs.
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import type { JsonPatchOp } from '../api/meta.js';
import type { AssessmentObject, Caches, PolicyObject } from '../api/objects.js';
import { eventName, type EventInput, type EventSink } from '../kube/events.js';
import type { ClusterWriter } from '../kube/writer.js';

export interface ApiCall {
  verb: 'get' | 'create' | 'patch' | 'patch-status' | 'delete';
  resource: 'deployments' | 'rolloutassessments' | 'deploymentriskpolicies' | 'events';
  namespace: string;
  name: string;
}

function apiError(code: number, message: string): Error {
  return Object.assign(new Error(message), { code });
}

type Json = Record<string, unknown>;

function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** RFC 7386: objects merge key by key, null removes a key, anything else replaces. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return structuredClone(patch);
  const out: Json = isObject(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) Reflect.deleteProperty(out, key);
    else out[key] = mergePatch(out[key], value);
  }
  return out;
}

function applyJsonPatch(target: Json, ops: readonly JsonPatchOp[]): Json {
  const doc = structuredClone(target);
  for (const op of ops) {
    const keys = op.path
      .split('/')
      .slice(1)
      .map((k) => k.replaceAll('~1', '/').replaceAll('~0', '~'));
    const last = keys.pop() ?? '';
    let parent: Json = doc;
    for (const k of keys) {
      const next = parent[k];
      if (!isObject(next)) throw apiError(422, `path ${op.path} does not exist`);
      parent = next;
    }
    if (op.op === 'test') {
      if (JSON.stringify(parent[last]) !== JSON.stringify(op.value)) throw apiError(422, `test of ${op.path} failed`);
    } else if (op.op === 'remove') Reflect.deleteProperty(parent, last);
    else parent[last] = structuredClone(op.value);
  }
  return doc;
}

const key = (namespace: string | undefined, name: string | undefined) => `${namespace ?? ''}/${name ?? ''}`;

export class MemoryCluster implements Caches, ClusterWriter, EventSink {
  readonly calls: ApiCall[] = [];
  /** Events as the API server stored them (one per name). */
  readonly events: EventInput[] = [];
  private readonly eventNames = new Set<string>();
  private version = 100;
  private readonly deploymentStore = new Map<string, V1Deployment>();
  private readonly replicaSetStore = new Map<string, V1ReplicaSet>();
  private readonly policyStore = new Map<string, PolicyObject>();
  private readonly assessmentStore = new Map<string, AssessmentObject>();

  /** Stores objects as a client's create or update would, each with a fresh resourceVersion. */
  putDeployment(object: V1Deployment): V1Deployment {
    // The API server gives every object a generation, and the reconciler's patches test it.
    return this.store(this.deploymentStore, {
      ...object,
      metadata: { ...object.metadata, generation: object.metadata?.generation ?? 1 },
    });
  }
  putReplicaSet(object: V1ReplicaSet): V1ReplicaSet {
    return this.store(this.replicaSetStore, object);
  }
  putPolicy(object: PolicyObject): PolicyObject {
    return this.store(this.policyStore, object);
  }
  putAssessment(object: AssessmentObject): AssessmentObject {
    return this.store(this.assessmentStore, object);
  }

  /** The API calls made since the last reset, optionally only some of them. */
  count(filter: Partial<ApiCall> = {}): number {
    return this.calls.filter((c) => Object.entries(filter).every(([k, v]) => c[k as keyof ApiCall] === v)).length;
  }

  resetCalls(): void {
    this.calls.length = 0;
  }

  // Caches: what the informers would hold once they caught up.

  deployment(namespace: string, name: string): V1Deployment | undefined {
    return this.deploymentStore.get(key(namespace, name));
  }
  deployments(namespace?: string): readonly V1Deployment[] {
    return this.inNamespace(this.deploymentStore, namespace);
  }
  replicaSets(namespace: string): readonly V1ReplicaSet[] {
    return this.inNamespace(this.replicaSetStore, namespace);
  }
  policies(namespace?: string): readonly PolicyObject[] {
    return this.inNamespace(this.policyStore, namespace);
  }
  assessment(namespace: string, name: string): AssessmentObject | undefined {
    return this.assessmentStore.get(key(namespace, name));
  }
  assessments(namespace?: string): readonly AssessmentObject[] {
    return this.inNamespace(this.assessmentStore, namespace);
  }

  // ClusterWriter

  mergePatchDeployment(namespace: string, name: string, patch: object): Promise<V1Deployment> {
    this.calls.push({ verb: 'patch', resource: 'deployments', namespace, name });
    const stored = this.deploymentStore.get(key(namespace, name));
    if (!stored) return Promise.reject(apiError(404, `deployments "${name}" not found`));
    const wanted = (patch as { metadata?: { resourceVersion?: string } }).metadata?.resourceVersion;
    if (wanted !== undefined && wanted !== stored.metadata?.resourceVersion) {
      return Promise.reject(apiError(409, 'the object has been modified'));
    }
    const next = this.stamp(mergePatch(stored, patch) as V1Deployment);
    this.deploymentStore.set(key(namespace, name), next);
    return Promise.resolve(structuredClone(next));
  }

  jsonPatchDeployment(namespace: string, name: string, ops: JsonPatchOp[]): Promise<V1Deployment> {
    this.calls.push({ verb: 'patch', resource: 'deployments', namespace, name });
    const stored = this.deploymentStore.get(key(namespace, name));
    if (!stored) return Promise.reject(apiError(404, `deployments "${name}" not found`));
    try {
      const next = this.stamp(applyJsonPatch(stored as Json, ops));
      this.deploymentStore.set(key(namespace, name), next);
      return Promise.resolve(structuredClone(next));
    } catch (err) {
      return Promise.reject(err instanceof Error ? err : new Error(String(err)));
    }
  }

  readDeployment(namespace: string, name: string): Promise<V1Deployment> {
    this.calls.push({ verb: 'get', resource: 'deployments', namespace, name });
    const stored = this.deploymentStore.get(key(namespace, name));
    return stored ? Promise.resolve(structuredClone(stored)) : Promise.reject(apiError(404, 'not found'));
  }

  readAssessment(namespace: string, name: string): Promise<object | undefined> {
    this.calls.push({ verb: 'get', resource: 'rolloutassessments', namespace, name });
    const stored = this.assessmentStore.get(key(namespace, name));
    return Promise.resolve(stored && structuredClone(stored));
  }

  createAssessment(namespace: string, body: object): Promise<object> {
    const name = (body as AssessmentObject).metadata?.name ?? '';
    this.calls.push({ verb: 'create', resource: 'rolloutassessments', namespace, name });
    if (this.assessmentStore.has(key(namespace, name))) {
      return Promise.reject(apiError(409, `rolloutassessments "${name}" already exists`));
    }
    const stored = this.stamp({
      ...(structuredClone(body) as AssessmentObject),
      metadata: { ...(body as AssessmentObject).metadata, namespace, creationTimestamp: new Date() },
    });
    this.assessmentStore.set(key(namespace, name), stored);
    return Promise.resolve(structuredClone(stored));
  }

  deleteAssessment(namespace: string, name: string): Promise<void> {
    this.calls.push({ verb: 'delete', resource: 'rolloutassessments', namespace, name });
    this.assessmentStore.delete(key(namespace, name));
    return Promise.resolve();
  }

  mergePatchAssessmentStatus(
    namespace: string,
    name: string,
    status: object,
    resourceVersion?: string,
  ): Promise<object> {
    this.calls.push({ verb: 'patch-status', resource: 'rolloutassessments', namespace, name });
    const stored = this.assessmentStore.get(key(namespace, name));
    if (!stored) return Promise.reject(apiError(404, `rolloutassessments "${name}" not found`));
    if (resourceVersion !== undefined && resourceVersion !== stored.metadata?.resourceVersion) {
      return Promise.reject(apiError(409, 'the object has been modified'));
    }
    const next = this.stamp({
      ...stored,
      status: mergePatch(stored.status ?? {}, status) as NonNullable<AssessmentObject['status']>,
    });
    this.assessmentStore.set(key(namespace, name), next);
    return Promise.resolve(structuredClone(next));
  }

  mergePatchPolicyStatus(namespace: string, name: string, status: object): Promise<object> {
    this.calls.push({ verb: 'patch-status', resource: 'deploymentriskpolicies', namespace, name });
    const stored = this.policyStore.get(key(namespace, name));
    if (!stored) return Promise.reject(apiError(404, `deploymentriskpolicies "${name}" not found`));
    const next = this.stamp({
      ...stored,
      status: mergePatch(stored.status ?? {}, status) as NonNullable<PolicyObject['status']>,
    });
    this.policyStore.set(key(namespace, name), next);
    return Promise.resolve(structuredClone(next));
  }

  // EventSink: an Event whose name exists is refused as the API server does; a de-duplicated one is dropped.

  emit(event: EventInput): Promise<void> {
    const name = eventName(event.regarding.name, event.dedupeKey);
    this.calls.push({ verb: 'create', resource: 'events', namespace: event.regarding.namespace, name });
    if (this.eventNames.has(name)) {
      return event.dedupeKey === undefined ? Promise.reject(apiError(409, 'exists')) : Promise.resolve();
    }
    this.eventNames.add(name);
    this.events.push(event);
    return Promise.resolve();
  }

  private store<T extends { metadata?: { namespace?: string; name?: string; resourceVersion?: string } }>(
    store: Map<string, T>,
    object: T,
  ): T {
    const stored = this.stamp(structuredClone(object));
    store.set(key(object.metadata?.namespace, object.metadata?.name), stored);
    return stored;
  }

  private stamp<T extends { metadata?: { resourceVersion?: string } }>(object: T): T {
    this.version += 1;
    object.metadata = { ...object.metadata, resourceVersion: String(this.version) };
    return object;
  }

  private inNamespace<T extends { metadata?: { namespace?: string } }>(
    store: ReadonlyMap<string, T>,
    namespace: string | undefined,
  ): T[] {
    return [...store.values()].filter((o) => namespace === undefined || o.metadata?.namespace === namespace);
  }
}
