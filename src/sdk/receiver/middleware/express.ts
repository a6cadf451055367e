/**
 * Express (and Connect/Polka-style) middleware. Typed against node:http
 * only, so it fits Express 4 and 5 without a type dependency on express.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebhookVerificationError } from '../errors.js';
import type { VerifiedWebhook } from '../verify.js';
import { checkOptions, report, type WebhookMiddlewareOptions } from './options.js';
import { sendNodeError, verifyNodeRequest } from './node.js';

type ExpressLikeRequest = IncomingMessage & { body?: unknown; webhook?: VerifiedWebhook<unknown> };

/**
 * `app.post('/webhooks', expressWebhook({ secret }), (req, res) => …)`.
 * Mount it *instead of* express.json() on the webhook route (or after
 * express.raw()). On success `req.body` is the parsed event, as after
 * express.json(), and `req.webhook` has id, timestamp and raw bytes.
 */
export function expressWebhook<T = unknown>(
  options: WebhookMiddlewareOptions<T>,
): (req: ExpressLikeRequest, res: ServerResponse, next: (err?: unknown) => void) => void {
  checkOptions(options);
  return (req, res, next) => {
    verifyNodeRequest<T>(req, options).then(
      (webhook) => {
        req.webhook = webhook;
        req.body = webhook.event;
        next();
      },
      (err: unknown) => {
        if (err instanceof WebhookVerificationError) {
          report(options, err);
          sendNodeError(res, err);
        } else next(err);
      },
    );
  };
}

/** The verified webhook attached by expressWebhook or nodeWebhook, typed. Throws if the middleware did not run. */
export function webhookOf<T = unknown>(req: object): VerifiedWebhook<T> {
  const webhook = (req as { webhook?: VerifiedWebhook<T> }).webhook;
  if (!webhook) {
    throw new WebhookVerificationError('invalid_options', 'no verified webhook on this request; is the middleware mounted on this route?');
  }
  return webhook;
}
