import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

export interface Async<T> {
  data: T | undefined;
  error: unknown;
  loading: boolean;
  /** loads again; `quiet` keeps the current data on screen meanwhile (polling) */
  reload: (quiet?: boolean) => Promise<void>;
  setData: (d: T) => void;
}

/** Runs `load` when `deps` change; an answer to an older run is dropped. */
export function useAsync<T>(load: () => Promise<T>, deps: unknown[]): Async<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<unknown>(undefined);
  const [loading, setLoading] = useState(true);
  const run = useRef(0);
  const loader = useRef(load);
  loader.current = load;

  const reload = useCallback(async (quiet = false) => {
    const mine = ++run.current;
    if (!quiet) setLoading(true);
    try {
      const d = await loader.current();
      if (mine !== run.current) return;
      setData(d);
      setError(undefined);
    } catch (err) {
      if (mine !== run.current) return;
      setError(err);
    } finally {
      if (mine === run.current) setLoading(false);
    }
  }, []);

  useEffect(() => {
    setData(undefined);
    void reload();
    return () => void run.current++;
  }, deps);

  return { data, error, loading, reload, setData };
}

/** Calls `tick` every `ms` while the page is visible (and once more when it becomes visible). */
export function useInterval(tick: () => void, ms: number, enabled = true): void {
  const saved = useRef(tick);
  saved.current = tick;
  useEffect(() => {
    if (!enabled) return;
    const id = setInterval(() => {
      if (document.visibilityState === 'visible') saved.current();
    }, ms);
    const onVisible = () => document.visibilityState === 'visible' && saved.current();
    document.addEventListener('visibilitychange', onVisible);
    return () => {
      clearInterval(id);
      document.removeEventListener('visibilitychange', onVisible);
    };
  }, [ms, enabled]);
}
