import { setTimeout as sleep } from 'node:timers/promises';
import { HeraldError } from '../../errors.js';

/**
 * Another process holding SQLite's write lock (a backup, a migration, `sqlite3` in a shell)
 * must not freeze Herald. better-sqlite3 waits for a lock inside the call, on the event loop,
 * so the connection's busy_timeout is kept to BUSY_TIMEOUT_MS and the waiting is done here
 * instead: a store call that meets the lock is tried again after a timer (5 ms doubling to
 * 200 ms), so requests that need no lock (/health, reads) are served meanwhile. Past
 * BUDGET_MS the call fails with 503 storage_unavailable: nothing was written, the caller may
 * retry (Retry-After), and a 2xx still means committed.
 *
 * Every store method is one transaction (or a read), so running it again from the start is
 * what a retry after SQLITE_BUSY needs.
 */
export const BUSY_TIMEOUT_MS = 20;
const BUDGET_MS = 3000;

export const isBusy = (err: unknown): boolean => {
  const code = (err as { code?: string } | null)?.code ?? '';
  return code === 'SQLITE_BUSY' || code.startsWith('SQLITE_BUSY_') || code === 'SQLITE_LOCKED';
};

export function storageBusy(cause?: unknown): HeraldError {
  return new HeraldError('storage_unavailable', 'the database is locked by another process; nothing was written, retry shortly', undefined, { cause });
}

/** Tries `run` again, after a timer, while it meets the lock; the first try already happened. */
async function retrying<T>(run: () => Promise<T>, first: unknown): Promise<T> {
  const deadline = Date.now() + BUDGET_MS;
  let err = first;
  for (let wait = 5; ; wait = Math.min(200, wait * 2)) {
    if (!isBusy(err)) throw err;
    if (Date.now() + wait > deadline) throw storageBusy(err);
    await sleep(wait);
    try {
      return await run();
    } catch (next) {
      err = next;
    }
  }
}

/** The store with every async method retried on a busy database as above. */
export function withBusyRetry<T extends object>(store: T): T {
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== 'function' || prop === 'constructor') return value;
      let fn = wrapped.get(prop);
      if (!fn) {
        const method = value as (...a: unknown[]) => unknown;
        fn = (...args: unknown[]) => {
          const result = method.apply(target, args);
          // Synchronous helpers pass through; store calls (promises) are retried on a busy database.
          if (!(result instanceof Promise)) return result;
          return result.catch((err: unknown) => retrying(() => method.apply(target, args) as Promise<unknown>, err));
        };
        wrapped.set(prop, fn);
      }
      return fn;
    },
  });
}
