import type { FastifyReply, FastifyRequest } from 'fastify';
import { HeraldError } from '../errors.js';

/**
 * Token bucket per client address for the management API: `perSecond` sustained, twice that
 * as a burst. Publishing is exempt (its cost is bounded by body limits and batching, and a
 * producer must never be throttled into dropping events).
 */
export function managementRateLimit(perSecond: number): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const capacity = perSecond * 2;
  const buckets = new Map<string, { tokens: number; at: number }>();
  return async (req, reply) => {
    const config = req.routeOptions.config as { auth?: boolean; rateLimited?: boolean };
    if (perSecond <= 0 || config.auth === false || config.rateLimited === false) return;
    const now = Date.now();
    const key = req.ip;
    let b = buckets.get(key);
    if (!b) {
      if (buckets.size > 10_000) buckets.clear(); // bounded memory under address churn
      b = { tokens: capacity, at: now };
      buckets.set(key, b);
    }
    b.tokens = Math.min(capacity, b.tokens + ((now - b.at) / 1000) * perSecond);
    b.at = now;
    if (b.tokens < 1) {
      const retryAfter = Math.max(1, Math.ceil((1 - b.tokens) / perSecond));
      reply.header('retry-after', String(retryAfter));
      throw new HeraldError('rate_limited', `too many requests: at most ${perSecond} per second; retry after ${retryAfter} s`);
    }
    b.tokens -= 1;
  };
}
