import type { ComponentType } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ErrorMessage, Loading } from '../Notice/Notice';

/**
 * A component whose code is its own chunk, fetched the first time it is shown (or on
 * `preload()`), so the first load of the dashboard doesn't carry it: the filter editor, say.
 */
export function lazy<P extends object>(load: () => Promise<ComponentType<P>>, label = 'Loading…'): ComponentType<P> & { preload: () => void } {
  let loaded: ComponentType<P> | undefined;
  let pending: Promise<ComponentType<P>> | undefined;
  const get = () => {
    pending ??= load().then(
      (c) => (loaded = c),
      (err) => {
        pending = undefined; // a later render tries again
        throw err;
      },
    );
    return pending;
  };
  function Lazy(props: P) {
    // A counter, not the component: useState would call a function it is given.
    const [, rendered] = useState(0);
    const [error, setError] = useState<unknown>();
    const [attempt, setAttempt] = useState(0);
    useEffect(() => {
      if (loaded) return;
      let live = true;
      get().then(() => live && rendered((n) => n + 1), (err) => live && setError(err));
      return () => void (live = false);
    }, [attempt]);
    if (loaded) {
      const C = loaded;
      return <C {...props} />;
    }
    if (error !== undefined) return <ErrorMessage error={error} onRetry={() => { setError(undefined); setAttempt((n) => n + 1); }} />;
    return <Loading label={label} />;
  }
  return Object.assign(Lazy, { preload: () => void get().catch(() => {}) });
}
