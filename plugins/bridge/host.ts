// The host side of a bridge attachment: the bridge itself, its VLAN filtering,
// the port settings of the host veth, and the gateway address.
import { formatCIDR, ipEqual, overlaps, type IPNet } from '../../pkg/ipaddr/index.js';
import {
  bridgePortSet,
  bridgeVlanAdd,
  bridgeVlanDel,
  IFF_PROMISC,
  IFF_UP,
  LinkData,
  linkAdd,
  linkByName,
  linkDelByName,
  linkList,
  linkSet,
  type Link,
} from '../../pkg/ip/link.js';
import { NetlinkError, type Rtnl } from '../../pkg/ip/netlink.js';
import { addrAdd, addrDel, addrList } from '../../pkg/ip/addr.js';
import { setupVeth } from '../../pkg/ip/veth.js';
import { readSysctl, writeSysctl, type NetNS } from '../../pkg/ns/index.js';
import type { BridgeConf } from './conf.js';

/** True when the bridge has VLAN filtering on. */
export function vlanFiltering(br: Link): boolean {
  return br.info?.u8(LinkData.IFLA_BR_VLAN_FILTERING) === 1;
}

/**
 * Gets or creates the bridge (EEXIST from a concurrent ADD is fine, plugins#366),
 * sets promisc as configured, accept_ra=0 and up. VLAN filtering is turned on
 * whenever a VLAN is used, also on an existing bridge (the reference only does
 * it at creation).
 */
export function ensureBridge(nl: Rtnl, host: NetNS, conf: BridgeConf): { bridge: Link; created: boolean } {
  const wantVlan = conf.vlan > 0 || conf.trunkIDs.length > 0;
  let created = false;
  let br = linkByName(nl, conf.bridge);
  if (!br) {
    try {
      linkAdd(nl, {
        name: conf.bridge,
        kind: 'bridge',
        mtu: conf.mtu || undefined,
        data: wantVlan ? [{ type: LinkData.IFLA_BR_VLAN_FILTERING, u8: 1 }] : undefined,
      });
      created = true;
    } catch (e) {
      if (!(e instanceof NetlinkError && e.code === 'EEXIST')) throw new Error(`could not add "${conf.bridge}": ${(e as Error).message}`, { cause: e });
    }
    br = linkByName(nl, conf.bridge);
    if (!br) throw new Error(`could not lookup "${conf.bridge}": link not found`);
  }
  if (br.kind !== 'bridge') throw new Error(`"${conf.bridge}" already exists but is not a bridge`);
  let changed = false;
  if (wantVlan && !vlanFiltering(br)) {
    linkSet(nl, br.index, { kind: 'bridge', data: [{ type: LinkData.IFLA_BR_VLAN_FILTERING, u8: 1 }] }, `failed to enable vlan_filtering on "${conf.bridge}"`);
    changed = true;
  }
  if (conf.promiscMode && !(br.flags & IFF_PROMISC)) {
    linkSet(nl, br.index, { promisc: true }, `could not set promiscuous mode on "${conf.bridge}"`);
    changed = true;
  }
  try {
    // written only when not already 0: a sysctl write costs the kernel more than a read
    const key = `net/ipv6/conf/${conf.bridge}/accept_ra`;
    if (readSysctl(host, key) !== '0') writeSysctl(host, key, '0');
  } catch {
    // IPv6 disabled
  }
  // a new bridge would take the lowest MAC of its ports; fixing its own keeps it stable
  if (created) pinBridgeMAC(nl, br);
  if (!(br.flags & IFF_UP)) {
    linkSet(nl, br.index, { up: true }, `could not set "${conf.bridge}" up`);
    changed = true;
  }
  if (changed) br = linkByName(nl, conf.bridge)!;
  return { bridge: br, created };
}

/** Deletes a bridge this ADD created, unless something else got attached to it meanwhile. */
export function deleteBridgeIfUnused(nl: Rtnl, name: string): void {
  const br = linkByName(nl, name);
  if (!br) return;
  if (linkList(nl).some((l) => l.master === br.index)) return;
  linkDelByName(nl, name);
}

