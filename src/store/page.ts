import type { DeliveryFilter, Page } from './types.js';

/**
 * Backends fetch `limit + 1` rows; the extra row only tells whether another page exists.
 * The iterator is the last row's cursor, also when done, so a poller can resume from it
 * later; an empty page keeps the caller's iterator.
 */
export function toPage<T>(rows: T[], limit: number, cursor: (row: T) => string, previous?: string): Page<T> {
  const done = rows.length <= limit;
  const data = done ? rows : rows.slice(0, limit);
  const iterator = data.length > 0 ? cursor(data[data.length - 1]) : (previous ?? null);
  return { data, iterator, done };
}

/** p-th percentile (0..100) of unsorted numbers, nearest-rank. */
export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1];
}

/**
 * Which statement lists deliveries for a filter, both backends naming them alike: the most
 * selective index first (an event's few deliveries, the failed ones, an endpoint's, a type's).
 */
export function deliveryListStatement(f: DeliveryFilter):
  'listDeliveriesByEvent' | 'listFailedDeliveriesByEndpoint' | 'listFailedDeliveries' | 'listDeliveriesByEndpoint' | 'listDeliveriesByType' | 'listDeliveries' {
  if (f.eventId) return 'listDeliveriesByEvent';
  if (f.status === 'failed') return f.endpointId ? 'listFailedDeliveriesByEndpoint' : 'listFailedDeliveries';
  if (f.endpointId) return 'listDeliveriesByEndpoint';
  return f.eventType ? 'listDeliveriesByType' : 'listDeliveries';
}
