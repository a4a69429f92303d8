// Addresses and routes over rtnetlink.
import { bitLen, formatCIDR, formatIP, lastOf, type IP, type IPNet } from './addr.js';
import { Attrs, encodeAttrs, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, Rtnl, type Attr } from './netlink.js';
import { concat, copy, put32, u32, view } from '../bytes/index.js';

const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const RTM_GETADDR = 22;
const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTM_GETROUTE = 26;

const AF_INET = 2;
const AF_INET6 = 10;
const IFA_ADDRESS = 1;
const IFA_LOCAL = 2;
const IFA_LABEL = 3;
const IFA_BROADCAST = 4;
const IFA_FLAGS = 8;
export const IFA_F_NODAD = 0x02;
export const IFA_F_DADFAILED = 0x08;
export const IFA_F_TENTATIVE = 0x40;
export const IFA_F_PERMANENT = 0x80;

const RTA_DST = 1;
const RTA_OIF = 4;
const RTA_GATEWAY = 5;
const RTA_PRIORITY = 6;
const RTA_PREFSRC = 7;
const RTA_METRICS = 8;
const RTA_TABLE = 15;
const RTAX_MTU = 2;
const RTAX_ADVMSS = 8;

export const RT_TABLE_MAIN = 254;
export const RT_TABLE_LOCAL = 255;
export const RT_SCOPE_UNIVERSE = 0;
export const RT_SCOPE_LINK = 253;
export const RT_SCOPE_HOST = 254;
export const RT_SCOPE_NOWHERE = 255;
export const RTPROT_KERNEL = 2;
export const RTPROT_BOOT = 3;
export const RTN_UNICAST = 1;

const afOf = (fam: 4 | 6) => (fam === 4 ? AF_INET : AF_INET6);
const famOf = (af: number): 4 | 6 => (af === AF_INET ? 4 : 6);

/** An address as the kernel reports it. */
export interface AddrInfo {
  index: number;
  family: 4 | 6;
  ip: IP;
  prefix: number;
  flags: number;
  scope: number;
  label?: string;
  /** `ip/prefix`, host bits kept. */
  cidr: string;
}

function ifaddrmsg(fam: 4 | 6, prefix: number, index: number, scope = 0, flags = 0): Uint8Array {
  const b = new Uint8Array(8);
  b[0] = afOf(fam);
  b[1] = prefix;
  b[2] = flags & 0xff;
  b[3] = scope;
  put32(b, 4, index);
  return b;
}

/** Adds `net` to link `index`. IPv4 gets a broadcast address as `ip addr add` and Go's netlink give it. */
export function addrAdd(nl: Rtnl, index: number, net: IPNet, opts: { flags?: number; replace?: boolean } = {}): void {
  const attrs: Attr[] = [
    { type: IFA_LOCAL, buf: net.ip.bytes },
    { type: IFA_ADDRESS, buf: net.ip.bytes },
  ];
  if (net.ip.family === 4 && net.prefix < 31) attrs.push({ type: IFA_BROADCAST, buf: lastOf(net).bytes });
  if (opts.flags) attrs.push({ type: IFA_FLAGS, u32: opts.flags });
  nl.request(
    RTM_NEWADDR,
    NLM_F_CREATE | (opts.replace ? NLM_F_REPLACE : NLM_F_EXCL),
    concat([ifaddrmsg(net.ip.family, net.prefix, index, 0, opts.flags ?? 0), encodeAttrs(attrs)]),
    `failed to add IP address ${formatCIDR(net)} to link ${index}`,
  );
}

/** Removes `net` from link `index`. */
export function addrDel(nl: Rtnl, index: number, net: IPNet): void {
  nl.request(
    RTM_DELADDR,
    0,
    concat([ifaddrmsg(net.ip.family, net.prefix, index), encodeAttrs([{ type: IFA_LOCAL, buf: net.ip.bytes }])]),
    `failed to delete IP address ${formatCIDR(net)} from link ${index}`,
  );
}

/** Addresses of the namespace, optionally of one link and one family. */
export function addrList(nl: Rtnl, filter: { index?: number; family?: 4 | 6 } = {}): AddrInfo[] {
  const out: AddrInfo[] = [];
  // one dump of both families (AF_UNSPEC: IPv4 first, then IPv6) unless one is asked for
  const req = filter.family ? ifaddrmsg(filter.family, 0, 0) : new Uint8Array(8);
  for (const m of nl.dump(RTM_GETADDR, req, 'failed to list addresses')) {
    const index = u32(m.body, 4);
    if (filter.index !== undefined && index !== filter.index) continue;
    const a = new Attrs(view(m.body, 8));
    const raw = a.get(IFA_LOCAL) ?? a.get(IFA_ADDRESS);
    if (!raw) continue;
    const ip: IP = { family: famOf(m.body[0]), bytes: copy(raw) };
    const prefix = m.body[1];
    out.push({
      index,
      family: ip.family,
      ip,
      prefix,
      flags: a.u32(IFA_FLAGS) ?? m.body[2],
      scope: m.body[3],
      label: a.str(IFA_LABEL),
      cidr: `${formatIP(ip)}/${prefix}`,
    });
  }
  return out;
}

/** A route to add, delete, or as listed. `dst` undefined means the default route. */
export interface RouteSpec {
  family?: 4 | 6;
  dst?: IPNet;
  gw?: IP;
  oif?: number;
  src?: IP;
  table?: number;
  scope?: number;
  priority?: number;
  protocol?: number;
  type?: number;
  mtu?: number;
  advmss?: number;
}

