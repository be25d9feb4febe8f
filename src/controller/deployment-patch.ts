// The Deployment patch that carries out a plan, as a JSON Patch whose first operations test what the plan was
// made from: the Deployment's generation (it changes with every spec change, and only then) and its revision
// annotation. A pause planned for one revision can never land on the next one, or on a template changed since;
// but the status updates the Deployment controller makes all through a rollout (which change resourceVersion,
// not generation) no longer make the patch fail and the plan start over. Conditioning on resourceVersion did:
// measured with bench/scale.ts, about one annotation patch in two conflicted while the new pods came up.
// A failed test is answered 422; the reconciler plans again from the newer state, as for a conflict.
import type { V1Deployment } from '@kubernetes/client-node';
import type { JsonPatchOp } from '../api/meta.js';
import { revisionAnnotation } from '../api/annotations.js';

/** RFC 6901: `~` and `/` in a key. */
export function pointerKey(key: string): string {
  return key.replace(/~/g, '~0').replace(/\//g, '~1');
}

export function guardedDeploymentPatch(
  plan: { annotations: Record<string, string | null>; paused?: boolean },
  plannedFrom: V1Deployment,
): JsonPatchOp[] {
  const ops: JsonPatchOp[] = [
    { op: 'test', path: '/metadata/generation', value: plannedFrom.metadata?.generation ?? null },
    {
      op: 'test',
      path: `/metadata/annotations/${pointerKey(revisionAnnotation)}`,
      value: plannedFrom.metadata?.annotations?.[revisionAnnotation] ?? null,
    },
  ];
  const present = plannedFrom.metadata?.annotations ?? {};
  for (const [key, value] of Object.entries(plan.annotations)) {
    const path = `/metadata/annotations/${pointerKey(key)}`;
    // Removing a key that is not there fails the whole patch: only remove what the plan saw.
    if (value === null) {
      if (key in present) ops.push({ op: 'remove', path });
    } else ops.push({ op: 'add', path, value });
  }
  if (plan.paused !== undefined) ops.push({ op: 'add', path: '/spec/paused', value: plan.paused });
  return ops;
}
