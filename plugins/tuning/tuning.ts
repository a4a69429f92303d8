// tuning (reference §2.9): a chained plugin that writes net.* sysctls inside the
// container and changes the interface's MAC, MTU, promisc, allmulti and txqueuelen,
// keeping the original values in <dataDir>/<containerID>_<ifname>.json for DEL.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from '../../pkg/native/fs.js';
import { join } from 'node:path';
import { IFF_ALLMULTI, IFF_PROMISC, linkByName, linkSet, type Link, type LinkChange } from '../../pkg/ip/link.js';
import type { Rtnl } from '../../pkg/ip/netlink.js';
import { withNetnsNl } from '../../pkg/ip/netns.js';
import { readSysctl, writeSysctl, type NetNS } from '../../pkg/ns/index.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import { prevResultOf } from '../../pkg/types/conf.js';
import { CniError, ErrCode, wrapError } from '../../pkg/types/error.js';
import { isContainerIface } from '../../pkg/types/iface.js';
import type { Result } from '../../pkg/types/result.js';
import { Undo } from '../../pkg/undo/index.js';
import { DEFAULT_DATA_DIR, loadTuningConf, parseTuningConf, type TuningConf } from './conf.js';

/** The original link settings, in the reference's on-disk format (lower-case keys, 1-space indent). */
export interface Backup {
  mac?: string;
  promisc?: boolean;
  mtu?: number;
  allmulti?: boolean;
  txQLen?: number;
}

const backupFile = (dataDir: string, containerID: string, ifName: string) => join(dataDir, `${containerID}_${ifName}.json`);

function requirePrev(conf: TuningConf): Result {
  const prev = prevResultOf(conf.raw);
  if (!prev) throw new CniError(ErrCode.InvalidNetworkConfig, 'Required prevResult missing');
  return prev;
}

function findLink(nl: Rtnl, ifName: string): Link {
  const link = linkByName(nl, ifName);
  if (!link) throw new CniError(ErrCode.Internal, `failed to find link "${ifName}" in the container`);
  return link;
}

/** The link change the configuration asks for, and the current values of exactly those attributes. */
function plan(conf: TuningConf, link: Link): { change: LinkChange; backup: Backup } {
  const change: LinkChange = {};
  const backup: Backup = {};
  if (conf.mac) {
    change.mac = conf.mac;
    backup.mac = link.mac;
  }
  if (conf.promisc) {
    change.promisc = true;
    backup.promisc = (link.flags & IFF_PROMISC) !== 0;
  }
  if (conf.mtu) {
    change.mtu = conf.mtu;
    backup.mtu = link.mtu;
  }
  if (conf.allmulti !== undefined) {
    change.allmulti = conf.allmulti;
    backup.allmulti = (link.flags & IFF_ALLMULTI) !== 0;
  }
  if (conf.txQLen !== undefined) {
    change.txqlen = conf.txQLen;
    backup.txQLen = link.txqlen ?? 0;
  }
  return { change, backup };
}

function restoreChange(b: Backup): LinkChange {
  return { mac: b.mac, promisc: b.promisc, mtu: b.mtu, allmulti: b.allmulti, txqlen: b.txQLen };
}

function writeSysctls(container: NetNS, conf: TuningConf, undo: Undo): void {
  for (const s of conf.sysctls) {
    let old: string;
    try {
      old = readSysctl(container, s.path);
      writeSysctl(container, s.path, s.value);
    } catch (e) {
      throw wrapError(`set sysctl "${s.key}" (${s.path})`, e);
    }
    undo.push(`restore sysctl "${s.key}"`, () => writeSysctl(container, s.path, old));
  }
}

export async function add(args: CmdArgs): Promise<Result> {
  const conf = loadTuningConf(args.stdinData, args.ifName, args.args);
  const prev = requirePrev(conf);
  await withNetnsNl(args.netns, ({ container, cnl: nl }) =>
    Undo.run(async (undo) => {
      const link = findLink(nl, args.ifName);
      writeSysctls(container, conf, undo);
      const { change, backup } = plan(conf, link);
      if (Object.keys(backup).length === 0) return;
      const file = backupFile(conf.dataDir, args.containerID, args.ifName);
      // A repeated ADD keeps the first backup: it holds the values from before any tuning.
      if (!existsSync(file)) {
        mkdirSync(conf.dataDir, { recursive: true, mode: 0o700 });
        writeFileSync(file, JSON.stringify(backup, null, 1), { mode: 0o600 });
        undo.push(`remove backup "${file}"`, () => rmSync(file, { force: true }));
      }
      // pushed first: the kernel applies a change attribute by attribute, so a failure can leave half of it
      undo.push(`restore link "${args.ifName}"`, () => linkSet(nl, link.index, restoreChange(backup)));
      linkSet(nl, link.index, change, `failed to tune link "${args.ifName}"`);
    }),
  );
  // every interface of that name, whatever its sandbox, as the reference
  if (conf.mac) for (const i of prev.interfaces ?? []) if (isContainerIface(i, { ifName: args.ifName, sandbox: false })) i.mac = conf.mac;
  return prev;
}

/** Restores the backed-up settings; every failure is swallowed, as the reference does. */
export async function del(args: CmdArgs): Promise<void> {
  const raw = parseTuningConf(args.stdinData, true);
  const file = backupFile(raw.dataDir || DEFAULT_DATA_DIR, args.containerID, args.ifName);
  let backup: Backup;
  try {
    backup = JSON.parse(readFileSync(file, 'utf8')) as Backup;
  } catch {
    return; // no backup: nothing was changed, or DEL already ran
  }
  try {
    if (!args.netns) return;
    await withNetnsNl(args.netns, ({ cnl: nl }) => {
      const link = linkByName(nl, args.ifName);
      if (link) linkSet(nl, link.index, restoreChange(backup), `failed to restore link "${args.ifName}"`);
    });
  } catch (e) {
    process.stderr.write(`tuning: ignoring DEL error: ${(e as Error).message}\n`);
  } finally {
    rmSync(file, { force: true });
  }
}

export async function check(args: CmdArgs): Promise<void> {
  const conf = loadTuningConf(args.stdinData, args.ifName, args.args);
  requirePrev(conf);
  await withNetnsNl(args.netns, (ns) => {
    for (const s of conf.sysctls) {
      const cur = readSysctl(ns.container, s.path);
      if (cur !== s.value) throw new CniError(ErrCode.Internal, `sysctl "${s.key}" is "${cur}", expected "${s.value}"`);
    }
    const link = findLink(ns.cnl, args.ifName);
    const mismatch = (what: string, cur: unknown, want: unknown) =>
      new CniError(ErrCode.Internal, `link "${args.ifName}" ${what} is ${JSON.stringify(cur)}, expected ${JSON.stringify(want)}`);
    if (conf.mac && link.mac !== conf.mac) throw mismatch('MAC', link.mac, conf.mac);
    const promisc = (link.flags & IFF_PROMISC) !== 0;
    if (promisc !== !!conf.promisc) throw mismatch('promisc', promisc, !!conf.promisc);
    if (conf.mtu && link.mtu !== conf.mtu) throw mismatch('MTU', link.mtu, conf.mtu);
    const allmulti = (link.flags & IFF_ALLMULTI) !== 0;
    if (conf.allmulti !== undefined && allmulti !== conf.allmulti) throw mismatch('allmulti', allmulti, conf.allmulti);
    if (conf.txQLen !== undefined && link.txqlen !== conf.txQLen) throw mismatch('txqueuelen', link.txqlen, conf.txQLen);
  });
}
