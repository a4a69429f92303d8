// portmap's iptables backend (reference §2.10): chain names, rule text, order and
// comments as the Go plugin writes them, so either can tear down the other's rules.
// Rules are written in iptables-save's canonical form: CHECK and DEL compare and
// delete by exact text. Each ADD/DEL is one iptables-save read and at most one
// iptables-restore --noflush write per family (the reference runs one process per rule).
import { formatIP, networkOf, type IP, type IPNet } from '../ipaddr/index.js';
import { iptablesRestore, iptablesSave, type Family } from './backend.js';
import { parseSave, ruleTarget, type SavedTable } from './iptables-save.js';
import { localnetGuardIptables } from './localnet.js';
import { dnatChainName, hostPortText, legacySnatChainName, portsByProtocol, type PortmapSpec } from './portmap.js';

export const HOSTPORT_DNAT = 'CNI-HOSTPORT-DNAT';
export const HOSTPORT_SETMARK = 'CNI-HOSTPORT-SETMARK';
export const HOSTPORT_MASQ = 'CNI-HOSTPORT-MASQ';
/** iptables multiport takes at most 15 ports per rule. */
const MULTIPORT_MAX = 15;

/** `0x2000/0x2000` for bit 13. */
export function markText(bit: number): string {
  const m = (2 ** bit).toString(16);
  return `0x${m}/0x${m}`;
}

