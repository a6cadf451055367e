import type { Delivery, DeliveryListQuery } from 'herald-webhooks/client';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';
import { herald } from '../../api/client';
import { useInterval } from '../../api/useAsync';

export type Filters = Pick<DeliveryListQuery, 'status' | 'eventType' | 'endpointId' | 'eventId'>;

const PAGE = 25;

/** Newest first, a page at a time; the first page is polled every 2 s so new deliveries and status changes show up live. */
export function useDeliveryLog(app: string, filters: Filters, live = true) {
  const [items, setItems] = useState<Delivery[]>([]);
  const [iterator, setIterator] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  const [loading, setLoading] = useState(true);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<unknown>();
  const generation = useRef(0);
  const more = useRef(false);
  const key = JSON.stringify(filters);
  const query = useCallback((iter?: string) => {
    const q: DeliveryListQuery = { limit: PAGE };
    for (const [k, v] of Object.entries(filters)) if (v) (q as Record<string, unknown>)[k] = v;
    return herald.deliveries.list(app, { ...q, iterator: iter }).page();
  }, [app, key]);

  const refresh = useCallback(async (quiet: boolean) => {
    const g = generation.current;
    if (!quiet) setLoading(true);
    try {
      const first = await query();
      if (g !== generation.current) return;
      setError(undefined);
      setItems((old) => {
        const ids = new Set(first.data.map((d) => d.id));
        return [...first.data, ...(more.current ? old.filter((d) => !ids.has(d.id)) : [])];
      });
      if (!more.current) {
        setIterator(first.iterator);
        setDone(first.done);
      }
    } catch (err) {
      if (g === generation.current) setError(err);
    } finally {
      if (g === generation.current) setLoading(false);
    }
  }, [query]);

  useEffect(() => {
    generation.current++;
    more.current = false;
    setItems([]);
    setIterator(null);
    setDone(false);
    void refresh(false);
  }, [refresh]);

  useInterval(() => void refresh(true), 2000, live);

  const loadMore = async () => {
    if (done || !iterator) return;
    const g = generation.current;
    setLoadingMore(true);
    try {
      const page = await query(iterator);
      if (g !== generation.current) return;
      more.current = true;
      setItems((old) => {
        const ids = new Set(old.map((d) => d.id));
        return [...old, ...page.data.filter((d) => !ids.has(d.id))];
      });
      setIterator(page.iterator);
      setDone(page.done || page.data.length === 0);
    } catch (err) {
      setError(err);
    } finally {
      setLoadingMore(false);
    }
  };

  return { items, loading, loadingMore, error, done, loadMore, refresh: () => refresh(true) };
}
