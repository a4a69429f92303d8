// CHECK helpers shared by interface plugins: are the addresses and routes of a
// prevResult present on the container interface (the reference's
// ValidateExpectedInterfaceIPs / ValidateExpectedRoute)?
import { contains, formatCIDR, ipEqual, parseCIDR, parseIP } from '../ipaddr/index.js';
import type { Rtnl } from './netlink.js';
import { routeList } from './route.js';
import { addrList } from './addr.js';
import type { IPConfig, Route } from '../types/result.js';

/** Fails unless every IP of `ips` for interface `ifIndex` (result index) is on link `index`. */
export function validateExpectedIPs(nl: Rtnl, ifName: string, index: number, ips: IPConfig[]): void {
  const have = addrList(nl, { index });
  for (const c of ips) {
    const want = parseCIDR(c.address);
    if (!want) throw new Error(`invalid address "${c.address}"`);
    if (!have.some((a) => ipEqual(a.ip, want.ip) && a.prefix === want.prefix)) {
      throw new Error(`failed to find ip ${c.address} on interface ${ifName}`);
    }
  }
}

/** Fails unless a route with each `dst` (and `gw`, when given) exists in the main table. */
export function validateExpectedRoutes(nl: Rtnl, routes: Route[]): void {
  for (const r of routes) {
    const dst = parseCIDR(r.dst);
    if (!dst) throw new Error(`invalid route "${r.dst}"`);
    const gw = r.gw ? parseIP(r.gw) : undefined;
    const found = routeList(nl, dst.ip.family, { table: r.table }).some((x) => {
      const xPrefix = x.dst?.prefix ?? 0;
      if (xPrefix !== dst.prefix) return false;
      if (x.dst && !contains(dst, x.dst.ip)) return false;
      if (!x.dst && dst.prefix !== 0) return false;
      return !gw || (!!x.gw && ipEqual(x.gw, gw));
    });
    if (!found) throw new Error(`route (${formatCIDR(dst)}${r.gw ? ` via ${r.gw}` : ''}) not found`);
  }
}
