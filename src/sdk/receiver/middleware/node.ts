/**
 * node:http support, also the base of the Express adapter. Works on the
 * IncomingMessage stream with plain events, so it needs no `node:` import at
 * run time (only types), keeping the package entry loadable everywhere.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { WebhookVerificationError } from '../errors.js';
import { concatBytes } from '../encoding.js';
import { verifyWebhook, type VerifiedWebhook } from '../verify.js';
import {
  checkOptions,
  declaredLength,
  report,
  tooLarge,
  type WebhookMiddlewareOptions,
} from './options.js';

export type WebhookRequest<T = unknown> = IncomingMessage & { webhook: VerifiedWebhook<T> };

/**
 * Reads the whole body as bytes, refusing more than `maxBytes`. On overflow
 * the rest is drained (not destroyed) so the 413 response still reaches the
 * client instead of a connection reset.
 */
export function readRawBody(req: IncomingMessage, maxBytes: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const declared = declaredLength(req.headers['content-length']);
    if (declared !== undefined && declared > maxBytes) {
      req.resume();
      reject(tooLarge(maxBytes));
      return;
    }
    const chunks: Uint8Array[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
    };
    const onData = (chunk: Uint8Array | string): void => {
      const bytes = typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk;
      size += bytes.length;
      if (size > maxBytes) {
        cleanup();
        req.resume();
        reject(tooLarge(maxBytes));
        return;
      }
      chunks.push(bytes);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(concatBytes(chunks));
    };
    const onError = (err: Error): void => {
      cleanup();
      reject(err);
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
  });
}

/**
 * The raw body, wherever it is: a Buffer or string a raw/text parser already
 * put on `req.body`, else the unread stream. A consumed stream with an object
 * on `req.body` means a JSON parser ran first and the bytes are gone, the
 * classic "verification always fails" bug, so it is reported as such instead
 * of as a bad signature. (Express 4's body-parser sets `req.body = {}` even
 * when it skips a request; the stream is still unread then, and is used.)
 */
async function rawBodyOf(req: IncomingMessage & { body?: unknown }, maxBytes: number): Promise<Uint8Array | string> {
  const { body } = req;
  if (body instanceof Uint8Array || typeof body === 'string') {
    const size = typeof body === 'string' ? new TextEncoder().encode(body).length : body.length;
    if (size > maxBytes) throw tooLarge(maxBytes);
    return body;
  }
  if (req.readableEnded) {
    throw new WebhookVerificationError(
      'body_already_parsed',
      body !== undefined && body !== null
        ? 'the request body was parsed before the webhook middleware; mount it before express.json() or use express.raw() so the raw bytes are kept'
        : 'the request stream was consumed before the webhook middleware ran',
    );
  }
  return readRawBody(req, maxBytes);
}

/** Verifies a Node request; resolves to the verified webhook or rejects with WebhookVerificationError. */
export async function verifyNodeRequest<T = unknown>(
  req: IncomingMessage & { body?: unknown },
  options: WebhookMiddlewareOptions<T>,
): Promise<VerifiedWebhook<T>> {
  const max = checkOptions(options);
  const raw = await rawBodyOf(req, max);
  return verifyWebhook<T>(raw, req.headers, options.secret, options);
}

/** Sends `{"error":{"code","message"}}` with the error's status (401 for verification failures). */
export function sendNodeError(res: ServerResponse, error: WebhookVerificationError): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const body = JSON.stringify(error.toJSON());
  res.statusCode = error.status;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', new TextEncoder().encode(body).length);
  // After a 413 the unread remainder would otherwise be parsed as the next request.
  if (error.code === 'body_too_large') res.setHeader('connection', 'close');
  res.end(body);
}

function sendInternalError(res: ServerResponse): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  res.statusCode = 500;
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.end(JSON.stringify({ error: { code: 'internal_error', message: 'internal error' } }));
}

/**
 * Wraps a node:http request listener: `http.createServer(nodeWebhook(opts, handler))`.
 * The handler runs only for verified requests, with `req.webhook` set;
 * everything else gets a JSON error. An exception from the handler is a
 * 500 without internals, so the sender retries.
 */
export function nodeWebhook<T = unknown>(
  options: WebhookMiddlewareOptions<T>,
  handler: (req: WebhookRequest<T>, res: ServerResponse) => unknown,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  checkOptions(options);
  return async (req, res) => {
    let webhook: VerifiedWebhook<T>;
    try {
      webhook = await verifyNodeRequest<T>(req, options);
    } catch (err) {
      if (err instanceof WebhookVerificationError) {
        report(options, err);
        sendNodeError(res, err);
      } else sendInternalError(res);
      return;
    }
    const verified = Object.assign(req, { webhook });
    try {
      await handler(verified, res);
    } catch {
      sendInternalError(res);
    }
  };
}
