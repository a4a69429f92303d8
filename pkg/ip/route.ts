// Routes over rtnetlink.
import { afOf, famOf } from './addr.js';
import { bitLen, formatIP, type IP, type IPNet } from '../ipaddr/index.js';
import { Attrs, encodeAttrs, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, Rtnl, type Attr } from './netlink.js';
import { concat, copy, view } from '../bytes/index.js';

const RTM_NEWROUTE = 24;
const RTM_DELROUTE = 25;
const RTM_GETROUTE = 26;


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
