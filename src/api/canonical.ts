// Comparing Kubernetes objects by content.

// The default locale's collation, made once: `localeCompare` without arguments compares the same way, but
// builds its comparison anew on every call. The order must not change: template digests that records keep
// are computed over this serialisation.
const collator = new Intl.Collator();

/**
 * JSON with sorted keys, so two equal objects compare equal however their keys were ordered: objects from
 * a list pass through client-node's serializer (its field order), objects from a watch are the API server's
 * JSON (its order).
 */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => collator.compare(a, b)))
      : v,
  );
}