function routeFamily(r: RouteSpec): 4 | 6 {
  const f = r.family ?? r.dst?.ip.family ?? r.gw?.family ?? r.src?.family;
  if (!f) throw new Error('route needs a dst, gw or family');
  return f;
}

function rtmsg(r: RouteSpec, forDelete: boolean): Uint8Array {
  const fam = routeFamily(r);
  const table = r.table ?? RT_TABLE_MAIN;
  const b = new Uint8Array(12);
  b[0] = afOf(fam);
  b[1] = r.dst ? r.dst.prefix : 0;
  b[4] = table < 256 ? table : 252;
  b[5] = forDelete ? 0 : (r.protocol ?? RTPROT_BOOT);
  // On delete RT_SCOPE_NOWHERE matches any scope (as `ip route del`); 0 would match only universe routes.
  b[6] = r.scope ?? (forDelete ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE);
  b[7] = r.type ?? RTN_UNICAST;
  return b;
}

function routeAttrs(r: RouteSpec): Attr[] {
  const attrs: Attr[] = [];
  if (r.dst) attrs.push({ type: RTA_DST, buf: maskedBytes(r.dst) });
  if (r.gw) attrs.push({ type: RTA_GATEWAY, buf: r.gw.bytes });
  if (r.oif) attrs.push({ type: RTA_OIF, u32: r.oif });
  if (r.src) attrs.push({ type: RTA_PREFSRC, buf: r.src.bytes });
  if (r.priority) attrs.push({ type: RTA_PRIORITY, u32: r.priority });
  if ((r.table ?? RT_TABLE_MAIN) >= 256) attrs.push({ type: RTA_TABLE, u32: r.table! });
  const metrics: Attr[] = [];
  if (r.mtu) metrics.push({ type: RTAX_MTU, u32: r.mtu });
  if (r.advmss) metrics.push({ type: RTAX_ADVMSS, u32: r.advmss });
  if (metrics.length) attrs.push({ type: RTA_METRICS, buf: encodeAttrs(metrics) });
  return attrs;
}

function maskedBytes(n: IPNet): Uint8Array {
  const out = copy(n.ip.bytes);
  for (let bit = n.prefix; bit < bitLen(n.ip); bit++) out[bit >> 3] &= ~(0x80 >> (bit & 7));
  return out;
}

function describe(r: RouteSpec): string {
  const dst = r.dst ? `${formatIP({ family: r.dst.ip.family, bytes: maskedBytes(r.dst) })}/${r.dst.prefix}` : 'default';
  return `${dst}${r.gw ? ` via ${formatIP(r.gw)}` : ''}${r.oif ? ` dev ${r.oif}` : ''}`;
}

/**
 * Adds a route; `replace` makes it an `ip route replace`; `ecmp` lets it sit
 * beside a route to the same destination through another next hop (the
 * reference's ConfigureIface uses netlink.RouteAddEcmp since v1.0.0, Debian's
 * 1.1.1 included: a container on two networks gets both default routes).
 */
export function routeAdd(nl: Rtnl, r: RouteSpec, opts: { replace?: boolean; ecmp?: boolean } = {}): void {
  nl.request(
    RTM_NEWROUTE,
    NLM_F_CREATE | (opts.replace ? NLM_F_REPLACE : opts.ecmp ? 0 : NLM_F_EXCL),
    concat([rtmsg(r, false), encodeAttrs(routeAttrs(r))]),
    `failed to add route ${describe(r)}`,
  );
}

/** Deletes a route matching the given fields. */
export function routeDel(nl: Rtnl, r: RouteSpec): void {
  nl.request(RTM_DELROUTE, 0, concat([rtmsg(r, true), encodeAttrs(routeAttrs(r))]), `failed to delete route ${describe(r)}`);
}

/** Routes of one family in `table` (main by default; 0 for all tables). */
export function routeList(nl: Rtnl, family: 4 | 6, opts: { table?: number } = {}): RouteSpec[] {
  const want = opts.table ?? RT_TABLE_MAIN;
  const out: RouteSpec[] = [];
  const req = new Uint8Array(12);
  req[0] = afOf(family);
  for (const m of nl.dump(RTM_GETROUTE, req, 'failed to list routes')) {
    const b = m.body;
    const a = new Attrs(view(b, 12));
    const table = a.u32(RTA_TABLE) ?? b[4];
    if (want && table !== want) continue;
    const fam = famOf(b[0]);
    const dstRaw = a.get(RTA_DST);
    const gwRaw = a.get(RTA_GATEWAY);
    const srcRaw = a.get(RTA_PREFSRC);
    const metrics = a.get(RTA_METRICS) ? new Attrs(a.get(RTA_METRICS)!) : undefined;
    out.push({
      family: fam,
      dst: dstRaw ? { ip: { family: fam, bytes: copy(dstRaw) }, prefix: b[1] } : undefined,
      gw: gwRaw ? { family: fam, bytes: copy(gwRaw) } : undefined,
      src: srcRaw ? { family: fam, bytes: copy(srcRaw) } : undefined,
      oif: a.u32(RTA_OIF),
      table,
      protocol: b[5],
      scope: b[6],
      type: b[7],
      priority: a.u32(RTA_PRIORITY),
      mtu: metrics?.u32(RTAX_MTU),
      advmss: metrics?.u32(RTAX_ADVMSS),
    });
  }
  return out;
}
