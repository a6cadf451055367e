import { isReservedHeader } from '../delivery/headers.js';

/**
 * Which of a received request's headers travel on to HTTP destinations, and how they appear
 * in the request log.
 *
 * Forwarded by default: everything the provider sent (its event name, delivery id and
 * signature headers let an app keep its existing verification) except hop-by-hop and
 * transport headers, credentials meant for Herald, and names Herald sets itself.
 */
const NOT_FORWARDED = new Set([
  'authorization', 'proxy-authorization', 'cookie', 'accept-encoding', 'x-real-ip', 'forwarded', 'via', 'proxy-connection',
]);

/**
 * Added by proxies in front of Herald, not by the provider: x-forwarded-for/-host/-proto, and
 * the likes of oauth2-proxy's x-forwarded-access-token or a mesh's x-forwarded-client-cert.
 */
const PROXY_PREFIX = 'x-forwarded-';

export function forwardedHeaders(headers: Record<string, string>, allow: string[] | null): Record<string, string> {
  const out: Record<string, string> = {};
  const allowed = allow ? new Set(allow.map((h) => h.toLowerCase())) : null;
  // Hop-by-hop by declaration: what the Connection header names ends with this hop.
  const hop = new Set((headers.connection ?? '').split(',').map((h) => h.trim().toLowerCase()).filter(Boolean));
  for (const [name, value] of Object.entries(headers)) {
    // content-type is always kept: the body means nothing without it.
    if (name !== 'content-type' && (isReservedHeader(name) || NOT_FORWARDED.has(name) || name.startsWith(PROXY_PREFIX) || hop.has(name))) continue;
    if (allowed && name !== 'content-type' && !allowed.has(name)) continue;
    out[name] = value;
  }
  return out;
}

const SECRET_NAME = /authorization|cookie|token|secret|password|passwd|api[-_]?key|session/i;

/** Headers as logged: credentials replaced, so the request log can be shown to anyone who may see the source. */
export function loggedHeaders(headers: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) out[name] = SECRET_NAME.test(name) ? '[redacted]' : value;
  return out;
}
