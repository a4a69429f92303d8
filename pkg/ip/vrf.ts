// VRF devices over rtnetlink: create one bound to a routing table, read its
// table, list its slaves. The vrf plugin enslaves links with linkSet(master).
import { linkAdd, linkList, type Link } from './link.js';
import { NetlinkError, type Rtnl } from './netlink.js';

const IFLA_VRF_TABLE = 1;

/** The routing table of a VRF link, or undefined for any other link. */
export function vrfTable(l: Link): number | undefined {
  return l.kind === 'vrf' ? (l.info?.u32(IFLA_VRF_TABLE) ?? 0) : undefined;
}

/** The lowest table ≥ 1 that no VRF of the namespace uses (other users of tables are not considered, as in the reference). */
export function freeVRFTable(nl: Rtnl): number {
  const taken = new Set(linkList(nl).map(vrfTable).filter((t) => t !== undefined));
  let t = 1;
  while (taken.has(t)) t++;
  return t;
}

/** Creates VRF `name` on `table`; a kernel without the vrf type gets an error saying so. */
export function vrfAdd(nl: Rtnl, name: string, table: number): void {
  try {
    linkAdd(nl, { name, kind: 'vrf', data: [{ type: IFLA_VRF_TABLE, u32: table }] });
  } catch (e) {
    // the kernel answers an unknown link kind with EOPNOTSUPP ("Unknown device type")
    if (e instanceof NetlinkError && e.code === 'EOPNOTSUPP') throw new Error(`could not add VRF ${name}: the kernel has no vrf link type (CONFIG_NET_VRF, module vrf): ${e.reason}`, { cause: e });
    throw new Error(`could not add VRF ${name}: ${e instanceof NetlinkError ? e.reason : (e as Error).message}`, { cause: e });
  }
}

/** Links whose master is link `index`. */
export function slavesOf(nl: Rtnl, index: number): Link[] {
  return linkList(nl).filter((l) => l.master === index);
}
