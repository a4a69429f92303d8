// vrf: puts CNI_IFNAME into a VRF device of the container namespace, created on
// first use (reference v1.9.1, more-plugins §4). Enslaving makes the kernel
// cycle the link: IPv4 routes through it and IPv6 addresses go, so its global
// IPv6 addresses are restored and its main-table routes moved into the VRF's
// table. A failed ADD undoes all of it; the last DEL of a VRF deletes it.
import { formatCIDR, formatIP, ipEqual } from '../../pkg/ipaddr/index.js';
import { linkByIndex, linkByName, linkDel, linkDelByName, linkSet, type Link } from '../../pkg/ip/link.js';
import { NetlinkError, type Rtnl } from '../../pkg/ip/netlink.js';
import { withNetnsNl } from '../../pkg/ip/netns.js';
import { routeAdd, routeList, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, type RouteSpec } from '../../pkg/ip/route.js';
import { addrAdd, addrList, IFA_F_NODAD, type AddrInfo } from '../../pkg/ip/addr.js';
import { freeVRFTable, slavesOf, vrfAdd, vrfTable } from '../../pkg/ip/vrf.js';
import { failpoint } from '../../pkg/ipam/index.js';
import { NetNSNotFoundError } from '../../pkg/ns/index.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import { prevResultOf } from '../../pkg/types/conf.js';
import { CniError, ErrCode } from '../../pkg/types/error.js';
import type { Result } from '../../pkg/types/result.js';
import { pollSync } from '../../pkg/time/index.js';
import { Undo } from '../../pkg/undo/index.js';
import { delVRFName, loadVRFConf, type VRFConf } from './conf.js';

/** How long to wait for a restored IPv6 address's local route in the VRF table (ms between probes; the reference's ~2.5 s). */
const LOCAL_ROUTE_WAIT = [0, 1, 2, 5, 10, 20, 40, 80, 160, 320, 640, 1280];

interface VRF {
  link: Link;
  table: number;
}

/** The VRF `name`, or undefined when no link has that name; a link that is not a VRF is an error. */
function findVRF(nl: Rtnl, name: string): VRF | undefined {
  const link = linkByName(nl, name);
  if (!link) return undefined;
  const table = vrfTable(link);
  if (table === undefined) throw new Error(`Netlink ${name} is not a VRF`);
  return { link, table };
}

/** The configured VRF: the existing one (on the configured table, if one is set) or a new one, up. */
function ensureVRF(nl: Rtnl, conf: VRFConf, undo: Undo): VRF {
  const found = findVRF(nl, conf.vrfname);
  if (found) {
    if (conf.table && found.table !== conf.table) throw new Error(`VRF ${conf.vrfname} already exist with different routing table ${found.table}`);
    return found;
  }
  const table = conf.table || freeVRFTable(nl);
  vrfAdd(nl, conf.vrfname, table);
  undo.push(`delete VRF ${conf.vrfname}`, () => linkDelByName(nl, conf.vrfname));
  const link = linkByName(nl, conf.vrfname);
  if (!link) throw new Error(`could not add VRF ${conf.vrfname}: link not found after creation`);
  linkSet(nl, link.index, { up: true }, `could not set link up for VRF ${conf.vrfname}`);
  return { link, table };
}

const globalV6 = (nl: Rtnl, index: number) => addrList(nl, { index, family: 6 }).filter((a) => a.scope === RT_SCOPE_UNIVERSE);

/** Main-table routes of scope universe through link `index`, both families (what enslaving loses). */
const routesThrough = (nl: Rtnl, index: number) => [...routeList(nl, 4), ...routeList(nl, 6)].filter((r) => r.oif === index && (r.scope ?? 0) === RT_SCOPE_UNIVERSE);

/** Adds back those of `addrs` that link `index` lost. */
function restoreV6(nl: Rtnl, index: number, addrs: AddrInfo[], onAdded: (a: AddrInfo) => void = () => {}): void {
  const now = globalV6(nl, index);
  for (const a of addrs) {
    if (now.some((b) => ipEqual(a.ip, b.ip) && a.prefix === b.prefix)) continue;
    addrAdd(nl, index, a, { flags: a.flags & IFA_F_NODAD });
    onAdded(a);
  }
}

function replaceRoutes(nl: Rtnl, routes: RouteSpec[], table: number): void {
  for (const r of routes) {
    try {
      routeAdd(nl, { ...r, table }, { replace: true });
    } catch (e) {
      throw new Error(`could not add route '${r.dst ? formatCIDR(r.dst) : 'default'}${r.gw ? ` via ${formatIP(r.gw)}` : ''} table ${table}': ${e instanceof NetlinkError ? e.reason : (e as Error).message}`, { cause: e });
    }
  }
}

