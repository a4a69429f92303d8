// Ranges and range sets of host-local (reference §2.7): one address is handed
// out per range set; a set is a list of same-family ranges tried in order.
// Addresses are bigints here so that iterating a /16 or a /64 is plain arithmetic.
import { bigIntToIP, formatIP, ipToBigInt, type IP } from '../../ipaddr/index.js';

/** One canonical range: bounds are inclusive, everything already validated. */
export interface Range {
  family: 4 | 6;
  prefix: number;
  /** First and last address of the subnet (network and, for IPv4, broadcast). */
  network: bigint;
  last: bigint;
  start: bigint;
  end: bigint;
  gateway: bigint;
  /** `10.1.0.0/24`, as written in results and errors. */
  subnet: string;
}

export type RangeSet = Range[];

/** The textual form of an address of `family`, as Go prints it. */
export function ipString(family: 4 | 6, n: bigint): string {
  return formatIP(bigIntToIP(family, n));
}

/** `start-end` as the reference prints a range. */
export function rangeString(r: Range): string {
  return `${ipString(r.family, r.start)}-${ipString(r.family, r.end)}`;
}

/** `start-end,start-end` as the reference prints a range set. */
export function rangeSetString(set: RangeSet): string {
  return set.map(rangeString).join(',');
}

/** True when `ip` lies between the range's start and end. */
export function rangeContains(r: Range, ip: IP): boolean {
  if (ip.family !== r.family) return false;
  const n = ipToBigInt(ip);
  return n >= r.start && n <= r.end;
}

/** The range of the set holding `ip`, or undefined. */
export function rangeFor(set: RangeSet, ip: IP): Range | undefined {
  return set.find((r) => rangeContains(r, ip));
}

/** Why `n` can never be handed out of `r` (gateway, network, IPv4 broadcast), or undefined. */
export function reservedRole(r: Range, n: bigint): string | undefined {
  if (n === r.gateway) return "subnet's gateway";
  if (n === r.network) return 'network address';
  if (r.family === 4 && n === r.last) return 'broadcast address';
  return undefined;
}

/** Two ranges share an address (same family, overlapping start-end). */
export function rangesOverlap(a: Range, b: Range): boolean {
  return a.family === b.family && a.start <= b.end && b.start <= a.end;
}

/**
 * The reference's allocation order for a set: start after `last` when it lies
 * in the set (round-robin), else at the first range's start; walk each range
 * to its end, move to the next range, wrap around, stop after one full cycle.
 * Addresses that can never be handed out are skipped.
 */
export function* candidates(set: RangeSet, last: IP | undefined): Generator<{ range: Range; n: bigint }> {
  let idx = 0;
  let cur: bigint;
  if (last && rangeFor(set, last)) {
    idx = set.findIndex((r) => rangeContains(r, last));
    cur = ipToBigInt(last);
  } else {
    cur = set[0].start - 1n;
  }
  const total = set.reduce((acc, r) => acc + (r.end - r.start + 1n), 0n);
  for (let seen = 0n; seen < total; seen++) {
    let r = set[idx];
    if (cur >= r.end) {
      idx = (idx + 1) % set.length;
      r = set[idx];
      cur = r.start;
    } else {
      cur++;
    }
    if (reservedRole(r, cur) === undefined) yield { range: r, n: cur };
  }
}
