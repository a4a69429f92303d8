// host-device (more-plugins.md §1): moves an existing host link into the
// container as CNI_IFNAME, optionally addressed by IPAM, and gives it back on
// DEL under its host name with its MTU, up state and alias as they were (the
// reference leaves it down, its alias cleared). DEL finds the device after a
// rename inside the container (plugins#773) and releases IPAM without a netns.
import { isUp, linkByIndex, linkByName, linkList, type Link } from '../../pkg/ip/link.js';
import type { Rtnl } from '../../pkg/ip/netlink.js';
import { withNetnsNl } from '../../pkg/ip/netns.js';
import { validateSublinkResult } from '../../pkg/ip/sublink.js';
import { checkAlongsideIPAM, execDel, execGC, execStatus, failpoint, ipamDelegate, ipamType, startIPAMAdd, validAttachments } from '../../pkg/ipam/index.js';
import { netnsBlind } from '../../pkg/ipam/kinds.js';
import { addressSublink } from '../../pkg/ipam/sublink.js';
import { NetNSNotFoundError } from '../../pkg/ns/index.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import { prevResultOf } from '../../pkg/types/conf.js';
import { CniError, ErrCode, invalidConfig } from '../../pkg/types/error.js';
import type { Result } from '../../pkg/types/result.js';
import { isLegacyResultVersion } from '../../pkg/types/version.js';
import { Undo } from '../../pkg/undo/index.js';
import { loadHostDeviceConf, type HostDeviceConf } from './conf.js';
import { moveIn, moveOut, type MoveNamespaces } from './move.js';
import { readState, removeState, writeState, gcStates } from './state.js';
import { busDevice, isDPDK, netdevNames } from './sysfs.js';

/** DPDK mode: a PCI device bound to a DPDK driver (no netdev to move), or `DPDKMode` without one. */
function dpdkMode(conf: HostDeviceConf): boolean {
  const bus = busDevice(conf);
  return bus?.pci ? isDPDK(bus.pci, bus.key) : conf.DPDKMode;
}

/** The host link the configuration selects, in the reference's order of precedence. */
function findHostDevice(nl: Rtnl, conf: HostDeviceConf): Link {
  if (conf.device) {
    const l = linkByName(nl, conf.device);
    if (!l) throw invalidConfig('device', `failed to find host device "${conf.device}": link not found`);
    return l;
  }
  const links = linkList(nl);
  if (conf.hwaddr) {
    const mac = conf.hwaddr.toLowerCase().replace(/-/g, ':');
    const l = links.find((x) => x.mac === mac);
    if (!l) throw invalidConfig('hwaddr', `failed to find host device with MAC ${mac}: failed to find physical interface`);
    return l;
  }
  const bus = busDevice(conf);
  const [key, names] = conf.kernelpath ? ['kernelpath', netdevNames({ kernelpath: conf.kernelpath }, 'kernelpath')] : [bus!.key, netdevNames(bus!, bus!.key)];
  // the first name sysfs lists that is a link here
  for (const n of names) {
    const l = links.find((x) => x.name === n);
    if (l) return l;
  }
  throw invalidConfig(key, `failed to find host device among ${names.join(', ')}: failed to find physical interface`);
}

export async function add(args: CmdArgs): Promise<Result> {
  const conf = loadHostDeviceConf(args.stdinData);
  // refused before the device moves (the reference moves it, then fails to print the result, and leaves it inside)
  if (!ipamType(conf) && isLegacyResultVersion(conf.cniVersion ?? '')) {
    throw invalidConfig('cniVersion', `cannot convert: no valid IP addresses ("${conf.cniVersion ?? ''}" results carry only IPs: a network without IPAM needs 0.3.0 or later)`);
  }
  return withNetnsNl(args.netns, (ns) =>
    Undo.run(async (undo) => {
      const dpdk = dpdkMode(conf);
      const result: Result = { cniVersion: '1.1.0', interfaces: [{ name: args.ifName, sandbox: args.netns }] };
      if (!dpdk) {
        const dev = findHostDevice(ns.hnl, conf);
        const moved = moveIn(ns, dev, args.ifName);
        const back = { name: dev.name, alias: dev.alias ?? '', mtu: dev.mtu, up: isUp(dev) };
        undo.push(`move "${args.ifName}" back to the host as "${dev.name}"`, () => {
          const l = linkByIndex(ns.cnl, moved.index) ?? linkByName(ns.cnl, args.ifName);
          if (l) moveOut(ns, l, back);
        });
        writeState(conf.name, args.containerID, args.ifName, { hostName: dev.name, mtu: dev.mtu, up: isUp(dev), alias: dev.alias ?? '', index: moved.index, mac: moved.mac });
        undo.push('remove the device state', () => removeState(conf.name, args.containerID, args.ifName));
        result.interfaces![0] = { name: args.ifName, mac: moved.mac, sandbox: args.netns };
      }
      failpoint(conf, 'link');
      if (!ipamType(conf)) return result;
      if (!dpdk) return addressSublink({ ns: { container: ns.container, cnl: ns.cnl, mnl: ns.hnl }, undo, result, conf, ipam: ipamDelegate(args, conf), notify: false });
      // DPDK: IPAM's addresses go into the result only; no netdev carries them
      const r = await startIPAMAdd(undo, ipamDelegate(args, conf), conf.cniVersion ?? '').wait();
      failpoint(conf, 'ipam');
      if (!r.ips?.length) throw new Error('IPAM plugin returned missing IP config');
      result.ips = r.ips.map((c) => ({ ...c, interface: 0 }));
      if (r.routes?.length) result.routes = r.routes;
      if (conf.dns) result.dns = conf.dns;
      return result;
    }),
  );
}

