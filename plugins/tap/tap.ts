// tap (more-plugins.md §3): a TAP device in the container, optionally
// multi-queue, owned by a uid/gid, labelled for SELinux and enslaved to a bridge
// of the container, addressed by IPAM or L2 only. The device is created through
// /dev/net/tun inside the container namespace, with the flags of whichever of
// the reference's two creation paths the configuration takes, so the kernel
// state is the same as v1.9.1's.
import { existsSync } from '../../pkg/native/fs.js';
import { isUp, linkByIndex, linkByName, linkDel, linkSet, type Link } from '../../pkg/ip/link.js';
import { NetlinkError } from '../../pkg/ip/netlink.js';
import { validateSublinkResult, withSublinkNamespaces, type SublinkNamespaces } from '../../pkg/ip/sublink.js';
import { IFF_MULTI_QUEUE, IFF_NO_PI, IFF_VNET_HDR, tapCreate, tapCreateLabelled, tunInfo } from '../../pkg/ip/tuntap.js';
import { checkAlongsideIPAM, deleteIfaceAndRelease, execGC, execStatus, failpoint, ipamDelegate, ipamType } from '../../pkg/ipam/index.js';
import { addressSublink } from '../../pkg/ipam/sublink.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import { invalidConfig, wrapError } from '../../pkg/types/error.js';
import type { Result } from '../../pkg/types/result.js';
import { isLegacyResultVersion } from '../../pkg/types/version.js';
import { Undo } from '../../pkg/undo/index.js';
import { loadTapConf, type TapConf } from './conf.js';

/** SELinux is on: its filesystem is mounted (go-selinux's test, short of reading the mount table). */
const selinuxEnabled = () => existsSync('/sys/fs/selinux/enforce');

/**
 * The TUNSETIFF flags the reference ends up with. Its `ip tuntap add` path
 * (owner or group unset, or an SELinux context) gives IFF_NO_PI; its netlink
 * path (both set) gives IFF_VNET_HDR, and IFF_NO_PI only with multiQueue.
 */
export function tapFlags(conf: Pick<TapConf, 'owner' | 'group' | 'selinuxContext' | 'multiQueue'>): number {
  const ipTool = !!conf.selinuxContext || conf.owner === undefined || conf.group === undefined;
  if (ipTool) return IFF_NO_PI | (conf.multiQueue ? IFF_MULTI_QUEUE : 0);
  return IFF_VNET_HDR | (conf.multiQueue ? IFF_MULTI_QUEUE | IFF_NO_PI : 0);
}

/** The bridge `name` inside the container: it must exist there and be a bridge (code 7 on `bridge`). */
function lookupBridge(ns: SublinkNamespaces, name: string): Link {
  const br = linkByName(ns.cnl, name);
  if (!br) throw invalidConfig('bridge', `failed to get bridge "${name}" in the container: link not found`);
  if (br.kind !== 'bridge') throw invalidConfig('bridge', `"${name}" is a ${br.kind ?? 'device'}, not a bridge`);
  return br;
}

/** Applies one setting the kernel may refuse as a value (EINVAL, EADDRNOTAVAIL): code 7 naming its key. */
function setOrRefuse(ns: SublinkNamespaces, index: number, change: Parameters<typeof linkSet>[2], key: string, what: string): void {
  try {
    linkSet(ns.cnl, index, change, what);
  } catch (e) {
    if (e instanceof NetlinkError && (e.code === 'EINVAL' || e.code === 'EADDRNOTAVAIL' || e.code === 'ERANGE')) throw invalidConfig(key, `${what}: ${e.reason}`);
    throw e;
  }
}

