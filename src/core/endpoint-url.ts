import { isBlockedAddress, isLocalHostname } from './address.js';

/**
 * Static checks on an endpoint URL at create/update time. The URL parser already
 * normalises IPv4 spellings (`0x7f000001`, `2130706433` → `127.0.0.1`), so literal
 * addresses are judged in canonical form. Hostnames are checked again on the resolved
 * address at connect time; this only rejects what can never be valid.
 */
export function endpointUrlProblem(raw: string, opts: { dev: boolean }): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a valid absolute URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return `must use https:// (got ${url.protocol}//)`;
  if (url.username || url.password) return 'must not contain credentials; use custom headers for receiver auth';
  if (url.hash) return 'must not contain a #fragment';
  if (opts.dev) return null;
  if (url.protocol !== 'https:') return 'must use https:// (plain http:// is allowed only with HERALD_DEV=1)';
  if (isLocalHostname(url.hostname) || isBlockedAddress(url.hostname)) {
    return `points at a private, loopback or reserved address (${url.hostname}); allowed only with HERALD_DEV=1`;
  }
  return null;
}
