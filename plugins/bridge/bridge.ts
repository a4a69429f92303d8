// bridge: attaches a container to a Linux bridge on the host through a veth
// pair, with optional IPAM, gateway, masquerading, VLANs and MAC spoof check
// (reference §2.1, with its known bugs fixed: full rollback, vlan_filtering on
// existing bridges, CHECK of L2-only networks, masquerade teardown without netns).
import { addToIP, formatIP, networkOf, parseCIDR, type IPNet } from '../../pkg/ipaddr/index.js';
import { enableForwardFor } from '../../pkg/ip/forward.js';
import { IF_OPER_UP, linkByIndex, linkByName, linkDelByName, linkSet, type Link } from '../../pkg/ip/link.js';
import type { Rtnl } from '../../pkg/ip/netlink.js';
import { withNetnsNl } from '../../pkg/ip/netns.js';
import { addrDel } from '../../pkg/ip/addr.js';
import { validateExpectedIPs, validateExpectedRoutes } from '../../pkg/ip/validate.js';
import { setupVeth } from '../../pkg/ip/veth.js';
import { checkAlongsideIPAM, chooseDNS, configureIface, deleteIfaceAndRelease, execGC, execStatus, failpoint, ipamDelegate, ipamRunsEarly, ipamType, startIPAMAdd, validAttachments } from '../../pkg/ipam/index.js';
import { writeSysctls, type NetNS } from '../../pkg/ns/index.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import { prevResultOf } from '../../pkg/types/conf.js';
import { CniError, ErrCode } from '../../pkg/types/error.js';
import type { Result } from '../../pkg/types/result.js';
import { requireContainerIface } from '../../pkg/types/iface.js';
import { pollSync } from '../../pkg/time/index.js';
import { Undo } from '../../pkg/undo/index.js';
import { loadBridgeConf, loadBridgeDelConf, type BridgeConf } from './conf.js';
import { attachPort, deleteBridgeIfUnused, ensureBridge, ensureGatewayAddr, ensureVlanGatewayIface, pinBridgeMAC, vlanFiltering } from './host.js';

/**
 * Polling schedule (ms) while waiting for the host port to be oper-up: the
 * reference's 2.55 s budget (0, 50, 500, 1000, 1000), polled every quarter
 * millisecond at first, because the kernel's link watcher usually marks a
 * fresh veth up within one or two milliseconds.
 */
const PORT_UP_WAITS = [0, ...Array<number>(12).fill(0.25), ...Array<number>(6).fill(0.5), 1, 1, 2, 5, 10, 30, 100, 400, 1000, 1000];

// The firewall modules load only for networks that use them (their set-up costs every start otherwise).
const ipmasq = () => import('../../pkg/firewall/ipmasq.js');
const spoofcheck = () => import('../../pkg/firewall/spoofcheck.js');

function waitPortUp(nl: Rtnl, index: number, name: string): Link {
  const up = pollSync(PORT_UP_WAITS, () => {
    const l = linkByIndex(nl, index);
    return l?.operstate === IF_OPER_UP ? l : undefined;
  });
  if (!up) throw new Error(`bridge port in error state: "${name}" is not up`);
  return up;
}

function containerSysctls(ns: NetNS, ifName: string, enableDAD: boolean): void {
  const dad: Array<[string, string]> = enableDAD
    ? [
        [`net/ipv6/conf/${ifName}/enhanced_dad`, '1'],
        [`net/ipv6/conf/${ifName}/accept_dad`, '1'],
      ]
    : [[`net/ipv6/conf/${ifName}/accept_dad`, '0']];
  // IPv6 may be disabled in the container; the reference ignores these failures too
  writeSysctls(ns, [...dad, [`net/ipv4/conf/${ifName}/arp_notify`, '1']], { bestEffort: true });
}

/** Fills in gateways (first host of the subnet when isGateway and IPAM gave none) and default routes. */
function planGateways(conf: BridgeConf, result: Result): IPNet[] {
  const gws: IPNet[] = [];
  for (const ipc of result.ips ?? []) {
    const net = parseCIDR(ipc.address)!;
    if (!ipc.gateway && conf.isGateway) ipc.gateway = formatIP(addToIP(networkOf(net), 1n));
    if (!ipc.gateway) continue;
    const gw = parseCIDR(`${ipc.gateway}/${net.prefix}`)!;
    if (conf.isGateway && !gws.some((g) => formatIP(g.ip) === formatIP(gw.ip))) gws.push(gw);
    if (conf.isDefaultGateway) {
      const dst = net.ip.family === 4 ? '0.0.0.0/0' : '::/0';
      const has = (result.routes ?? []).some((r) => r.dst === dst && r.gw);
      if (!has && !(result.routes ?? []).some((r) => r.dst === dst && r.gw === ipc.gateway)) {
        (result.routes ??= []).push({ dst, gw: ipc.gateway });
      }
    }
  }
  return gws;
}

