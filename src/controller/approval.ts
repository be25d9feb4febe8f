// Who approved a paused rollout, as far as the API tells: the field manager that last wrote the approve
// annotation and when (metadata.managedFields). The API server keeps no user name on the object; the audit
// log has it, and the manager ("kubectl-annotate", "argocd-controller", a CI tool's name) is what we record.
import type { V1ManagedFieldsEntry } from '@kubernetes/client-node';
import { annotations } from './annotations.js';

export function approverOf(
  managedFields: readonly V1ManagedFieldsEntry[] | undefined,
): { by: string; at?: string } | undefined {
  const key = `f:${annotations.approve}`;
  for (const entry of managedFields ?? []) {
    const fields = entry.fieldsV1 as { 'f:metadata'?: { 'f:annotations'?: Record<string, unknown> } } | undefined;
    if (fields?.['f:metadata']?.['f:annotations']?.[key] === undefined) continue;
    const by = entry.manager ?? 'unknown';
    const at = entry.time ? new Date(entry.time).toISOString() : undefined;
    return at ? { by, at } : { by };
  }
  return undefined;
}
