// ipMasq with nftables, as the reference's pkg/ip/ipmasq_nftables_linux.go:
// table `inet cni_plugins_masquerade`, base chain `postrouting` rewritten on
// every ADD, one rule per IP in `masq_checks` commented
// `<sha512(net)[:16]>-<sha512(if:cid)[:16]>, net: <net>, if: <if>, id: <cid>`.
import { sha512 } from '../hash/index.js';
import { run } from '../exec/index.js';
import { formatIP, formatNetwork, type IPNet } from '../ipaddr/index.js';
import { nftApply } from './backend.js';

export const MASQ_TABLE = 'cni_plugins_masquerade';
export const MASQ_CHAIN = 'masq_checks';
/** knftables.CommentLengthMax */
const COMMENT_MAX = 128;

const hash16 = (s: string) => sha512(s).slice(0, 16);

/** The comment prefix of every rule of `network`. */
export const hashForNetwork = (network: string) => hash16(network);

/** The comment prefix of one attachment's rules. */
export const hashForInstance = (network: string, ifName: string, containerID: string) => `${hash16(network)}-${hash16(`${ifName}:${containerID}`)}`;

/** The full rule comment of an attachment. */
export function commentForInstance(network: string, ifName: string, containerID: string): string {
  const strip = (s: string) => s.replace(/"/g, '');
  const c = `${hashForInstance(network, ifName, containerID)}, net: ${strip(network)}, if: ${strip(ifName)}, id: ${strip(containerID)}`;
  return c.length > COMMENT_MAX ? c.slice(0, COMMENT_MAX) : c;
}

interface NftRule {
  handle: number;
  comment?: string;
}

/** Rules of masq_checks; empty when the table or chain does not exist or nft is missing. */
async function listRules(): Promise<NftRule[] | undefined> {
  let r;
  try {
    r = await run('nft', ['-j', 'list', 'chain', 'inet', MASQ_TABLE, MASQ_CHAIN], { allowFailure: true });
  } catch {
    return undefined; // no nft binary
  }
  if (r.code !== 0) return [];
  const items = (JSON.parse(r.stdout).nftables ?? []) as Array<{ rule?: NftRule }>;
  return items.filter((i) => i.rule).map((i) => i.rule!);
}

const del = (h: number) => `delete rule inet ${MASQ_TABLE} ${MASQ_CHAIN} handle ${h}`;

/** Adds one masquerade rule per IP for the attachment (replacing stale ones) in one `nft -f`. */
export async function setupIPMasqNftables(network: string, ifName: string, containerID: string, ips: IPNet[]): Promise<void> {
  if (!ips.length) return;
  const prefix = hashForInstance(network, ifName, containerID);
  const stale = ((await listRules()) ?? []).filter((r) => r.comment?.startsWith(prefix));
  const comment = commentForInstance(network, ifName, containerID);
  const t = `inet ${MASQ_TABLE}`;
  const lines = [
    `add table ${t} { comment "Masquerading for plugins from github.com/containernetworking/plugins" ; }`,
    `add chain ${t} ${MASQ_CHAIN} { comment "Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet" ; }`,
    `add chain ${t} postrouting { type nat hook postrouting priority srcnat ; }`,
    `flush chain ${t} postrouting`,
    `add rule ${t} postrouting ip daddr 224.0.0.0/4 return`,
    `add rule ${t} postrouting ip6 daddr ff00::/8 return`,
    `add rule ${t} postrouting goto ${MASQ_CHAIN}`,
    ...stale.map((r) => del(r.handle)),
  ];
  for (const ip of ips) {
    const p = ip.ip.family === 4 ? 'ip' : 'ip6';
    lines.push(`add rule ${t} ${MASQ_CHAIN} ${p} saddr ${formatIP(ip.ip)} ${p} daddr != ${formatNetwork(ip)} masquerade comment "${comment}"`);
  }
  await nftApply(lines.join('\n') + '\n');
}

/** Deletes the attachment's rules; a missing table, chain or nft binary is fine. */
export async function teardownIPMasqNftables(network: string, ifName: string, containerID: string): Promise<void> {
  const prefix = hashForInstance(network, ifName, containerID);
  const rules = ((await listRules()) ?? []).filter((r) => r.comment?.startsWith(prefix));
  if (rules.length) await nftApply(rules.map((r) => del(r.handle)).join('\n') + '\n');
}

/** Deletes the rules of `network` whose attachment is not in `valid`. */
export async function gcIPMasqNftables(network: string, valid: Array<{ containerID: string; ifname: string }>): Promise<void> {
  const keep = new Set(valid.map((a) => commentForInstance(network, a.ifname, a.containerID)));
  const prefix = hashForNetwork(network);
  const rules = ((await listRules()) ?? []).filter((r) => r.comment?.startsWith(prefix) && !keep.has(r.comment));
  if (rules.length) await nftApply(rules.map((r) => del(r.handle)).join('\n') + '\n');
}
