/**
 * Idempotency for at-least-once delivery. Every provider retries, and a
 * slow handler plus a sender timeout turns one event into two deliveries
 * (seed 004, "The Duplicate Problem"), so handlers should drop repeats:
 *
 *   const dedupe = createDeduper({ store: redisStore(redis) });
 *   if (await dedupe.seen(webhook.id)) return res.end();   // duplicate: 2xx, do nothing
 *   try { await handle(event) } catch (e) { await dedupe.forget(webhook.id); throw e }
 *
 * `seen()` is a single atomic claim in the store, so when two deliveries of
 * one id race, exactly one sees `false`.
 */
import { WebhookVerificationError } from './errors.js';

/**
 * 48 h: the upper end of the 24-48 h that seed 004 recommends, and longer
 * than Svix's whole retry schedule (5 s … 10 h, about 27.6 h in total).
 * Stripe retries for up to 3 days: raise it to 259 200 s there.
 */
export const DEFAULT_DEDUPE_TTL_SECONDS = 48 * 60 * 60;

/** What a dedupe backend implements. Each store takes the user's own client by duck type. */
export interface DedupeStore {
  /**
   * Atomically record `key` for `ttlSeconds` unless it is already recorded
   * and unexpired. Resolves true only for the call that recorded it.
   */
  claim(key: string, ttlSeconds: number): Promise<boolean>;
  /** Forget `key`, so a delivery whose processing failed is processed on retry. */
  release(key: string): Promise<void>;
}

export interface DeduperOptions {
  /** Default an in-process memoryStore(): fine for one process, useless across several. */
  store?: DedupeStore;
  /** How long an id is remembered. Default 48 h. */
  ttlSeconds?: number;
  /** Prefix added to every id, to share one store between sources. Default none. */
  namespace?: string;
}

export interface Deduper {
  /** False the first time `id` is seen (go ahead and process), true for every repeat within the TTL. */
  seen(id: string): Promise<boolean>;
  /** Undo a `seen()` whose processing failed, so the sender's retry gets through. */
  forget(id: string): Promise<void>;
}

export function createDeduper(options: DeduperOptions & { store: DedupeStore }): Deduper;
export function createDeduper(options?: DeduperOptions): Deduper;
export function createDeduper(options: DeduperOptions = {}): Deduper {
  const { ttlSeconds = DEFAULT_DEDUPE_TTL_SECONDS, namespace = '' } = options;
  if (!(Number.isFinite(ttlSeconds) && ttlSeconds > 0)) {
    throw new WebhookVerificationError('invalid_options', 'ttlSeconds must be a positive number');
  }
  const store = options.store ?? memoryStore();
  const keyOf = (id: string): string => {
    if (typeof id !== 'string' || id === '') {
      // An undefined id would make every id-less delivery a "duplicate" of the first.
      throw new WebhookVerificationError('invalid_options', 'dedupe id must be a non-empty string');
    }
    return namespace + id;
  };
  return {
    async seen(id) {
      return !(await store.claim(keyOf(id), ttlSeconds));
    },
    async forget(id) {
      await store.release(keyOf(id));
    },
  };
}

export interface MemoryStoreOptions {
  /** Upper bound on remembered ids; the least recently used go first. Default 10 000. */
  maxEntries?: number;
  /** Clock in ms since epoch, for tests. Default Date.now. */
  now?: () => number;
}

/**
 * In-process, bounded LRU. Claims are synchronous inside the event loop, so
 * they are atomic within one process. Evicting an unexpired id under
 * pressure lets a late duplicate through: size `maxEntries` above the ids
 * received per TTL, or use a shared store.
 */
export function memoryStore(options: MemoryStoreOptions = {}): DedupeStore & { readonly size: number } {
  const { maxEntries = 10_000, now = Date.now } = options;
  if (!(Number.isInteger(maxEntries) && maxEntries > 0)) {
    throw new WebhookVerificationError('invalid_options', 'maxEntries must be a positive integer');
  }
  // Map iteration order is insertion order: re-inserting on use makes the first key the LRU.
  const expiries = new Map<string, number>();
  return {
    get size() {
      return expiries.size;
    },
    async claim(key, ttlSeconds) {
      const t = now();
      const expiresAt = expiries.get(key);
      if (expiresAt !== undefined && expiresAt > t) {
        expiries.delete(key);
        expiries.set(key, expiresAt);
        return false;
      }
      expiries.delete(key);
      expiries.set(key, t + ttlSeconds * 1000);
      while (expiries.size > maxEntries) {
        expiries.delete(expiries.keys().next().value as string);
      }
      return true;
    },
    async release(key) {
      expiries.delete(key);
    },
  };
}
