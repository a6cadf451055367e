import type { FastifyInstance } from 'fastify';
import { Type } from '@sinclair/typebox';
import type { ApiContext } from '../context.js';
import { Router } from '../router.js';
import type { QueryValues } from '../../inbound/routing.js';

/**
 * POST /in/{sourceId}: where providers send webhooks. Any content type is taken as raw
 * bytes (the signature is over them), in a Fastify context of its own so the JSON parser of
 * the management API never sees these bodies. No API key: the source's signature scheme is
 * the authentication.
 */
export function ingestRoutes(fastify: FastifyInstance, ctx: ApiContext, specs: Router['specs']): void {
  fastify.register(async (child) => {
    child.removeAllContentTypeParsers();
    child.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: ctx.config.maxPayloadBytes }, (_req, body, done) => done(null, body));
    const r = new Router(child);
    r.add({
      method: 'POST', operationId: 'ingestRequest', url: '/in/:sourceId', tag: 'ingest', auth: false, rateLimited: false,
      summary: "Receive a webhook for a source: 202 once it is durably stored (before forwarding), 401 if its signature doesn't verify, 200 for a duplicate or stale request, 429 above the source's rate limit",
      params: Type.Object({ sourceId: Type.String({ maxLength: 64 }) }),
      response: { status: 202, description: '{"id","status","forwarding"} or the source\'s configured response' },
      handler: async (req, reply) => {
        const body = Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0);
        const res = await ctx.gateway.handle(req.params.sourceId, { headers: req.headers, body, query: req.query as QueryValues });
        reply.status(res.status).headers(res.headers);
        return res.status === 204 ? reply.send() : reply.send(res.body);
      },
    });
    specs.push(...r.specs);
  });
}
