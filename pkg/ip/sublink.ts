// Sub-interfaces of a parent ("master") link for a container: macvlan, ipvlan
// and 802.1Q vlan (reference §2.3-2.5). The link is created directly in the
// container namespace under a temporary `vethXXXXXXXX` name (so it never
// clashes with a container interface) and then renamed to CNI_IFNAME. The
// three plugins also share CHECK, below, and the addressing half of ADD
// (pkg/ipam/sublink.ts).
import type { NetNS } from '../ns/index.js';
import type { CmdArgs } from '../skel/index.js';
import { prevResultOf } from '../types/conf.js';
import { CniError, ErrCode, invalidConfig } from '../types/error.js';
import { requireContainerIface } from '../types/iface.js';
import type { Undo } from '../undo/index.js';
import { linkAdd, linkByIndex, linkByName, linkDel, linkDelByName, linkSet, type Link } from './link.js';
import { NetlinkError, type Attr, type Rtnl } from './netlink.js';
import { withNetnsNl } from './netns.js';
import { routeList } from './route.js';
import { validateExpectedIPs, validateExpectedRoutes } from './validate.js';
import { randomVethName } from './veth.js';

const MAX_NAME_TRIES = 10;
// IFLA_INFO_DATA attribute numbers (include/uapi/linux/if_link.h)
const IFLA_MACVLAN_MODE = 1;
const IFLA_MACVLAN_BC_QUEUE_LEN = 7;
const IFLA_IPVLAN_MODE = 1;
const IFLA_VLAN_ID = 1;

/** macvlan modes by their config names (MACVLAN_MODE_*). */
export const MACVLAN_MODES = { private: 1, vepa: 2, bridge: 4, passthru: 8 } as const;
export type MacvlanMode = keyof typeof MACVLAN_MODES;
/** ipvlan modes by their config names (IPVLAN_MODE_*). */
export const IPVLAN_MODES = { l2: 0, l3: 1, l3s: 2 } as const;
export type IpvlanMode = keyof typeof IPVLAN_MODES;

/** IFLA_INFO_DATA of a macvlan; a zero `bcqueuelen` leaves the kernel default. */
export function macvlanData(mode: MacvlanMode, bcqueuelen = 0): Attr[] {
  const data: Attr[] = [{ type: IFLA_MACVLAN_MODE, u32: MACVLAN_MODES[mode] }];
  if (bcqueuelen > 0) data.push({ type: IFLA_MACVLAN_BC_QUEUE_LEN, u32: bcqueuelen });
  return data;
}

/** IFLA_INFO_DATA of an ipvlan. */
export function ipvlanData(mode: IpvlanMode): Attr[] {
  return [{ type: IFLA_IPVLAN_MODE, u16: IPVLAN_MODES[mode] }];
}

/** IFLA_INFO_DATA of an 802.1Q vlan. */
export function vlanData(id: number): Attr[] {
  return [{ type: IFLA_VLAN_ID, u16: id }];
}

/** The kind-specific settings of an existing link, as the kernel reports them. */
export function sublinkInfo(l: Link): { macvlanMode?: MacvlanMode; bcqueuelen?: number; ipvlanMode?: IpvlanMode; vlanId?: number } {
  const nameOf = <T extends string>(modes: Record<T, number>, v: number | undefined) => (Object.keys(modes) as T[]).find((k) => modes[k] === v);
  switch (l.kind) {
    case 'macvlan':
      return { macvlanMode: nameOf(MACVLAN_MODES, l.info?.u32(IFLA_MACVLAN_MODE)), bcqueuelen: l.info?.u32(IFLA_MACVLAN_BC_QUEUE_LEN) };
    case 'ipvlan':
      return { ipvlanMode: nameOf(IPVLAN_MODES, l.info?.u16(IFLA_IPVLAN_MODE)) };
    case 'vlan':
      return { vlanId: l.info?.u16(IFLA_VLAN_ID) };
    default:
      return {};
  }
}

/** The name of the link the first default route leaves through (IPv4 first, then IPv6). */
export function defaultRouteInterface(nl: Rtnl): string {
  for (const fam of [4, 6] as const) {
    for (const r of routeList(nl, fam)) {
      if ((r.dst && r.dst.prefix !== 0) || !r.oif) continue;
      const l = linkByIndex(nl, r.oif);
      if (l) return l.name;
    }
  }
  throw invalidConfig('master', 'not set and no default route interface found');
}

/**
 * The master link: `name`, or the default-route interface when empty. `nl`
 * talks to the namespace the master lives in (the container's with
 * linkInContainer). A missing master is a configuration error (code 7).
 */
export function lookupMaster(nl: Rtnl, name: string | undefined): Link {
  const master = name || defaultRouteInterface(nl);
  const l = linkByName(nl, master);
  if (!l) throw invalidConfig('master', `failed to lookup master "${master}": link not found`);
  return l;
}

/** Rejects an MTU outside [0, master MTU] (macvlan, vlan), naming the `mtu` key. */
export function validateMTU(mtu: number, master: Link): void {
  if (mtu < 0 || mtu > master.mtu) throw invalidConfig('mtu', `invalid MTU ${mtu}, must be [0, master MTU(${master.mtu})]`);
}

/** What to create. */
export interface SublinkSpec {
  kind: 'macvlan' | 'ipvlan' | 'vlan';
  ifName: string;
  master: Link;
  /** The master lives in the container namespace (the link is created there). */
  linkInContainer: boolean;
  mtu?: number;
  mac?: string;
  data: Attr[];
}

