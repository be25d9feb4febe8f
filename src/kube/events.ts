// events.k8s.io/v1 Events on the objects people look at (`kubectl describe deployment` shows them). An Event
// that must appear once per occurrence — "revision 4 assessed", "revision 4 paused" — gets a name derived
// from what it is about, so a controller restarted half-way through never says the same thing twice.
import { createHash, randomBytes } from 'node:crypto';
import os from 'node:os';
import {
  EventsV1Api,
  V1MicroTime,
  type KubeConfig,
  type V1Deployment,
  type V1ObjectReference,
} from '@kubernetes/client-node';
import type { PlannedEvent } from '../api/objects.js';
import { isAlreadyExists } from './errors.js';

export const reportingController = 'rollguard.io/controller';

export interface EventInput {
  regarding: V1ObjectReference & { namespace: string; name: string };
  related?: V1ObjectReference;
  type: 'Normal' | 'Warning';
  reason: string;
  action: string;
  note: string;
  /** Makes the Event idempotent: the same key is recorded once. */
  dedupeKey?: string;
}

export interface EventSink {
  emit(event: EventInput): Promise<void>;
}

/** The API server limits an Event's note to 1024 bytes of UTF-8 (not characters). */
export function truncateNote(note: string): string {
  if (Buffer.byteLength(note, 'utf8') <= 1024) return note;
  let cut = note.slice(0, 1021);
  while (Buffer.byteLength(cut, 'utf8') > 1021) cut = cut.slice(0, -1);
  // Never leave half a surrogate pair behind.
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}...`;
}

export function eventName(regardingName: string, dedupeKey: string | undefined): string {
  const suffix = dedupeKey
    ? createHash('sha256').update(dedupeKey).digest('hex').slice(0, 16)
    : randomBytes(8).toString('hex');
  return `${regardingName.slice(0, 200)}.${suffix}`;
}

export class KubeEventSink implements EventSink {
  private readonly api: EventsV1Api;
  private readonly instance = (process.env.POD_NAME ?? os.hostname()).slice(0, 128);

  constructor(kc: KubeConfig) {
    this.api = kc.makeApiClient(EventsV1Api);
  }

  async emit(event: EventInput): Promise<void> {
    const body = {
      metadata: { name: eventName(event.regarding.name, event.dedupeKey), namespace: event.regarding.namespace },
      eventTime: new V1MicroTime(),
      type: event.type,
      reason: event.reason.slice(0, 128),
      action: event.action.slice(0, 128),
      note: truncateNote(event.note),
      reportingController,
      reportingInstance: this.instance,
      regarding: event.regarding,
      ...(event.related ? { related: event.related } : {}),
    };
    try {
      await this.api.createNamespacedEvent({ namespace: event.regarding.namespace, body: body });
    } catch (err) {
      if (event.dedupeKey !== undefined && isAlreadyExists(err)) return;
      throw err;
    }
  }
}

/**
 * An Event's de-duplication key scoped to its Deployment (namespace and uid): the same reason and revision in
 * another namespace, or of an older Deployment of the same name, is another occurrence with its own Event.
 */
export function scopedDedupeKey(deployment: V1Deployment, dedupeKey: string): string {
  return `${deployment.metadata?.namespace ?? ''}/${deployment.metadata?.uid ?? ''}/${dedupeKey}`;
}

/**
 * The one path by which the reconcilers record Events about a Deployment. The sink's Event names already make
 * a repeat a no-op on the API server (409); remembering the keys sent spares it those repeats.
 */
export class DeploymentEvents {
  private readonly sent = new Set<string>();

  constructor(private readonly sink: EventSink) {}

  async emit(deployment: V1Deployment, event: PlannedEvent): Promise<void> {
    const dedupeKey = scopedDedupeKey(deployment, event.dedupeKey);
    if (this.sent.has(dedupeKey)) return;
    await this.sink.emit({
      regarding: {
        apiVersion: 'apps/v1',
        kind: 'Deployment',
        namespace: deployment.metadata?.namespace ?? '',
        name: deployment.metadata?.name ?? '',
        ...(deployment.metadata?.uid ? { uid: deployment.metadata.uid } : {}),
      },
      ...event,
      dedupeKey,
    });
    this.sent.add(dedupeKey);
    if (this.sent.size > 10_000) this.sent.clear();
  }
}
