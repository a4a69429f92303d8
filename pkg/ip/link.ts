// Links over rtnetlink: lookup, create (veth peers straight into another
// namespace, bridges, macvlan/ipvlan/vlan via `kind` + `data`), change, delete,
// bridge-port flags and bridge VLAN tables.
import { NetNSNotFoundError } from '../ns/index.js';
import { Attrs, encodeAttrs, NetlinkError, NLM_F_CREATE, NLM_F_EXCL, type Attr, type Rtnl } from './netlink.js';
import { withNetnsNl } from './netns.js';
import { concat, i32, put16, put32, u16, u32, utf8, view } from '../bytes/index.js';

const RTM_NEWLINK = 16;
const RTM_DELLINK = 17;
const RTM_GETLINK = 18;
const RTM_SETLINK = 19;

const AF_UNSPEC = 0;
const AF_BRIDGE = 7;

export const IFF_UP = 0x1;
export const IFF_LOOPBACK = 0x8;
export const IFF_PROMISC = 0x100;
export const IFF_ALLMULTI = 0x200;
export const IFF_LOWER_UP = 0x10000;
export const IF_OPER_UP = 6;

const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_LINK = 5;
const IFLA_MASTER = 10;
const IFLA_PROTINFO = 12;
const IFLA_TXQLEN = 13;
const IFLA_OPERSTATE = 16;
const IFLA_LINKINFO = 18;
const IFLA_IFALIAS = 20;
const IFLA_AF_SPEC = 26;
const IFLA_NET_NS_FD = 28;
const IFLA_EXT_MASK = 29;
const IFLA_PROMISCUITY = 30;
const IFLA_LINK_NETNSID = 37;
const IFLA_INFO_KIND = 1;
const IFLA_INFO_DATA = 2;
const IFLA_INFO_SLAVE_KIND = 4;
const IFLA_INFO_SLAVE_DATA = 5;
const VETH_INFO_PEER = 1;
const IFLA_BRPORT_MODE = 4;
const IFLA_BRPORT_ISOLATED = 33;
const IFLA_BRIDGE_FLAGS = 0;
const IFLA_BRIDGE_VLAN_INFO = 2;
const BRIDGE_FLAGS_MASTER = 1;
const BRIDGE_FLAGS_SELF = 2;
const BRIDGE_VLAN_INFO_PVID = 2;
const BRIDGE_VLAN_INFO_UNTAGGED = 4;
const RTEXT_FILTER_BRVLAN = 2;
const RTEXT_FILTER_SKIP_STATS = 8;
/** Asks the kernel to leave the link statistics (~1 KB we never read) out of link replies; older kernels ignore it. */
const skipStats = () => encodeAttrs([{ type: IFLA_EXT_MASK, u32: RTEXT_FILTER_SKIP_STATS }]);

/** Attribute numbers of link kinds, for `data` in linkAdd and `info` in Link. */
export const LinkData = {
  IFLA_BR_VLAN_FILTERING: 7,
  IFLA_MACVLAN_MODE: 1,
  IFLA_MACVLAN_BC_QUEUE_LEN: 7,
  IFLA_IPVLAN_MODE: 1,
  IFLA_VLAN_ID: 1,
} as const;

/** A link as the kernel reports it. */
export interface Link {
  index: number;
  name: string;
  kind?: string;
  flags: number;
  mtu: number;
  mac: string;
  txqlen?: number;
  master?: number;
  operstate: number;
  /** IFLA_IFALIAS; undefined when none is set. */
  alias?: string;
  promiscuity?: number;
  /** IFLA_LINK: the parent (macvlan/vlan) or the veth peer's index. */
  parentIndex?: number;
  linkNetnsId?: number;
  slaveKind?: string;
  info?: Attrs;
  slaveData?: Attrs;
}

/** True when the link is administratively up. */
export const isUp = (l: Link) => (l.flags & IFF_UP) !== 0;

export function formatMAC(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, '0')).join(':');
}

/** Parses `aa:bb:cc:dd:ee:ff` (also `-` separated); undefined when malformed. */
export function parseMAC(s: string): Buffer | undefined {
  if (typeof s !== 'string' || !/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(s)) return undefined;
  return Buffer.from(s.replace(/[:-]/g, ''), 'hex');
}

function ifinfomsg(family: number, index: number, flags = 0, change = 0): Uint8Array {
  const b = new Uint8Array(16);
  b[0] = family;
  put32(b, 4, index);
  put32(b, 8, flags);
  put32(b, 12, change);
  return b;
}

