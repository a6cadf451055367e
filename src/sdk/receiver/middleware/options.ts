/** Options and error-response shaping shared by every framework adapter. */
import { WebhookVerificationError } from '../errors.js';
import type { Secrets, VerifyOptions } from '../verify.js';

/**
 * GitHub caps payloads at 25 MB, most providers stay under 1 MB; 5 MiB keeps
 * a flood of large bodies from exhausting memory while accepting nearly
 * every real webhook. Raise it for providers with large payloads.
 */
export const DEFAULT_MAX_BODY_BYTES = 5 * 1024 * 1024;

export interface WebhookMiddlewareOptions<T = unknown> extends VerifyOptions<T> {
  /** One secret, or several while rotating. */
  secret: Secrets;
  /** Bodies larger than this are refused with 413 `body_too_large`. Default 5 MiB. */
  maxBodyBytes?: number;
  /**
   * Called with every verification failure before the error response is
   * sent, e.g. to log or count it. Exceptions it throws are ignored.
   */
  onError?: (error: WebhookVerificationError) => void;
}

export function checkOptions(options: WebhookMiddlewareOptions<unknown>): number {
  if (!options || options.secret === undefined) {
    throw new WebhookVerificationError('invalid_options', 'webhook middleware needs a `secret` option');
  }
  const max = options.maxBodyBytes ?? DEFAULT_MAX_BODY_BYTES;
  if (!Number.isInteger(max) || max <= 0) {
    throw new WebhookVerificationError('invalid_options', 'maxBodyBytes must be a positive integer');
  }
  return max;
}

export function tooLarge(max: number): WebhookVerificationError {
  return new WebhookVerificationError('body_too_large', `webhook body exceeds the ${max}-byte limit`);
}

/** Reports a failure to `onError` without letting a faulty logger break the response. */
export function report(options: WebhookMiddlewareOptions<unknown>, error: WebhookVerificationError): void {
  try {
    options.onError?.(error);
  } catch {
    // A logging hook must never turn a 401 into a crashed request.
  }
}

/** The content-length header as a number, when present and well-formed. */
export function declaredLength(value: string | null | undefined): number | undefined {
  if (value === null || value === undefined || !/^\d+$/.test(value)) return undefined;
  return Number(value);
}
