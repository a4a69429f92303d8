// ptp: a veth pair per container, routed (not bridged) by the host: the
// container reaches everything through its gateway, which lives as a /32
// (/128) on the host end; the host routes the container IP to the veth (§2.2).
import { networkOf, parseCIDR, parseIP } from '../../pkg/ipaddr/index.js';
import { enableForwardFor } from '../../pkg/ip/forward.js';
import { linkByIndex, linkByName, linkDelByName } from '../../pkg/ip/link.js';
import { NetlinkError } from '../../pkg/ip/netlink.js';
import { withNetnsNl } from '../../pkg/ip/netns.js';
import { routeAdd, routeDel, RT_SCOPE_HOST, RT_SCOPE_LINK } from '../../pkg/ip/route.js';
import { addrAdd, IFA_F_NODAD } from '../../pkg/ip/addr.js';
import { validateExpectedIPs, validateExpectedRoutes } from '../../pkg/ip/validate.js';
import { setupVeth } from '../../pkg/ip/veth.js';
import { checkAlongsideIPAM, chooseDNS, configureIface, deleteIfaceAndRelease, execGC, execStatus, failpoint, ipamDelegate, ipamRunsEarly, startIPAMAdd, validAttachments } from '../../pkg/ipam/index.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import { prevResultOf } from '../../pkg/types/conf.js';
import { CniError, ErrCode } from '../../pkg/types/error.js';
import { requireContainerIface } from '../../pkg/types/iface.js';
import type { Result } from '../../pkg/types/result.js';
import { Undo } from '../../pkg/undo/index.js';
import { loadPtpConf, type PtpConf } from './conf.js';

// The masquerade module loads only for networks that use it (its set-up costs every start otherwise).
const ipmasq = () => import('../../pkg/firewall/ipmasq.js');

const tolerateExists = (fn: () => void) => {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof NetlinkError && e.code === 'EEXIST')) throw e;
  }
};

export async function add(args: CmdArgs): Promise<Result> {
  const conf = loadPtpConf(args.stdinData);
  return withNetnsNl(args.netns, ({ container, host, hnl, cnl }) =>
    Undo.run(async (undo) => {
      const startIPAM = () => startIPAMAdd(undo, ipamDelegate(args, conf), conf.cniVersion ?? '');
      // a netns-blind IPAM plugin runs on its own thread while the veth is made (see
      // ipamRunsEarly); any other runs first, as in the reference
      const early = ipamRunsEarly(conf) ? startIPAM() : undefined;
      let ipamResult = early ? undefined : await startIPAM().wait();
      const pair = setupVeth({ container, host, ifName: args.ifName, mtu: conf.mtu || undefined, containerNl: cnl, hostNl: hnl });
      undo.push(`delete veth "${pair.host.name}"`, () => linkDelByName(hnl, pair.host.name));
      failpoint(conf, 'veth');
      ipamResult ??= await early!.wait();
      failpoint(conf, 'ipam');
      if (!ipamResult.ips?.length) throw new Error('IPAM plugin returned missing IP config');
      for (const c of ipamResult.ips) if (!c.gateway) throw new Error(`IPAM plugin returned no gateway for ${c.address}`);
      const nets = ipamResult.ips.map((c) => parseCIDR(c.address)!);
      enableForwardFor(nets.map((n) => n.ip.family), host);
      const result: Result = {
        cniVersion: '1.1.0',
        interfaces: [
          { name: pair.host.name, mac: pair.host.mac },
          { name: args.ifName, mac: pair.container.mac, sandbox: args.netns },
        ],
        ips: ipamResult.ips.map((c) => ({ ...c, interface: 1 })),
        routes: ipamResult.routes,
      };
      await configureIface(container, args.ifName, result);
      // container: replace the connected subnet route by "gw is on-link, subnet via gw"
      result.ips!.forEach((c, i) => {
        const net = nets[i];
        const gw = parseIP(c.gateway!)!;
        const hostLen = net.ip.family === 4 ? 32 : 128;
        const subnet = { ip: networkOf(net), prefix: net.prefix };
        try {
          routeDel(cnl, { dst: subnet, oif: pair.container.index, scope: net.ip.family === 4 ? RT_SCOPE_LINK : undefined });
        } catch (e) {
          if (!(e instanceof NetlinkError && (e.code === 'ESRCH' || e.code === 'ENOENT'))) throw e;
        }
        tolerateExists(() => routeAdd(cnl, { dst: { ip: gw, prefix: hostLen }, oif: pair.container.index, scope: RT_SCOPE_LINK, src: net.ip }));
        tolerateExists(() => routeAdd(cnl, { dst: subnet, gw, oif: pair.container.index, src: net.ip }));
      });
      // host: the gateway as a host address on the veth, and the container IP routed to it
      result.ips!.forEach((c, i) => {
        const net = nets[i];
        const hostLen = net.ip.family === 4 ? 32 : 128;
        tolerateExists(() => addrAdd(hnl, pair.host.index, { ip: parseIP(c.gateway!)!, prefix: hostLen }, { flags: net.ip.family === 6 ? IFA_F_NODAD : 0 }));
        tolerateExists(() => routeAdd(hnl, { dst: { ip: net.ip, prefix: hostLen }, oif: pair.host.index, scope: RT_SCOPE_HOST }));
      });
      if (conf.ipMasq) {
        const owner = { network: conf.name, containerID: args.containerID, ifName: args.ifName };
        const { setupIPMasq, teardownIPMasq } = await ipmasq();
        undo.push('remove ip masquerade rules', () => teardownIPMasq(owner));
        await setupIPMasq(owner, nets, conf.ipMasqBackend);
        failpoint(conf, 'ipmasq');
      }
      const hv = linkByIndex(hnl, pair.host.index);
      if (hv) result.interfaces![0].mac = hv.mac;
      const dns = chooseDNS(conf, ipamResult.dns);
      if (dns) result.dns = dns;
      return result;
    }),
  );
}

