import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import type { AddressPolicy } from '../core/address-policy.js';

export type LookupFunction = (
  hostname: string,
  options: { all?: boolean; family?: number | string } & Record<string, unknown>,
  callback: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

export class BlockedAddressError extends Error {
  readonly code = 'blocked_address';
  constructor(host: string, addresses: string[]) {
    super(`${host} resolves only to addresses webhooks may not reach (${addresses.join(', ')})`);
  }
}

/**
 * The SSRF guard, in the resolver the socket uses: the check happens on the address actually
 * connected to, so a hostname that resolves to 127.0.0.1, or starts to after validation (DNS
 * rebinding), is refused at connect time. IP literals never reach a lookup hook; the sender
 * checks those itself before dispatching.
 */
export function guardedLookup(policy: AddressPolicy, resolve: LookupFunction = dnsLookup as unknown as LookupFunction): LookupFunction {
  return (hostname, options, callback) => {
    resolve(hostname, { ...options, all: true }, (err, result) => {
      if (err) return callback(err, options.all ? [] : '');
      const all = result as LookupAddress[];
      const permitted = all.filter((a) => policy.permits(a.address));
      if (permitted.length === 0) return callback(new BlockedAddressError(hostname, all.map((a) => a.address)) as NodeJS.ErrnoException, options.all ? [] : '');
      if (options.all) callback(null, permitted);
      else callback(null, permitted[0].address, permitted[0].family);
    });
  };
}
