// Coalescing: readings asked for together share one query. When a release starts many rollouts in one
// namespace at once, each assessment wants the same two live signals for its own Deployment; without this each
// sends its own queries, 2 per rollout, at the moment Prometheus and the operator are busiest. Here the first
// asker's query goes out on the next turn of the event loop with every Deployment that asked meanwhile, and
// while it is in flight later askers gather into the next one: at most one query per template and scope is in
// flight, and none waits longer than its own deadline (see `read`).
import { buildBatchQuery, readBatch, type BatchReading, type VerificationTarget } from './batch.js';
import type { MetricsProvider, QueryPurpose } from './types.js';

export interface CoalescedRead {
  readonly provider: Pick<MetricsProvider, 'instant'>;
  readonly template: string;
  readonly namespace: string;
  /** The policy's `metrics.rateWindow`. */
  readonly window: string;
  readonly target: VerificationTarget;
  /** Longest this reader waits, counted from the call, including any wait for an earlier query. */
  readonly budgetMs: number;
  /** Part of what makes readers alike: only readers for one purpose share a query. */
  readonly purpose: QueryPurpose;
}

interface Batch {
  readonly purpose: QueryPurpose;
  readonly template: string;
  readonly namespace: string;
  readonly window: string;
  /** Deployment → the hashes asked for it (union over its askers). */
  readonly targets: Map<string, Set<string>>;
  /** The earliest deadline of the askers (performance.now() ms): the query is cut off then. */
  deadline: number;
  readonly answer: Promise<BatchReading>;
  readonly settle: (reading: BatchReading) => void;
}

interface KeyState {
  /** The query out now, if any; the gathering batch goes when it settles. */
  inFlight?: Promise<unknown> | undefined;
  /** Askers who came after the query in flight went out. */
  gathering?: Batch | undefined;
}

export class ReadCoalescer {
  /** Per provider (a client, kept while it is), per template and scope. */
  private readonly states = new WeakMap<object, Map<string, KeyState>>();
  /**
   * The batched answer that covers this reader's Deployment and hashes; split it with readingFor. Never rejects
   * (the provider never throws). The query is cut off at the earliest deadline of the readers it serves, so every
   * reader has its answer, or a timeout, within its own budget.
   */
  read(request: CoalescedRead): Promise<BatchReading> {
    const deadline = performance.now() + request.budgetMs;
    let byKey = this.states.get(request.provider);
    if (byKey === undefined) {
      byKey = new Map();
      this.states.set(request.provider, byKey);
    }
    // Askers without hashes must not share a query restricted to others' hashes (`{{hashRegex}}`).
    const key = JSON.stringify([
      request.purpose,
      request.namespace,
      request.window,
      request.template,
      request.target.podTemplateHashes.length > 0,
    ]);
    let state = byKey.get(key);
    if (state === undefined) {
      state = {};
      byKey.set(key, state);
    }
    let batch = state.gathering;
    if (batch === undefined) {
      batch = newBatch(request, deadline);
      state.gathering = batch;
      const go = this.sender(request.provider, byKey, key, state, batch);
      if (state.inFlight === undefined) setImmediate(go);
      else void state.inFlight.then(go);
    }
    batch.deadline = Math.min(batch.deadline, deadline);
    const hashes = batch.targets.get(request.target.deployment) ?? new Set<string>();
    for (const hash of request.target.podTemplateHashes) hashes.add(hash);
    batch.targets.set(request.target.deployment, hashes);
    return batch.answer;
  }

  private sender(
    provider: Pick<MetricsProvider, 'instant'>,
    byKey: Map<string, KeyState>,
    key: string,
    state: KeyState,
    batch: Batch,
  ): () => void {
    return () => {
      if (state.gathering === batch) state.gathering = undefined;
      // The provider never throws; should one do so anyway, its readers get the error, not a wait without end.
      const flight = this.send(provider, batch)
        .catch((err: unknown): BatchReading => ({ ok: false, error: `the query failed: ${String(err)}` }))
        .then(batch.settle);
      state.inFlight = flight;
      void flight.then(() => {
        if (state.inFlight === flight) state.inFlight = undefined;
        if (state.inFlight === undefined && state.gathering === undefined) byKey.delete(key);
      });
    };
  }

  private async send(provider: Pick<MetricsProvider, 'instant'>, batch: Batch): Promise<BatchReading> {
    const left = Math.floor(batch.deadline - performance.now());
    // An earlier query held this one back past a reader's deadline: asking now could only answer too late.
    if (left <= 0) return { ok: false, error: 'Prometheus did not answer the earlier query in time to ask this one' };
    const render = buildBatchQuery(batch.template, {
      namespace: batch.namespace,
      window: batch.window,
      targets: [...batch.targets].map(([deployment, hashes]) => ({ deployment, podTemplateHashes: [...hashes] })),
    });
    return readBatch(provider, render, { signal: AbortSignal.timeout(left), purpose: batch.purpose });
  }
}

function newBatch(request: CoalescedRead, deadline: number): Batch {
  const { promise: answer, resolve: settle } = Promise.withResolvers<BatchReading>();
  return {
    purpose: request.purpose,
    template: request.template,
    namespace: request.namespace,
    window: request.window,
    targets: new Map(),
    deadline,
    answer,
    settle,
  };
}
