// dummy: a dummy link (a routable address that never transmits) created in the
// container namespace as CNI_IFNAME and addressed by IPAM (reference v1.9.1,
// more-plugins §2; created from inside the container as since v1.9.0, so a host
// link of the same name does not clash). The result is IPAM's with the link as
// its only interface.
import { linkAdd, linkByName, linkDelByName, isUp, type Link } from '../../pkg/ip/link.js';
import { NetlinkError, type Rtnl } from '../../pkg/ip/netlink.js';
import { withNetnsNl } from '../../pkg/ip/netns.js';
import { validateExpectedIPs } from '../../pkg/ip/validate.js';
import { checkAlongsideIPAM, configureIface, deleteIfaceAndRelease, execGC, execStatus, failpoint, ipamDelegate, startIPAMAdd } from '../../pkg/ipam/index.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import { prevResultOf } from '../../pkg/types/conf.js';
import { CniError, ErrCode } from '../../pkg/types/error.js';
import { requireContainerIface } from '../../pkg/types/iface.js';
import type { Result } from '../../pkg/types/result.js';
import { Undo } from '../../pkg/undo/index.js';
import { delIPAMType, loadDummyConf } from './conf.js';

/** Creates dummy `ifName` in the socket's namespace; its deletion goes on `undo` once it exists. */
function createDummy(nl: Rtnl, ifName: string, undo: Undo): Link {
  try {
    linkAdd(nl, { name: ifName, kind: 'dummy' });
  } catch (e) {
    // the kernel answers an unknown link kind with EOPNOTSUPP ("Unknown device type")
    if (e instanceof NetlinkError && e.code === 'EOPNOTSUPP') {
      throw new CniError(ErrCode.Internal, `failed to create dummy "${ifName}": the kernel has no dummy link type (CONFIG_DUMMY, module dummy): ${e.reason}`, '', { cause: e });
    }
    throw new Error(`failed to create dummy: ${e instanceof NetlinkError ? e.reason : (e as Error).message}`, { cause: e });
  }
  undo.push(`delete dummy "${ifName}"`, () => linkDelByName(nl, ifName));
  const link = linkByName(nl, ifName);
  if (!link) throw new Error(`failed to fetch dummy "${ifName}": link not found`);
  return link;
}

export async function add(args: CmdArgs): Promise<Result> {
  const conf = loadDummyConf(args.stdinData);
  return withNetnsNl(args.netns, ({ container, cnl: nl }) =>
    Undo.run(async (undo) => {
      const link = createDummy(nl, args.ifName, undo);
      failpoint(conf, 'link');
      const r = await startIPAMAdd(undo, ipamDelegate(args, conf), conf.cniVersion ?? '').wait();
      failpoint(conf, 'ipam');
      if (!r.ips?.length) throw new Error('IPAM plugin returned missing IP config');
      const result: Result = { ...r, cniVersion: '1.1.0', interfaces: [{ name: args.ifName, mac: link.mac, sandbox: args.netns }], ips: r.ips.map((c) => ({ ...c, interface: 0 })) };
      await configureIface(container, args.ifName, result);
      failpoint(conf, 'configure');
      return result;
    }),
  );
}

/**
 * Removes the link and releases the IPAM reservation; reads nothing but the
 * IPAM type (none: only the link goes), so no configuration blocks teardown.
 */
export async function del(args: CmdArgs): Promise<void> {
  const type = delIPAMType(args.stdinData);
  await deleteIfaceAndRelease(args.netns, args.ifName, type ? ipamDelegate(args, type) : undefined);
}

/** IPAM's CHECK, then: the prevResult's interface exists here, is a dummy, has its MAC, is up and holds its IPs. */
export async function check(args: CmdArgs): Promise<void> {
  const conf = loadDummyConf(args.stdinData);
  await checkAlongsideIPAM(ipamDelegate(args, conf), async () => {
    const prev = prevResultOf(conf);
    if (!prev) throw new CniError(ErrCode.InvalidNetworkConfig, 'dummy: Required prevResult missing');
    const ctr = requireContainerIface(prev, args);
    await withNetnsNl(args.netns, ({ cnl: nl }) => {
      const l = linkByName(nl, args.ifName);
      if (!l) throw new Error(`Container Interface name in prevResult: ${args.ifName} not found`);
      if (l.kind !== 'dummy') throw new Error(`Error: Container interface ${args.ifName} not of type dummy`);
      const mac = ctr.iface.mac;
      if (mac && mac.toLowerCase() !== l.mac) throw new Error(`Interface ${args.ifName} Mac ${mac} doesn't match container Mac: ${l.mac}`);
      if (!isUp(l)) throw new Error(`Interface ${args.ifName} is down`);
      validateExpectedIPs(nl, args.ifName, l.index, ctr.ips);
    });
  });
}

export async function gc(args: CmdArgs): Promise<void> {
  await execGC(ipamDelegate(args, loadDummyConf(args.stdinData)));
}

export async function status(args: CmdArgs): Promise<void> {
  await execStatus(ipamDelegate(args, loadDummyConf(args.stdinData)));
}
