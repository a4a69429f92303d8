// What a lease's DHCPACK means: the CNI result Allocate returns, and the times
// (T1, T2, expiry) that drive its maintenance.
import type { Lease } from '../../pkg/dhcp/client.js';
import { classlessRoutes, Opt, optIPs, optPrefix, optU32, staticRoutes } from '../../pkg/dhcp/message.js';
import type { Result, Route } from '../../pkg/types/result.js';

const DEFAULT_LEASE_SECS = 3600;

/** The CNI result of a lease (reference §2.8 "Result"); throws when the ACK has no subnet mask. */
export function leaseResult(lease: Lease, priority = 0): Result {
  const ack = lease.ack;
  const prefix = optPrefix(ack, Opt.SubnetMask);
  if (prefix === undefined) throw new Error('DHCP option Subnet Mask not found in DHCPACK');
  const gateway = optIPs(ack, Opt.Router)[0];
  const routes: Route[] = [];
  // RFC 3442: with classless routes the static routes and the router are not routes
  const classless = classlessRoutes(ack);
  if (classless?.length) {
    for (const r of classless) routes.push(r.gw === '0.0.0.0' ? { dst: r.dst, gw: r.gw, scope: 253 } : { dst: r.dst, gw: r.gw });
  } else {
    for (const r of staticRoutes(ack)) routes.push({ dst: r.dst, gw: r.gw });
    // SPEC: a gateway does not imply a default route, so the route is spelled out
    if (gateway) routes.push({ dst: '0.0.0.0/0', gw: gateway });
  }
  if (priority) for (const r of routes) r.priority = priority;
  const ip = gateway ? { address: `${lease.address}/${prefix}`, gateway } : { address: `${lease.address}/${prefix}` };
  return { cniVersion: '1.1.0', ips: [ip], routes };
}

/** Seconds from the ACK: lease time (51, default 1 h), T1 (58, default ½), T2 (59, default 0.85). */
export function leaseTimes(lease: Lease): { renewAt: number; rebindAt: number; expireAt: number } {
  const secs = optU32(lease.ack, Opt.LeaseTime) ?? DEFAULT_LEASE_SECS;
  const t1 = optU32(lease.ack, Opt.RenewalTime) ?? secs / 2;
  const t2 = optU32(lease.ack, Opt.RebindingTime) ?? (secs * 85) / 100;
  const at = (s: number) => lease.boundAt + s * 1000;
  // 0xffffffff is "infinite" (RFC 2131 §3.3): never renew
  if (secs === 0xffffffff) return { renewAt: Infinity, rebindAt: Infinity, expireAt: Infinity };
  return { renewAt: at(t1), rebindAt: at(t2), expireAt: at(secs) };
}

/** Absolute times (ms since the epoch; Infinity = never) of T1, T2 and expiry. */
export type LeaseTimes = ReturnType<typeof leaseTimes>;

/** A time as the lease file keeps it: ISO 8601, or null for never. */
export const isoOrNull = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : null);
/** A lease file's time back: null is never (Infinity). */
export const msOrInfinity = (iso: string | null) => (iso === null ? Infinity : Date.parse(iso));
/** An infinite lease (0xffffffff) has no expiry to print: Date(Infinity) throws. */
export const expiryText = (t: LeaseTimes) => isoOrNull(t.expireAt) ?? 'never';
