/**
 * sign(): the sender half, for unit-testing handlers and for people building
 * senders. `verify(body, await sign(body, secret, opts), secret, opts)` holds
 * for every scheme.
 */
import { toBytes, toHex, type RawBody } from './encoding.js';
import { resolveScheme, type Scheme, type SchemeName } from './schemes/index.js';
import { normalizeSecrets, toUnixSeconds, type Secrets, type TimeInput } from './verify.js';
import { WebhookVerificationError } from './errors.js';

export interface SignOptions {
  /** Default "standard". */
  scheme?: SchemeName | Scheme;
  /** Delivery id for schemes that carry one; default a random "msg_…". */
  id?: string;
  /** Unix seconds or a Date; default now. */
  timestamp?: TimeInput;
}

function randomId(): string {
  const bytes = new Uint8Array(12);
  globalThis.crypto.getRandomValues(bytes);
  return `msg_${toHex(bytes)}`;
}

/**
 * Headers (lower-case names) a sender of `scheme` would attach to `body`.
 * With several secrets, schemes that allow several signatures (Standard
 * Webhooks, Stripe, hmacScheme with a separator) include one per secret.
 */
export async function sign(body: RawBody, secret: Secrets, options: SignOptions = {}): Promise<Record<string, string>> {
  const scheme = resolveScheme(options.scheme);
  if (options.id !== undefined && (typeof options.id !== 'string' || options.id === '')) {
    throw new WebhookVerificationError('invalid_options', '`id` must be a non-empty string');
  }
  let bytes: Uint8Array;
  try {
    bytes = toBytes(body);
  } catch (cause) {
    throw new WebhookVerificationError('invalid_options', (cause as Error).message, { cause });
  }
  return scheme.sign({
    body: bytes,
    secrets: normalizeSecrets(secret),
    id: options.id ?? randomId(),
    timestamp: toUnixSeconds(options.timestamp),
  });
}
