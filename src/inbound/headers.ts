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
  'authorization', 'proxy-authorization', 'cookie', 'accept-encoding', 'x-forwarded-for', 'x-forwarded-host',
  'x-forwarded-proto', 'x-real-ip', 'forwarded', 'via',
]);

export function forwardedHeaders(headers: Record<string, string>, allow: string[] | null): Record<string, string> {
  const out: Record<string, string> = {};
  const allowed = allow ? new Set(allow.map((h) => h.toLowerCase())) : null;
  for (const [name, value] of Object.entries(headers)) {
    // content-type is always kept: the body means nothing without it.
    if (name !== 'content-type' && (isReservedHeader(name) || NOT_FORWARDED.has(name))) continue;
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