export async function add(args: CmdArgs): Promise<Result> {
  const conf = loadTapConf(args.stdinData, args.args);
  // refused before anything exists: a result without IPs cannot be printed in these versions
  if (!ipamType(conf) && isLegacyResultVersion(conf.cniVersion ?? '')) {
    throw invalidConfig('cniVersion', `cannot convert: no valid IP addresses ("${conf.cniVersion ?? ''}" results carry only IPs: an L2-only network needs 0.3.0 or later)`);
  }
  return withSublinkNamespaces(args.netns, true, (ns) =>
    Undo.run(async (undo) => {
      const name = args.ifName;
      if (linkByName(ns.cnl, name)) throw new Error(`container interface name provided (${name}) already exists`);
      const bridge = conf.bridge ? lookupBridge(ns, conf.bridge) : undefined;
      // created under its final name: inside the container no host name can clash (the reference's temporary name)
      const spec = { name, flags: tapFlags(conf), owner: conf.owner, group: conf.group };
      try {
        if (conf.selinuxContext && selinuxEnabled()) tapCreateLabelled(ns.container, spec, conf.selinuxContext);
        else tapCreate(ns.container, spec);
      } catch (e) {
        throw wrapError('create tap', e);
      }
      const tap = linkByName(ns.cnl, name);
      if (!tap) throw new Error(`failed to refetch tap "${name}": link not found`);
      undo.push(`delete tap "${name}"`, () => linkDel(ns.cnl, tap.index, `failed to delete tap "${name}"`));
      if (conf.mac) setOrRefuse(ns, tap.index, { mac: conf.mac }, conf.macKey, `failed to set MAC ${conf.mac} on "${name}"`);
      if (conf.mtu) setOrRefuse(ns, tap.index, { mtu: conf.mtu }, 'mtu', `failed to set MTU ${conf.mtu} on "${name}"`);
      if (bridge) linkSet(ns.cnl, tap.index, { master: bridge.index }, `failed to set tap ${name} as a port of bridge ${bridge.name}`);
      linkSet(ns.cnl, tap.index, { up: true }, 'failed to set tap interface up');
      failpoint(conf, 'link');
      const link = linkByIndex(ns.cnl, tap.index);
      const result: Result = { cniVersion: '1.1.0', interfaces: [{ name, mac: link?.mac ?? tap.mac, sandbox: args.netns }] };
      return addressSublink({ ns, undo, result, conf, ipam: ipamType(conf) ? ipamDelegate(args, conf) : undefined, notify: 'arp' });
    }),
  );
}

export async function del(args: CmdArgs): Promise<void> {
  const conf = loadTapConf(args.stdinData, args.args, true);
  // the link's addresses go first, then IPAM DEL runs while the kernel destroys the link
  await deleteIfaceAndRelease(args.netns, args.ifName, ipamType(conf) ? ipamDelegate(args, conf) : undefined);
}

/** CHECK of the device itself (the reference checks only addresses and routes): a tap as configured. */
function validateTap(ns: SublinkNamespaces, conf: TapConf, ifName: string, mac: string | undefined): Link {
  const l = linkByName(ns.cnl, ifName);
  if (!l) throw new Error(`failed to find container interface "${ifName}"`);
  const t = tunInfo(l);
  if (l.kind !== 'tun' || t.type !== 'tap') throw new Error(`container interface "${ifName}" is a ${l.kind ?? 'device'}, not a tap`);
  const want = mac ?? conf.mac;
  if (want && want.toLowerCase() !== l.mac) throw new Error(`container interface "${ifName}" has MAC ${l.mac}, expected ${want}`);
  if (conf.mtu && l.mtu !== conf.mtu) throw new Error(`container interface "${ifName}" has MTU ${l.mtu}, expected ${conf.mtu}`);
  if (!!t.multiQueue !== conf.multiQueue) throw new Error(`container interface "${ifName}" is ${t.multiQueue ? '' : 'not '}multi-queue`);
  if (conf.owner !== undefined && t.owner !== conf.owner) throw new Error(`container interface "${ifName}" has owner ${t.owner ?? 'none'}, expected ${conf.owner}`);
  if (conf.group !== undefined && t.group !== conf.group) throw new Error(`container interface "${ifName}" has group ${t.group ?? 'none'}, expected ${conf.group}`);
  if (conf.bridge) {
    const br = linkByName(ns.cnl, conf.bridge);
    if (!br || l.master !== br.index) throw new Error(`container interface "${ifName}" is not a port of bridge "${conf.bridge}"`);
  }
  if (!isUp(l)) throw new Error(`container interface "${ifName}" is down`);
  return l;
}

export async function check(args: CmdArgs): Promise<void> {
  const conf = loadTapConf(args.stdinData, args.args);
  // IPAM CHECK runs beside our own checks; its verdict comes first
  await checkAlongsideIPAM(ipamType(conf) ? ipamDelegate(args, conf) : undefined, () =>
    validateSublinkResult(args, { ...conf, linkInContainer: true }, (ns, mac) => validateTap(ns, conf, args.ifName, mac)),
  );
}

export async function gc(args: CmdArgs): Promise<void> {
  const conf = loadTapConf(args.stdinData, args.args, true);
  if (ipamType(conf)) await execGC(ipamDelegate(args, conf));
}

export async function status(args: CmdArgs): Promise<void> {
  const conf = loadTapConf(args.stdinData, args.args, true);
  if (ipamType(conf)) await execStatus(ipamDelegate(args, conf));
}
