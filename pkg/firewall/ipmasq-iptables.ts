// ipMasq with iptables, names and comments exactly as the reference
// (pkg/ip/ipmasq_iptables_linux.go) so either implementation can tear down
// what the other set up: chain `CNI-<sha512(net+cid)[:24]>` in table nat,
// `-d <subnet> -j ACCEPT`, `! -d <multicast> -j MASQUERADE`, and a
// `POSTROUTING -s <ip> -j <chain>` jump, all commented `name: "<net>" id: "<cid>"`.
import { sha512 } from '../hash/index.js';
import { formatIP, formatNetwork, type IPNet } from '../ipaddr/index.js';
import { iptablesRestore, type Family } from './backend.js';
import { run } from '../exec/index.js';

const MULTICAST = { 4: '224.0.0.0/4', 6: 'ff00::/8' } as const;
const IPT_SAVE = { 4: 'iptables-save', 6: 'ip6tables-save' } as const;

/** `CNI-` + the first 24 hex digits of sha512(network + containerID). */
export function masqChainName(network: string, containerID: string): string {
  return `CNI-${sha512(network + containerID).slice(0, 24)}`;
}

/** The rule comment of an attachment's masquerade rules. */
export function masqComment(network: string, containerID: string): string {
  return `name: "${network}" id: "${containerID}"`;
}

/** A comment as iptables-save prints it (and iptables-restore reads it). */
function quote(s: string): string {
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

/** The nat table of one family as iptables-save prints it, or undefined when iptables is missing. */
async function saveNat(family: Family): Promise<string | undefined> {
  try {
    const r = await run(IPT_SAVE[family], ['-t', 'nat'], { allowFailure: true });
    return r.code === 0 ? r.stdout : undefined;
  } catch {
    return undefined;
  }
}

const ruleLines = (save: string) => save.split('\n').filter((l) => l.startsWith('-A '));
const jumpsTo = (line: string, chain: string) => line.startsWith('-A POSTROUTING ') && (line.endsWith(` -j ${chain}`) || line.includes(` -j ${chain} `));

/** Sets up the chain and jumps for `ips` (all of one family) in one iptables-restore. */
export async function setupIPMasqIptables(family: Family, network: string, containerID: string, ips: IPNet[]): Promise<void> {
  if (!ips.length) return;
  const chain = masqChainName(network, containerID);
  const comment = quote(masqComment(network, containerID));
  const save = (await saveNat(family)) ?? '';
  const existing = ruleLines(save);
  const lines = ['*nat', `:${chain} - [0:0]`];
  // declaring an existing chain with --noflush flushes it: the chain is rewritten whole
  for (const ip of ips) lines.push(`-A ${chain} -d ${formatNetwork(ip)} -m comment --comment ${comment} -j ACCEPT`);
  lines.push(`-A ${chain} ! -d ${MULTICAST[family]} -m comment --comment ${comment} -j MASQUERADE`);
  for (const ip of ips) {
    const host = `${formatIP(ip.ip)}/${family === 4 ? 32 : 128}`;
    if (existing.some((l) => jumpsTo(l, chain) && l.includes(` -s ${host} `))) continue;
    lines.push(`-A POSTROUTING -s ${formatIP(ip.ip)} -m comment --comment ${comment} -j ${chain}`);
  }
  lines.push('COMMIT', '');
  await iptablesRestore(family, lines.join('\n'));
}

/** The script deleting every POSTROUTING jump to `chains` and the chains themselves, from an iptables-save dump. */
export function teardownScript(save: string, chains: Set<string>): string | undefined {
  const lines = ruleLines(save);
  const declared = new Set(save.split('\n').filter((l) => l.startsWith(':')).map((l) => l.slice(1).split(' ')[0]));
  const present = [...chains].filter((c) => declared.has(c));
  const jumps = lines.filter((l) => [...chains].some((c) => jumpsTo(l, c)));
  if (!present.length && !jumps.length) return undefined;
  const out = ['*nat'];
  for (const j of jumps) out.push(`-D${j.slice(2)}`);
  for (const c of present) out.push(`-F ${c}`, `-X ${c}`);
  out.push('COMMIT', '');
  return out.join('\n');
}

/** Removes the attachment's chain and jumps in `family`; missing objects or a missing iptables are fine. */
export async function teardownIPMasqIptables(family: Family, network: string, containerID: string): Promise<void> {
  const save = await saveNat(family);
  if (save === undefined) return;
  const script = teardownScript(save, new Set([masqChainName(network, containerID)]));
  if (script) await iptablesRestore(family, script);
}

/** Container IDs that have masquerade rules of `network` in `family`'s nat table. */
export function containerIDsInSave(save: string, network: string): Set<string> {
  const ids = new Set<string>();
  const re = /--comment "name: \\"((?:[^"\\]|\\.)*)\\" id: \\"((?:[^"\\]|\\.)*)\\""/;
  for (const l of ruleLines(save)) {
    const m = re.exec(l);
    if (m && m[1] === network) ids.add(m[2]);
  }
  return ids;
}

/** Removes the rules of every attachment of `network` whose container ID is not in `keep`. */
export async function gcIPMasqIptables(family: Family, network: string, keep: Set<string>): Promise<void> {
  const save = await saveNat(family);
  if (save === undefined) return;
  const stale = [...containerIDsInSave(save, network)].filter((id) => !keep.has(id));
  if (!stale.length) return;
  const script = teardownScript(save, new Set(stale.map((id) => masqChainName(network, id))));
  if (script) await iptablesRestore(family, script);
}

