// Live signals read when a Deployment's template changes, not when its new ReplicaSet appears. Between the two
// the Deployment controller has to get round to it, which on a busy cluster (a release of many services at once)
// takes seconds; reading Prometheus in that gap takes the query off the path from the new revision to its
// annotations, and the reading is of the service just before the change, which is what the features mean.
// The reading is used once, by the assessment of the rollout it was taken for: same Deployment (uid), same
// serving ReplicaSet, same policy settings, and taken at most `maxAgeMs` before. Otherwise the assessment reads
// afresh, as it would without this.
import type { LiveSignals } from '../assess/assess.js';
import type { PolicySpec } from '../api/policy.js';
import type { LiveSignalSource } from './revision-assessor.js';

interface Prefetched {
  readonly uid: string;
  readonly servingHash: string;
  readonly settings: string;
  readonly at: number;
  readonly reading: Promise<LiveSignals>;
}

/** What the reading depends on in the policy: its Prometheus and its two queries. */
function settingsOf(policy: PolicySpec): string {
  return JSON.stringify([
    policy.prometheus,
    policy.metrics.rateWindow,
    policy.metrics.errorRate.query,
    policy.metrics.latency.query,
  ]);
}

/** Readings kept at most; far more than rollouts waiting for their ReplicaSet at any one time. */
const maxEntries = 10_000;

export class PrefetchingLiveSignals implements LiveSignalSource {
  private readonly prefetched = new Map<string, Prefetched>();

  private readonly now: () => number;
  private readonly maxAgeMs: number;
  private readonly onReading: (prefetched: boolean) => void;

  constructor(
    private readonly inner: LiveSignalSource,
    options: {
      now?: () => number;
      /** How old a reading may be when its rollout's assessment takes it (default 30 s). */
      maxAgeMs?: number;
      /** Told, for each assessment's reading, whether it was the prefetched one (for the metrics). */
      onReading?: (prefetched: boolean) => void;
    } = {},
  ) {
    this.now = options.now ?? (() => performance.now());
    this.maxAgeMs = options.maxAgeMs ?? 30_000;
    this.onReading = options.onReading ?? (() => undefined);
  }

  /** Starts reading the service's signals for a rollout about to start, unless that reading is under way. */
  prefetch(policy: PolicySpec, namespace: string, deployment: string, uid: string, servingHash: string): void {
    const key = keyOf(namespace, deployment);
    const settings = settingsOf(policy);
    const at = this.now();
    const found = this.prefetched.get(key);
    if (found && this.matches(found, uid, servingHash, settings, at)) return;
    // Readings whose rollout never came (the policy stopped covering it, another replica assessed it) go
    // once stale; a full map takes no more rather than evict one that may still be used.
    if (this.prefetched.size >= 1000) this.dropStale(at);
    if (this.prefetched.size >= maxEntries) return;
    this.prefetched.set(key, {
      uid,
      servingHash,
      settings,
      at,
      // Nobody may await it (its rollout may never come): a rejection must not go unhandled.
      reading: this.inner
        .sample(policy, namespace, deployment, [servingHash])
        .catch((err: unknown): LiveSignals => ({ unavailable: err instanceof Error ? err.message : String(err) })),
    });
  }

  sample(
    policy: PolicySpec,
    namespace: string,
    deployment: string,
    podTemplateHashes: readonly string[],
    uid?: string,
  ): Promise<LiveSignals> {
    const key = keyOf(namespace, deployment);
    const found = this.prefetched.get(key);
    if (found !== undefined) {
      // Used or not, it was for this rollout or an older one: never for a later one.
      this.prefetched.delete(key);
      const [serving] = podTemplateHashes;
      if (
        uid !== undefined &&
        serving !== undefined &&
        this.matches(found, uid, serving, settingsOf(policy), this.now())
      ) {
        this.onReading(true);
        return found.reading;
      }
    }
    this.onReading(false);
    return this.inner.sample(policy, namespace, deployment, podTemplateHashes);
  }

  /** Readings waiting for their rollout (for the tests). */
  get waiting(): number {
    return this.prefetched.size;
  }

  private matches(found: Prefetched, uid: string, servingHash: string, settings: string, at: number): boolean {
    return (
      found.uid === uid &&
      found.servingHash === servingHash &&
      found.settings === settings &&
      at - found.at <= this.maxAgeMs
    );
  }

  private dropStale(at: number): void {
    for (const [key, found] of this.prefetched) if (at - found.at > this.maxAgeMs) this.prefetched.delete(key);
  }
}

const keyOf = (namespace: string, deployment: string) => `${namespace}/${deployment}`;
