// Kubernetes shapes both resources share: timestamps, object names, Secret references and status conditions
// (metav1.Condition), written as zod schemas with the same rules the API server applies to built-in types.
import { z } from 'zod';

/** RFC 3339 timestamp as Kubernetes writes it (metav1.Time), e.g. 2025-01-31T12:00:00Z. */
export const dateTimeSchema = z.iso.datetime({ offset: true });

/** A DNS-1123 subdomain: what Kubernetes accepts as the name of most objects, Secrets and Deployments included. */
export const dnsSubdomainPattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
export const maxDnsSubdomainLength = 253;

export const objectNameSchema = z
  .string()
  .max(maxDnsSubdomainLength)
  .regex(dnsSubdomainPattern, { error: 'must be a Kubernetes object name: lower-case letters, digits, - and .' });

// The key of a Secret's data entry (what Kubernetes validates Secret keys with).
const secretKeySchema = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[-._a-zA-Z0-9]+$/, { error: 'must be a Secret key: letters, digits, -, _ and .' });

/** A key in a Secret in the policy's own namespace. */
export function secretKeyRefSchema(what: string) {
  return z
    .object({
      name: objectNameSchema.describe('Name of the Secret, in the same namespace as the policy.'),
      key: secretKeySchema.describe(`Key in the Secret whose value is ${what}.`),
    })
    .describe(`Where to read ${what}: a key in a Secret in the policy's namespace.`);
}

// metav1.Condition's validation, copied from the CRDs controller-gen generates, so conditions look the same as
// on every other resource and `kubectl wait --for=condition=...` works.
const conditionTypePattern =
  /^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*\/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$/;
const conditionReasonPattern = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/;

export const conditionStatuses = ['True', 'False', 'Unknown'] as const;

export const conditionSchema = z
  .object({
    type: z.string().max(316).regex(conditionTypePattern).describe('Kind of condition, in CamelCase, e.g. Ready.'),
    status: z.enum(conditionStatuses).describe('Whether the condition holds: True, False or Unknown.'),
    observedGeneration: z
      .int()
      .min(0)
      .optional()
      .describe('The .metadata.generation the condition was computed from; older than the current one means stale.'),
    lastTransitionTime: dateTimeSchema.describe('When status last changed.'),
    reason: z
      .string()
      .min(1)
      .max(1024)
      .regex(conditionReasonPattern)
      .describe('One CamelCase word saying why the condition is in its status, for tools to match on.'),
    message: z.string().max(32768).describe('The details, for people.'),
  })
  .describe('A standard Kubernetes status condition (metav1.Condition).');

export type Condition = z.output<typeof conditionSchema>;

export function conditionsSchema(description: string) {
  return z
    .array(conditionSchema)
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
    .describe(description);
}

/** One JSON Patch (RFC 6902) operation, as the API server accepts them on any resource. */
export type JsonPatchOp =
  { op: 'test' | 'replace' | 'add'; path: string; value: unknown } | { op: 'remove'; path: string };
