import type { App, Attempt, Delivery, Endpoint, EventType, StoredEvent } from '../types.js';
import { PARKED_AT } from '../types.js';

/** Row → domain object conversions for the SQLite backend (JSON columns are TEXT). */
type Row = Record<string, any>;

const json = <T>(text: string | null, fallback: T): T => (text == null ? fallback : (JSON.parse(text) as T));

export const toApp = (r: Row): App => ({
  id: r.id,
  uid: r.uid,
  name: r.name,
  metadata: json(r.metadata, {}),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toEventType = (r: Row): EventType => ({
  name: r.name,
  description: r.description,
  schema: json(r.schema, null),
  archived: r.archived === 1,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toEndpoint = (r: Row): Endpoint => ({
  id: r.id,
  appId: r.app_id,
  url: r.url,
  description: r.description,
  events: json(r.events, null),
  status: r.status,
  disabledReason: r.disabled_reason,
  disabledAt: r.disabled_at,
  secret: r.secret,
  headers: json(r.headers, {}),
  retrySchedule: json(r.retry_schedule, null),
  timeoutMs: r.timeout_ms,
  metadata: json(r.metadata, {}),
  consecutiveFailures: r.consecutive_failures,
  lastAttemptAt: r.last_attempt_at,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export const toEvent = (r: Row): StoredEvent => ({
  id: r.id,
  appId: r.app_id,
  type: r.type,
  timestamp: r.timestamp,
  sequence: r.sequence,
  body: r.body,
  deliveries: r.deliveries,
  createdAt: r.created_at,
});

export const toDelivery = (r: Row): Delivery => ({
  id: r.id,
  appId: r.app_id,
  eventId: r.event_id,
  endpointId: r.endpoint_id,
  eventType: r.event_type,
  status: r.status,
  attemptCount: r.attempt_count,
  lastStatusCode: r.last_status_code,
  lastError: r.last_error,
  // In flight (leased) or parked deliveries have no meaningful next attempt time to show.
  nextAttemptAt: r.status === 'pending' && r.lease_owner == null && r.next_attempt_at < PARKED_AT ? r.next_attempt_at : null,
  createdAt: r.created_at,
  deliveredAt: r.delivered_at,
});

export const toAttempt = (r: Row): Attempt => ({
  id: r.id,
  deliveryId: r.delivery_id,
  endpointId: r.endpoint_id,
  number: r.number,
  startedAt: r.started_at,
  durationMs: r.duration_ms,
  statusCode: r.status_code,
  responseBody: r.response_body,
  error: r.error,
});

export const jsonOrNull = (v: unknown): string | null => (v == null ? null : JSON.stringify(v));
