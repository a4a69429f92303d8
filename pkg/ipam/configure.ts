// Applying an IPAM result to an interface inside the container namespace
// (the reference's ipam.ConfigureIface, HEAD behaviour): addresses, link up,
// IPv6 settling, routes with priority/table/scope.
import { familyOf, formatCIDR, formatIP, parseCIDR, parseIP, type IP } from '../ipaddr/index.js';
import { IF_OPER_UP, linkByName, linkSet } from '../ip/link.js';
import { NetlinkError, Rtnl } from '../ip/netlink.js';
import { routeAdd } from '../ip/route.js';
import { addrAdd, addrList, IFA_F_DADFAILED, IFA_F_TENTATIVE } from '../ip/addr.js';
import { readSysctl, writeSysctl, type NetNS } from '../ns/index.js';
import type { Result } from '../types/result.js';

const SETTLE_TIMEOUT_MS = 5000;

function mustIP(s: string, what: string): IP {
  const ip = parseIP(s);
  if (!ip) throw new Error(`invalid ${what} "${s}"`);
  return ip;
}

/** Enables IPv6 on `ifName` (and lo) and keeps addresses across link down, as the reference does before the first IPv6 address. */
export function enableIPv6(ns: NetNS, ifName: string): void {
  // one namespace switch for all of it; inside run(), `undefined` is "this thread's namespace"
  ns.run(() => {
    for (const dev of ['lo', ifName]) {
      const key = `net/ipv6/conf/${dev}/disable_ipv6`;
      try {
        if (readSysctl(undefined, key) !== '0') writeSysctl(undefined, key, '0');
      } catch {
        // no IPv6 in this kernel: the address add below reports it
      }
    }
    try {
      writeSysctl(undefined, `net/ipv6/conf/${ifName}/keep_addr_on_down`, '1');
    } catch {
      // older kernels have no keep_addr_on_down
    }
  });
}

/**
 * Waits until no IPv6 address of link `index` is tentative. Fails on DAD
 * failure, or when still tentative after 5 s on an oper-up link.
 */
export async function settleAddresses(nl: Rtnl, index: number, ifName: string, timeoutMs = SETTLE_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const addrs = addrList(nl, { index, family: 6 });
    const failed = addrs.find((a) => a.flags & IFA_F_DADFAILED);
    if (failed) throw new Error(`link ${ifName} has address ${failed.cidr} in DADFAILED state`);
    const tentative = addrs.filter((a) => a.flags & IFA_F_TENTATIVE);
    if (!tentative.length) return;
    if (Date.now() >= deadline) {
      const link = linkByName(nl, ifName);
      // a link that is down never finishes DAD; that is not an error (reference 1.9.0)
      if (link && link.operstate !== IF_OPER_UP) return;
      throw new Error(`link ${ifName} still has tentative addresses after ${timeoutMs / 1000}s`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Configures `ifName` in `ns` from `result`: every IP whose `interface` index
 * names `ifName` is added, the link is set up, and the result's routes added
 * (gateway: the route's own, else the first gateway of the same family).
 */
export async function configureIface(ns: NetNS, ifName: string, result: Result): Promise<void> {
  const ifaces = result.interfaces ?? [];
  if (!ifaces.length) throw new Error('no interfaces to configure');
  const nl = new Rtnl(ns);
  try {
    const link = linkByName(nl, ifName);
    if (!link) throw new Error(`failed to lookup "${ifName}": link not found`);
    let v6Enabled = false;
    let hasV6Gateway = false;
    for (const ipc of result.ips ?? []) {
      if (ipc.interface === undefined) continue;
      if (ipc.interface < 0 || ipc.interface >= ifaces.length || ifaces[ipc.interface].name !== ifName) {
        throw new Error(`failed to add IP addr ${ipc.address} to "${ifName}": invalid interface index`);
      }
      const net = parseCIDR(ipc.address);
      if (!net) throw new Error(`invalid address "${ipc.address}"`);
      if (net.ip.family === 6) {
        if (!v6Enabled) enableIPv6(ns, ifName);
        v6Enabled = true;
        if (ipc.gateway) hasV6Gateway = true;
      }
      addrAdd(nl, link.index, net);
    }
    linkSet(nl, link.index, { up: true }, `failed to set "${ifName}" UP`);
    if (hasV6Gateway) await settleAddresses(nl, link.index, ifName);
    for (const r of result.routes ?? []) {
      const dst = parseCIDR(r.dst);
      if (!dst) throw new Error(`invalid route destination "${r.dst}"`);
      const fam = dst.ip.family;
      let gw = r.gw ? mustIP(r.gw, 'route gateway') : undefined;
      if (!gw) {
        const def = (result.ips ?? []).find((c) => c.gateway && familyOf(c.address) === fam);
        if (def?.gateway) gw = mustIP(def.gateway, 'gateway');
      }
      try {
        routeAdd(nl, { dst, gw, oif: link.index, priority: r.priority, table: r.table, scope: r.scope }, { ecmp: true });
      } catch (e) {
        throw new Error(`failed to add route '${formatCIDR(dst)}${gw ? ` via ${formatIP(gw)}` : ''} dev ${ifName}': ${e instanceof NetlinkError ? e.reason : (e as Error).message}`, { cause: e });
      }
    }
  } finally {
    nl.close();
  }
}
