// IP address and prefix arithmetic, in the textual forms Go's net package reads
// and writes (so results and on-disk names match the reference byte for byte).
import { compare, equal, fromHex, hex, put16be, u16be } from '../bytes/index.js';

/** An IPv4 (4 bytes) or IPv6 (16 bytes) address. */
export interface IP {
  family: 4 | 6;
  bytes: Uint8Array;
}

/** An address with a prefix length, host bits kept (as in `10.1.0.5/16`). */
export interface IPNet {
  ip: IP;
  prefix: number;
}

const V4_PART = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;

function parseV4(s: string): Uint8Array | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    if (!V4_PART.test(parts[i])) return undefined;
    out[i] = Number(parts[i]);
  }
  return out;
}

function parseV6(s: string): Uint8Array | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s)) return undefined;
  const dbl = s.indexOf('::');
  if (dbl !== s.lastIndexOf('::')) return undefined;
  const groups: number[] = [];
  const pushGroups = (part: string, allowV4Tail: boolean): boolean => {
    if (part === '') return true;
    const items = part.split(':');
    for (let i = 0; i < items.length; i++) {
      const it = items[i];
      if (allowV4Tail && i === items.length - 1 && it.includes('.')) {
        const v4 = parseV4(it);
        if (!v4) return false;
        groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
        continue;
      }
      if (!/^[0-9a-fA-F]{1,4}$/.test(it)) return false;
      groups.push(parseInt(it, 16));
    }
    return true;
  };
  let head: number[] = [];
  if (dbl >= 0) {
    if (!pushGroups(s.slice(0, dbl), false)) return undefined;
    head = groups.splice(0);
    if (!pushGroups(s.slice(dbl + 2), true)) return undefined;
    const tail = groups.splice(0);
    if (head.length + tail.length > 7) return undefined;
    groups.push(...head, ...new Array(8 - head.length - tail.length).fill(0), ...tail);
  } else {
    if (!pushGroups(s, true) || groups.length !== 8) return undefined;
  }
  const out = new Uint8Array(16);
  groups.forEach((g, i) => put16be(out, i * 2, g));
  return out;
}

/** Parses a textual IPv4 or IPv6 address; undefined when it is not one. */
export function parseIP(s: string): IP | undefined {
  if (typeof s !== 'string') return undefined;
  if (s.includes(':')) {
    const b = parseV6(s);
    if (!b) return undefined;
    // Go treats ::ffff:a.b.c.d as IPv4.
    if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return { family: 4, bytes: b.slice(12) };
    return { family: 6, bytes: b };
  }
  const b = parseV4(s);
  return b ? { family: 4, bytes: b } : undefined;
}

/** Formats an address as Go's `net.IP.String()` does (RFC 5952 for IPv6). */
export function formatIP(ip: IP): string {
  if (ip.family === 4) return Array.from(ip.bytes).join('.');
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push(u16be(ip.bytes, i));
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const groups = (a: number[]) => a.map((x) => x.toString(16)).join(':');
  if (bestStart < 0) return groups(g);
  return `${groups(g.slice(0, bestStart))}::${groups(g.slice(bestStart + bestLen))}`;
}

/** Parses `addr/prefix`; undefined when malformed. */
export function parseCIDR(s: string): IPNet | undefined {
  if (typeof s !== 'string') return undefined;
  const slash = s.indexOf('/');
  if (slash < 0) return undefined;
  const ip = parseIP(s.slice(0, slash));
  const p = s.slice(slash + 1);
  if (!ip || !/^\d{1,3}$/.test(p)) return undefined;
  const prefix = Number(p);
  if (prefix > bitLen(ip)) return undefined;
  // Go keeps an IPv4-mapped IPv6 CIDR in 128-bit space; we only see plain forms.
  if (ip.family === 4 && s.slice(0, slash).includes(':')) return undefined;
  return { ip, prefix };
}

/** 32 or 128. */
export function bitLen(ip: IP): number {
  return ip.family === 4 ? 32 : 128;
}

export function ipToBigInt(ip: IP): bigint {
  return BigInt('0x' + (hex(ip.bytes) || '0'));
}

export function bigIntToIP(family: 4 | 6, n: bigint): IP {
  const len = family === 4 ? 4 : 16;
  const digits = n.toString(16).padStart(len * 2, '0');
  return { family, bytes: fromHex(digits.slice(-len * 2))! };
}

function maskBig(family: 4 | 6, prefix: number): bigint {
  const bits = family === 4 ? 32 : 128;
  return ((1n << BigInt(bits)) - 1n) ^ ((1n << BigInt(bits - prefix)) - 1n);
}

/** The network address (host bits cleared). */
export function networkOf(net: IPNet): IP {
  return bigIntToIP(net.ip.family, ipToBigInt(net.ip) & maskBig(net.ip.family, net.prefix));
}

/** The last address of the prefix (IPv4 broadcast). */
export function lastOf(net: IPNet): IP {
  const bits = bitLen(net.ip);
  const host = (1n << BigInt(bits - net.prefix)) - 1n;
  return bigIntToIP(net.ip.family, (ipToBigInt(net.ip) & maskBig(net.ip.family, net.prefix)) | host);
}

/** True when `ip` lies inside `net`. */
export function contains(net: IPNet, ip: IP): boolean {
  if (ip.family !== net.ip.family) return false;
  const m = maskBig(ip.family, net.prefix);
  return (ipToBigInt(ip) & m) === (ipToBigInt(net.ip) & m);
}

/** True when two prefixes share any address. */
export function overlaps(a: IPNet, b: IPNet): boolean {
  return contains(a, b.ip) || contains(b, a.ip);
}

export function ipEqual(a: IP, b: IP): boolean {
  return a.family === b.family && equal(a.bytes, b.bytes);
}

export function compareIP(a: IP, b: IP): number {
  if (a.family !== b.family) return a.family - b.family;
  return compare(a.bytes, b.bytes);
}

/** ip + delta, wrapping within the family. */
export function addToIP(ip: IP, delta: bigint): IP {
  const mod = 1n << BigInt(bitLen(ip));
  return bigIntToIP(ip.family, (((ipToBigInt(ip) + delta) % mod) + mod) % mod);
}

/** `a.b.c.d/p` with host bits kept. */
export function formatCIDR(net: IPNet): string {
  return `${formatIP(net.ip)}/${net.prefix}`;
}

/** The masked network in `a.b.c.0/p` form. */
export function formatNetwork(net: IPNet): string {
  return `${formatIP(networkOf(net))}/${net.prefix}`;
}

/** The netmask bytes, as in a DHCP option 1. */
export function prefixFromMask(mask: Uint8Array): number | undefined {
  let n = 0;
  let seenZero = false;
  for (const byte of mask) {
    for (let bit = 7; bit >= 0; bit--) {
      if (byte & (1 << bit)) {
        if (seenZero) return undefined;
        n++;
      } else seenZero = true;
    }
  }
  return n;
}

/** The family of a textual address or CIDR, or undefined. */
export function familyOf(s: string): 4 | 6 | undefined {
  return (s.includes('/') ? parseCIDR(s)?.ip : parseIP(s))?.family;
}