export async function del(args: CmdArgs): Promise<void> {
  const conf = loadPtpConf(args.stdinData, true);
  // the link's addresses go first, then IPAM DEL runs while the kernel destroys the veth; masquerade goes even when that failed
  let failure: unknown;
  await deleteIfaceAndRelease(args.netns, args.ifName, conf.ipam?.type ? ipamDelegate(args, conf) : undefined).catch((e) => (failure = e));
  if (conf.ipMasq) await (await ipmasq()).teardownIPMasq({ network: conf.name, containerID: args.containerID, ifName: args.ifName }).catch((e) => (failure ??= e));
  if (failure !== undefined) throw failure;
}

export async function check(args: CmdArgs): Promise<void> {
  const conf = loadPtpConf(args.stdinData);
  await checkAlongsideIPAM(ipamDelegate(args, conf), () => checkIface(args, conf));
}

/** CHECK of what ptp itself set up, against prevResult. */
async function checkIface(args: CmdArgs, conf: PtpConf): Promise<void> {
  const prev = prevResultOf(conf);
  if (!prev) throw new CniError(ErrCode.InvalidNetworkConfig, 'required prevResult missing');
  const ctr = requireContainerIface(prev, args);
  await withNetnsNl(args.netns, ({ cnl: nl }) => {
    const link = linkByName(nl, args.ifName);
    if (!link) throw new Error(`failed to find container interface "${args.ifName}"`);
    if (link.kind !== 'veth') throw new Error(`container interface "${args.ifName}" is not a veth`);
    const mac = ctr.iface.mac;
    if (mac && mac !== link.mac) throw new Error(`container interface "${args.ifName}" has MAC ${link.mac}, expected ${mac}`);
    validateExpectedIPs(nl, args.ifName, link.index, ctr.ips);
    validateExpectedRoutes(nl, prev.routes ?? []);
  });
}

export async function gc(args: CmdArgs): Promise<void> {
  const conf = loadPtpConf(args.stdinData);
  const valid = validAttachments(JSON.parse(args.stdinData.toString('utf8')));
  const errors: string[] = [];
  for (const fn of [async () => (await ipmasq()).gcIPMasq(conf.name, valid), () => execGC(ipamDelegate(args, conf))]) {
    try {
      await fn();
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length) throw new Error(errors.join('; '));
}

export async function status(args: CmdArgs): Promise<void> {
  await execStatus(ipamDelegate(args, loadPtpConf(args.stdinData)));
}

