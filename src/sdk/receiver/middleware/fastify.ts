/**
 * Fastify plugin. Fastify parses JSON before any route hook runs, so the
 * plugin swaps the content-type parsers of the scope it is registered in
 * for one that keeps the raw Buffer, then verifies in a preHandler hook.
 * Register it inside an encapsulated scope holding only webhook routes:
 *
 *   app.register(async (scope) => {
 *     await scope.register(fastifyWebhook, { secret });
 *     scope.post('/webhooks', async (req) => { req.webhook.event … });
 *   });
 *
 * Only fastify *types* are imported; fastify is never loaded by this file.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WebhookVerificationError } from '../errors.js';
import { verifyWebhook, type VerifiedWebhook } from '../verify.js';
import { checkOptions, report, type WebhookMiddlewareOptions } from './options.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by herald-webhooks' fastifyWebhook plugin on verified requests. */
    webhook?: VerifiedWebhook<unknown>;
  }
}

export type FastifyWebhookOptions<T = unknown> = WebhookMiddlewareOptions<T>;

async function plugin(fastify: FastifyInstance, options: FastifyWebhookOptions): Promise<void> {
  const max = checkOptions(options);
  fastify.removeAllContentTypeParsers();
  // '*' also receives bodies without a content-type; bodyLimit overflow is
  // answered by Fastify itself with 413.
  fastify.addContentTypeParser('*', { parseAs: 'buffer', bodyLimit: max }, (_req, body, done) => done(null, body));
  if (!fastify.hasRequestDecorator('webhook')) fastify.decorateRequest('webhook', undefined);

  fastify.addHook('preHandler', async (request: FastifyRequest, reply: FastifyReply) => {
    const body = request.body;
    const raw = body instanceof Uint8Array || typeof body === 'string' ? body : new Uint8Array(0);
    try {
      const webhook = await verifyWebhook(raw, request.headers, options.secret, options);
      request.webhook = webhook;
      request.body = webhook.event;
    } catch (err) {
      if (!(err instanceof WebhookVerificationError)) throw err;
      report(options, err);
      return reply.code(err.status).type('application/json; charset=utf-8').send(err.toJSON());
    }
  });
}

// What fastify-plugin does: apply the parser and hook to the registering
// scope instead of a fresh child scope, without depending on that package.
Object.assign(plugin, {
  [Symbol.for('skip-override')]: true,
  [Symbol.for('fastify.display-name')]: 'herald-webhooks',
});

export const fastifyWebhook: (fastify: FastifyInstance, options: FastifyWebhookOptions) => Promise<void> = plugin;