export async function add(args: CmdArgs): Promise<Result> {
  const conf = loadBridgeConf(args.stdinData, args.args);
  const hasIPAM = ipamType(conf) !== '';
  // the container namespace is opened before anything is created: a bad CNI_NETNS fails early
  return withNetnsNl(args.netns, ({ container, host, hnl, cnl }) =>
    Undo.run(async (undo) => {
      // IPAM runs on its own thread while the bridge and veth are made (see ipamRunsEarly)
      const startIPAM = () => startIPAMAdd(undo, ipamDelegate(args, conf), conf.cniVersion ?? '');
      let ipam = ipamRunsEarly(conf) ? startIPAM() : undefined;
      let pinned: Link | undefined;
      const { bridge, created } = ensureBridge(hnl, host, conf);
      if (created) undo.push(`delete bridge "${conf.bridge}"`, () => deleteBridgeIfUnused(hnl, conf.bridge));
      const pair = setupVeth({ container, host, ifName: args.ifName, mtu: conf.mtu || undefined, mac: conf.mac, containerNl: cnl, hostNl: hnl });
      undo.push(`delete veth "${pair.host.name}"`, () => linkDelByName(hnl, pair.host.name));
      failpoint(conf, 'veth');
      attachPort(hnl, pair.host.index, pair.host.name, bridge, conf);
      if (conf.macspoofchk) {
        const { setupSpoofCheck, spoofRefID, teardownSpoofCheck } = await spoofcheck();
        const refID = spoofRefID(args.containerID, args.ifName);
        await setupSpoofCheck(pair.host.name, pair.container.mac, refID);
        undo.push('remove spoof check', () => teardownSpoofCheck(refID));
      }
      const result: Result = {
        cniVersion: '1.1.0',
        interfaces: [
          { name: bridge.name, mac: bridge.mac },
          { name: pair.host.name, mac: pair.host.mac },
          { name: args.ifName, mac: pair.container.mac, sandbox: args.netns },
        ],
      };
      if (hasIPAM) {
        if (!ipam) {
          // An IPAM that talks on the link (dhcp) gets it forwarding first: the host end of a new veth becomes a
          // forwarding bridge port only when the kernel's link watcher gets to it, up to a few ms after the
          // container's end, and a DHCPDISCOVER sent in that gap is dropped (14 of 30 ADDs measured). The
          // reference waits for the port only after IPAM.
          linkSet(cnl, pair.container.index, { up: true }, `failed to set "${args.ifName}" up`);
          waitPortUp(hnl, pair.host.index, pair.host.name);
          ipam = startIPAM();
        }
        const ipamResult = await ipam.wait();
        failpoint(conf, 'ipam');
        if (!ipamResult.ips?.length) throw new Error('IPAM plugin returned missing IP config');
        result.ips = ipamResult.ips.map((c) => ({ ...c, interface: 2 }));
        result.routes = ipamResult.routes ? [...ipamResult.routes] : undefined;
        result.dns = ipamResult.dns;
        const gws = planGateways(conf, result);
        containerSysctls(container, args.ifName, conf.enabledad);
        await configureIface(container, args.ifName, result);
        if (conf.isGateway) {
          let target = bridge;
          if (conf.vlan) {
            const g = ensureVlanGatewayIface(hnl, host, bridge, conf);
            if (g.created) undo.push(`delete "${g.link.name}"`, () => linkDelByName(hnl, g.link.name));
            target = g.link;
            result.interfaces!.push({ name: g.link.name, mac: g.link.mac });
          }
          for (const gw of gws) {
            if (ensureGatewayAddr(hnl, target, gw, conf.forceAddress)) undo.push('remove gateway address', () => addrDel(hnl, target.index, gw));
          }
          // the bridge's MAC as its ports left it, made its own: it stays put from here on
          pinned = linkByName(hnl, bridge.name)!;
          pinBridgeMAC(hnl, pinned);
          enableForwardFor(gws.map((g) => g.ip.family), host);
        }
        if (conf.ipMasq) {
          const owner = { network: conf.name, containerID: args.containerID, ifName: args.ifName };
          const nets = result.ips.map((c) => parseCIDR(c.address)!);
          const { setupIPMasq, teardownIPMasq } = await ipmasq();
          undo.push('remove ip masquerade rules', () => teardownIPMasq(owner));
          await setupIPMasq(owner, nets, conf.ipMasqBackend);
          failpoint(conf, 'ipmasq');
        }
      } else if (!conf.disableContainerInterface) {
        linkSet(cnl, pair.container.index, { up: true }, `failed to set "${args.ifName}" up`);
      }
      if (!conf.disableContainerInterface) waitPortUp(hnl, pair.host.index, pair.host.name);
      // an unpinned bridge may have taken a port's MAC; the host veth's MAC is the one it was made with
      result.interfaces![0].mac = (pinned ?? linkByName(hnl, bridge.name)!).mac;
      const dns = chooseDNS(conf, result.dns);
      if (dns) result.dns = dns;
      else delete result.dns;
      return result;
    }),
  );
}

