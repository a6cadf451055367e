/**
 * Redis store over the caller's ioredis client (or anything with ioredis'
 * `set(key, value, 'EX', seconds, 'NX')` and `del(key)`), so the SDK has no
 * dependency on ioredis. SET NX EX is one atomic command, and Redis expires
 * the key itself: no sweeping needed.
 */
import type { DedupeStore } from '../dedupe.js';

export interface RedisLike {
  set(key: string, value: string, expiryMode: 'EX', seconds: number, condition: 'NX'): Promise<string | null>;
  del(key: string): Promise<number>;
}

export interface RedisStoreOptions {
  /** Key prefix. Default "herald:webhook-dedupe:". */
  prefix?: string;
}

export function redisStore(client: RedisLike, options: RedisStoreOptions = {}): DedupeStore {
  const prefix = options.prefix ?? 'herald:webhook-dedupe:';
  return {
    async claim(key, ttlSeconds) {
      // EX takes whole seconds and rejects 0.
      const seconds = Math.max(1, Math.ceil(ttlSeconds));
      return (await client.set(prefix + key, '1', 'EX', seconds, 'NX')) === 'OK';
    },
    async release(key) {
      await client.del(prefix + key);
    },
  };
}
