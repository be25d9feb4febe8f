// Whether an authenticated caller may score rollouts in a namespace: only if it may read the Deployments
// there (`get` on deployments.apps), asked with a SubjectAccessReview (authorization.k8s.io/v1). An assessment
// tells what runs (images in its template changes), which policy covers it and how past rollouts went, so it
// is for those who could read that anyway — not for every ServiceAccount token in the cluster. Decisions are
// remembered briefly per user and namespace.
import { createHash } from 'node:crypto';
import { AuthorizationV1Api, type KubeConfig } from '@kubernetes/client-node';
import { apiMessage } from '../kube/errors.js';
import type { Caller } from './auth.js';

export interface AccessDecision {
  allowed: boolean;
  /** The authorizer's reason, when it gave one. */
  reason?: string | undefined;
}

/** Asks the cluster whether `caller` may read Deployments in `namespace`; throws when it cannot be asked. */
export type AccessReviewer = (caller: Caller, namespace: string) => Promise<AccessDecision>;

export type AuthzResult = { ok: true } | { ok: false; status: 403 | 503; message: string };

export interface AuthorizerOptions {
  /** How long an allowed decision holds (default 60 s). */
  allowedTtlMs?: number;
  /** How long a denied decision holds (default 5 s), so a new RoleBinding takes effect soon. */
  deniedTtlMs?: number;
  maxEntries?: number;
  clock?: () => number;
}

export class NamespaceAuthorizer {
  private readonly remembered = new Map<string, { result: AuthzResult; expiresMs: number }>();
  private readonly allowedTtlMs: number;
  private readonly deniedTtlMs: number;
  private readonly maxEntries: number;
  private readonly clock: () => number;

  constructor(
    private readonly review: AccessReviewer,
    options: AuthorizerOptions = {},
  ) {
    this.allowedTtlMs = options.allowedTtlMs ?? 60_000;
    this.deniedTtlMs = options.deniedTtlMs ?? 5_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.clock = options.clock ?? (() => Date.now());
  }

  async authorize(caller: Caller, namespace: string): Promise<AuthzResult> {
    const key = createHash('sha256')
      .update(JSON.stringify([caller.username, caller.uid ?? '', [...caller.groups].sort(), namespace]))
      .digest('hex');
    const known = this.remembered.get(key);
    if (known && known.expiresMs > this.clock()) return known.result;
    let decision: AccessDecision;
    try {
      decision = await this.review(caller, namespace);
    } catch (err) {
      return {
        ok: false,
        status: 503,
        message: `rollguard could not ask the Kubernetes API whether ${caller.username} may read Deployments in namespace ${namespace} (${apiMessage(err)}); try again shortly.`,
      };
    }
    const result: AuthzResult = decision.allowed
      ? { ok: true }
      : {
          ok: false,
          status: 403,
          message: `${caller.username} may not read Deployments in namespace ${namespace}, so it may not score rollouts there; it needs get on deployments.apps in that namespace (for example the view ClusterRole in a RoleBinding).`,
        };
    if (this.remembered.size >= this.maxEntries) {
      const now = this.clock();
      for (const [k, v] of this.remembered) if (v.expiresMs <= now) this.remembered.delete(k);
      for (const k of this.remembered.keys()) {
        if (this.remembered.size < this.maxEntries) break;
        this.remembered.delete(k);
      }
    }
    this.remembered.set(key, {
      result,
      expiresMs: this.clock() + (decision.allowed ? this.allowedTtlMs : this.deniedTtlMs),
    });
    return result;
  }
}

/** An AccessReviewer that asks the API server of `kubeConfig` (the controller needs create on subjectaccessreviews). */
export function kubeAccessReviewer(kubeConfig: KubeConfig): AccessReviewer {
  const api = kubeConfig.makeApiClient(AuthorizationV1Api);
  return async (caller, namespace) => {
    const review = await api.createSubjectAccessReview({
      body: {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: caller.username,
          groups: caller.groups,
          ...(caller.uid !== undefined ? { uid: caller.uid } : {}),
          ...(caller.extra !== undefined ? { extra: caller.extra } : {}),
          resourceAttributes: { namespace, verb: 'get', group: 'apps', resource: 'deployments' },
        },
      },
    });
    return { allowed: review.status?.allowed === true, reason: review.status?.reason };
  };
}
