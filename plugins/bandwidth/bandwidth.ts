// bandwidth (more-plugins.md §6): a chained plugin that shapes the container's
// traffic with tbf. Ingress (to the container) is a root tbf on the host end of
// the container's veth; egress (from the container) is redirected from the host
// veth's ingress qdisc to an ifb device whose root is a tbf.
import { linkAdd, linkByIndex, linkByName, linkDelByName, linkList, linkSet, type Link } from '../../pkg/ip/link.js';
import { NetlinkError, Rtnl } from '../../pkg/ip/netlink.js';
import { withNetnsNl, type NetnsHandles } from '../../pkg/ip/netns.js';
import {
  ETH_P_ALL,
  filterAddRedirect,
  filterRedirectTargets,
  HANDLE_INGRESS,
  HANDLE_ROOT,
  makeHandle,
  qdiscAdd,
  qdiscDel,
  qdiscList,
  tbfOptions,
  TC_ACT_OK,
  TC_ACT_STOLEN,
  type TbfParams,
} from '../../pkg/ip/tc.js';
import { sha512 } from '../../pkg/hash/index.js';
import { native } from '../../pkg/native/index.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import { validAttachments } from '../../pkg/ipam/attachments.js';
import { parseConfJSON, prevResultOf } from '../../pkg/types/conf.js';
import { CniError, ErrCode } from '../../pkg/types/error.js';
import type { Result } from '../../pkg/types/result.js';
import { isLegacyResultVersion } from '../../pkg/types/version.js';
import { Undo } from '../../pkg/undo/index.js';
import { loadBandwidthConf, networkName, type BandwidthConf, type Limit } from './conf.js';
import { tbfParams, tickInUsec } from './tbf.js';

const TBF_HANDLE = makeHandle(1, 0);
const INGRESS_HANDLE = makeHandle(0xffff, 0);

/** The ifb's name: `bwp` + the first 12 hex digits of SHA-512(network name + container ID), as the reference. */
export function ifbName(network: string, containerID: string): string {
  return `bwp${sha512(network + containerID).slice(0, 12)}`;
}

/**
 * The alias our ifbs carry, `cni-ts bandwidth <network> <containerID>`: the name is a hash, so only
 * the alias tells GC which network and container an ifb was made for (the reference's have none).
 */
const ALIAS_PREFIX = 'cni-ts bandwidth ';
const ifbAlias = (network: string, containerID: string) => `${ALIAS_PREFIX}${network} ${containerID}`;

function params(l: Limit): TbfParams {
  return tbfParams(l.rate, l.burst, tickInUsec(native().readFile('/proc/net/psched').toString('latin1')));
}

const fail = (msg: string, cause?: unknown) => new CniError(ErrCode.Internal, msg, '', { cause });

/**
 * The host end of CNI_IFNAME's veth: its peer index read inside the container,
 * looked up in the host namespace, and (for results that list interfaces)
 * listed in prevResult without a sandbox, as the reference requires.
 */
function hostVeth(o: { ns: NetnsHandles; ifName: string; prev: Result; cniVersion: string }): Link {
  const { ns, ifName, prev, cniVersion } = o;
  const legacy = isLegacyResultVersion(cniVersion);
  if (!legacy && !prev.interfaces?.length) throw fail('no interfaces provided');
  let peerIndex: number | undefined;
  let ownIndex = 0;
  let why = '';
  const link = linkByName(ns.cnl, ifName);
  if (!link) why = `link "${ifName}" not found`;
  else if (link.kind !== 'veth') why = `interface "${ifName}" was not a veth interface`;
  else [peerIndex, ownIndex] = [link.parentIndex, link.index];
  if (!peerIndex) throw fail(`container interface ${ifName} has no veth peer: ${why || 'no peer index'}`);
  const host = linkByIndex(ns.hnl, peerIndex);
  // an index is only unique per namespace: the link found must be a veth whose own peer is the container's end
  if (!host || host.kind !== 'veth' || host.parentIndex !== ownIndex) throw fail(`veth peer with index ${peerIndex} is not in host ns`);
  // a 0.1.0/0.2.0 result has no interface list to hold it (the reference refuses those versions)
  if (!legacy && !prev.interfaces!.some((i) => !i.sandbox && i.name === host.name)) throw fail('no veth peer of container interface found in host ns');
  return host;
}

function requirePrev(conf: BandwidthConf, msg: string): Result {
  const prev = prevResultOf(conf.raw);
  if (!prev) throw new CniError(ErrCode.InvalidNetworkConfig, msg);
  return prev;
}

const addTbf = (nl: Rtnl, index: number, l: Limit, what: string) =>
  qdiscAdd(nl, { index, handle: TBF_HANDLE, parent: HANDLE_ROOT, kind: 'tbf', options: tbfOptions(params(l)) }, what);

export async function add(args: CmdArgs): Promise<Result> {
  const conf = loadBandwidthConf(args.stdinData);
  // silently shaping what the user asked to leave alone would be worse than the runtime log line
  for (const k of conf.removedKeys) process.stderr.write(`bandwidth: ignoring "${k}": removed from the reference in v1.6.0, every destination is shaped\n`);
  // also without limits, where the reference prints the missing prevResult and panics
  const result = requirePrev(conf, 'must be called as chained plugin');
  if (!conf.ingress && !conf.egress) return result;
  await withNetnsNl(args.netns, async (ns) => {
    const { hnl } = ns;
    const veth = hostVeth({ ns, ifName: args.ifName, prev: result, cniVersion: conf.raw.cniVersion ?? '' });
    await Undo.run(async (undo) => {
      if (conf.ingress) {
        addTbf(hnl, veth.index, conf.ingress, 'create qdisc');
        undo.push(`delete the tbf of "${veth.name}"`, () => qdiscDel(hnl, veth.index, TBF_HANDLE, HANDLE_ROOT));
      }
      if (conf.egress) {
        const ifb = { name: ifbName(conf.name, args.containerID), alias: ifbAlias(conf.name, args.containerID) };
        setupEgress({ hnl, veth, limit: conf.egress, ifb, result, undo });
      }
    });
  });
  return result;
}