const host = (ip: IP) => `${formatIP(ip)}/${ip.family === 4 ? 32 : 128}`;
const net = (n: IPNet) => `${formatIP(networkOf(n))}/${n.prefix}`;
const quote = (s: string) => (/^[^\s"\\]+$/.test(s) ? s : `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`);

/** The entry rules' comment, as the reference writes it. */
export function entryComment(network: string, containerID: string): string {
  return `dnat name: "${network}" id: "${containerID}"`;
}

/** The rules of the per-attachment `CNI-DN-<hash>` chain, in the reference's order. */
export function dnatChainRules(spec: PortmapSpec): string[] {
  const chain = dnatChainName(spec.network, spec.containerID);
  const mark = spec.externalSetMarkChain ?? HOSTPORT_SETMARK;
  const out: string[] = [];
  for (const m of spec.mappings) {
    const dst = m.hostIP ? ` -d ${host(m.hostIP)}` : '';
    const match = ` -p ${m.protocol} -m ${m.protocol} --dport ${m.hostPort}`;
    if (spec.snat) {
      // hairpin: the container (or, with masqAll, anyone) reaching its own host port
      out.push(`-A ${chain}${spec.masqAll ? '' : ` -s ${net(spec.containerNet)}`}${dst}${match} -j ${mark}`);
      // localhost: 127.0.0.1 must be masqueraded or the container's reply is martian
      if (spec.family === 4 && !spec.masqAll) out.push(`-A ${chain} -s 127.0.0.1/32${dst}${match} -j ${mark}`);
    }
    out.push(`-A ${chain}${dst}${match} -j DNAT --to-destination ${hostPortText(spec.containerIP, m.containerPort)}`);
  }
  return out;
}

/** The `CNI-HOSTPORT-DNAT` rules that send an attachment's ports to its chain: one per protocol and 15 ports. */
export function entryRules(spec: PortmapSpec): string[] {
  const chain = dnatChainName(spec.network, spec.containerID);
  const comment = quote(entryComment(spec.network, spec.containerID));
  // conditions are iptables arguments, one per element or several per element: joined as written
  const conds = spec.conditions.length ? ` ${spec.conditions.join(' ')}` : '';
  const out: string[] = [];
  for (const [proto, ports] of portsByProtocol(spec.mappings)) {
    for (let i = 0; i < ports.length; i += MULTIPORT_MAX) {
      const chunk = ports.slice(i, i + MULTIPORT_MAX).join(',');
      out.push(`-A ${HOSTPORT_DNAT} -p ${proto} -m comment --comment ${comment} -m multiport --dports ${chunk}${conds} -j ${chain}`);
    }
  }
  return out;
}

/** The shared chains' rules an attachment depends on: [rule, insert-at-top]. */
function sharedRules(spec: PortmapSpec): Array<[string, boolean]> {
  const out: Array<[string, boolean]> = [
    [`-A PREROUTING -m addrtype --dst-type LOCAL -j ${HOSTPORT_DNAT}`, false],
    [`-A OUTPUT -m addrtype --dst-type LOCAL -j ${HOSTPORT_DNAT}`, false],
  ];
  if (spec.snat && !spec.externalSetMarkChain) {
    const mark = markText(spec.markMasqBit);
    out.push(
      [`-A ${HOSTPORT_SETMARK} -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark ${mark}`, false],
      [`-A ${HOSTPORT_MASQ} -m mark --mark ${mark} -j MASQUERADE`, false],
      [`-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j ${HOSTPORT_MASQ}`, true],
    );
  }
  return out;
}

const toDelete = (text: string) => text.replace(/^-A /, '-D ');

/** The iptables-restore script that installs `spec` given the current nat (and filter) tables. */
export function iptablesAddScript(spec: PortmapSpec, nat: SavedTable, filter?: SavedTable): string {
  const chain = dnatChainName(spec.network, spec.containerID);
  const lines = ['*nat'];
  const shared = [HOSTPORT_DNAT, ...(spec.snat && !spec.externalSetMarkChain ? [HOSTPORT_SETMARK, HOSTPORT_MASQ] : [])];
  for (const c of shared) if (!nat.chains.has(c)) lines.push(`:${c} - [0:0]`);
  lines.push(`:${chain} - [0:0]`); // creates it, or flushes what a previous ADD left
  // a previous ADD's entry rules (possibly other ports) go before the new ones are added
  for (const r of nat.rules) if (r.chain === HOSTPORT_DNAT && ruleTarget(r.text) === chain) lines.push(toDelete(r.text));
  const present = new Set(nat.rules.map((r) => r.text));
  for (const [rule, top] of sharedRules(spec)) {
    if (present.has(rule)) continue;
    lines.push(top ? rule.replace(/^-A (\S+)/, '-I $1 1') : rule);
  }
  lines.push(...dnatChainRules(spec), ...entryRules(spec), 'COMMIT');
  if (filter) {
    const guard = localnetGuardIptables(filter);
    if (guard.length) lines.push('*filter', ...guard, 'COMMIT');
  }
  return lines.join('\n') + '\n';
}

/** The script removing the chains named and every rule jumping to them; undefined when none exists. */
export function iptablesDelScript(chains: string[], nat: SavedTable): string | undefined {
  const lines: string[] = [];
  for (const r of nat.rules) {
    const t = ruleTarget(r.text);
    if (t && chains.includes(t) && !chains.includes(r.chain)) lines.push(toDelete(r.text));
  }
  for (const c of chains) if (nat.chains.has(c)) lines.push(`-F ${c}`, `-X ${c}`);
  return lines.length ? ['*nat', ...lines, 'COMMIT'].join('\n') + '\n' : undefined;
}

/** What is missing for `spec` in the nat table (CHECK); undefined when all is in place. */
export function iptablesCheck(spec: PortmapSpec, nat: SavedTable): string | undefined {
  const chain = dnatChainName(spec.network, spec.containerID);
  if (!nat.chains.has(chain)) return `chain ${chain} not found`;
  const present = new Set(nat.rules.map((r) => r.text));
  for (const rule of [...sharedRules(spec).map(([r]) => r), ...dnatChainRules(spec)]) {
    if (!present.has(rule)) return `rule "${rule}" not found`;
  }
  // entry rules: the conditions are user text iptables may print differently, so match by target and comment
  const comment = `--comment ${quote(entryComment(spec.network, spec.containerID))}`;
  for (const proto of portsByProtocol(spec.mappings).keys()) {
    const ok = nat.rules.some((r) => r.chain === HOSTPORT_DNAT && ruleTarget(r.text) === chain && r.text.includes(` -p ${proto} `) && r.text.includes(comment));
    if (!ok) return `no ${HOSTPORT_DNAT} rule for ${proto} to ${chain}`;
  }
  return undefined;
}

const ENTRY_COMMENT = /--comment "dnat name: \\"([^"\\]*)\\" id: \\"([^"\\]*)\\""/;

/** GC: the script removing entry rules and chains of `network`'s attachments whose container is not in `valid`. */
export function iptablesGCScript(network: string, valid: Set<string>, nat: SavedTable): string | undefined {
  const stale = new Set<string>();
  for (const r of nat.rules) {
    const m = r.chain === HOSTPORT_DNAT ? ENTRY_COMMENT.exec(r.text) : null;
    if (m && m[1] === network && !valid.has(m[2])) stale.add(dnatChainName(network, m[2]));
  }
  return stale.size ? iptablesDelScript([...stale], nat) : undefined;
}

async function saved(family: Family, table: string): Promise<SavedTable> {
  return parseSave(await iptablesSave(family, table));
}

/** ADD: installs the attachment's rules (and, for IPv4 with snat, the localnet guard) in one restore. */
export async function setupIptables(spec: PortmapSpec): Promise<void> {
  const guard = spec.family === 4 && spec.snat;
  const [nat, filter] = await Promise.all([saved(spec.family, 'nat'), guard ? saved(spec.family, 'filter') : undefined]);
  await iptablesRestore(spec.family, iptablesAddScript(spec, nat, filter));
}

/** DEL: removes the attachment's chains and entry rules; true when something was removed. */
export async function teardownIptables(family: Family, network: string, containerID: string): Promise<boolean> {
  const script = iptablesDelScript([dnatChainName(network, containerID), legacySnatChainName(network, containerID)], await saved(family, 'nat'));
  if (script) await iptablesRestore(family, script);
  return script !== undefined;
}

/** CHECK: throws a readable reason when a rule is missing. */
export async function checkIptables(spec: PortmapSpec): Promise<void> {
  const problem = iptablesCheck(spec, await saved(spec.family, 'nat'));
  if (problem) throw new Error(`portmap iptables rules for ${spec.containerID}: ${problem}`);
}

/** GC of one network: removes rules of attachments not in `valid`. */
export async function gcIptables(family: Family, network: string, valid: Set<string>): Promise<void> {
  const script = iptablesGCScript(network, valid, await saved(family, 'nat'));
  if (script) await iptablesRestore(family, script);
}
