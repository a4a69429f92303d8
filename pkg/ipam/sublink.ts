// The addressing half of ADD for macvlan, ipvlan and vlan sub-interfaces
// (pkg/ip/sublink.ts makes the link): addresses and routes from IPAM or a
// chained prevResult, or L2 only.
import { linkByName, linkSet } from '../ip/link.js';
import type { SublinkNamespaces } from '../ip/sublink.js';
import { writeSysctls } from '../ns/index.js';
import type { DNS, IPConfig, Result, Route } from '../types/result.js';
import type { Undo } from '../undo/index.js';
import { configureIface } from './configure.js';
import type { DelegateCall } from './exec.js';
import { failpoint, startIPAMAdd } from './index.js';

/** Where the addresses of a new sub-interface come from, and what else ADD does. */
export interface AddressSublinkOptions {
  ns: SublinkNamespaces;
  undo: Undo;
  /** The result so far: `interfaces` is exactly the new link. */
  result: Result;
  conf: { cniVersion?: string; dns?: DNS; debugPostIPAMError?: unknown };
  /** Run this IPAM plugin's ADD (its DEL is pushed on `undo`). */
  ipam?: DelegateCall;
  /** Addresses a chained prevResult already holds (ipvlan without IPAM). */
  prev?: { ips: IPConfig[]; routes?: Route[] };
  /** Set arp_notify and ndisc_notify on the link (macvlan, ipvlan), or arp_notify alone ('arp': tap). */
  notify: boolean | 'arp';
}

/**
 * The second half of ADD: addresses and routes from IPAM (or a chained
 * prevResult) configured on the link, or, with neither, the link just set up
 * (L2 only). The result's DNS is the config's, always (reference behaviour).
 */
export async function addressSublink(o: AddressSublinkOptions): Promise<Result> {
  const { result } = o;
  const iface = result.interfaces![0];
  let addrs = o.prev;
  if (o.ipam) {
    const r = await startIPAMAdd(o.undo, o.ipam, o.conf.cniVersion ?? '').wait();
    failpoint(o.conf, 'ipam');
    if (!r.ips?.length) throw new Error('IPAM plugin returned missing IP config');
    addrs = { ips: r.ips, routes: r.routes };
  }
  if (addrs) {
    result.ips = addrs.ips.map((c) => ({ ...c, interface: 0 }));
    if (addrs.routes?.length) result.routes = addrs.routes;
    if (o.notify) {
      // gratuitous ARP / unsolicited NA on link up, so neighbours learn the new MAC fast
      const keys: Array<[string, string]> = [[`net/ipv4/conf/${iface.name}/arp_notify`, '1']];
      if (o.notify === true) keys.push([`net/ipv6/conf/${iface.name}/ndisc_notify`, '1']);
      writeSysctls(o.ns.container, keys, { bestEffort: true });
    }
    await configureIface(o.ns.container, iface.name, result);
  } else {
    const l = linkByName(o.ns.cnl, iface.name);
    if (!l) throw new Error(`failed to lookup "${iface.name}": link not found`);
    linkSet(o.ns.cnl, l.index, { up: true }, `failed to set "${iface.name}" up`);
  }
  failpoint(o.conf, 'configure');
  // the config's DNS, or none: IPAM's (or a chained prevResult's) is dropped, as the reference does
  if (o.conf.dns) result.dns = o.conf.dns;
  else delete result.dns;
  return result;
}
