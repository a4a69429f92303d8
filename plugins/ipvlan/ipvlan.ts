// ipvlan: the container gets an ipvlan sub-interface of a host link (sharing
// its MAC; l2, l3 or l3s mode), addressed by IPAM or, chained, by the
// prevResult's IPs (reference §2.4, with its gaps fixed: any failure of ADD
// removes the link and releases IPAM; DEL never looks the master up).
import { createSublink, ipvlanData, lookupMaster, sublinkInfo, validateMTU, validateSublink, validateSublinkResult, withSublinkNamespaces } from '../../pkg/ip/sublink.js';
import { checkAlongsideIPAM, deleteIfaceAndRelease, execGC, execStatus, failpoint, ipamDelegate, ipamType } from '../../pkg/ipam/index.js';
import { addressSublink } from '../../pkg/ipam/sublink.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import type { Result } from '../../pkg/types/result.js';
import { Undo } from '../../pkg/undo/index.js';
import { chainedMaster, loadIpvlanConf, requireAddresses } from './conf.js';

export async function add(args: CmdArgs): Promise<Result> {
  const conf = loadIpvlanConf(args.stdinData);
  requireAddresses(conf);
  const masterName = chainedMaster(conf);
  return withSublinkNamespaces(args.netns, conf.linkInContainer, (ns) => {
    const master = lookupMaster(ns.mnl, masterName);
    // the kernel refuses an ipvlan MTU above its master's (EINVAL): say so as a config error
    validateMTU(conf.mtu, master);
    return Undo.run(async (undo) => {
      const spec = { kind: 'ipvlan', ifName: args.ifName, master, linkInContainer: conf.linkInContainer, mtu: conf.mtu, data: ipvlanData(conf.mode) } as const;
      const link = createSublink(ns, spec, undo);
      failpoint(conf, 'link');
      // chained: the result is the prevResult with its interfaces replaced by the ipvlan
      const result: Result = { ...(conf.prev ?? {}), cniVersion: '1.1.0', interfaces: [{ name: args.ifName, mac: link.mac, sandbox: args.netns }] };
      const ipam = ipamType(conf) ? ipamDelegate(args, conf) : undefined;
      const prev = ipam ? undefined : { ips: conf.prev!.ips!, routes: conf.prev!.routes };
      return addressSublink({ ns, undo, result, conf, ipam, prev, notify: true });
    });
  });
}

export async function del(args: CmdArgs): Promise<void> {
  // no master lookup: DEL works when the master is gone (the reference fails)
  const conf = loadIpvlanConf(args.stdinData, true);
  // the link's addresses go first, then IPAM DEL runs while the kernel destroys the link
  await deleteIfaceAndRelease(args.netns, args.ifName, ipamType(conf) ? ipamDelegate(args, conf) : undefined);
}

export async function check(args: CmdArgs): Promise<void> {
  const conf = loadIpvlanConf(args.stdinData);
  // IPAM CHECK runs beside our own checks; its verdict comes first
  await checkAlongsideIPAM(ipamType(conf) ? ipamDelegate(args, conf) : undefined, () =>
    validateSublinkResult(args, conf, (ns, mac) => {
      // CHECK's prevResult is our own result: it cannot name the master, so without `master` any parent will do
      const link = validateSublink(ns, { kind: 'ipvlan', ifName: args.ifName, master: conf.master || null, mac });
      const mode = sublinkInfo(link).ipvlanMode;
      if (mode !== conf.mode) throw new Error(`container ipvlan "${args.ifName}" has mode ${mode}, expected ${conf.mode}`);
      return link;
    }),
  );
}

export async function gc(args: CmdArgs): Promise<void> {
  const conf = loadIpvlanConf(args.stdinData);
  if (ipamType(conf)) await execGC(ipamDelegate(args, conf));
}

export async function status(args: CmdArgs): Promise<void> {
  const conf = loadIpvlanConf(args.stdinData);
  if (ipamType(conf)) await execStatus(ipamDelegate(args, conf));
}
