import { isRelay } from '../core/relay.js';
import { hideValues } from './sessions.js';
import type { RelayStatus } from '../relay/hub.js';
import type { Held } from './held.js';
import type { InboundRequest, Source } from '../store/inbound.js';
import type { App, Attempt, Delivery, Endpoint, EndpointStats, EventType, StoredEvent } from '../store/types.js';

/** Domain objects → JSON the API returns: ISO 8601 UTC timestamps, no internal fields. */
const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms == null ? null : iso(ms));

export const appOut = (a: App) => ({
  id: a.id, uid: a.uid, name: a.name, metadata: a.metadata, signatureProfile: a.signatureProfile, envelopeProfile: a.envelopeProfile ?? null, portal: a.portal,
  createdAt: iso(a.createdAt), updatedAt: iso(a.updatedAt),
});

export const eventTypeOut = (t: EventType) => ({
  name: t.name, description: t.description, schema: t.schema, examples: t.examples, archived: t.archived,
  createdAt: iso(t.createdAt), updatedAt: iso(t.updatedAt),
});

/**
 * The secret is shown on create and by GET …/secret only. A relay endpoint says whether a
 * listener is connected (`relay`, from the process's RelayHub; null for HTTP endpoints).
 */
export const endpointOut = (e: Endpoint, withSecret = false, relay: RelayStatus | null = null, hideHeaders = false) => ({
  id: e.id, appId: e.appId, type: isRelay(e) ? ('relay' as const) : ('http' as const), url: e.url,
  relay: isRelay(e) ? { connected: relay?.connected ?? false, listeners: relay?.listeners ?? 0, since: isoOrNull(relay?.since ?? null) } : null,
  description: e.description, events: e.events ?? ['*'], filter: e.filter, channels: e.channels, transform: e.transform ?? null, status: e.status,
  disabledReason: e.disabledReason, disabledAt: isoOrNull(e.disabledAt), ...(withSecret ? { secret: e.secret } : {}),
  headers: hideHeaders ? hideValues(e.headers) : e.headers, retrySchedule: e.retrySchedule, timeoutMs: e.timeoutMs, rateLimit: e.rateLimit,
  maxInFlight: e.maxInFlight, disableAfterFailures: e.disableAfterFailures, disableAfterSeconds: e.disableAfterSeconds,
  metadata: e.metadata, consecutiveFailures: e.consecutiveFailures, failingSince: isoOrNull(e.failingSince),
  circuitState: e.circuitState, createdAt: iso(e.createdAt), updatedAt: iso(e.updatedAt),
});

export const publishOut = (e: StoredEvent) => ({
  id: e.id, type: e.type, timestamp: iso(e.timestamp), sequence: e.sequence, orderingKey: e.orderingKey,
  deliveries: e.deliveries,
});

/** A source's request, stored raw, has no envelope: its data is null here (see the source's request log). */
export const eventOut = (e: StoredEvent) => ({
  ...publishOut(e), channels: e.channels, data: e.body === '' ? null : ((JSON.parse(e.body) as { data?: unknown }).data ?? null), createdAt: iso(e.createdAt),
});

export const deliveryOut = (d: Delivery, held: Held) => ({
  id: d.id, eventId: d.eventId, endpointId: d.endpointId, eventType: d.eventType, orderingKey: d.orderingKey, status: d.status,
  attemptCount: d.attemptCount, lastStatusCode: d.lastStatusCode, lastError: d.lastError,
  nextAttemptAt: isoOrNull(d.nextAttemptAt), heldReason: held.heldReason, nextProbeAt: isoOrNull(held.nextProbeAt),
  createdAt: iso(d.createdAt), deliveredAt: isoOrNull(d.deliveredAt),
});

export const attemptOut = (a: Attempt) => ({
  id: a.id, number: a.number, startedAt: iso(a.startedAt), durationMs: a.durationMs, statusCode: a.statusCode,
  responseBody: a.responseBody, error: a.error,
});

export const statsOut = (s: EndpointStats) => ({ ...s, lastDeliveryAt: isoOrNull(s.lastDeliveryAt) });

/** Provider secrets are never returned; destination secrets only right after they were made. */
export const sourceOut = (s: Source, endpoints: Map<string, Endpoint>, baseUrl: string, secrets: Map<string, string> = new Map()) => {
  const { secrets: list, ...verification } = s.verification;
  return {
    id: s.id, name: s.name, ingestUrl: `${baseUrl}/in/${s.id}`, appId: s.appId,
    verification: { ...verification, secretCount: list.length },
    dedup: s.dedup, ordering: s.ordering,
    destinations: s.destinations.map((d) => {
      if (d.type === 'app') return { type: 'app' as const, app: d.app, eventType: d.eventType, filter: d.filter ?? null };
      const e = endpoints.get(d.endpointId);
      return {
        type: 'http' as const, id: d.endpointId, url: e?.url ?? '', status: e?.status ?? 'deleted', circuitState: e?.circuitState ?? 'closed',
        rateLimit: e?.rateLimit ?? null, maxInFlight: e?.maxInFlight ?? null, timeoutMs: e?.timeoutMs ?? null, filter: d.filter ?? null,
        ...(secrets.has(d.endpointId) ? { secret: secrets.get(d.endpointId) } : {}),
      };
    }),
    forwardHeaders: s.forwardHeaders, rateLimit: s.rateLimit, response: s.response,
    createdAt: iso(s.createdAt), updatedAt: iso(s.updatedAt),
  };
};

export const requestOut = (r: InboundRequest) => ({
  id: r.id, sourceId: r.sourceId, status: r.status, reason: r.reason, detail: r.detail, receivedAt: iso(r.receivedAt),
  headers: r.headers, contentType: r.contentType, bodySize: r.bodySize, dedupKey: r.dedupKey, orderingKey: r.orderingKey,
  sequence: r.sequence, gap: r.gap, forwarding: r.forwardState, deliveries: r.deliveries, appError: r.appError,
  routes: r.routes, via: r.via,
});
