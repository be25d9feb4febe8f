// What the API server's audit log says the operator replicas did: every write with who made it (each replica
// has its own user) and when it arrived, every change of the leader Lease's holder, and every rollback patch.
// The fault suite judges "two replicas acted at once" and "rollbacks per release" from here, not from what
// the operator says about itself.

export interface AuditEvent {
  verb: string;
  user: string;
  resource: string;
  namespace: string;
  name: string;
  code: number;
  receivedAt: number;
  completedAt: number;
  requestObject: unknown;
}

interface RawAuditEvent {
  stage?: string;
  verb?: string;
  user?: { username?: string };
  objectRef?: { resource?: string; namespace?: string; name?: string; subresource?: string };
  responseStatus?: { code?: number };
  requestReceivedTimestamp?: string;
  stageTimestamp?: string;
  requestObject?: unknown;
}

const writes = new Set(['create', 'update', 'patch', 'delete', 'deletecollection']);

/** The completed write and list requests in an audit log (JSON lines); a torn last line is skipped. */
export function parseAudit(text: string): AuditEvent[] {
  const events: AuditEvent[] = [];
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue;
    let raw: RawAuditEvent;
    try {
      raw = JSON.parse(line) as RawAuditEvent;
    } catch {
      continue;
    }
    if (raw.stage !== 'ResponseComplete' || !raw.verb || !(writes.has(raw.verb) || raw.verb === 'list')) continue;
    const resource = raw.objectRef?.subresource
      ? `${raw.objectRef.resource ?? ''}/${raw.objectRef.subresource}`
      : (raw.objectRef?.resource ?? '');
    events.push({
      verb: raw.verb,
      user: raw.user?.username ?? '',
      resource,
      namespace: raw.objectRef?.namespace ?? '',
      name: raw.objectRef?.name ?? '',
      code: raw.responseStatus?.code ?? 0,
      receivedAt: Date.parse(raw.requestReceivedTimestamp ?? ''),
      completedAt: Date.parse(raw.stageTimestamp ?? ''),
      requestObject: raw.requestObject,
    });
  }
  return events;
}

function holderIn(requestObject: unknown): string | undefined {
  if (typeof requestObject !== 'object' || requestObject === null) return undefined;
  const spec = (requestObject as { spec?: { holderIdentity?: unknown } }).spec;
  return typeof spec?.holderIdentity === 'string' ? spec.holderIdentity : '';
}

export interface Overlap {
  user: string;
  holder: string;
  at: string;
  what: string;
}

/**
 * Writes a replica made while the Lease was not held by that replica (by the API server's clock): the
 * moments two replicas acted at once, or a standby acted. Holder identities start with the replica's user
 * name (POD_NAME); the Lease's own writes are how leadership moves and are not acts.
 */
export function overlaps(
  events: readonly AuditEvent[],
  replicaUsers: readonly string[],
  lease: { namespace: string; name: string },
  window: { from: number; to: number },
): Overlap[] {
  const changes = events
    .filter(
      (e) =>
        e.resource === 'leases' &&
        e.namespace === lease.namespace &&
        e.name === lease.name &&
        e.code >= 200 &&
        e.code < 300,
    )
    .map((e) => ({ at: e.completedAt, holder: holderIn(e.requestObject) ?? '' }))
    .sort((a, b) => a.at - b.at);
  const holderAt = (t: number) => {
    let holder = '';
    for (const c of changes) {
      if (c.at > t) break;
      holder = c.holder;
    }
    return holder;
  };
  return events
    .filter((e) => replicaUsers.includes(e.user) && writes.has(e.verb) && e.resource !== 'leases')
    .filter((e) => e.receivedAt >= window.from && e.receivedAt <= window.to)
    .flatMap((e) => {
      const holder = holderAt(e.receivedAt);
      return holder.startsWith(`${e.user}_`)
        ? []
        : [
            {
              user: e.user,
              holder,
              at: new Date(e.receivedAt).toISOString(),
              what: `${e.verb} ${e.resource} ${e.namespace}/${e.name}`,
            },
          ];
    });
}

/** Successful rollback patches (the template replaced, as `kubectl rollout undo` does), per namespace/name. */
export function rollbackPatches(
  events: readonly AuditEvent[],
  replicaUsers: readonly string[],
  window: { from: number; to: number },
): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of events) {
    if (!replicaUsers.includes(e.user) || e.resource !== 'deployments' || e.verb !== 'patch') continue;
    if (e.code < 200 || e.code >= 300 || e.receivedAt < window.from || e.receivedAt > window.to) continue;
    const ops = Array.isArray(e.requestObject) ? (e.requestObject as { op?: string; path?: string }[]) : [];
    if (!ops.some((op) => op.op === 'replace' && op.path === '/spec/template')) continue;
    const key = `${e.namespace}/${e.name}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

/** The audit policy: the Lease and Deployment writes with their bodies, every other write by its metadata. */
export const auditPolicy = `apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: ["RequestReceived"]
rules:
  - level: Request
    verbs: ["create", "update", "patch"]
    resources:
      - group: "coordination.k8s.io"
        resources: ["leases"]
      - group: "apps"
        resources: ["deployments"]
  - level: Metadata
    verbs: ["create", "update", "patch", "delete", "deletecollection"]
  - level: Metadata
    verbs: ["list"]
    users: ["replica-a", "replica-b"]
  - level: None
`;

/** List requests the replicas made in the window: after a 410 Gone an informer lists again. */
export function lists(
  events: readonly AuditEvent[],
  replicaUsers: readonly string[],
  window: { from: number; to: number },
): number {
  return events.filter(
    (e) =>
      e.verb === 'list' && replicaUsers.includes(e.user) && e.receivedAt >= window.from && e.receivedAt <= window.to,
  ).length;
}
