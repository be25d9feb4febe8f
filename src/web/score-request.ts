// What `POST /v1/score` accepts, checked with zod before anything is scored, and the Deployment manifest each
// form of request is scored as. Two forms:
//   { "deployment": <Deployment manifest>, "namespace"?: "…" }
//   { "changeDescription": { "rollguard.io/lines-added": "1200", … }, "namespace"?: "…", "deployment"?: "<name>" }
// A change description alone is scored as the running Deployment's template (when one is named and running)
// carrying those annotations instead of its own; otherwise as a template with only those annotations. Pure.
import type { V1Deployment } from '@kubernetes/client-node';
import { z } from 'zod';
import { annotationPrefix } from '../assess/change-description.js';
import { fieldPath, formatFieldErrors, plainErrorMap, type FieldError, type ParseResult } from '../api/issues.js';
import { objectNameSchema } from '../api/meta.js';

/** A namespace name: a DNS-1123 label. */
export const namespaceSchema = z
  .string()
  .max(63)
  .regex(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/, { error: 'must be a namespace name: lower-case letters, digits and -' })
  .describe('Namespace whose policies, running Deployment and history the assessment uses (default: default).');

const stringMapSchema = z.record(z.string().max(317), z.string().max(262_144));

const envVarSchema = z.looseObject({
  name: z.string().min(1).max(1024),
  value: z.string().optional(),
  valueFrom: z.looseObject({}).optional(),
});

// The container fields the checks and the template diff read are held to their Kubernetes types; the rest is
// passed through as it is (scoring ignores it).
const containerSchema = z.looseObject({
  name: z.string().min(1).max(63),
  image: z.string().max(4096).optional(),
  env: z.array(envVarSchema).max(1000).optional(),
  envFrom: z.array(z.looseObject({})).optional(),
  resources: z.looseObject({}).optional(),
  readinessProbe: z.looseObject({}).optional(),
  livenessProbe: z.looseObject({}).optional(),
  startupProbe: z.looseObject({}).optional(),
  securityContext: z.looseObject({}).optional(),
  volumeMounts: z.array(z.looseObject({})).optional(),
});

const objectMetaSchema = z.looseObject({
  name: objectNameSchema.optional(),
  namespace: namespaceSchema.optional(),
  labels: stringMapSchema.optional(),
  annotations: stringMapSchema.optional(),
});

export const deploymentManifestSchema = z
  .looseObject({
    apiVersion: z.literal('apps/v1').optional(),
    kind: z.literal('Deployment').optional(),
    metadata: objectMetaSchema.optional(),
    spec: z.looseObject({
      replicas: z.int().min(0).max(2147483647).optional(),
      template: z.looseObject({
        metadata: objectMetaSchema.optional(),
        spec: z.looseObject({
          containers: z.array(containerSchema).min(1).max(100),
          initContainers: z.array(containerSchema).max(100).optional(),
          volumes: z.array(z.looseObject({})).optional(),
        }),
      }),
    }),
  })
  .describe(
    'A Deployment manifest (apps/v1), as `kubectl apply` would take it. Its metadata.name names the running Deployment to compare with and whose history counts.',
  );

/** The name part of a change-description annotation, e.g. lines-added. */
const annotationNamePattern = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;

const changeDescriptionSchema = z
  .record(
    z
      .string()
      .max(annotationPrefix.length + 63)
      .refine(
        (key) =>
          annotationNamePattern.test(key.startsWith(annotationPrefix) ? key.slice(annotationPrefix.length) : key),
        { error: 'must be a change-description annotation such as rollguard.io/lines-added' },
      ),
    z.union([z.string().max(1024), z.number(), z.boolean()]),
  )
  .refine((map) => Object.keys(map).length >= 1, { error: 'must name at least one annotation' })
  .refine((map) => Object.keys(map).length <= 64, { error: 'must have at most 64 annotations' })
  .describe(
    'The change-description annotations CI would put on the pod template, e.g. {"rollguard.io/lines-added": "1200", "rollguard.io/change-type": "feature"}. The rollguard.io/ prefix may be left out. Numbers and booleans are taken as their text.',
  );

export const manifestRequestSchema = z
  .strictObject({
    deployment: deploymentManifestSchema,
    namespace: namespaceSchema.optional(),
  })
  .describe('Score a Deployment manifest before it is applied.');

export const changeRequestSchema = z
  .strictObject({
    changeDescription: changeDescriptionSchema,
    namespace: namespaceSchema.optional(),
    deployment: objectNameSchema
      .optional()
      .describe(
        'Name of the running Deployment the change is for: its pod template, policy and history are used. Without it, the change description is scored alone.',
      ),
  })
  .describe('Score a change described by its change-description annotations, for the running Deployment if named.');

/** Both forms, for the OpenAPI document. */
export const scoreRequestSchema = z.union([manifestRequestSchema, changeRequestSchema]);

export type ScoreRequest =
  | { kind: 'manifest'; namespace: string; manifest: V1Deployment }
  | { kind: 'change'; namespace: string; deployment?: string; annotations: Record<string, string> };

