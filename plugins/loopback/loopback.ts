// loopback: brings `lo` up in the container (ADD), down again (DEL), and
// verifies it is up (CHECK). The interface name is always `lo`, whatever
// CNI_IFNAME says, as in the reference.
import { formatCIDR, ipEqual, parseIP } from '../../pkg/ipaddr/index.js';
import { IFF_UP, linkByName, linkSet } from '../../pkg/ip/link.js';
import type { Rtnl } from '../../pkg/ip/netlink.js';
import { withNetnsNl } from '../../pkg/ip/netns.js';
import { addrList } from '../../pkg/ip/addr.js';
import { NetNSNotFoundError } from '../../pkg/ns/index.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import { loadConf, prevResultOf } from '../../pkg/types/conf.js';
import { NetConfSchema } from '../../pkg/types/schema.js';
import type { IPConfig, Result } from '../../pkg/types/result.js';

const IPV6_LOOPBACK = parseIP('::1')!;
const LO = 'lo';

function withLo<T>(netns: string, fn: (nl: Rtnl, index: number, up: boolean) => T): Promise<T> {
  return withNetnsNl(netns, ({ cnl: nl }) => {
    const lo = linkByName(nl, LO);
    if (!lo) throw new Error(`failed to find link "${LO}" in netns "${netns}"`);
    return fn(nl, lo.index, (lo.flags & IFF_UP) !== 0);
  });
}

export async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(NetConfSchema, args.stdinData);
  const prev = prevResultOf(conf);
  const ips = await withLo(args.netns, (nl, index) => {
    linkSet(nl, index, { up: true }, `failed to set "${LO}" up`);
    const found: IPConfig[] = [];
    for (const fam of [4, 6] as const) {
      const addrs = addrList(nl, { index, family: fam });
      for (const a of addrs) {
        const loopback = fam === 4 ? a.ip.bytes[0] === 127 : ipEqual(a.ip, IPV6_LOOPBACK);
        if (!loopback) throw new Error(`loopback interface found with non-loopback address "${formatCIDR(a)}"`);
      }
      if (addrs.length) found.push({ interface: 0, address: addrs[0].cidr });
    }
    return found;
  });
  if (prev) return prev;
  const result: Result = { cniVersion: '1.1.0', interfaces: [{ name: LO, mac: '00:00:00:00:00:00', sandbox: args.netns }] };
  if (ips.length) result.ips = ips;
  return result;
}

export async function del(args: CmdArgs): Promise<void> {
  if (!args.netns) return;
  try {
    await withLo(args.netns, (nl, index) => linkSet(nl, index, { up: false }, `failed to set "${LO}" down`));
  } catch (e) {
    if (e instanceof NetNSNotFoundError) return;
    throw e;
  }
}

export async function check(args: CmdArgs): Promise<void> {
  loadConf(NetConfSchema, args.stdinData);
  const up = await withLo(args.netns, (_nl, _index, isUp) => isUp);
  if (!up) throw new Error('loopback interface is down');
}