/** Sockets and handles of the two namespaces involved. */
export interface SublinkNamespaces {
  container: NetNS;
  /** Socket in the container namespace. */
  cnl: Rtnl;
  /** Socket in the namespace of the master (the host's, or `cnl` with linkInContainer). */
  mnl: Rtnl;
}

/**
 * Creates the sub-interface in the container namespace under a temporary name
 * and renames it to `ifName`; on any failure nothing is left, and once it
 * exists its deletion is pushed on `undo`. Returns the link as seen in the
 * container, after the rename.
 */
export function createSublink(ns: SublinkNamespaces, spec: SublinkSpec, undo: Undo): Link {
  const { cnl } = ns;
  if (linkByName(cnl, spec.ifName)) throw new Error(`container interface name provided (${spec.ifName}) already exists`);
  let tmpName = '';
  for (let i = 0; ; i++) {
    tmpName = randomVethName();
    try {
      linkAdd(ns.mnl, {
        name: tmpName,
        kind: spec.kind,
        parentIndex: spec.master.index,
        mtu: spec.mtu || undefined,
        mac: spec.mac,
        // the reference creates these links with IFLA_TXQLEN 0 (Go's zero LinkAttrs)
        txqlen: 0,
        data: spec.data,
        // created straight into the container: no moment where it exists on the host
        nsFd: spec.linkInContainer ? undefined : ns.container.fd,
      });
      break;
    } catch (e) {
      const clash = e instanceof NetlinkError && e.code === 'EEXIST' && !!linkByName(cnl, tmpName);
      if (!clash || i + 1 >= MAX_NAME_TRIES) throw e;
    }
  }
  const tmp = linkByName(cnl, tmpName);
  if (!tmp) throw new Error(`failed to lookup "${tmpName}": link not found`);
  try {
    linkSet(cnl, tmp.index, { name: spec.ifName }, `failed to rename ${spec.kind} to "${spec.ifName}"`);
    const l = linkByIndex(cnl, tmp.index);
    if (!l) throw new Error(`failed to lookup "${spec.ifName}": link not found`);
    undo.push(`delete ${spec.kind} "${spec.ifName}"`, () => linkDelByName(cnl, spec.ifName));
    return l;
  } catch (e) {
    linkDel(cnl, tmp.index, `failed to delete "${tmpName}"`);
    throw e;
  }
}

/** What CHECK expects of a container's sub-interface. */
export interface SublinkExpectation {
  kind: SublinkSpec['kind'];
  ifName: string;
  /** The master's name; empty: the default-route interface; null: any existing link (a chained ipvlan's). */
  master: string | null;
  /** MAC from the prevResult, when it has one. */
  mac?: string;
}

/**
 * CHECK: the master exists, the container interface exists, is of `kind`,
 * hangs off that master and has the prevResult's MAC. Returns the link for
 * kind-specific checks.
 */
export function validateSublink(ns: SublinkNamespaces, want: SublinkExpectation): Link {
  const master = want.master === null ? undefined : lookupMaster(ns.mnl, want.master);
  const l = linkByName(ns.cnl, want.ifName);
  if (!l) throw new Error(`failed to find container interface "${want.ifName}"`);
  if (l.kind !== want.kind) throw new Error(`container interface "${want.ifName}" is a ${l.kind ?? 'device'}, not a ${want.kind}`);
  const parent = l.parentIndex ? linkByIndex(ns.mnl, l.parentIndex) : undefined;
  if (!parent || (master && parent.index !== master.index)) throw new Error(`container interface "${want.ifName}" is not on master "${master?.name ?? '(any)'}"`);
  if (want.mac && want.mac.toLowerCase() !== l.mac) throw new Error(`container interface "${want.ifName}" has MAC ${l.mac}, expected ${want.mac}`);
  return l;
}

/**
 * Opens the container namespace at `netnsPath` (before anything is created:
 * a bad CNI_NETNS fails first) and sockets in it and in the master's
 * namespace, runs `fn`, and closes them.
 */
export async function withSublinkNamespaces<T>(netnsPath: string, linkInContainer: boolean, fn: (ns: SublinkNamespaces) => Promise<T> | T): Promise<T> {
  return withNetnsNl(netnsPath, (ns) => fn({ container: ns.container, cnl: ns.cnl, mnl: linkInContainer ? ns.cnl : ns.hnl }));
}

/**
 * CHECK of a sub-interface against the prevResult: the interface named
 * CNI_IFNAME in CNI_NETNS, checked by `validateLink` (kind, master, mode,
 * MAC), then its addresses and the result's routes.
 */
export async function validateSublinkResult(
  args: CmdArgs,
  conf: { prevResult?: unknown; cniVersion?: string; linkInContainer: boolean },
  validateLink: (ns: SublinkNamespaces, mac: string | undefined) => Link,
): Promise<void> {
  const prev = prevResultOf(conf);
  if (!prev) throw new CniError(ErrCode.InvalidNetworkConfig, 'required prevResult missing');
  const ctr = requireContainerIface(prev, args);
  await withSublinkNamespaces(args.netns, conf.linkInContainer, (ns) => {
    const link = validateLink(ns, ctr.iface.mac);
    validateExpectedIPs(ns.cnl, args.ifName, link.index, ctr.ips);
    validateExpectedRoutes(ns.cnl, prev.routes ?? []);
  });
}
