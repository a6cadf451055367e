/**
 * The one error type of the receiver SDK. `code` is stable and meant for
 * programs (switch on it, count it in metrics); `message` is for humans and
 * may change wording between releases.
 */

export type WebhookErrorCode =
  /** A header the scheme needs is absent or empty. */
  | 'missing_header'
  /** A header is present but malformed (e.g. a timestamp that is not an integer). */
  | 'invalid_header'
  /** No signature in the request matches any of the configured secrets. */
  | 'invalid_signature'
  /** Authentic, but signed longer ago than the tolerance: a replay or a skewed clock. */
  | 'timestamp_too_old'
  /** Authentic, but signed further in the future than the tolerance: a skewed clock. */
  | 'timestamp_in_future'
  /** Authentic, but the body could not be decoded or parsed as requested. */
  | 'invalid_body'
  /** The request body is larger than the middleware's limit. */
  | 'body_too_large'
  /** A framework body parser consumed the body before the middleware saw the raw bytes. */
  | 'body_already_parsed'
  /** A configured secret is empty or not decodable for its scheme (receiver misconfiguration). */
  | 'invalid_secret'
  /** Options are inconsistent or name an unknown scheme (receiver misconfiguration). */
  | 'invalid_options';

/**
 * HTTP status a middleware answers with. Everything the sender can cause is a
 * 4xx; misconfigurations on the receiver's side are 500 so the sender retries
 * once the receiver is fixed instead of treating the event as rejected.
 */
const STATUS_BY_CODE: Record<WebhookErrorCode, number> = {
  missing_header: 401,
  invalid_header: 401,
  invalid_signature: 401,
  timestamp_too_old: 401,
  timestamp_in_future: 401,
  invalid_body: 401,
  body_too_large: 413,
  body_already_parsed: 500,
  invalid_secret: 500,
  invalid_options: 500,
};

export class WebhookVerificationError extends Error {
  readonly code: WebhookErrorCode;
  /** HTTP status the middlewares answer with for this code. */
  readonly status: number;

  constructor(code: WebhookErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'WebhookVerificationError';
    this.code = code;
    this.status = STATUS_BY_CODE[code];
  }

  /** The JSON body middlewares send: `{"error":{"code","message"}}`. */
  toJSON(): { error: { code: WebhookErrorCode; message: string } } {
    return { error: { code: this.code, message: this.message } };
  }
}

export function isWebhookVerificationError(err: unknown): err is WebhookVerificationError {
  return err instanceof WebhookVerificationError;
}
