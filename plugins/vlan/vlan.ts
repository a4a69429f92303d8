// vlan: the container gets an 802.1Q sub-interface (`vlanId`) of a host link,
// addressed by IPAM (reference §2.5, with its bugs fixed: DEL works when the
// master is gone, and any failure of ADD removes the link and releases IPAM).
import { createSublink, lookupMaster, sublinkInfo, validateMTU, validateSublink, validateSublinkResult, vlanData, withSublinkNamespaces } from '../../pkg/ip/sublink.js';
import { checkAlongsideIPAM, deleteIfaceAndRelease, execGC, execStatus, failpoint, ipamDelegate, ipamType } from '../../pkg/ipam/index.js';
import { addressSublink } from '../../pkg/ipam/sublink.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import type { Result } from '../../pkg/types/result.js';
import { Undo } from '../../pkg/undo/index.js';
import { loadVlanConf } from './conf.js';

export async function add(args: CmdArgs): Promise<Result> {
  const conf = loadVlanConf(args.stdinData);
  return withSublinkNamespaces(args.netns, conf.linkInContainer, (ns) => {
    const master = lookupMaster(ns.mnl, conf.master);
    validateMTU(conf.mtu, master);
    return Undo.run(async (undo) => {
      const spec = { kind: 'vlan', ifName: args.ifName, master, linkInContainer: conf.linkInContainer, mtu: conf.mtu, data: vlanData(conf.vlanId) } as const;
      const link = createSublink(ns, spec, undo);
      failpoint(conf, 'link');
      const result: Result = { cniVersion: '1.1.0', interfaces: [{ name: args.ifName, mac: link.mac, sandbox: args.netns }] };
      return addressSublink({ ns, undo, result, conf, ipam: ipamDelegate(args, conf), notify: false });
    });
  });
}

export async function del(args: CmdArgs): Promise<void> {
  // no master lookup: the reference reads the master's MTU here and fails when it is gone
  const conf = loadVlanConf(args.stdinData, true);
  // the link's addresses go first, then IPAM DEL runs while the kernel destroys the link
  await deleteIfaceAndRelease(args.netns, args.ifName, ipamType(conf) ? ipamDelegate(args, conf) : undefined);
}

export async function check(args: CmdArgs): Promise<void> {
  const conf = loadVlanConf(args.stdinData);
  // IPAM CHECK runs beside our own checks; its verdict comes first
  await checkAlongsideIPAM(ipamDelegate(args, conf), () =>
    validateSublinkResult(args, conf, (ns, mac) => {
      const link = validateSublink(ns, { kind: 'vlan', ifName: args.ifName, master: conf.master, mac });
      const id = sublinkInfo(link).vlanId;
      if (id !== conf.vlanId) throw new Error(`container vlan "${args.ifName}" has VLAN ID ${id}, expected ${conf.vlanId}`);
      if (conf.mtu && link.mtu !== conf.mtu) throw new Error(`container vlan "${args.ifName}" has MTU ${link.mtu}, expected ${conf.mtu}`);
      return link;
    }),
  );
}

export async function gc(args: CmdArgs): Promise<void> {
  const conf = loadVlanConf(args.stdinData, true);
  if (ipamType(conf)) await execGC(ipamDelegate(args, conf));
}

export async function status(args: CmdArgs): Promise<void> {
  await execStatus(ipamDelegate(args, loadVlanConf(args.stdinData)));
}