/** Enslaves `ifName` to `vrf`, keeping its global IPv6 addresses and moving its routes into the VRF's table. */
function addInterface(nl: Rtnl, vrf: VRF, ifName: string, undo: Undo): void {
  const link = linkByName(nl, ifName);
  if (!link) throw new Error(`could not get link by name ${ifName}`);
  if (link.master) throw new Error(`interface ${ifName} has already a master set: ${linkByIndex(nl, link.master)?.name ?? link.master}`);
  const v6 = globalV6(nl, link.index);
  const routes = routesThrough(nl, link.index);
  linkSet(nl, link.index, { master: vrf.link.index }, `could not set vrf ${vrf.link.name} as master of ${ifName}`);
  // undone: out of the VRF (the kernel cycles the link again), addresses and main-table routes back
  undo.push(`detach ${ifName} from VRF ${vrf.link.name}`, () => {
    linkSet(nl, link.index, { master: 0 }, `could not detach ${ifName} from VRF ${vrf.link.name}`);
    restoreV6(nl, link.index, v6);
    replaceRoutes(nl, routes, RT_TABLE_MAIN);
  });
  failpoint({}, 'master');
  restoreV6(nl, link.index, v6, (a) => {
    const local = pollSync(LOCAL_ROUTE_WAIT, () =>
      routeList(nl, 6, { table: vrf.table }).find((r) => r.oif === link.index && r.dst?.prefix === 128 && ipEqual(r.dst.ip, a.ip)) ? true : undefined,
    );
    if (!local) throw new Error(`failed getting local/host addresses for ${ifName} in table ${vrf.table} with dst ${a.cidr}`);
  });
  replaceRoutes(nl, routes, vrf.table);
  failpoint({}, 'routes');
}

export async function add(args: CmdArgs): Promise<Result> {
  const conf = loadVRFConf(args.stdinData);
  const prev = prevResultOf(conf);
  if (!prev) throw new CniError(ErrCode.InvalidNetworkConfig, 'missing prevResult from earlier plugin');
  try {
    await withNetnsNl(args.netns, ({ cnl: nl }) =>
      Undo.run(async (undo) => {
        const vrf = ensureVRF(nl, conf, undo);
        addInterface(nl, vrf, args.ifName, undo);
      }),
    );
  } catch (e) {
    const code = e instanceof CniError ? e.code : ErrCode.Internal;
    throw new CniError(code, `cmdAdd failed: ${(e as Error).message}`, '', { cause: e });
  }
  // the prevResult, unchanged
  return prev;
}

/**
 * Takes CNI_IFNAME out of the VRF and deletes the VRF once nothing is left in
 * it. Reads only `vrfname`; no name, no namespace, no VRF, no link: nothing to do.
 */
export async function del(args: CmdArgs): Promise<void> {
  const name = delVRFName(args.stdinData);
  if (!name || !args.netns) return;
  try {
    await withNetnsNl(args.netns, ({ cnl: nl }) => {
      const vrf = linkByName(nl, name);
      if (!vrf || vrfTable(vrf) === undefined) return;
      const link = linkByName(nl, args.ifName);
      if (link?.master === vrf.index) linkSet(nl, link.index, { master: 0 }, `resetMaster: could not reset the master of ${args.ifName}`);
      if (slavesOf(nl, vrf.index).length) return;
      try {
        linkDel(nl, vrf.index, `failed to delete VRF ${name}`);
      } catch (e) {
        if (!(e instanceof NetlinkError && e.code === 'ENODEV')) throw e;
      }
    });
  } catch (e) {
    if (!(e instanceof NetNSNotFoundError)) throw e;
  }
}

/** The VRF exists and CNI_IFNAME is one of its slaves. */
export async function check(args: CmdArgs): Promise<void> {
  const conf = loadVRFConf(args.stdinData);
  if (!prevResultOf(conf)) throw new CniError(ErrCode.InvalidNetworkConfig, 'missing prevResult from earlier plugin');
  await withNetnsNl(args.netns, ({ cnl: nl }) => {
    const vrf = findVRF(nl, conf.vrfname);
    if (!vrf) throw new Error(`VRF ${conf.vrfname} not found`);
    if (!slavesOf(nl, vrf.link.index).some((l) => l.name === args.ifName)) throw new Error(`failed to find ${args.ifName} associated to vrf ${conf.vrfname}`);
  });
}
