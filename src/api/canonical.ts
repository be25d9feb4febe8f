// Comparing Kubernetes objects by content.

/**
 * JSON with sorted keys, so two equal objects compare equal however their keys were ordered: objects from
 * a list pass through client-node's serializer (its field order), objects from a watch are the API server's
 * JSON (its order).
 */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => a.localeCompare(b)))
      : v,
  );
}
