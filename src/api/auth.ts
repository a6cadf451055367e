import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { HeraldError } from '../errors.js';

/**
 * Bearer-token check. Both sides are hashed first so the comparison is constant-time
 * whatever the lengths; the key itself is never logged (pino redacts the header). A request
 * that matches no route has nothing to protect: it gets its 404 (or 405) without a key.
 */
export function bearerAuth(apiKey: string): (req: FastifyRequest) => Promise<void> {
  const expected = createHash('sha256').update(apiKey).digest();
  return async (req) => {
    if (req.is404 || (req.routeOptions.config as { auth?: boolean }).auth === false) return;
    const header = req.headers.authorization ?? '';
    const match = /^Bearer\s+(.+)$/i.exec(header);
    const given = createHash('sha256').update(match ? match[1].trim() : '').digest();
    if (!match || !timingSafeEqual(given, expected)) {
      throw new HeraldError('unauthorized', 'missing or invalid API key: send Authorization: Bearer <api key>');
    }
  };
}
