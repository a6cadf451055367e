/**
 * Hono middleware, portable like Hono itself (Node, Bun, Deno, Workers):
 * only Web APIs, and structural types so this package has no type
 * dependency on hono. `c.req.arrayBuffer()` is cached by Hono, so the
 * handler may still call `c.req.json()`.
 */
import { WebhookVerificationError } from '../errors.js';
import { verifyWebhook, type VerifiedWebhook } from '../verify.js';
import { checkOptions, declaredLength, report, tooLarge, type WebhookMiddlewareOptions } from './options.js';

/** The subset of Hono's Context this middleware uses. */
export interface HonoContextLike {
  req: { raw: Request; arrayBuffer(): Promise<ArrayBuffer> };
  json(object: unknown, status?: never): Response;
  set(key: 'webhook', value: VerifiedWebhook<never>): void;
}

/** Hono's `Variables` entry for typed `c.get('webhook')`: `new Hono<{ Variables: HonoWebhookVariables }>()`. */
export interface HonoWebhookVariables<T = unknown> {
  webhook: VerifiedWebhook<T>;
}

function errorResponse(c: HonoContextLike, err: WebhookVerificationError): Response {
  return c.json(err.toJSON(), err.status as never);
}

/** `app.post('/webhooks', honoWebhook({ secret }), (c) => { c.get('webhook').event … })`. */
export function honoWebhook<T = unknown>(
  options: WebhookMiddlewareOptions<T>,
): (c: HonoContextLike, next: () => Promise<void>) => Promise<Response | void> {
  const max = checkOptions(options);
  return async (c, next) => {
    let webhook: VerifiedWebhook<T>;
    try {
      const declared = declaredLength(c.req.raw.headers.get('content-length'));
      if (declared !== undefined && declared > max) throw tooLarge(max);
      const body = await c.req.arrayBuffer();
      if (body.byteLength > max) throw tooLarge(max);
      webhook = await verifyWebhook<T>(body, c.req.raw.headers, options.secret, options);
    } catch (err) {
      if (!(err instanceof WebhookVerificationError)) throw err;
      report(options, err);
      return errorResponse(c, err);
    }
    c.set('webhook', webhook as VerifiedWebhook<never>);
    await next();
  };
}
