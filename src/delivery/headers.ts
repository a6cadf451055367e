import { signLegacyHex, signStandard, standardKey } from '../core/signing.js';
import type { ClaimedDelivery } from '../store/types.js';
import { VERSION } from '../version.js';

const USER_AGENT = `Herald/${VERSION}`;

/**
 * Headers of one attempt. `webhook-id` is the event id on every attempt (receivers
 * deduplicate on it); `webhook-timestamp` is this attempt's time, so a retry hours later
 * still passes a receiver's 5-minute replay window.
 */
export function deliveryHeaders(d: ClaimedDelivery, attempt: number, nowSeconds: number): Record<string, string> {
  const ep = d.endpoint;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    'user-agent': USER_AGENT,
    'webhook-id': d.eventId,
    'webhook-timestamp': String(nowSeconds),
    'webhook-signature': signStandard(standardKey(ep.secret), d.eventId, nowSeconds, d.body),
    'x-webhook-signature': `sha256=${signLegacyHex(ep.secret, d.body)}`,
    'x-webhook-event': d.eventType,
    'x-webhook-id': ep.id,
    'x-webhook-delivery-id': d.id,
    'x-webhook-attempt': String(attempt),
  };
  // Custom header names can't collide with the ones above: the API rejects reserved names.
  for (const name in ep.headers) headers[name] = ep.headers[name];
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
