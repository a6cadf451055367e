import { BlockList, isIP } from 'node:net';

/**
 * Addresses a webhook must never reach unless the operator allows it: loopback, private,
 * CGNAT, link-local (cloud metadata at 169.254.169.254), multicast, reserved, unspecified,
 * and their IPv6 forms. An IPv6 address that embeds an IPv4 one (see embeddedIPv4) is judged
 * by that IPv4 part.
 */
const blocked = new BlockList();
for (const [net, bits] of [
  ['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12],
  ['192.0.0.0', 24], ['192.0.2.0', 24], ['192.88.99.0', 24], ['192.168.0.0', 16], ['198.18.0.0', 15],
  ['198.51.100.0', 24], ['203.0.113.0', 24], ['224.0.0.0', 4], ['240.0.0.0', 4],
] as const) blocked.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [
  ['::', 128], ['::1', 128], ['64:ff9b::', 96], ['64:ff9b:1::', 48], ['100::', 64], ['2001::', 23], ['2001:db8::', 32],
  ['fc00::', 7], ['fe80::', 10], ['fec0::', 10], ['ff00::', 8],
] as const) blocked.addSubnet(net, bits, 'ipv6');

/** The eight 16-bit groups of an IPv6 address (any spelling, a dotted IPv4 tail included), or null. */
function hextets(ip: string): number[] | null {
  let text = ip.toLowerCase();
  const dotted = /^(.*:)((?:\d{1,3}\.){3}\d{1,3})$/.exec(text);
  if (dotted) {
    const b = dotted[2].split('.').map(Number);
    if (b.some((x) => x > 255)) return null;
    text = `${dotted[1]}${((b[0] << 8) | b[1]).toString(16)}:${((b[2] << 8) | b[3]).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const part = (p: string) => (p === '' ? [] : p.split(':').map((h) => (/^[0-9a-f]{1,4}$/.test(h) ? parseInt(h, 16) : NaN)));
  const head = part(halves[0]);
  const tail = halves.length === 2 ? part(halves[1]) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const all = [...head, ...Array(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return all.some(Number.isNaN) ? null : all;
}

const v4Of = (hi: number, lo: number) => `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`;

/**
 * The IPv4 address an IPv6 address carries, for the forms that reach it: IPv4-mapped
 * (::ffff:a.b.c.d), IPv4-compatible (::a.b.c.d), IPv4-translated (::ffff:0:a.b.c.d), 6to4
 * (2002:aabb:ccdd::/48) and NAT64 (64:ff9b::/96, and 64:ff9b:1::/48 with the RFC 6052 layout
 * that skips bits 64–71). Such an address is judged by that IPv4: `[::7f00:1]` is loopback.
 */
export function embeddedIPv4(ip: string): string | null {
  const h = hextets(ip);
  if (!h) return null;
  const zero = (from: number, to: number) => h.slice(from, to).every((x) => x === 0);
  if (zero(0, 5) && h[5] === 0xffff) return v4Of(h[6], h[7]);
  if (zero(0, 4) && h[4] === 0xffff && h[5] === 0) return v4Of(h[6], h[7]);
  if (zero(0, 6)) return v4Of(h[6], h[7]);
  if (h[0] === 0x2002) return v4Of(h[1], h[2]);
  if (h[0] === 0x64 && h[1] === 0xff9b && zero(2, 6)) return v4Of(h[6], h[7]);
  if (h[0] === 0x64 && h[1] === 0xff9b && h[2] === 1) return v4Of(h[3], ((h[4] & 255) << 8) | (h[5] >> 8));
  return null;
}

export function isBlockedAddress(ip: string): boolean {
  const bare = ip.replace(/^\[|\]$/g, '');
  const family = isIP(bare);
  if (family === 4) return blocked.check(bare, 'ipv4');
  if (family === 6) {
    const v4 = embeddedIPv4(bare);
    if (v4) return blocked.check(v4, 'ipv4');
    return blocked.check(bare, 'ipv6');
  }
  return false;
}

/** `localhost` and friends resolve to loopback without DNS; treat them as such. */
export function isLocalHostname(host: string): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return h === 'localhost' || h.endsWith('.localhost');
}
