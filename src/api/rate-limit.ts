import type { Server } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { TokenBucket } from '../core/token-bucket.js';
import { HeraldError } from '../errors.js';

/**
 * Token bucket per client address for the management API: `perSecond` sustained, twice that
 * as a burst. Publishing is exempt (its cost is bounded by body limits and batching, and a
 * producer must never be throttled into dropping events).
 */
export function managementRateLimit(perSecond: number): (req: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const buckets = new Buckets(perSecond, perSecond * 2);
  return async (req, reply) => {
    const config = req.routeOptions.config as { auth?: boolean; rateLimited?: boolean };
    if (perSecond <= 0 || config.auth === false || config.rateLimited === false) return;
    const wait = buckets.take(req.ip);
    if (wait > 0) {
      const retryAfter = Math.max(1, Math.ceil(wait));
      reply.header('retry-after', String(retryAfter));
      throw new HeraldError('rate_limited', `too many requests: at most ${perSecond} per second; retry after ${retryAfter} s`);
    }
  };
}

/** Per client address, forgetting everyone when it grows past 10,000 (bounded memory under address churn). */
class Buckets {
  private readonly map = new Map<string, TokenBucket>();
  constructor(private readonly perSecond: number, private readonly capacity: number) {}
  get(key: string): TokenBucket | undefined {
    return this.map.get(key);
  }
  /** Takes a token of the address's bucket: 0, or the seconds until one is there. */
  take(key: string): number {
    let b = this.map.get(key);
    if (!b) {
      if (this.map.size > 10_000) this.map.clear();
      b = new TokenBucket(this.perSecond, this.capacity);
      this.map.set(key, b);
    }
    return b.take();
  }
}

/**
 * 401s that are no guess: a session cookie that expired or was signed out (a browser left open
 * answers several of them at once on its next load, and must not lock its owner out of signing
 * in again; the cookie is 256 random bits, nothing to guess).
 */
const notGuesses = new WeakSet<FastifyRequest>();
export const notAGuess = (req: FastifyRequest): void => void notGuesses.add(req);

/**
 * Requests that present a key to check: a Bearer header on any authenticated route, or the
 * sign-in (its key or portal token is in the body). A browser speaking with its session cookie
 * presents none, so a throttled address's signed-in users keep working.
 */
const presentsKey = (req: FastifyRequest): boolean => {
  const config = req.routeOptions.config as { auth?: boolean; throttleAuth?: boolean };
  return config.throttleAuth === true || (config.auth !== false && req.headers.authorization !== undefined);
};

/**
 * Failed authentications cost a token of the client address's bucket (`perMinute` sustained,
 * a third of it as a burst); with none left, every request presenting a key from that address
 * answers 429, right or wrong key, until it refills: looking at the key would tell a guesser
 * which guess was right. Guessing a key online then takes `perMinute` guesses a minute instead
 * of thousands a second. The address is the socket's, or behind a proxy the client's as the
 * proxy says (HERALD_TRUST_PROXY): without that, everyone behind the proxy shares one bucket.
 */
export function authFailureThrottle(perMinute: number) {
  const buckets = new Buckets(perMinute / 60, Math.max(3, Math.floor(perMinute / 3)));
  return {
    check: async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
      if (!presentsKey(req)) return;
      const wait = buckets.get(req.ip)?.waitSeconds() ?? 0;
      if (wait <= 0) return;
      const retryAfter = Math.max(1, Math.ceil(wait));
      reply.header('retry-after', String(retryAfter));
      throw new HeraldError('rate_limited', `too many failed authentications from this address; retry after ${retryAfter} s`);
    },
    record: async (req: FastifyRequest, reply: FastifyReply): Promise<void> => {
      if (reply.statusCode === 401 && presentsKey(req) && !notGuesses.has(req)) buckets.take(req.ip);
    },
  };
}

/**
 * At most `max` open connections per client address (0: no cap); the ones over it are closed
 * as they arrive. Together with the header and body timeouts this keeps one address from
 * holding every socket the process has.
 */
export function capConnections(server: Server, max: number): void {
  if (max <= 0) return;
  const open = new Map<string, number>();
  server.on('connection', (socket: Socket) => {
    const key = socket.remoteAddress ?? '';
    const n = (open.get(key) ?? 0) + 1;
    if (n > max) {
      socket.destroy();
      return;
    }
    open.set(key, n);
    socket.once('close', () => {
      const left = (open.get(key) ?? 1) - 1;
      if (left <= 0) open.delete(key);
      else open.set(key, left);
    });
  });
}
