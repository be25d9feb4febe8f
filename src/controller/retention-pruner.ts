// Deletes the RolloutAssessments past the retention rule (retention.ts, pure) every ten minutes, on the
// leader only. A failed pass is logged and tried again at the next one.
import type { Caches } from '../api/objects.js';
import { inBackgroundLane } from '../kube/api-client.js';
import type { ClusterWriter } from '../kube/writer.js';
import type { Logger } from '../telemetry/logger.js';
import { assessmentsToPrune, type RetentionRule } from './retention.js';

export const defaultRetention: RetentionRule = { maxAgeMs: 90 * 24 * 3_600_000, keepPerDeployment: 100 };
const pruneEveryMs = 10 * 60_000;

export interface RetentionPrunerDeps {
  caches: Pick<Caches, 'assessments'>;
  writer: Pick<ClusterWriter, 'deleteAssessment'>;
  logger: Logger;
  clock: () => Date;
  rule?: RetentionRule | undefined;
  /** Sharding (src/shard): whether this replica acts on a namespace now; default: on every namespace. */
  owns?: ((namespace: string) => boolean) | undefined;
}

export class RetentionPruner {
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly deps: RetentionPrunerDeps) {}

  /** Prunes now and then every ten minutes until stop(). */
  start(): void {
    if (this.timer) return;
    const prune = () => {
      // Housekeeping: its deletions wait behind rollouts' requests at the API rate limit.
      void inBackgroundLane(() => this.prune()).catch((err: unknown) => {
        this.deps.logger.warn({ err }, 'pruning old RolloutAssessments failed; trying again later');
      });
    };
    prune();
    this.timer = setInterval(prune, pruneEveryMs).unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Deletes assessments past the retention rule; returns how many. */
  async prune(): Promise<number> {
    const owns = this.deps.owns;
    const doomed = assessmentsToPrune(
      this.deps.caches.assessments(),
      this.deps.clock(),
      this.deps.rule ?? defaultRetention,
    ).filter((a) => owns === undefined || owns(a.namespace));
    for (const { namespace, name } of doomed) await this.deps.writer.deleteAssessment(namespace, name);
    if (doomed.length > 0) this.deps.logger.info({ pruned: doomed.length }, 'pruned old RolloutAssessments');
    return doomed.length;
  }
}
