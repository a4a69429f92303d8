// portmap (reference §2.10): a chained plugin forwarding host ports to the
// container through iptables (default) or nftables, with hairpin and localhost
// support. Output is prevResult unchanged.
import { chooseBackend, iptablesUsable, type Backend, type Family } from '../../pkg/firewall/backend.js';
import { enableLocalnetRouting } from '../../pkg/firewall/localnet.js';
import { deleteUDPConntrack, type PortmapSpec } from '../../pkg/firewall/portmap.js';
import { checkIptables, gcIptables, setupIptables, teardownIptables } from '../../pkg/firewall/portmap-iptables.js';
import { checkNftables, gcNftables, setupNftables, teardownNftables } from '../../pkg/firewall/portmap-nftables.js';
import { NetNS } from '../../pkg/ns/index.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import { prevResultOf } from '../../pkg/types/conf.js';
import { CniError, ErrCode, wrapError } from '../../pkg/types/error.js';
import type { Result } from '../../pkg/types/result.js';
import { Undo } from '../../pkg/undo/index.js';
import { loadPortmapConf, loadPortmapDelConf, specsFor, type PortmapConf } from './conf.js';

const FAMILIES: Family[] = [4, 6];

function requirePrev(conf: PortmapConf): Result {
  const prev = prevResultOf(conf.raw);
  if (!prev) throw new CniError(ErrCode.InvalidNetworkConfig, 'must be called as chained plugin');
  return prev;
}

/** Fails early, before any side effect, when CNI_NETNS is not a network namespace. */
function assertNetns(path: string): void {
  NetNS.open(path).close();
}

async function setup(backend: Backend, specs: PortmapSpec[], undo: Undo): Promise<void> {
  const { network, containerID } = specs[0];
  if (backend === 'nftables') {
    await setupNftables(specs);
    undo.push('remove nftables rules', () => teardownNftables(network, containerID));
    return;
  }
  for (const spec of specs) {
    await setupIptables(spec);
    undo.push(`remove iptables rules (IPv${spec.family})`, () => teardownIptables(spec.family, network, containerID));
  }
}

export async function add(args: CmdArgs): Promise<Result> {
  const conf = loadPortmapConf(args.stdinData);
  const prev = requirePrev(conf);
  if (!conf.mappings.length) return prev;
  assertNetns(args.netns);
  const specs = specsFor(conf, prev, args.ifName, args.containerID);
  if (!specs.length) return prev;
  const backend = conf.backend ?? (await chooseBackend());
  await Undo.run(async (undo) => {
    const v4 = specs.find((s) => s.family === 4);
    if (v4 && conf.snat) {
      const restore = enableLocalnetRouting(v4.containerIP);
      if (restore) undo.push('reset route_localnet', restore);
    }
    try {
      await setup(backend, specs, undo);
    } catch (e) {
      throw wrapError(`set up port forwarding for ${args.containerID} (${backend})`, e);
    }
  });
  await Promise.all(specs.map((s) => deleteUDPConntrack(s.family, s.mappings.filter((m) => m.protocol === 'udp').map((m) => m.hostPort))));
  return prev;
}

/** DEL without mappings touches nothing (plugins#510). With no backend configured both are cleaned. */
export async function del(args: CmdArgs): Promise<void> {
  const conf = loadPortmapDelConf(args.stdinData);
  if (!conf.hasMappings) return;
  const jobs: Array<Promise<unknown>> = [];
  if (conf.backend !== 'nftables') {
    for (const f of FAMILIES) {
      // a family whose iptables does not work has nothing to remove
      jobs.push(teardownIptables(f, conf.network, args.containerID).catch(async (e) => {
        if (await iptablesUsable(f)) throw e;
      }));
    }
  }
  if (conf.backend !== 'iptables') {
    jobs.push(teardownNftables(conf.network, args.containerID).catch((e) => {
      if (conf.backend === 'nftables') throw e;
    }));
  }
  const failed = (await Promise.allSettled(jobs)).find((r) => r.status === 'rejected');
  if (failed) throw wrapError(`tear down port forwarding for ${args.containerID}`, (failed as PromiseRejectedResult).reason);
}

export async function check(args: CmdArgs): Promise<void> {
  const conf = loadPortmapConf(args.stdinData);
  const prev = requirePrev(conf);
  if (!conf.mappings.length) return;
  const specs = specsFor(conf, prev, args.ifName, args.containerID);
  const backend = conf.backend ?? (await chooseBackend());
  for (const spec of specs) await (backend === 'nftables' ? checkNftables(spec) : checkIptables(spec));
}

/** GC (spec 1.1.0): removes this network's rules of containers not in `cni.dev/valid-attachments`. */
export async function gc(args: CmdArgs): Promise<void> {
  const conf = loadPortmapConf(args.stdinData);
  const list = (conf.raw as Record<string, unknown>)['cni.dev/valid-attachments'];
  if (list !== undefined && !Array.isArray(list)) throw new CniError(ErrCode.InvalidNetworkConfig, 'cni.dev/valid-attachments: must be a list');
  const valid = new Set(((list ?? []) as Array<{ containerID?: unknown }>).map((a) => String(a?.containerID ?? '')));
  const jobs: Array<Promise<unknown>> = [];
  if (conf.backend !== 'nftables') for (const f of FAMILIES) jobs.push(gcIptables(f, conf.network, valid).catch(async (e) => { if (await iptablesUsable(f)) throw e; }));
  if (conf.backend !== 'iptables') jobs.push(gcNftables(conf.network, valid).catch((e) => { if (conf.backend === 'nftables') throw e; }));
  const errors = (await Promise.allSettled(jobs)).flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  if (errors.length) throw new CniError(ErrCode.Internal, `failed to garbage-collect port forwarding: ${errors.map((e) => e.message).join('; ')}`);
}
