import type { EventType } from 'herald-webhooks/client';
import { herald } from '../../api/client';
import { useAsync } from '../../api/useAsync';

/** An event type of the catalogue, with its examples. */
export type CatalogueEntry = EventType;

let cache: Promise<CatalogueEntry[]> | null = null;

export function loadEventTypes(fresh = false): Promise<CatalogueEntry[]> {
  if (fresh || !cache) {
    cache = herald.eventTypes.list({ limit: 250 }).toArray(2000) as Promise<CatalogueEntry[]>;
    cache.catch(() => (cache = null));
  }
  return cache;
}

export function useEventTypes() {
  return useAsync(() => loadEventTypes(), []);
}