function parseLink(body: Uint8Array): Link {
  const a = new Attrs(view(body, 16));
  const info = a.nested(IFLA_LINKINFO);
  const mac = a.get(IFLA_ADDRESS);
  return {
    index: i32(body, 4),
    flags: u32(body, 8),
    name: a.str(IFLA_IFNAME) ?? '',
    kind: info?.str(IFLA_INFO_KIND),
    mtu: a.u32(IFLA_MTU) ?? 0,
    mac: mac ? formatMAC(mac) : '',
    txqlen: a.u32(IFLA_TXQLEN),
    master: a.u32(IFLA_MASTER),
    operstate: a.u8(IFLA_OPERSTATE) ?? 0,
    alias: a.str(IFLA_IFALIAS),
    promiscuity: a.u32(IFLA_PROMISCUITY),
    parentIndex: a.u32(IFLA_LINK),
    linkNetnsId: a.i32(IFLA_LINK_NETNSID),
    slaveKind: info?.str(IFLA_INFO_SLAVE_KIND),
    info: info?.nested(IFLA_INFO_DATA),
    slaveData: info?.nested(IFLA_INFO_SLAVE_DATA),
  };
}

/** All links of the socket's namespace. */
export function linkList(nl: Rtnl): Link[] {
  return nl.dump(RTM_GETLINK, concat([ifinfomsg(AF_UNSPEC, 0), skipStats()]), 'failed to list links').map((m) => parseLink(m.body));
}

/** The link named `name`, or undefined. */
export function linkByName(nl: Rtnl, name: string): Link | undefined {
  try {
    const msgs = nl.request(RTM_GETLINK, 0, concat([ifinfomsg(AF_UNSPEC, 0), encodeAttrs([{ type: IFLA_IFNAME, str: name }]), skipStats()]), `failed to look up link "${name}"`);
    return msgs.length ? parseLink(msgs[0].body) : undefined;
  } catch (e) {
    if (e instanceof NetlinkError && (e.code === 'ENODEV' || e.code === 'ENOENT')) return undefined;
    throw e;
  }
}

/** The link with `index`, or undefined. */
export function linkByIndex(nl: Rtnl, index: number): Link | undefined {
  try {
    const msgs = nl.request(RTM_GETLINK, 0, concat([ifinfomsg(AF_UNSPEC, index), skipStats()]), `failed to look up link ${index}`);
    return msgs.length ? parseLink(msgs[0].body) : undefined;
  } catch (e) {
    if (e instanceof NetlinkError && (e.code === 'ENODEV' || e.code === 'ENOENT')) return undefined;
    throw e;
  }
}

/** The other end of a veth pair as created by linkAdd. */
export interface PeerSpec {
  name: string;
  mtu?: number;
  mac?: string;
  /** fd of the namespace to create the peer in. */
  nsFd?: number;
}

/** A link to create. */
export interface LinkSpec {
  name: string;
  kind: string;
  mtu?: number;
  mac?: string;
  txqlen?: number;
  master?: number;
  /** Created administratively up (IFF_UP in the create message). */
  up?: boolean;
  /** IFLA_LINK: the parent for macvlan, ipvlan, vlan. */
  parentIndex?: number;
  /** Create the link directly in the namespace with this fd. */
  nsFd?: number;
  /** IFLA_INFO_DATA attributes of the kind. */
  data?: Attr[];
  peer?: PeerSpec;
}

function commonAttrs(s: { name?: string; mtu?: number; mac?: string; nsFd?: number; txqlen?: number }): Attr[] {
  const out: Attr[] = [];
  if (s.name) out.push({ type: IFLA_IFNAME, str: s.name });
  if (s.mtu) out.push({ type: IFLA_MTU, u32: s.mtu });
  if (s.mac) {
    const mac = parseMAC(s.mac);
    if (!mac) throw new Error(`invalid MAC address "${s.mac}"`);
    out.push({ type: IFLA_ADDRESS, buf: mac });
  }
  if (s.txqlen !== undefined) out.push({ type: IFLA_TXQLEN, u32: s.txqlen });
  if (s.nsFd !== undefined) out.push({ type: IFLA_NET_NS_FD, u32: s.nsFd });
  return out;
}

