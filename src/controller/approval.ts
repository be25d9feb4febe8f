// Who approved a paused rollout, as far as the API tells: the field manager that last wrote the approve
// annotation and when (metadata.managedFields). The API server keeps no user name on the object; the audit
// log has it, and the manager ("kubectl-annotate", "argocd-controller", a CI tool's name) is what we record.
import type { V1ManagedFieldsEntry } from '@kubernetes/client-node';
import { annotations } from '../api/annotations.js';

export function approverOf(
  managedFields: readonly V1ManagedFieldsEntry[] | undefined,
): { by: string; at?: string } | undefined {
  const key = `f:${annotations.approve}`;
  if (!Array.isArray(managedFields)) return undefined;
  for (const raw of managedFields as unknown[]) {
    if (typeof raw !== 'object' || raw === null) continue;
    const entry = raw as V1ManagedFieldsEntry;
    const fields = entry.fieldsV1 as { 'f:metadata'?: { 'f:annotations'?: Record<string, unknown> } } | undefined;
    if (fields?.['f:metadata']?.['f:annotations']?.[key] === undefined) continue;
    const by = typeof entry.manager === 'string' ? entry.manager : 'unknown';
    const time = entry.time === undefined ? undefined : new Date(entry.time);
    const at = time && !Number.isNaN(time.getTime()) ? time.toISOString() : undefined;
    return at ? { by, at } : { by };
  }
  return undefined;
}