export type RequestCheck = { ok: true; value: ScoreRequest } | { ok: false; message: string; problems: FieldError[] };

/** zod's words where they are plain, and ours for the one issue they are not: a field nobody asked for. */
const requestErrorMap: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'unrecognized_keys') {
    return `has ${issue.keys.length === 1 ? 'a field' : 'fields'} the score API does not know: ${issue.keys.join(', ')}`;
  }
  // A bad key of a map: say what is wrong with the key (zod's own words are only "Invalid key in record").
  if (issue.code === 'invalid_key') return issue.issues.map((i) => i.message).join('; ') || 'is not an allowed key';
  return plainErrorMap(issue);
};

function parseBody<S extends z.ZodType>(schema: S, raw: unknown): ParseResult<z.output<S>> {
  const result = schema.safeParse(raw, { error: requestErrorMap });
  if (result.success) return { ok: true, value: result.data };
  return {
    ok: false,
    errors: result.error.issues.map((issue) => ({
      path: fieldPath('', issue.path) || 'the body',
      message: issue.message,
    })),
  };
}

function invalid(problems: FieldError[]): RequestCheck {
  return { ok: false, message: `The request is not valid: ${formatFieldErrors(problems)}.`, problems };
}

/** Checks a parsed JSON body; on failure, a sentence and each problem with its field path. */
export function parseScoreRequest(raw: unknown): RequestCheck {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return {
      ok: false,
      message:
        'The request body must be a JSON object: {"deployment": {…manifest…}} or {"changeDescription": {…}, "namespace": "…"}.',
      problems: [],
    };
  }
  if ('changeDescription' in raw) {
    const parsed = parseBody(changeRequestSchema, raw);
    if (!parsed.ok) return invalid(parsed.errors);
    const annotations: Record<string, string> = {};
    for (const [key, value] of Object.entries(parsed.value.changeDescription)) {
      annotations[key.startsWith(annotationPrefix) ? key : annotationPrefix + key] = String(value);
    }
    return {
      ok: true,
      value: {
        kind: 'change',
        namespace: parsed.value.namespace ?? 'default',
        ...(parsed.value.deployment !== undefined ? { deployment: parsed.value.deployment } : {}),
        annotations,
      },
    };
  }
  if (!('deployment' in raw)) {
    return {
      ok: false,
      message:
        'The request names nothing to score: send {"deployment": {…manifest…}} or {"changeDescription": {…}, "namespace": "…"}.',
      problems: [],
    };
  }
  if (typeof raw.deployment === 'string') {
    return invalid([
      {
        path: 'deployment',
        message: 'names a Deployment but there is no changeDescription; send a manifest, or a changeDescription too',
      },
    ]);
  }
  const parsed = parseBody(manifestRequestSchema, raw);
  if (!parsed.ok) return invalid(parsed.errors);
  // Checked above in the fields scoring reads; the rest is the manifest as sent.
  const manifest = parsed.value.deployment as unknown as V1Deployment;
  const fromManifest = manifest.metadata?.namespace;
  if (fromManifest !== undefined && parsed.value.namespace !== undefined && fromManifest !== parsed.value.namespace) {
    return invalid([
      {
        path: 'namespace',
        message: `is ${parsed.value.namespace} but the manifest says ${fromManifest}; leave one out or make them agree`,
      },
    ]);
  }
  return {
    ok: true,
    value: {
      kind: 'manifest',
      namespace: fromManifest ?? parsed.value.namespace ?? 'default',
      // As the API server needs it for a dry run: apiVersion and kind may be left out of the request.
      manifest: { ...manifest, apiVersion: 'apps/v1', kind: 'Deployment' },
    },
  };
}

const withoutDescription = (annotations: Record<string, string> | undefined): Record<string, string> =>
  Object.fromEntries(Object.entries(annotations ?? {}).filter(([key]) => !key.startsWith(annotationPrefix)));

/**
 * The manifest a change description is scored as: the running Deployment with the description in place of the
 * one its template (and the Deployment) carried for the last release, or a bare template carrying only it.
 */
export function manifestForChange(
  request: Extract<ScoreRequest, { kind: 'change' }>,
  running: V1Deployment | undefined,
): V1Deployment {
  if (running?.spec?.template) {
    const copy = structuredClone(running);
    delete copy.status;
    const template = copy.spec?.template;
    if (template) {
      template.metadata = {
        ...template.metadata,
        annotations: { ...withoutDescription(template.metadata?.annotations), ...request.annotations },
      };
    }
    copy.metadata = {
      ...copy.metadata,
      namespace: request.namespace,
      annotations: withoutDescription(copy.metadata?.annotations),
    };
    return copy;
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: {
      namespace: request.namespace,
      ...(request.deployment !== undefined ? { name: request.deployment } : {}),
    },
    spec: {
      selector: {},
      template: { metadata: { annotations: { ...request.annotations } }, spec: { containers: [] } },
    },
  };
}