/** The ifb (up, the veth's MTU, txqueuelen 0), the veth's ingress qdisc, the redirect filter, the ifb's tbf. */
function setupEgress(o: { hnl: Rtnl; veth: Link; limit: Limit; ifb: { name: string; alias: string }; result: Result; undo: Undo }): void {
  const { hnl, veth, result, undo } = o;
  const { name, alias } = o.ifb;
  try {
    linkAdd(hnl, { name, kind: 'ifb', mtu: veth.mtu, txqlen: 0, up: true });
  } catch (e) {
    throw fail(`adding link: ${e instanceof NetlinkError ? e.reason : (e as Error).message}`, e);
  }
  undo.push(`delete ifb "${name}"`, () => linkDelByName(hnl, name));
  const link = linkByName(hnl, name);
  if (!link) throw fail(`adding link: ifb "${name}" vanished after its creation`);
  linkSet(hnl, link.index, { alias }, `failed to set the alias of "${name}"`);
  result.interfaces = [...(result.interfaces ?? []), { name, mac: link.mac }];
  qdiscAdd(hnl, { index: veth.index, handle: INGRESS_HANDLE, parent: HANDLE_INGRESS, kind: 'ingress' }, 'create ingress qdisc');
  undo.push(`delete the ingress qdisc of "${veth.name}"`, () => qdiscDel(hnl, veth.index, INGRESS_HANDLE, HANDLE_INGRESS));
  // two redirects, stolen then pass, as Go's netlink library writes them (one from RedirIndex, one from Actions): `tc filter show` reads the same
  filterAddRedirect(
    hnl,
    {
      index: veth.index,
      parent: INGRESS_HANDLE,
      priority: 1,
      protocol: ETH_P_ALL,
      classID: makeHandle(1, 1),
      redirects: [
        { ifindex: link.index, verdict: TC_ACT_STOLEN },
        { ifindex: link.index, verdict: TC_ACT_OK },
      ],
    },
    'add filter',
  );
  addTbf(hnl, link.index, o.limit, 'create ifb qdisc: create qdisc');
}

/** Deletes the ifb; a missing one (DEL ran, or egress was never shaped) is success. The veth's qdiscs go with the veth. */
export async function del(args: CmdArgs): Promise<void> {
  const name = ifbName(networkName(args.stdinData), args.containerID);
  const hnl = new Rtnl();
  try {
    linkDelByName(hnl, name);
  } finally {
    hnl.close();
  }
}

/**
 * Deletes the ifbs this network made for containers not in `cni.dev/valid-attachments` (a DEL that never
 * came: the reference leaks them). Only ifbs with our alias whose name matches it are touched; the Go
 * plugin's carry no alias, so they stay.
 */
export async function gc(args: CmdArgs): Promise<void> {
  const network = networkName(args.stdinData);
  const keep = new Set(validAttachments(parseConfJSON(args.stdinData) as Record<string, unknown>).map((a) => a.containerID));
  const prefix = `${ALIAS_PREFIX}${network} `;
  const hnl = new Rtnl();
  try {
    for (const l of linkList(hnl)) {
      if (l.kind !== 'ifb' || !l.alias?.startsWith(prefix)) continue;
      const containerID = l.alias.slice(prefix.length);
      if (!keep.has(containerID) && l.name === ifbName(network, containerID)) linkDelByName(hnl, l.name);
    }
  } finally {
    hnl.close();
  }
}

function validateTbf(nl: Rtnl, link: Link, l: Limit): void {
  const want = params(l);
  const root = qdiscList(nl, link.index).find((q) => q.parent === HANDLE_ROOT);
  if (!root?.tbf) throw fail(`no tbf qdisc on "${link.name}" (root qdisc: ${root?.kind ?? 'none'})`);
  for (const key of ['rate', 'limit', 'buffer'] as const) {
    if (root.tbf[key] !== want[key]) throw fail(`tbf qdisc on "${link.name}": ${key} is ${root.tbf[key]}, expected ${want[key]}`);
  }
}

export async function check(args: CmdArgs): Promise<void> {
  const conf = loadBandwidthConf(args.stdinData);
  const prev = requirePrev(conf, 'must be called as a chained plugin');
  if (!conf.ingress && !conf.egress) return;
  await withNetnsNl(args.netns, (ns) => {
    const { hnl } = ns;
    const veth = hostVeth({ ns, ifName: args.ifName, prev, cniVersion: conf.raw.cniVersion ?? '' });
    if (conf.ingress) validateTbf(hnl, veth, conf.ingress);
    if (conf.egress) {
      const name = ifbName(conf.name, args.containerID);
      const ifb = linkByName(hnl, name);
      if (!ifb) throw fail(`get ifb device: link "${name}" not found`);
      validateTbf(hnl, ifb, conf.egress);
      if (!qdiscList(hnl, veth.index).some((q) => q.kind === 'ingress')) throw fail(`no ingress qdisc on "${veth.name}"`);
      if (!filterRedirectTargets(hnl, veth.index, INGRESS_HANDLE).includes(ifb.index)) throw fail(`no filter on "${veth.name}" redirects to "${name}"`);
    }
  });
}
