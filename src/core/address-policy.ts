import { BlockList, isIP } from 'node:net';
import { embeddedIPv4, isBlockedAddress } from './address.js';

/**
 * Which addresses outbound webhooks may reach: everything public, plus the operator's
 * allowed networks; everything in dev mode.
 */
export class AddressPolicy {
  private readonly allowed = new BlockList();

  constructor(readonly dev: boolean, networks: string[] = []) {
    for (const cidr of networks) {
      const [net, bits] = cidr.split('/');
      this.allowed.addSubnet(net, Number(bits), isIP(net) === 6 ? 'ipv6' : 'ipv4');
    }
  }

  /** Is this IP (any spelling the URL parser or DNS produces) allowed as a destination? */
  permits(ip: string): boolean {
    if (this.dev) return true;
    const bare = ip.replace(/^\[|\]$/g, '');
    const family = isIP(bare);
    if (family === 0) return false;
    const v4 = family === 6 ? embeddedIPv4(bare) : bare;
    if (v4 ? this.allowed.check(v4, 'ipv4') : this.allowed.check(bare, 'ipv6')) return true;
    return !isBlockedAddress(bare);
  }

  /** An allowed network may be reached over plain http (an internal receiver, say). */
  allowsPlainHttp(host: string): boolean {
    const bare = host.replace(/^\[|\]$/g, '');
    return this.dev || (isIP(bare) !== 0 && this.permits(bare) && isBlockedAddress(bare));
  }
}
