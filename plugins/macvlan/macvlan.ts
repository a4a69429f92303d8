// macvlan: the container gets a macvlan sub-interface of a host link (its own
// MAC on the master's segment), L2-only or addressed by IPAM (reference §2.3,
// with its rollback leak fixed: any failure of ADD removes the link and
// releases the IPAM reservation).
import { createSublink, lookupMaster, macvlanData, sublinkInfo, validateMTU, validateSublink, validateSublinkResult, withSublinkNamespaces } from '../../pkg/ip/sublink.js';
import { checkAlongsideIPAM, deleteIfaceAndRelease, execGC, execStatus, failpoint, ipamDelegate, ipamType } from '../../pkg/ipam/index.js';
import { addressSublink } from '../../pkg/ipam/sublink.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import { invalidConfig } from '../../pkg/types/error.js';
import type { Result } from '../../pkg/types/result.js';
import { isLegacyResultVersion } from '../../pkg/types/version.js';
import { Undo } from '../../pkg/undo/index.js';
import { loadMacvlanConf, loadMacvlanDelConf } from './conf.js';

export async function add(args: CmdArgs): Promise<Result> {
  const conf = loadMacvlanConf(args.stdinData, args.args);
  // refused before anything exists (the reference creates the link, then fails to print, and leaks it)
  if (!ipamType(conf) && isLegacyResultVersion(conf.cniVersion ?? '')) {
    throw invalidConfig('cniVersion', `cannot convert: no valid IP addresses ("${conf.cniVersion ?? ''}" results carry only IPs: an L2-only network needs 0.3.0 or later)`);
  }
  return withSublinkNamespaces(args.netns, conf.linkInContainer, (ns) => {
    const master = lookupMaster(ns.mnl, conf.master);
    validateMTU(conf.mtu, master);
    return Undo.run(async (undo) => {
      const spec = { kind: 'macvlan', ifName: args.ifName, master, linkInContainer: conf.linkInContainer, mtu: conf.mtu, mac: conf.mac, data: macvlanData(conf.mode, conf.bcqueuelen) } as const;
      const link = createSublink(ns, spec, undo);
      failpoint(conf, 'link');
      const result: Result = { cniVersion: '1.1.0', interfaces: [{ name: args.ifName, mac: link.mac, sandbox: args.netns }] };
      return addressSublink({ ns, undo, result, conf, ipam: ipamType(conf) ? ipamDelegate(args, conf) : undefined, notify: true });
    });
  });
}

export async function del(args: CmdArgs): Promise<void> {
  // no master lookup: DEL works when the master is gone (plugins#954)
  const conf = loadMacvlanDelConf(args.stdinData);
  // the link's addresses go first, then IPAM DEL runs while the kernel destroys the link
  await deleteIfaceAndRelease(args.netns, args.ifName, ipamType(conf) ? ipamDelegate(args, conf) : undefined);
}

export async function check(args: CmdArgs): Promise<void> {
  const conf = loadMacvlanConf(args.stdinData, args.args);
  // IPAM CHECK runs beside our own checks; its verdict comes first
  await checkAlongsideIPAM(ipamType(conf) ? ipamDelegate(args, conf) : undefined, () =>
    validateSublinkResult(args, conf, (ns, mac) => {
      const link = validateSublink(ns, { kind: 'macvlan', ifName: args.ifName, master: conf.master, mac });
      const mode = sublinkInfo(link).macvlanMode;
      if (mode !== conf.mode) throw new Error(`container macvlan "${args.ifName}" has mode ${mode}, expected ${conf.mode}`);
      return link;
    }),
  );
}

export async function gc(args: CmdArgs): Promise<void> {
  const conf = loadMacvlanConf(args.stdinData, args.args);
  if (ipamType(conf)) await execGC(ipamDelegate(args, conf));
}

export async function status(args: CmdArgs): Promise<void> {
  const conf = loadMacvlanConf(args.stdinData, args.args);
  if (ipamType(conf)) await execStatus(ipamDelegate(args, conf));
}
