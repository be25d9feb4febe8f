// What changed between the previous and the new pod template: images, environment, configuration sources,
// resources, probes and replicas. Each count is a feature; each change also gets a line a person can read.
import type { V1Container, V1PodTemplateSpec } from '@kubernetes/client-node';
import { canonical } from '../api/canonical.js';

export interface TemplateDiff {
  images_changed: number;
  env_changed: number;
  config_changed: number;
  resources_changed: number;
  probes_changed: number;
  replicas_changed: number;
  /** Human-readable changes, e.g. "image of container web: shop:1.4.0 → shop:1.5.0". */
  changes: string[];
}

// Key order must not matter: see canonical().
const same = (a: unknown, b: unknown) => canonical(a ?? null) === canonical(b ?? null);

function byName<T extends { name: string }>(items: readonly T[] | undefined): Map<string, T> {
  return new Map((items ?? []).map((item) => [item.name, item]));
}

function containersOf(template: V1PodTemplateSpec | undefined): V1Container[] {
  return [...(template?.spec?.initContainers ?? []), ...(template?.spec?.containers ?? [])];
}

/** Environment of a container as name → literal value or a description of where it comes from. */
function envOf(container: V1Container | undefined): Map<string, string> {
  return new Map(
    (container?.env ?? []).map((e) => [e.name, e.value ?? (e.valueFrom ? JSON.stringify(e.valueFrom) : '')]),
  );
}

export function diffTemplates(
  previous: V1PodTemplateSpec | undefined,
  next: V1PodTemplateSpec,
  replicas?: { previous?: number | undefined; next?: number | undefined },
): TemplateDiff {
  const diff: TemplateDiff = {
    images_changed: 0,
    env_changed: 0,
    config_changed: 0,
    resources_changed: 0,
    probes_changed: 0,
    replicas_changed: 0,
    changes: [],
  };
  if (!previous) return diff;

  const before = byName(containersOf(previous));
  const after = byName(containersOf(next));
  for (const [name, container] of after) {
    const old = before.get(name);
    if (!old) {
      diff.images_changed += 1;
      diff.changes.push(`container ${name} added (image ${container.image ?? 'none'})`);
      continue;
    }
    if (old.image !== container.image) {
      diff.images_changed += 1;
      diff.changes.push(`image of container ${name}: ${old.image ?? 'none'} → ${container.image ?? 'none'}`);
    }
    const oldEnv = envOf(old);
    const newEnv = envOf(container);
    const changedEnv = new Set<string>();
    for (const [key, value] of newEnv) if (oldEnv.get(key) !== value) changedEnv.add(key);
    for (const key of oldEnv.keys()) if (!newEnv.has(key)) changedEnv.add(key);
    if (changedEnv.size > 0) {
      diff.env_changed += changedEnv.size;
      diff.changes.push(`environment of container ${name}: ${[...changedEnv].sort().join(', ')} changed`);
    }
    if (!same(old.envFrom, container.envFrom) || !same(old.volumeMounts, container.volumeMounts)) {
      diff.config_changed = 1;
      diff.changes.push(`configuration sources of container ${name} changed`);
    }
    if (!same(old.resources, container.resources)) {
      diff.resources_changed = 1;
      diff.changes.push(`resources of container ${name} changed`);
    }
    if (
      !same(old.readinessProbe, container.readinessProbe) ||
      !same(old.livenessProbe, container.livenessProbe) ||
      !same(old.startupProbe, container.startupProbe)
    ) {
      diff.probes_changed = 1;
      diff.changes.push(`probes of container ${name} changed`);
    }
  }
  for (const name of before.keys()) {
    if (!after.has(name)) {
      diff.images_changed += 1;
      diff.changes.push(`container ${name} removed`);
    }
  }
  if (!same(previous.spec?.volumes, next.spec?.volumes)) {
    diff.config_changed = 1;
    diff.changes.push('volumes changed');
  }
  if (replicas?.previous !== undefined && replicas.next !== undefined && replicas.previous !== replicas.next) {
    diff.replicas_changed = 1;
    diff.changes.push(`replicas: ${replicas.previous} → ${replicas.next}`);
  }
  return diff;
}