/** Enslaves the host veth and applies hairpin, isolation and the VLAN table. */
export function attachPort(nl: Rtnl, hostIndex: number, hostName: string, br: Link, conf: BridgeConf): void {
  linkSet(nl, hostIndex, { master: br.index }, `failed to connect "${hostName}" to bridge ${br.name}`);
  if (conf.hairpinMode || conf.portIsolation) {
    bridgePortSet(nl, hostIndex, { hairpin: conf.hairpinMode || undefined, isolated: conf.portIsolation || undefined });
  }
  if (!conf.vlan && !conf.trunkIDs.length) return;
  if (!conf.preserveDefaultVlan) {
    try {
      bridgeVlanDel(nl, hostIndex, 1);
    } catch (e) {
      if (!(e instanceof NetlinkError && (e.code === 'ENOENT' || e.code === 'EINVAL'))) throw e;
    }
  }
  if (conf.vlan) bridgeVlanAdd(nl, hostIndex, conf.vlan, { pvid: true, untagged: true });
  for (const id of conf.trunkIDs) if (id !== conf.vlan) bridgeVlanAdd(nl, hostIndex, id);
  // a trunk without an access VLAN carries VLAN 1 untagged as its native VLAN
  if (!conf.vlan && conf.trunkIDs.length) bridgeVlanAdd(nl, hostIndex, 1, { pvid: true, untagged: true });
}

/**
 * Puts gateway `gw` on link `link` unless it is there. A different IPv4 address
 * (or an overlapping IPv6 one) is a conflict, replaced only with forceAddress.
 * Returns true when the address was added by this call.
 */
export function ensureGatewayAddr(nl: Rtnl, link: Link, gw: IPNet, forceAddress: boolean): boolean {
  for (const a of addrList(nl, { index: link.index, family: gw.ip.family })) {
    if (gw.ip.family === 6 && a.scope !== 0) continue; // link-local
    if (ipEqual(a.ip, gw.ip) && a.prefix === gw.prefix) return false;
    const conflict = gw.ip.family === 4 || overlaps({ ip: a.ip, prefix: a.prefix }, gw);
    if (!conflict) continue;
    if (!forceAddress) throw new Error(`"${link.name}" already has an IP address different from ${formatCIDR(gw)}`);
    addrDel(nl, link.index, { ip: a.ip, prefix: a.prefix });
  }
  try {
    addrAdd(nl, link.index, gw);
  } catch (e) {
    if (e instanceof NetlinkError && e.code === 'EEXIST') return false;
    throw new Error(`could not add IP address ${formatCIDR(gw)} to "${link.name}": ${(e as Error).message}`, { cause: e });
  }
  return true;
}

/**
 * Gets or creates the `<bridge>.<vlan>` gateway interface: a veth whose peer is
 * an access port of VLAN `vlan` on the bridge. Returns it and whether it was created.
 */
export function ensureVlanGatewayIface(nl: Rtnl, host: NetNS, br: Link, conf: BridgeConf): { link: Link; created: boolean } {
  const name = `${br.name}.${conf.vlan}`;
  const existing = linkByName(nl, name);
  if (existing) return { link: existing, created: false };
  const pair = setupVeth({ container: host, host, ifName: name, mtu: conf.mtu || undefined });
  try {
    attachPort(nl, pair.host.index, pair.host.name, br, { ...conf, hairpinMode: false, portIsolation: false, trunkIDs: [] });
    linkSet(nl, pair.container.index, { up: true }, `failed to set "${name}" up`);
  } catch (e) {
    linkDelByName(nl, name);
    throw e;
  }
  return { link: linkByName(nl, name)!, created: true };
}

/** Makes the bridge's current MAC permanent, so it no longer follows its ports. */
export function pinBridgeMAC(nl: Rtnl, br: Link): void {
  linkSet(nl, br.index, { mac: br.mac }, `could not set MAC of "${br.name}"`);
}