/** DPDK mode as DEL sees it: never an error (a device gone from sysfs is simply not DPDK). */
function dpdkForDel(conf: HostDeviceConf): boolean {
  try {
    return dpdkMode(conf);
  } catch {
    return false;
  }
}

/**
 * Without a state (a Go ADD) and without CNI_IFNAME in the container, the
 * device may have been renamed there: the link whose alias is the configured
 * `device`, or with the configured `hwaddr` and an alias.
 */
function renamedBySelector(nl: Rtnl, conf: HostDeviceConf): Link | undefined {
  if (!conf.device && !conf.hwaddr) return undefined;
  const mac = conf.hwaddr?.toLowerCase().replace(/-/g, ':');
  return linkList(nl).find((l) => (conf.device ? l.alias === conf.device : !!l.alias && l.mac === mac));
}

/** Moves the attachment's device back to the host; nothing to do when it is not in the container. */
function giveBack(ns: MoveNamespaces, args: CmdArgs, conf: HostDeviceConf): void {
  const state = readState(conf.name, args.containerID, args.ifName);
  if (!state && dpdkForDel(conf)) return;
  // by index first: CNI_IFNAME may have been renamed inside the container
  let l = state ? linkByIndex(ns.cnl, state.index) : undefined;
  if (l && l.alias !== state!.hostName) l = undefined;
  l ??= linkByName(ns.cnl, args.ifName) ?? renamedBySelector(ns.cnl, conf);
  if (!l) return;
  // a link of that name that is not the device ADD moved in: not ours to take
  if (state && l.alias !== state.hostName) return;
  const name = state?.hostName ?? l.alias;
  if (!name) throw new Error(`failed to find original ifname for "${args.ifName}" (alias is not set)`);
  // without a state (a Go ADD) the original MTU and up state are unknown: it stays down, as the reference leaves it
  const warning = moveOut(ns, l, { name, alias: state?.alias ?? '', mtu: state?.mtu, up: state?.up ?? false });
  if (warning) process.stderr.write(`host-device: ${warning}\n`);
}

export async function del(args: CmdArgs): Promise<void> {
  const conf = loadHostDeviceConf(args.stdinData, true);
  const ipam = ipamType(conf) ? ipamDelegate(args, conf) : undefined;
  // an IPAM plugin that may use the interface (dhcp's DHCPRELEASE) goes while the device is still there;
  // any other releases once the move has flushed the device's addresses (plugins#666)
  const releaseFirst = ipam && !netnsBlind(ipam.type);
  if (releaseFirst) await execDel(ipam);
  if (args.netns) {
    try {
      await withNetnsNl(args.netns, (ns) => giveBack(ns, args, conf));
    } catch (e) {
      if (!(e instanceof NetNSNotFoundError)) throw e;
    }
  }
  // unlike the reference, IPAM DEL runs without CNI_NETNS too (its reservation leaked there)
  if (ipam && !releaseFirst) await execDel(ipam);
  removeState(conf.name, args.containerID, args.ifName);
}

export async function check(args: CmdArgs): Promise<void> {
  const conf = loadHostDeviceConf(args.stdinData);
  await checkAlongsideIPAM(ipamType(conf) ? ipamDelegate(args, conf) : undefined, async () => {
    if (!prevResultOf(conf)) throw new CniError(ErrCode.InvalidNetworkConfig, 'required prevResult missing');
    if (dpdkMode(conf)) return;
    await validateSublinkResult(args, { ...conf, linkInContainer: true }, (ns, mac) => {
      const l = linkByName(ns.cnl, args.ifName);
      if (!l) throw new Error(`container interface name in prevResult: "${args.ifName}" not found`);
      if (mac && mac.toLowerCase() !== l.mac) throw new Error(`interface "${args.ifName}" MAC ${mac} doesn't match container MAC ${l.mac}`);
      if (conf.device && l.alias !== conf.device) throw new Error(`interface "${args.ifName}" is not host device "${conf.device}" (its alias is "${l.alias ?? ''}")`);
      return l;
    });
  });
}

export async function gc(args: CmdArgs): Promise<void> {
  const conf = loadHostDeviceConf(args.stdinData, true);
  gcStates(conf.name, validAttachments(conf as Record<string, unknown>));
  if (ipamType(conf)) await execGC(ipamDelegate(args, conf));
}

export async function status(args: CmdArgs): Promise<void> {
  const conf = loadHostDeviceConf(args.stdinData);
  if (ipamType(conf)) await execStatus(ipamDelegate(args, conf));
}
