/**
 * For Fetch-API handlers (Next.js route handlers, Bun.serve, Deno.serve,
 * Cloudflare Workers): verify a `Request`, or get a ready error `Response`.
 */
import { WebhookVerificationError } from '../errors.js';
import { verifyWebhook, type Secrets, type VerifiedWebhook, type VerifyOptions } from '../verify.js';

/** Reads the body of `request` (consuming it) and verifies it. */
export async function verifyRequest<T = unknown>(
  request: Request,
  secret: Secrets,
  options: VerifyOptions<T> = {},
): Promise<VerifiedWebhook<T>> {
  return verifyWebhook<T>(await request.arrayBuffer(), request.headers, secret, options);
}

/** `{"error":{"code","message"}}` with the error's status, for a caught WebhookVerificationError. */
export function errorResponse(error: WebhookVerificationError): Response {
  return new Response(JSON.stringify(error.toJSON()), {
    status: error.status,
    headers: { 'content-type': 'application/json; charset=utf-8' },
  });
}