export async function del(args: CmdArgs): Promise<void> {
  const conf = loadBridgeDelConf(args.stdinData);
  // every step runs even when one fails (what can be removed is removed); the first error is reported
  let failure: unknown;
  // the link goes first, its addresses before IPAM DEL runs (plugins#666), the veth's slow destruction overlapped with it
  await deleteIfaceAndRelease(args.netns, args.ifName, ipamType(conf) ? ipamDelegate(args, conf) : undefined).catch((e) => (failure = e));
  if (conf.macspoofchk) {
    try {
      const { spoofRefID, teardownSpoofCheck } = await spoofcheck();
      await teardownSpoofCheck(spoofRefID(args.containerID, args.ifName));
    } catch (e) {
      process.stderr.write(`${(e as Error).message}\n`);
    }
  }
  // derived from network, container ID and ifname: works without CNI_NETNS (plugins#810)
  if (conf.ipMasq) await (await ipmasq()).teardownIPMasq({ network: conf.name, containerID: args.containerID, ifName: args.ifName }).catch((e) => (failure ??= e));
  if (failure !== undefined) throw failure;
}

export async function check(args: CmdArgs): Promise<void> {
  const conf = loadBridgeConf(args.stdinData, args.args);
  // an L2-only network has nothing to ask IPAM about (the reference fails here)
  await checkAlongsideIPAM(ipamType(conf) ? ipamDelegate(args, conf) : undefined, () => checkIface(args, conf));
}

/** CHECK of what bridge itself set up, against prevResult. */
async function checkIface(args: CmdArgs, conf: BridgeConf): Promise<void> {
  const prev = prevResultOf(conf);
  if (!prev) throw new CniError(ErrCode.InvalidNetworkConfig, 'required prevResult missing');
  const ifaces = prev.interfaces ?? [];
  const brIface = ifaces.find((i) => i.name === conf.bridge);
  const ctr = requireContainerIface(prev, args);
  await withNetnsNl(args.netns, ({ hnl, cnl }) => {
    const br = linkByName(hnl, conf.bridge);
    if (!br) throw new Error(`failed to find bridge "${conf.bridge}"`);
    if (br.kind !== 'bridge') throw new Error(`"${conf.bridge}" is not a bridge`);
    if (brIface?.mac && brIface.mac !== br.mac) throw new Error(`bridge "${conf.bridge}" has MAC ${br.mac}, expected ${brIface.mac}`);
    const promisc = (br.promiscuity ?? 0) > 0;
    if (promisc !== conf.promiscMode) throw new Error(`bridge "${conf.bridge}" promiscuous mode is ${promisc}, expected ${conf.promiscMode}`);
    if ((conf.vlan || conf.trunkIDs.length) && !vlanFiltering(br)) throw new Error(`bridge "${conf.bridge}" has vlan_filtering off`);
    const link = linkByName(cnl, args.ifName);
    if (!link) throw new Error(`failed to find container interface "${args.ifName}"`);
    if (link.kind !== 'veth') throw new Error(`container interface "${args.ifName}" is not a veth`);
    if (ctr.iface.mac && ctr.iface.mac !== link.mac) throw new Error(`container interface "${args.ifName}" has MAC ${link.mac}, expected ${ctr.iface.mac}`);
    const hostPeer = link.parentIndex ? linkByIndex(hnl, link.parentIndex) : undefined;
    if (!hostPeer || hostPeer.kind !== 'veth' || hostPeer.parentIndex !== link.index) throw new Error(`failed to find the host end of "${args.ifName}"`);
    if (hostPeer.master !== br.index) throw new Error(`host veth "${hostPeer.name}" is not attached to bridge "${conf.bridge}"`);
    const hostIface = ifaces.find((i) => i.name.startsWith('veth') && !i.sandbox);
    if (hostIface && hostIface.name !== hostPeer.name) throw new Error(`host veth is "${hostPeer.name}", prevResult says "${hostIface.name}"`);
    validateExpectedIPs(cnl, args.ifName, link.index, ctr.ips);
    validateExpectedRoutes(cnl, prev.routes ?? []);
  });
}

export async function gc(args: CmdArgs): Promise<void> {
  const conf = loadBridgeConf(args.stdinData, args.args);
  const valid = validAttachments(JSON.parse(args.stdinData.toString('utf8')));
  const errors: string[] = [];
  try {
    await (await ipmasq()).gcIPMasq(conf.name, valid);
  } catch (e) {
    errors.push((e as Error).message);
  }
  if (ipamType(conf)) {
    try {
      await execGC(ipamDelegate(args, conf));
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length) throw new Error(errors.join('; '));
}

export async function status(args: CmdArgs): Promise<void> {
  const conf = loadBridgeConf(args.stdinData, args.args);
  if (ipamType(conf)) await execStatus(ipamDelegate(args, conf));
}
