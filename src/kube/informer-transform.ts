// What the informer caches keep of each object. A cluster with thousands of Deployments holds every one of
// them, and every ReplicaSet of their history, in memory; most of each object is never read by rollguard.
// These pure functions keep what a decision reads and drop the rest before an object enters a cache:
//   - metadata.managedFields (often the largest part of an object), except on Deployments the one entry that
//     tells who set the approve annotation (see controller/approval.ts), cut down to that field;
//   - kubectl's last-applied-configuration annotation (a second copy of the whole object);
//   - on ReplicaSets, everything but identity, labels, annotations, the controlling owner, the template, the
//     replica counts and the status (the rollout, the assessment and `rollout undo` read nothing else).
// Templates are kept whole: rollguard compares a Deployment's template with its ReplicaSets' to find the
// current revision, and scores and rolls back to them.
//
// Objects arrive either as plain JSON (watch events) or as client-node's model classes (lists): both are read
// the same way here, and the result is always a plain object.
import type {
  KubernetesObject,
  V1Deployment,
  V1ManagedFieldsEntry,
  V1ObjectMeta,
  V1ReplicaSet,
} from '@kubernetes/client-node';

const lastApplied = 'kubectl.kubernetes.io/last-applied-configuration';
const approveField = 'f:rollguard.io/approve';

function withoutLastApplied(annotations: Record<string, string> | undefined): Record<string, string> | undefined {
  if (annotations === undefined || !(lastApplied in annotations)) return annotations;
  const { [lastApplied]: _dropped, ...rest } = annotations;
  return rest;
}

/** The managedFields entries that wrote the approve annotation, reduced to that one field. */
export function approveEntries(managedFields: readonly V1ManagedFieldsEntry[] | undefined): V1ManagedFieldsEntry[] {
  if (!Array.isArray(managedFields)) return [];
  const kept: V1ManagedFieldsEntry[] = [];
  for (const entry of managedFields as unknown[]) {
    if (typeof entry !== 'object' || entry === null) continue;
    const e = entry as V1ManagedFieldsEntry;
    const fields = e.fieldsV1 as { 'f:metadata'?: { 'f:annotations'?: Record<string, unknown> } } | undefined;
    if (fields?.['f:metadata']?.['f:annotations']?.[approveField] === undefined) continue;
    kept.push({
      ...(e.manager !== undefined ? { manager: e.manager } : {}),
      ...(e.operation !== undefined ? { operation: e.operation } : {}),
      ...(e.time !== undefined ? { time: e.time } : {}),
      fieldsV1: { 'f:metadata': { 'f:annotations': { [approveField]: {} } } },
    });
  }
  return kept;
}

/** Identity and the small, decision-relevant parts of metadata; no managedFields, no last-applied copy. */
function slimMeta(meta: V1ObjectMeta | undefined, managedFields?: V1ManagedFieldsEntry[]): V1ObjectMeta {
  if (meta === undefined) return {};
  const annotations = withoutLastApplied(meta.annotations);
  const owner = meta.ownerReferences?.filter((o) => o.controller === true);
  const out: V1ObjectMeta = {};
  if (meta.name !== undefined) out.name = meta.name;
  if (meta.namespace !== undefined) out.namespace = meta.namespace;
  if (meta.uid !== undefined) out.uid = meta.uid;
  if (meta.resourceVersion !== undefined) out.resourceVersion = meta.resourceVersion;
  if (meta.generation !== undefined) out.generation = meta.generation;
  if (meta.creationTimestamp !== undefined) out.creationTimestamp = meta.creationTimestamp;
  if (meta.deletionTimestamp !== undefined) out.deletionTimestamp = meta.deletionTimestamp;
  if (meta.labels !== undefined) out.labels = meta.labels;
  if (annotations !== undefined) out.annotations = annotations;
  if (owner !== undefined && owner.length > 0) out.ownerReferences = owner;
  if (meta.finalizers !== undefined) out.finalizers = meta.finalizers;
  if (managedFields !== undefined && managedFields.length > 0) out.managedFields = managedFields;
  return out;
}

/** A Deployment as the caches keep it: everything a decision reads, without managedFields. */
export function slimDeployment(d: V1Deployment): V1Deployment {
  const out: V1Deployment = { metadata: slimMeta(d.metadata, approveEntries(d.metadata?.managedFields)) };
  if (d.apiVersion !== undefined) out.apiVersion = d.apiVersion;
  if (d.kind !== undefined) out.kind = d.kind;
  if (d.spec !== undefined) out.spec = d.spec;
  if (d.status !== undefined) out.status = d.status;
  return out;
}

/** A ReplicaSet as the caches keep it: its identity, owner, revision annotations, template and counts. */
export function slimReplicaSet(rs: V1ReplicaSet): V1ReplicaSet {
  const out: V1ReplicaSet = { metadata: slimMeta(rs.metadata) };
  if (rs.apiVersion !== undefined) out.apiVersion = rs.apiVersion;
  if (rs.kind !== undefined) out.kind = rs.kind;
  if (rs.spec !== undefined) {
    out.spec = { selector: rs.spec.selector };
    if (rs.spec.replicas !== undefined) out.spec.replicas = rs.spec.replicas;
    if (rs.spec.template !== undefined) out.spec.template = rs.spec.template;
  }
  if (rs.status !== undefined) out.status = rs.status;
  return out;
}

/** Any other object (policies, assessments): whole, without managedFields and the last-applied copy. */
export function withoutManagedFields<T extends KubernetesObject>(obj: T): T {
  return { ...obj, metadata: slimMeta(obj.metadata) };
}

/** The name of the Deployment that controls a ReplicaSet, if one does. */
export function controllingDeployment(rs: V1ReplicaSet): string | undefined {
  return rs.metadata?.ownerReferences?.find((o) => o.controller === true && o.kind === 'Deployment')?.name;
}
