import { isIP } from 'node:net';
import { isLocalHostname } from './address.js';
import type { AddressPolicy } from './address-policy.js';

/**
 * Static checks on an endpoint URL at create/update time. The URL parser already
 * normalises IPv4 spellings (`0x7f000001`, `2130706433` → `127.0.0.1`), so literal
 * addresses are judged in canonical form. Hostnames are checked again on the resolved
 * address at connect time; this only rejects what can never be valid.
 */
export function endpointUrlProblem(raw: string, policy: AddressPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a valid absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    // In dev mode plain http:// is fine, so don't send people to https:// they may not have.
    return `must be ${policy.dev ? 'an http:// or https://' : 'an https://'} URL (got ${url.protocol}//)`;
  }
  if (url.username || url.password) return 'must not contain credentials; use custom headers for receiver auth';
  if (url.hash) return 'must not contain a #fragment';
  if (policy.dev) return null;
  const host = url.hostname.replace(/^\[|\]$/g, '');
  if (isLocalHostname(host)) return `points at a loopback host (${host}); allowed only with HERALD_DEV=1`;
  if (isIP(host) !== 0 && !policy.permits(host)) {
    return `points at a private, loopback or reserved address (${host}); allowed with HERALD_DEV=1 or HERALD_ALLOWED_NETWORKS`;
  }
  if (url.protocol !== 'https:' && !policy.allowsPlainHttp(host)) {
    return 'must use https:// (plain http:// is allowed only with HERALD_DEV=1 or for an address in HERALD_ALLOWED_NETWORKS)';
  }
  return null;
}
