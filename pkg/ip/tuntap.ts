// TAP devices (the tap plugin). The kernel creates TUN/TAP devices only through
// /dev/net/tun ioctls (rtnetlink's "tun" kind refuses creation), which the addon
// does on the main thread inside the target namespace (native/tun.c). Links are
// read back over rtnetlink like any other: kind "tun", IFLA_TUN_* in its data.
import { runSync } from '../exec/index.js';
import { native } from '../native/index.js';
import type { NetNS } from '../ns/index.js';
import type { Link } from './link.js';

/** TUNSETIFF flags (include/uapi/linux/if_tun.h). */
export const IFF_TAP = 0x0002;
export const IFF_MULTI_QUEUE = 0x0100;
export const IFF_NO_PI = 0x1000;
export const IFF_VNET_HDR = 0x4000;
/** Fail with EBUSY instead of attaching to a device of that name that already exists. */
const IFF_TUN_EXCL = 0x8000;
// IFLA_TUN_* (include/uapi/linux/if_link.h)
const IFLA_TUN_OWNER = 1;
const IFLA_TUN_GROUP = 2;
const IFLA_TUN_TYPE = 3;
const IFLA_TUN_PI = 4;
const IFLA_TUN_VNET_HDR = 5;
const IFLA_TUN_PERSIST = 6;
const IFLA_TUN_MULTI_QUEUE = 7;

/** A TAP device to create. */
export interface TapSpec {
  name: string;
  /** IFF_* beside IFF_TAP: IFF_NO_PI, IFF_VNET_HDR, IFF_MULTI_QUEUE. */
  flags: number;
  owner?: number;
  group?: number;
}

/** Creates a persistent TAP device in `ns`; an existing device of that name is an error (EBUSY), never reused. */
export function tapCreate(ns: NetNS, spec: TapSpec): void {
  ns.run(() => native().tunCreate(spec.name, spec.flags | IFF_TAP | IFF_TUN_EXCL, spec.owner ?? -1, spec.group ?? -1));
}

/**
 * Creates the TAP device as `ip tuntap add` run in `ns` under the SELinux exec
 * label `label`: the kernel labels a tun device with its creator's context,
 * which only a new program can be given (the reference does the same).
 */
export function tapCreateLabelled(ns: NetNS, spec: TapSpec, label: string): void {
  const args = ['tuntap', 'add', 'mode', 'tap', 'name', spec.name];
  if (spec.flags & IFF_MULTI_QUEUE) args.push('multi_queue');
  if (spec.flags & IFF_VNET_HDR) args.push('vnet_hdr');
  if (spec.owner !== undefined) args.push('user', String(spec.owner));
  if (spec.group !== undefined) args.push('group', String(spec.group));
  ns.run(() => {
    native().writeFile('/proc/thread-self/attr/exec', label);
    try {
      runSync('ip', args);
    } finally {
      // the label is for that one program: an IPAM plugin run later must not get it
      native().writeFile('/proc/thread-self/attr/exec', '');
    }
  });
}

/** What a TUN/TAP link reports of itself (undefined fields: not reported, e.g. no owner set). */
export interface TunInfo {
  type?: 'tun' | 'tap';
  owner?: number;
  group?: number;
  pi?: boolean;
  vnetHdr?: boolean;
  persist?: boolean;
  multiQueue?: boolean;
}

/** The tun settings of a link of kind "tun". */
export function tunInfo(l: Link): TunInfo {
  const d = l.info;
  const bool = (t: number) => (d?.u8(t) === undefined ? undefined : d.u8(t) === 1);
  const type = d?.u8(IFLA_TUN_TYPE);
  return {
    type: type === 1 ? 'tun' : type === 2 ? 'tap' : undefined,
    owner: d?.u32(IFLA_TUN_OWNER),
    group: d?.u32(IFLA_TUN_GROUP),
    pi: bool(IFLA_TUN_PI),
    vnetHdr: bool(IFLA_TUN_VNET_HDR),
    persist: bool(IFLA_TUN_PERSIST),
    multiQueue: bool(IFLA_TUN_MULTI_QUEUE),
  };
}
