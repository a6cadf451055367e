import { signLegacyHex, signStandard, standardKey } from '../core/signing.js';
import type { ClaimedDelivery } from '../store/types.js';
import { VERSION } from '../version.js';

const USER_AGENT = `Herald/${VERSION}`;

/**
 * Headers of one attempt. `webhook-id` is the event id on every attempt (receivers
 * deduplicate on it); `webhook-timestamp` is this attempt's time, so a retry hours later
 * still passes a receiver's 5-minute replay window. During a secret rotation's grace period
 * `webhook-signature` carries one signature per live secret, newest first, space-separated.
 */
export function deliveryHeaders(d: ClaimedDelivery, attempt: number, nowSeconds: number): Record<string, string> {
  const ep = d.endpoint;
  // A source's request carries its original headers (content-type among them); then the
  // endpoint's custom headers; Herald's own last, so they always win (names are lower-case).
  const headers: Record<string, string> = d.headers ? { ...d.headers, ...ep.headers } : { ...ep.headers };
  let signature = signStandard(standardKey(ep.secret), d.eventId, nowSeconds, d.body);
  for (const old of ep.previousSecrets) {
    if (old.expiresAt > nowSeconds * 1000) signature += ` ${signStandard(standardKey(old.secret), d.eventId, nowSeconds, d.body)}`;
  }
  const legacy = signLegacyHex(ep.secret, d.body);
  const profile = d.profile;
  if (!d.headers) headers['content-type'] = 'application/json';
  else headers['content-type'] ??= 'application/octet-stream';
  headers['user-agent'] = USER_AGENT;
  headers['webhook-id'] = d.eventId;
  headers['webhook-timestamp'] = String(nowSeconds);
  headers['webhook-signature'] = signature;
  headers[profile?.header ?? 'x-webhook-signature'] = profile?.format === 'hex' ? legacy : `sha256=${legacy}`;
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
  for (const name of ['webhook-signature', d.profile?.header ?? 'x-webhook-signature']) headers[name] = '(signature, not kept)';
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
