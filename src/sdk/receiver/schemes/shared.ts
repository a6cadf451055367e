/** Pieces several schemes share: header presence, timestamps, key import. */
import { WebhookVerificationError } from '../errors.js';
import type { HeaderLookup } from '../headers.js';
import { importHmacKey, type HmacAlgorithm, type HmacKey } from '../hmac.js';
import { utf8 } from '../encoding.js';

/** Five minutes, the window Standard Webhooks, Stripe and Slack all use. */
export const DEFAULT_TOLERANCE_SECONDS = 300;

export function requireHeader(header: HeaderLookup, name: string): string {
  const value = header(name);
  if (value === undefined) {
    throw new WebhookVerificationError('missing_header', `missing required header "${name}"`);
  }
  return value;
}

/** Unix seconds as decimal digits only: "1e9", "12.5" or " 12" are rejected, not coerced. */
export function parseUnixSeconds(value: string, headerName: string): number {
  if (!/^\d{1,12}$/.test(value)) {
    throw new WebhookVerificationError(
      'invalid_header',
      `header "${headerName}" must be a Unix timestamp in seconds, got "${value.slice(0, 32)}"`,
    );
  }
  return Number(value);
}

/**
 * Called only after the signature matched, so an attacker never learns
 * anything from these messages, while an operator whose clock drifted sees by
 * how much (the most common cause of "every webhook is too old").
 */
export function checkTimestamp(timestamp: number, now: number, toleranceSeconds: number): void {
  const age = now - timestamp;
  if (age > toleranceSeconds) {
    throw new WebhookVerificationError(
      'timestamp_too_old',
      `webhook timestamp is ${age} s old, beyond the ${toleranceSeconds} s tolerance (replayed request, or check this server's clock)`,
    );
  }
  if (-age > toleranceSeconds) {
    throw new WebhookVerificationError(
      'timestamp_in_future',
      `webhook timestamp is ${-age} s in the future, beyond the ${toleranceSeconds} s tolerance (check this server's clock)`,
    );
  }
}

export function resolveTolerance(override: number | undefined, fallback: number): number {
  const value = override ?? fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || value < 0) {
    throw new WebhookVerificationError('invalid_options', 'toleranceSeconds must be a non-negative number');
  }
  return value;
}

/** Keys for schemes that use the secret string's UTF-8 bytes as-is (GitHub, Stripe, Slack, …). */
export function importUtf8Keys(secrets: readonly string[], algorithm: HmacAlgorithm): Promise<HmacKey[]> {
  return Promise.all(secrets.map((s) => importHmacKey(utf8(s), algorithm)));
}

/** The delivery id when an event is an object with a string field `field`. */
export function stringField(event: unknown, field: string): string | undefined {
  if (event && typeof event === 'object' && !Array.isArray(event)) {
    const value = (event as Record<string, unknown>)[field];
    if (typeof value === 'string' && value !== '') return value;
  }
  return undefined;
}
