// host-local: hands out addresses from configured ranges and records them as
// files under dataDir (reference §2.7). No netns involved: CNI_NETNS is unused.
import { parseIP } from '../../pkg/ipaddr/index.js';
import { allocateAll, loadHostLocalConf, loadHostLocalDelConf, readResolvConf, reservationKey, Store } from '../../pkg/ipam/hostlocal/index.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import { CniError, ErrCode, wrapError } from '../../pkg/types/error.js';
import type { Result } from '../../pkg/types/result.js';
import { Undo } from '../../pkg/undo/index.js';
import { checkStatus } from './status.js';
import { validAttachments } from '../../pkg/ipam/attachments.js';

function openStore(dataDir: string, name: string, create: boolean): Store | undefined {
  try {
    return Store.open(dataDir, name, create);
  } catch (e) {
    throw wrapError(`open data directory "${dataDir}/${name}"`, e);
  }
}

export async function add(args: CmdArgs): Promise<Result> {
  const conf = loadHostLocalConf(args.stdinData, args.args);
  const dns = conf.resolvConf ? readResolvConf(conf.resolvConf) : undefined;
  const store = openStore(conf.dataDir, conf.name, true)!;
  try {
    const ips = await Undo.run(async (undo) => allocateAll(store, conf.ranges, conf.requested, { containerID: args.containerID, ifname: args.ifName }, undo));
    const result: Result = { cniVersion: '1.1.0', ips };
    if (conf.routes?.length) result.routes = conf.routes;
    if (dns && Object.keys(dns).length) result.dns = dns;
    return result;
  } finally {
    store.close();
  }
}

export async function del(args: CmdArgs): Promise<void> {
  const conf = loadHostLocalDelConf(args.stdinData);
  const store = openStore(conf.dataDir, conf.name, false);
  if (!store) return;
  try {
    const { current, legacy } = store.heldBy(args.containerID, args.ifName);
    // Files without an ifname (pre-ifname format) are released only when no current-format file matched, as in the reference.
    for (const r of current.length ? current : legacy) store.release(r);
  } finally {
    store.close();
  }
}

export async function check(args: CmdArgs): Promise<void> {
  const conf = loadHostLocalConf(args.stdinData, args.args);
  const store = openStore(conf.dataDir, conf.name, false);
  let found = false;
  if (store) {
    try {
      const { current, legacy } = store.heldBy(args.containerID, args.ifName);
      found = current.length + legacy.length > 0;
    } finally {
      store.close();
    }
  }
  if (!found) throw new CniError(ErrCode.Internal, `host-local: failed to find address added by container ${args.containerID} (interface "${args.ifName}")`);
}

/**
 * GC (spec 1.1.0): releases every reservation of the network whose attachment
 * is not listed as valid. Legacy id-only files are kept when any valid
 * attachment has that container ID. Continues past errors and reports them all.
 */
export async function gc(args: CmdArgs): Promise<void> {
  const conf = loadHostLocalConf(args.stdinData, args.args);
  const valid = validAttachments(conf.raw);
  const keys = new Set(valid.map((a) => reservationKey(a.containerID, a.ifname)));
  const ids = new Set(valid.map((a) => a.containerID.trim()));
  const store = openStore(conf.dataDir, conf.name, false);
  if (!store) return;
  const errors: string[] = [];
  try {
    for (const r of store.all()) {
      if (!parseIP(r.file)) continue;
      if (keys.has(r.content) || (!r.content.includes('\r\n') && ids.has(r.content))) continue;
      try {
        store.release(r);
      } catch (e) {
        errors.push(`failed to release ${r.file}: ${(e as Error).message}`);
      }
    }
  } finally {
    store.close();
  }
  if (errors.length) throw new CniError(ErrCode.Internal, errors.join('; '));
}

export async function status(args: CmdArgs): Promise<void> {
  checkStatus(loadHostLocalConf(args.stdinData, args.args));
}
