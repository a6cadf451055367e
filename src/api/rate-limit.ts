import type { FastifyReply, FastifyRequest } from 'fastify';
import { TokenBucket } from '../core/token-bucket.js';
import { HeraldError } from '../errors.js';

/**
 * Token bucket per client address for the management API: `perSecond` sustained, twice that
 * as a burst. Publishing is exempt (its cost is bounded by body limits and batching, and a
 * producer must never be throttled into dropping events).
 */
export function managementRateLimit(perSecond: number): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const buckets = new Map<string, TokenBucket>();
  return async (req, reply) => {
    const config = req.routeOptions.config as { auth?: boolean; rateLimited?: boolean };
    if (perSecond <= 0 || config.auth === false || config.rateLimited === false) return;
    const key = req.ip;
    let b = buckets.get(key);
    if (!b) {
      if (buckets.size > 10_000) buckets.clear(); // bounded memory under address churn
      b = new TokenBucket(perSecond, perSecond * 2);
      buckets.set(key, b);
    }
    const wait = b.take();
    if (wait > 0) {
      const retryAfter = Math.max(1, Math.ceil(wait));
      reply.header('retry-after', String(retryAfter));
      throw new HeraldError('rate_limited', `too many requests: at most ${perSecond} per second; retry after ${retryAfter} s`);
    }
  };
}
