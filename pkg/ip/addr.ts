// Addresses of links over rtnetlink (the address values themselves are pkg/ipaddr).
import { formatCIDR, formatIP, lastOf, type IP, type IPNet } from '../ipaddr/index.js';
import { Attrs, encodeAttrs, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REPLACE, Rtnl, type Attr } from './netlink.js';
import { concat, copy, put32, u32, view } from '../bytes/index.js';

const RTM_NEWADDR = 20;
const RTM_DELADDR = 21;
const RTM_GETADDR = 22;

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

/** The kernel's address family of 4 or 6, and back. */
export const afOf = (fam: 4 | 6) => (fam === 4 ? AF_INET : AF_INET6);
export const famOf = (af: number): 4 | 6 => (af === AF_INET ? 4 : 6);

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