/** Creates a link; EEXIST surfaces as NetlinkError code "EEXIST". */
export function linkAdd(nl: Rtnl, spec: LinkSpec): void {
  const attrs = commonAttrs(spec);
  if (spec.master) attrs.push({ type: IFLA_MASTER, u32: spec.master });
  if (spec.parentIndex) attrs.push({ type: IFLA_LINK, u32: spec.parentIndex });
  const info: Attr[] = [{ type: IFLA_INFO_KIND, str: spec.kind }];
  let data = spec.data ?? [];
  if (spec.peer) {
    const peerBody = concat([ifinfomsg(AF_UNSPEC, 0), encodeAttrs(commonAttrs(spec.peer))]);
    data = [...data, { type: VETH_INFO_PEER, buf: peerBody }];
  }
  if (data.length) info.push({ type: IFLA_INFO_DATA, nested: data });
  attrs.push({ type: IFLA_LINKINFO, nested: info });
  const up = spec.up ? IFF_UP : 0;
  nl.request(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, concat([ifinfomsg(AF_UNSPEC, 0, up, up), encodeAttrs(attrs)]), `failed to create ${spec.kind} "${spec.name}"`);
}

/** Changes to apply to an existing link in one message. */
export interface LinkChange {
  up?: boolean;
  promisc?: boolean;
  allmulti?: boolean;
  mtu?: number;
  mac?: string;
  name?: string;
  txqlen?: number;
  /** 0 detaches from the master. */
  master?: number;
  nsFd?: number;
  /** IFLA_IFALIAS; '' clears it. */
  alias?: string;
  /** Changes kind-specific settings (changelink), e.g. a bridge's vlan_filtering. */
  kind?: string;
  data?: Attr[];
}

/** Applies `change` to link `index`. */
export function linkSet(nl: Rtnl, index: number, change: LinkChange, what = `failed to change link ${index}`): void {
  let flags = 0;
  let mask = 0;
  const flag = (v: boolean | undefined, bit: number) => {
    if (v === undefined) return;
    mask |= bit;
    if (v) flags |= bit;
  };
  flag(change.up, IFF_UP);
  flag(change.promisc, IFF_PROMISC);
  flag(change.allmulti, IFF_ALLMULTI);
  const attrs = commonAttrs(change);
  if (change.master !== undefined) attrs.push({ type: IFLA_MASTER, u32: change.master });
  // without a NUL, as iproute2 and Go send it: an empty payload clears the alias (a lone NUL would set an empty one)
  if (change.alias !== undefined) attrs.push({ type: IFLA_IFALIAS, buf: utf8(change.alias) });
  if (change.kind) {
    attrs.push({ type: IFLA_LINKINFO, nested: [{ type: IFLA_INFO_KIND, str: change.kind }, ...(change.data?.length ? [{ type: IFLA_INFO_DATA, nested: change.data }] : [])] });
  }
  nl.request(change.kind ? RTM_NEWLINK : RTM_SETLINK, 0, concat([ifinfomsg(AF_UNSPEC, index, flags, mask), encodeAttrs(attrs)]), what);
}

/** Deletes link `index`. */
export function linkDel(nl: Rtnl, index: number, what = `failed to delete link ${index}`): void {
  nl.request(RTM_DELLINK, 0, ifinfomsg(AF_UNSPEC, index), what);
}

/**
 * linkDel with the kernel's part on a thread of its own (destroying a veth keeps the kernel ~20 ms): the
 * caller goes on and calls wait() (which throws what linkDel would) before it uses `nl` again.
 */
export function linkDelStart(nl: Rtnl, index: number, what = `failed to delete link ${index}`): { wait(): void } {
  const pending = nl.requestStart(RTM_DELLINK, 0, ifinfomsg(AF_UNSPEC, index), what);
  return { wait: () => void pending.wait() };
}

/** Deletes the link named `name`; true when it existed. */
export function linkDelByName(nl: Rtnl, name: string): boolean {
  const l = linkByName(nl, name);
  if (!l) return false;
  try {
    linkDel(nl, l.index, `failed to delete link "${name}"`);
  } catch (e) {
    if (e instanceof NetlinkError && e.code === 'ENODEV') return false;
    throw e;
  }
  return true;
}

/**
 * Deletes link `name` inside the namespace at `netnsPath`, as DEL does: an
 * empty path, a namespace that is gone or a missing link all count as done.
 */
export async function delLinkByNameInNetns(netnsPath: string, name: string): Promise<boolean> {
  if (!netnsPath) return false;
  try {
    return await withNetnsNl(netnsPath, ({ cnl }) => linkDelByName(cnl, name));
  } catch (e) {
    if (e instanceof NetNSNotFoundError) return false;
    throw e;
  }
}

