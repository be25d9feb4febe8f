// Pod templates compared by content. A Deployment's template and its ReplicaSet's copy differ only by the
// pod-template-hash label the Deployment controller adds, so both are compared without it. Every pass over a
// rollout compares the Deployment's template with its ReplicaSet's and names the template by its digest; at
// a few hundred rollouts under verification that was a deep copy, a sorted serialisation and a hash of two
// templates per Deployment every ten seconds, all of it garbage. The digest of an object read from the API
// is therefore kept per object and resourceVersion, as policy-specs.ts does for policies: the informer hands
// over a new object for every change, so an entry goes with the version it was computed for.
import { createHash } from 'node:crypto';
import type { V1PodTemplateSpec } from '@kubernetes/client-node';
import { podTemplateHashLabel } from './annotations.js';
import { canonical } from './canonical.js';

/** A pod template without the pod-template-hash label. A shallow copy: nothing else in it is changed. */
export function withoutHash(template: V1PodTemplateSpec | undefined): V1PodTemplateSpec {
  const labels = Object.fromEntries(
    Object.entries(template?.metadata?.labels ?? {}).filter(([key]) => key !== podTemplateHashLabel),
  );
  return { ...template, metadata: { ...template?.metadata, labels } };
}

export function sameTemplate(a: V1PodTemplateSpec | undefined, b: V1PodTemplateSpec | undefined): boolean {
  return canonical(withoutHash(a)) === canonical(withoutHash(b));
}

/**
 * A digest of a pod template without the pod-template-hash label: the same for a Deployment's template and
 * its ReplicaSet's, so a template is recognised before its ReplicaSet exists and after it was deleted. Not
 * the Deployment controller's hash (that one depends on Go's printing of the object). Records keep it
 * (spec.templateDigest), so its serialisation must never change.
 */
export function templateDigest(template: V1PodTemplateSpec | undefined): string {
  return createHash('sha256')
    .update(canonical(withoutHash(template)))
    .digest('hex')
    .slice(0, 32);
}

/** A Deployment or ReplicaSet: what holds a pod template. */
export interface TemplateOwner {
  metadata?: { resourceVersion?: string };
  spec?: { template?: V1PodTemplateSpec };
}

const digestByObject = new WeakMap<TemplateOwner, { resourceVersion: string; digest: string }>();

/**
 * templateDigest of the object's pod template, computed once per object and resourceVersion. An object
 * without a resourceVersion (built by hand, not read from the API) is digested every time.
 */
export function templateDigestOf(owner: TemplateOwner): string {
  const resourceVersion = owner.metadata?.resourceVersion;
  const known = digestByObject.get(owner);
  if (known !== undefined && known.resourceVersion === resourceVersion) return known.digest;
  const digest = templateDigest(owner.spec?.template);
  if (resourceVersion !== undefined) digestByObject.set(owner, { resourceVersion, digest });
  return digest;
}

/** Both objects hold the same pod template (see templateDigestOf). */
export function sameTemplateOf(a: TemplateOwner, b: TemplateOwner): boolean {
  return templateDigestOf(a) === templateDigestOf(b);
}
