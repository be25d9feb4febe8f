// What `rollguard score` accepts as a manifest, checked before anything is scored, so that bad input gets one
// line naming the file, the Deployment and the field (`spec.template.spec.containers[0].env[2].value: must be
// text, not 12345678`) instead of a JavaScript error from deep inside the scoring. Also tells apart the
// things people feed it by mistake: a Helm template, a Kustomize or JSON patch, kinds rollguard does not guard.
// Pure: text and objects in, objects or a UsageError out.
import type { V1Deployment } from '@kubernetes/client-node';
import { z } from 'zod';
import { parseFields } from '../api/issues.js';
import { UsageError } from './output.js';

const map = z.record(z.string(), z.string()).nullish();
const metadata = z.looseObject({
  name: z.string().min(1).nullish(),
  namespace: z.string().nullish(),
  labels: map,
  annotations: map,
});
const object = z.looseObject({});
const quantities = z.record(z.string(), z.union([z.string(), z.number()])).nullish();

const container = z.looseObject({
  name: z.string().min(1),
  image: z.string().nullish(),
  command: z.array(z.string()).nullish(),
  args: z.array(z.string()).nullish(),
  env: z
    .array(z.looseObject({ name: z.string().min(1), value: z.string().nullish(), valueFrom: object.nullish() }))
    .nullish(),
  envFrom: z.array(object).nullish(),
  ports: z.array(object).nullish(),
  volumeMounts: z.array(object).nullish(),
  resources: z.looseObject({ limits: quantities, requests: quantities }).nullish(),
  readinessProbe: object.nullish(),
  livenessProbe: object.nullish(),
  startupProbe: object.nullish(),
  securityContext: z.looseObject({ privileged: z.boolean().nullish() }).nullish(),
});

const deploymentSchema = z.looseObject({
  metadata: metadata.nullish(),
  spec: z.looseObject({
    replicas: z.int().min(0).nullish(),
    selector: object,
    template: z.looseObject({
      metadata: metadata.nullish(),
      spec: z.looseObject({
        containers: z
          .array(container, { error: 'must list the containers' })
          .min(1, 'must list at least one container'),
        initContainers: z.array(container).nullish(),
        ephemeralContainers: z.array(container).nullish(),
        volumes: z.array(object).nullish(),
      }),
    }),
  }),
});

/** Kinds that run pods but that rollguard does not guard: said, not silently dropped. */
const workloadKinds = new Set([
  'StatefulSet',
  'DaemonSet',
  'ReplicaSet',
  'ReplicationController',
  'Job',
  'CronJob',
  'Pod',
  'Rollout',
  'DeploymentConfig',
]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

export function describeObject(object: Record<string, unknown>): string {
  const kind = typeof object.kind === 'string' ? object.kind : '(no kind)';
  const meta = isRecord(object.metadata) ? object.metadata : {};
  return typeof meta.name === 'string' ? `${kind} ${meta.name}` : kind;
}

/** Go-template actions Helm charts are made of; a manifest's own values rarely hold these. */
const helmAction =
  /\{\{-?\s*(?:\.Values|\.Release|\.Chart|\.Capabilities|include|template|if|else|end|range|with|define|toYaml|tpl)\b/;

/** A UsageError for a Helm template, when the text is one. */
export function helmTemplateError(text: string, file: string): UsageError | undefined {
  if (!helmAction.test(text)) return undefined;
  return new UsageError(
    `${file} is a Helm template ({{ … }} actions), not a manifest: render it first, e.g. helm template RELEASE CHART | rollguard score -f -`,
  );
}

/** A UsageError for an RFC 6902 JSON patch (a list of {op, path} operations), when a document is one. */
export function jsonPatchError(document: unknown, file: string): UsageError | undefined {
  if (!Array.isArray(document) || document.length === 0) return undefined;
  if (!document.every((op) => isRecord(op) && typeof op.op === 'string' && typeof op.path === 'string'))
    return undefined;
  return new UsageError(
    `${file} is a JSON patch (a list of op/path operations), not a Deployment: score what it produces, e.g. kustomize build DIR | rollguard score -f -`,
  );
}

/**
 * True when a Deployment is a strategic-merge patch (Kustomize `patches:`), not a whole object: it carries
 * `$patch` directives, or it has no selector and a container without an image (kubectl would refuse both).
 */
export function looksLikePatch(object: Record<string, unknown>): boolean {
  if (JSON.stringify(object).includes('"$patch"')) return true;
  const spec = isRecord(object.spec) ? object.spec : undefined;
  if (!spec || spec.selector !== undefined) return false;
  const template = isRecord(spec.template) ? spec.template : undefined;
  const podSpec = template && isRecord(template.spec) ? template.spec : undefined;
  const containers = podSpec?.containers;
  if (!Array.isArray(containers)) return true;
  return containers.some((c) => !isRecord(c) || typeof c.image !== 'string');
}

/** The workload objects that are not apps/v1 Deployments, in words: what was skipped. */
export function skippedWorkloads(objects: readonly Record<string, unknown>[]): string[] {
  return objects.flatMap((o) => {
    if (typeof o.kind !== 'string') return [];
    if (o.kind === 'Deployment' && typeof o.apiVersion === 'string' && !o.apiVersion.startsWith('apps/')) {
      return [`${describeObject(o)} (${o.apiVersion} is no longer served; use apps/v1)`];
    }
    return workloadKinds.has(o.kind) ? [describeObject(o)] : [];
  });
}

/**
 * The apps/v1 Deployments among the objects, each checked field by field. The first problem is a UsageError
 * of one line: file, Deployment, field path and what is wrong. No Deployment at all names what the file holds.
 */
export function deploymentsIn(objects: readonly Record<string, unknown>[], file: string): V1Deployment[] {
  const deployments = objects.filter(
    (o) => o.kind === 'Deployment' && typeof o.apiVersion === 'string' && o.apiVersion.startsWith('apps/'),
  );
  if (deployments.length === 0) {
    const found = objects.length === 0 ? 'nothing' : objects.map(describeObject).join(', ');
    throw new UsageError(`${file} holds no apps/v1 Deployment (found ${found})`);
  }
  for (const d of deployments) {
    if (looksLikePatch(d)) {
      throw new UsageError(
        `${file}: ${describeObject(d)} is a patch (no spec.selector, containers without an image${JSON.stringify(d).includes('"$patch"') ? ', $patch directives' : ''}), not a whole Deployment: score the result, e.g. kustomize build DIR | rollguard score -f -`,
      );
    }
    const parsed = parseFields(deploymentSchema, d, '');
    if (!parsed.ok) {
      const [first, ...rest] = parsed.errors;
      const more = rest.length > 0 ? ` (and ${rest.length} more problem${rest.length === 1 ? '' : 's'})` : '';
      throw new UsageError(
        `${file}: ${describeObject(d)}: ${first?.path ?? ''}: ${first?.message ?? 'is invalid'}${more}`,
      );
    }
  }
  return deployments;
}