/** Sets bridge-port flags of a link enslaved to a bridge. */
export function bridgePortSet(nl: Rtnl, index: number, opts: { hairpin?: boolean; isolated?: boolean }): void {
  const port: Attr[] = [];
  if (opts.hairpin !== undefined) port.push({ type: IFLA_BRPORT_MODE, u8: opts.hairpin ? 1 : 0 });
  if (opts.isolated !== undefined) port.push({ type: IFLA_BRPORT_ISOLATED, u8: opts.isolated ? 1 : 0 });
  if (!port.length) return;
  nl.request(RTM_SETLINK, 0, concat([ifinfomsg(AF_BRIDGE, index), encodeAttrs([{ type: IFLA_PROTINFO, nested: port }])]), `failed to set bridge port flags on link ${index}`);
}

/** Reads bridge-port flags (hairpin, isolated) of an enslaved link. */
export function bridgePortGet(nl: Rtnl, index: number): { hairpin: boolean; isolated: boolean } | undefined {
  const l = linkByIndex(nl, index);
  if (!l?.slaveData) return undefined;
  return { hairpin: l.slaveData.u8(IFLA_BRPORT_MODE) === 1, isolated: l.slaveData.u8(IFLA_BRPORT_ISOLATED) === 1 };
}

/** A VLAN entry of a bridge port. */
export interface BridgeVlan {
  vid: number;
  pvid: boolean;
  untagged: boolean;
}

function vlanMsg(index: number, vid: number, opts: { pvid?: boolean; untagged?: boolean; self?: boolean }): Uint8Array {
  const info = new Uint8Array(4);
  put16(info, 0, (opts.pvid ? BRIDGE_VLAN_INFO_PVID : 0) | (opts.untagged ? BRIDGE_VLAN_INFO_UNTAGGED : 0));
  put16(info, 2, vid);
  const spec: Attr[] = [{ type: IFLA_BRIDGE_VLAN_INFO, buf: info }];
  if (opts.self) spec.unshift({ type: IFLA_BRIDGE_FLAGS, u16: BRIDGE_FLAGS_SELF });
  else spec.unshift({ type: IFLA_BRIDGE_FLAGS, u16: BRIDGE_FLAGS_MASTER });
  return concat([ifinfomsg(AF_BRIDGE, index), encodeAttrs([{ type: IFLA_AF_SPEC, nested: spec }])]);
}

/** Adds VLAN `vid` to a bridge port (or to the bridge itself with `self`). */
export function bridgeVlanAdd(nl: Rtnl, index: number, vid: number, opts: { pvid?: boolean; untagged?: boolean; self?: boolean } = {}): void {
  nl.request(RTM_SETLINK, 0, vlanMsg(index, vid, opts), `failed to add vlan ${vid} to link ${index}`);
}

/** Removes VLAN `vid` from a bridge port. */
export function bridgeVlanDel(nl: Rtnl, index: number, vid: number, opts: { self?: boolean } = {}): void {
  nl.request(RTM_DELLINK, 0, vlanMsg(index, vid, opts), `failed to delete vlan ${vid} from link ${index}`);
}

/** The VLAN table of every bridge port: index → entries. */
export function bridgeVlanList(nl: Rtnl): Map<number, BridgeVlan[]> {
  const body = concat([ifinfomsg(AF_BRIDGE, 0), encodeAttrs([{ type: IFLA_EXT_MASK, u32: RTEXT_FILTER_BRVLAN }])]);
  const out = new Map<number, BridgeVlan[]>();
  for (const m of nl.dump(RTM_GETLINK, body, 'failed to list bridge vlans')) {
    const index = i32(m.body, 4);
    const spec = new Attrs(view(m.body, 16)).nested(IFLA_AF_SPEC);
    if (!spec) continue;
    const vlans: BridgeVlan[] = [];
    for (const a of spec.list) {
      if (a.type !== IFLA_BRIDGE_VLAN_INFO || a.data.length < 4) continue;
      const f = u16(a.data, 0);
      vlans.push({ vid: u16(a.data, 2), pvid: (f & BRIDGE_VLAN_INFO_PVID) !== 0, untagged: (f & BRIDGE_VLAN_INFO_UNTAGGED) !== 0 });
    }
    out.set(index, vlans);
  }
  return out;
}
