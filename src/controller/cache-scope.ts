// Which ReplicaSets are worth caching. A ReplicaSet is only read for a Deployment a policy may cover, and a
// policy only covers Deployments in its own namespace, so the cache keeps the ReplicaSets of namespaces that
// have at least one DeploymentRiskPolicy and leaves the rest out (in a cluster where a fifth of the namespaces
// have a policy, four fifths of the ReplicaSet history never enter memory). When a namespace gets its first
// policy, the ReplicaSets left out there were never cached and no event will bring them: the ReplicaSet
// cache is listed again (once, however many policies arrive together).
import type { V1ReplicaSet } from '@kubernetes/client-node';
import { slimReplicaSet } from '../kube/informer-transform.js';
import type { Logger } from '../telemetry/logger.js';

export class ReplicaSetScope {
  /** Namespaces with at least one policy, as the policy cache showed them last. */
  private readonly covered = new Set<string>();
  private pending: NodeJS.Timeout | undefined;
  private relisting: Promise<void> = Promise.resolve();

  constructor(
    private readonly deps: {
      /** The policies cached in a namespace now. */
      policiesIn: (namespace: string) => readonly unknown[];
      /** Lists the ReplicaSets again (ResilientInformer.relist). */
      relist: () => Promise<void>;
      logger: Logger;
      /** How long to gather new namespaces before listing again (default 1 s). */
      debounceMs?: number;
    },
  ) {}

  /** The ReplicaSet informer's transform: slim, and only in namespaces with a policy. */
  readonly transform = (rs: V1ReplicaSet): V1ReplicaSet | undefined =>
    this.covered.has(rs.metadata?.namespace ?? '') ? slimReplicaSet(rs) : undefined;

  /** Told about every policy event (and, at start, every cached policy). */
  policyChanged(namespace: string | undefined, replicaSetsSynced: boolean): void {
    if (!namespace) return;
    const has = this.deps.policiesIn(namespace).length > 0;
    if (has === this.covered.has(namespace)) return;
    if (!has) {
      // Cached ReplicaSets there stay until their next event or the next list: harmless, and a policy that is
      // deleted and re-created at once costs no list.
      this.covered.delete(namespace);
      return;
    }
    this.covered.add(namespace);
    if (replicaSetsSynced) this.scheduleRelist(namespace);
  }

  private scheduleRelist(namespace: string): void {
    if (this.pending) return;
    this.deps.logger.info({ namespace }, 'a namespace got its first policy; listing ReplicaSets again');
    this.pending = setTimeout(() => {
      this.pending = undefined;
      this.relisting = this.relisting
        .then(() => this.deps.relist())
        .catch((err: unknown) => {
          this.deps.logger.warn({ err }, 'listing ReplicaSets again failed; trying again');
          this.scheduleRelist(namespace);
        });
    }, this.deps.debounceMs ?? 1000);
    this.pending.unref();
  }

  stop(): void {
    if (this.pending) clearTimeout(this.pending);
  }
}
