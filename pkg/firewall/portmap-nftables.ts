// portmap's nftables backend: tables `ip cni_hostport` / `ip6 cni_hostport` as
// the reference names them, without its flaws (reference §2.10, §5 #6):
// - the base chains hold one static rule, `fib daddr type local jump hostports`,
//   so DNAT only ever applies to traffic for a local address (GHSA-jv3w-x3r3-g6rm);
// - conditions and hostIP live in each attachment's own rules, never in a shared
//   rule that the next ADD rewrites;
// - rules carry `<containerID> <network>` so DEL/GC of one network leaves others alone.
// One `nft -f` per ADD/DEL covers both families; DEL/CHECK/GC read with `nft -j list`.
import { formatIP } from '../ipaddr/index.js';
import { nftApply, nftListJSON, type Family } from './backend.js';
import { localnetGuardNft } from './localnet.js';
import { hostPortText, nftComment, nftNetworkTag, type PortmapSpec } from './portmap.js';

export const NFT_TABLE = 'cni_hostport';
const fam = (f: Family) => (f === 4 ? 'ip' : 'ip6');
/** Chains whose rules belong to attachments (the reference's `hostip_hostports` included). */
const ATTACHMENT_CHAINS = ['hostports', 'hostip_hostports', 'masquerading'];

/** The nft statements installing `spec` (one family). */
export function nftAddStatements(spec: PortmapSpec): string[] {
  const t = `${fam(spec.family)} ${NFT_TABLE}`;
  const ipk = fam(spec.family);
  const comment = `comment "${nftComment(spec.network, spec.containerID)}"`;
  const cip = formatIP(spec.containerIP);
  const out = [
    `add table ${t} { comment "CNI portmap plugin" ; }`,
    `add chain ${t} hostports`,
    `add chain ${t} prerouting { type nat hook prerouting priority dstnat ; policy accept ; }`,
    `add chain ${t} output { type nat hook output priority -100 ; policy accept ; }`,
    // static content: rewriting it is idempotent and carries no attachment's data
    `flush chain ${t} prerouting`,
    `flush chain ${t} output`,
    `add rule ${t} prerouting fib daddr type local jump hostports`,
    `add rule ${t} output fib daddr type local jump hostports`,
  ];
  const conds = spec.conditions.length ? `${spec.conditions.join(' ')} ` : '';
  for (const m of spec.mappings) {
    const dst = m.hostIP ? `${ipk} daddr ${formatIP(m.hostIP)} ` : '';
    out.push(`add rule ${t} hostports ${conds}${dst}${m.protocol} dport ${m.hostPort} dnat to ${hostPortText(spec.containerIP, m.containerPort)} ${comment}`);
  }
  if (spec.snat) {
    out.push(`add chain ${t} masquerading { type nat hook postrouting priority srcnat ; policy accept ; }`);
    if (spec.masqAll) out.push(`add rule ${t} masquerading ${ipk} daddr ${cip} ct status dnat masquerade ${comment}`);
    else {
      out.push(`add rule ${t} masquerading ${ipk} saddr ${cip} ${ipk} daddr ${cip} ct status dnat masquerade ${comment}`);
      if (spec.family === 4) out.push(`add rule ${t} masquerading ip saddr 127.0.0.1 ip daddr ${cip} ct status dnat masquerade ${comment}`);
    }
    if (spec.family === 4) out.push(...localnetGuardNft(NFT_TABLE));
  }
  return out;
}

/** How many rules `spec` puts in hostports and masquerading. */
export function nftExpectedCounts(spec: PortmapSpec): { hostports: number; masquerading: number } {
  return { hostports: spec.mappings.length, masquerading: !spec.snat ? 0 : spec.masqAll || spec.family === 6 ? 1 : 2 };
}

interface NftRule {
  family: string;
  table: string;
  chain: string;
  handle: number;
  comment?: string;
}

/** The rules of `ip|ip6 cni_hostport`, empty when the table does not exist. */
export async function nftRules(family: Family): Promise<NftRule[]> {
  const j = await nftListJSON('table', fam(family), NFT_TABLE);
  return ((j?.nftables ?? []) as Array<{ rule?: NftRule }>).flatMap((o) => (o.rule ? [o.rule] : []));
}

const deleteStatement = (r: NftRule) => `delete rule ${r.family} ${r.table} ${r.chain} handle ${r.handle}`;

/** Delete statements for the rules of one attachment; the reference's bare-ID comments are matched too. */
export function nftDelStatements(rules: NftRule[], network: string, containerID: string): string[] {
  const ours = nftComment(network, containerID);
  return rules.filter((r) => ATTACHMENT_CHAINS.includes(r.chain) && (r.comment === ours || r.comment === containerID)).map(deleteStatement);
}

/** GC statements: rules of `network` whose container is not in `valid`. */
export function nftGCStatements(rules: NftRule[], network: string, valid: Set<string>): string[] {
  return rules
    .filter((r) => {
      const sp = r.comment?.indexOf(' ') ?? -1;
      if (!ATTACHMENT_CHAINS.includes(r.chain) || sp < 0) return false;
      const id = r.comment!.slice(0, sp);
      return r.comment!.slice(sp + 1) === nftNetworkTag(network, id) && !valid.has(id);
    })
    .map(deleteStatement);
}

/** ADD for every family in one transaction. */
export async function setupNftables(specs: PortmapSpec[]): Promise<void> {
  if (specs.length) await nftApply(specs.flatMap(nftAddStatements).join('\n') + '\n');
}

/** DEL for both families; true when something was removed. */
export async function teardownNftables(network: string, containerID: string): Promise<boolean> {
  const lists = await Promise.all([nftRules(4), nftRules(6)]);
  const stmts = lists.flatMap((rules) => nftDelStatements(rules, network, containerID));
  if (stmts.length) await nftApply(stmts.join('\n') + '\n');
  return stmts.length > 0;
}

/** CHECK: the attachment's rules are all there. */
export async function checkNftables(spec: PortmapSpec): Promise<void> {
  const rules = await nftRules(spec.family);
  const ours = nftComment(spec.network, spec.containerID);
  const count = (chain: string) => rules.filter((r) => r.chain === chain && r.comment === ours).length;
  const want = nftExpectedCounts(spec);
  for (const chain of ['hostports', 'masquerading'] as const) {
    if (count(chain) !== want[chain]) throw new Error(`portmap nftables: ${fam(spec.family)} ${NFT_TABLE} ${chain} has ${count(chain)} rules for ${spec.containerID}, expected ${want[chain]}`);
  }
  if (!rules.some((r) => r.chain === 'prerouting')) throw new Error(`portmap nftables: ${fam(spec.family)} ${NFT_TABLE} prerouting has no jump to hostports`);
}

/** GC of one network, both families, one transaction. */
export async function gcNftables(network: string, valid: Set<string>): Promise<void> {
  const lists = await Promise.all([nftRules(4), nftRules(6)]);
  const stmts = lists.flatMap((rules) => nftGCStatements(rules, network, valid));
  if (stmts.length) await nftApply(stmts.join('\n') + '\n');
}
