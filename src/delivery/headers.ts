import { signLegacyHex, signStandard, standardKey } from '../core/signing.js';
import type { ClaimedDelivery } from '../store/types.js';
import { VERSION } from '../version.js';

const USER_AGENT = `Herald/${VERSION}`;

/**
 * Headers of one attempt. `webhook-id` is the event id on every attempt (receivers
 * deduplicate on it); `webhook-timestamp` is this attempt's time, so a retry hours later
 * still passes a receiver's 5-minute replay window. During a secret rotation's grace period
 * `webhook-signature` carries one signature per live secret, newest first, space-separated.
 *
 * The legacy header carries one hex value, and the receivers that check it (hand-written,
 * comparing one string) can't take a list. So during a grace period it stays signed with the
 * oldest live secret, the one receivers that haven't switched yet hold, and
 * `<legacy header>-next` carries the same signature made with the current secret: a receiver
 * switches by checking the -next header when present (else the legacy one) with its new
 * secret, any time within the grace period. When the period ends the legacy header moves to
 * the current secret and -next goes away (docs/receiving.md, "Rotating secrets").
 */
export function deliveryHeaders(d: ClaimedDelivery, attempt: number, nowSeconds: number): Record<string, string> {
  const ep = d.endpoint;
  // A source's request carries its original headers (content-type among them); then the
  // endpoint's custom headers; Herald's own last, so they always win (names are lower-case).
  const headers: Record<string, string> = d.headers ? { ...d.headers, ...ep.headers } : { ...ep.headers };
  let signature = signStandard(standardKey(ep.secret), d.eventId, nowSeconds, d.body);
  let oldest: string | null = null;
  for (const old of ep.previousSecrets) {
    if (old.expiresAt > nowSeconds * 1000) {
      signature += ` ${signStandard(standardKey(old.secret), d.eventId, nowSeconds, d.body)}`;
      oldest = old.secret; // newest first: the last live one is the oldest
    }
  }
  const profile = d.profile;
  const legacyHeader = profile?.header ?? 'x-webhook-signature';
  const legacy = (secret: string) => (profile?.format === 'hex' ? '' : 'sha256=') + signLegacyHex(secret, d.body);
  if (!d.headers) headers['content-type'] = 'application/json';
  else headers['content-type'] ??= 'application/octet-stream';
  headers['user-agent'] = USER_AGENT;
  headers['webhook-id'] = d.eventId;
  headers['webhook-timestamp'] = String(nowSeconds);
  headers['webhook-signature'] = signature;
  headers[legacyHeader] = legacy(oldest ?? ep.secret);
  if (oldest !== null) headers[`${legacyHeader}-next`] = legacy(ep.secret);
  else delete headers[`${legacyHeader}-next`]; // not even from custom headers: receivers would trust it
  headers[profile?.eventHeader ?? 'x-webhook-event'] = d.eventType;
  headers['x-webhook-id'] = ep.id;
  headers['x-webhook-delivery-id'] = d.id;
  headers['x-webhook-attempt'] = String(attempt);
  return headers;
}

/**
 * The headers of a past attempt as the delivery log shows them: rebuilt from the endpoint, the
 * event and the attempt's time (nothing per attempt is stored), with the signatures left out
 * (they were made with whatever secret was live then, which may have been rotated since).
 */
export function shownHeaders(d: ClaimedDelivery, attempt: number, atSeconds: number): Record<string, string> {
  const headers = deliveryHeaders(d, attempt, atSeconds);
  const legacy = d.profile?.header ?? 'x-webhook-signature';
  for (const name of ['webhook-signature', legacy, `${legacy}-next`]) if (headers[name] !== undefined) headers[name] = '(signature, not kept)';
  return headers;
}

/** Header names an endpoint's custom headers may not set. */
export function isReservedHeader(name: string): boolean {
  const n = name.toLowerCase();
  return (
    n.startsWith('webhook-') ||
    n.startsWith('x-webhook-') ||
    ['content-type', 'content-length', 'user-agent', 'host', 'connection', 'transfer-encoding', 'te', 'upgrade',
      'keep-alive', 'expect', 'trailer', 'proxy-authorization'].includes(n)
  );
}
