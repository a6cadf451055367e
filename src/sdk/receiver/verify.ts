/**
 * verify(): one call from raw request to a trusted, parsed event.
 *
 * Order matters: the signature is checked before the timestamp and long
 * before the body is parsed, so nothing an unauthenticated sender controls is
 * ever parsed, and timestamp errors only surface for authentic requests.
 */
import { WebhookVerificationError } from './errors.js';
import { fromUtf8, toBytes, type RawBody } from './encoding.js';
import { headerLookup, type HeadersInput } from './headers.js';
import { resolveScheme, type Scheme, type SchemeName } from './schemes/index.js';

/** One secret, or several while rotating (any may match). */
export type Secrets = string | readonly string[];

/** Unix seconds, or a Date. Every number in this API is Unix seconds. */
export type TimeInput = number | Date;

export type BodyParser<T> = 'json' | 'text' | ((text: string) => T);

export interface VerifyOptions<T = unknown> {
  /** Default "standard" (Standard Webhooks / Herald). A name or a scheme object like hmacScheme({...}). */
  scheme?: SchemeName | Scheme;
  /** Overrides the scheme's replay window (default 300 s for timestamped schemes). */
  toleranceSeconds?: number;
  /** "Now" for the timestamp check; default the system clock. Tests pass a fixed value. */
  now?: TimeInput;
  /** "json" (default), "text" (UTF-8 string) or a function receiving the text. */
  parse?: BodyParser<T>;
}

export interface VerifiedWebhook<T = unknown> {
  event: T;
  /** Delivery id, stable across retries when the scheme has one: the key to dedupe on. */
  id?: string;
  /** Signed timestamp in Unix seconds, for timestamped schemes. */
  timestamp?: number;
  /** Name of the scheme that verified the request. */
  scheme: string;
  /** The exact bytes that were verified. */
  rawBody: Uint8Array;
}

export function toUnixSeconds(time: TimeInput | undefined): number {
  if (time === undefined) return Math.floor(Date.now() / 1000);
  if (time instanceof Date) return Math.floor(time.getTime() / 1000);
  if (typeof time === 'number' && Number.isFinite(time)) return Math.floor(time);
  throw new WebhookVerificationError('invalid_options', '`now`/`timestamp` must be Unix seconds or a Date');
}

export function normalizeSecrets(secrets: Secrets): string[] {
  const list = typeof secrets === 'string' ? [secrets] : Array.isArray(secrets) ? [...secrets] : [];
  if (list.length === 0 || list.some((s) => typeof s !== 'string' || s === '')) {
    throw new WebhookVerificationError('invalid_secret', 'pass a non-empty secret string or an array of them');
  }
  return list;
}

function parseBody<T>(bytes: Uint8Array, parse: BodyParser<T>): T {
  let text: string;
  try {
    text = fromUtf8(bytes, true);
  } catch (cause) {
    throw new WebhookVerificationError('invalid_body', 'webhook body is not valid UTF-8', { cause });
  }
  if (parse === 'text') return text as T;
  try {
    return parse === 'json' ? (JSON.parse(text) as T) : parse(text);
  } catch (cause) {
    if (cause instanceof WebhookVerificationError) throw cause;
    const what = parse === 'json' ? 'JSON' : 'parseable by the given parser';
    throw new WebhookVerificationError('invalid_body', `webhook body is authentic but not ${what}`, { cause });
  }
}

/** Like verify(), but also returns the delivery id, timestamp and raw bytes. */
export async function verifyWebhook<T = unknown>(
  rawBody: RawBody,
  headers: HeadersInput,
  secret: Secrets,
  options: VerifyOptions<T> = {},
): Promise<VerifiedWebhook<T>> {
  const scheme = resolveScheme(options.scheme);
  const secrets = normalizeSecrets(secret);
  let body: Uint8Array;
  try {
    body = toBytes(rawBody);
  } catch (cause) {
    throw new WebhookVerificationError('invalid_body', (cause as Error).message, { cause });
  }
  const result = await scheme.verify({
    body,
    header: headerLookup(headers),
    secrets,
    now: toUnixSeconds(options.now),
    toleranceSeconds: options.toleranceSeconds,
  });
  const event = parseBody<T>(body, options.parse ?? 'json');
  return {
    event,
    id: result.id ?? scheme.idFromEvent?.(event),
    timestamp: result.timestamp,
    scheme: scheme.name,
    rawBody: body,
  };
}

/**
 * Verify a webhook and return its parsed event, or reject with a
 * WebhookVerificationError whose `code` says why.
 *
 * @param rawBody the body exactly as received: string, Buffer/Uint8Array or ArrayBuffer, never a parsed object
 * @param headers Fetch Headers, Node IncomingHttpHeaders or a plain object, any letter case
 * @param secret  one secret or several (rotation)
 */
export async function verify<T = unknown>(
  rawBody: RawBody,
  headers: HeadersInput,
  secret: Secrets,
  options: VerifyOptions<T> = {},
): Promise<T> {
  return (await verifyWebhook(rawBody, headers, secret, options)).event;
}
