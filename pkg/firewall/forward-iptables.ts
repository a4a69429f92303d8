// The firewall plugin's iptables rules (reference §7), in the Go plugin's exact
// text, chains and order so either implementation can tear down or check the
// other's: filter chain CNI-FORWARD jumped from FORWARD, an admin chain jumped
// first from CNI-FORWARD, two ACCEPT rules per container IP, and the per-bridge
// ingress-policy chains CNI-ISOLATION-STAGE-1/2 (comments as v1.9.1 writes them).
// Rules are compared in iptables-save's canonical form; each call is one
// iptables-save read and at most one iptables-restore --noflush write per family.
import { formatIP, type IP } from '../ipaddr/index.js';
import { iptablesRestore, iptablesRestoreStart, iptablesSave, iptablesSaveStart, type Family } from './backend.js';
import { parseSave, type SavedTable } from './iptables-save.js';

export const FORWARD_CHAIN = 'CNI-FORWARD';
export const DEFAULT_ADMIN_CHAIN = 'CNI-ADMIN';
export const STAGE1_CHAIN = 'CNI-ISOLATION-STAGE-1';
export const STAGE2_CHAIN = 'CNI-ISOLATION-STAGE-2';

/** `same-bridge` or `isolated`: the policies that program rules. */
export type IsolationPolicy = 'same-bridge' | 'isolated';

/** What one family's ADD programs. */
export interface ForwardSpec {
  /** Container IPs of this family (written as /32 or /128); none: no forward rules. */
  ips: IP[];
  adminChain: string;
  /** The bridge to isolate (prevResult.interfaces[0].name) and how, when ingressPolicy asks for it. */
  isolation?: { bridge: string; policy: IsolationPolicy };
}

const RULES = '"CNI firewall plugin rules"';
const ADMIN = '"CNI firewall plugin admin overrides"';
// v1.9.1 (v1.7.0+) marks the rules shared by both policies with this comment, the bridge rules with the policy's own
const POLICY_SHARED = '"CNI firewall plugin rules (ingressPolicy: same-bridge|isolated)"';
const policy = (p: IsolationPolicy) => `"CNI firewall plugin rules (ingressPolicy: ${p})"`;

/** `10.1.2.3/32`, `fd00::2/128`: the reference writes every IP as a host. */
export const hostText = (ip: IP) => `${formatIP(ip)}/${ip.family === 4 ? 32 : 128}`;

export const forwardJumpRule = () => `-A FORWARD -m comment --comment ${RULES} -j ${FORWARD_CHAIN}`;
export const adminJumpRule = (admin: string) => `-A ${FORWARD_CHAIN} -m comment --comment ${ADMIN} -j ${admin}`;

/** The two per-IP rules, as iptables-save prints them. */
export function ipRules(ip: IP): string[] {
  const h = hostText(ip);
  return [`-A ${FORWARD_CHAIN} -d ${h} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`, `-A ${FORWARD_CHAIN} -s ${h} -j ACCEPT`];
}

/** The isolation rules of one bridge: [rule, insert at the top?] in the order the reference ensures them. */
export function isolationRules(bridge: string, p: IsolationPolicy): Array<[string, boolean]> {
  const out: Array<[string, boolean]> = [
    [`-A FORWARD -m comment --comment ${POLICY_SHARED} -j ${STAGE1_CHAIN}`, true],
    [`-A ${STAGE1_CHAIN} -i ${bridge} ! -o ${bridge} -m comment --comment ${policy(p)} -j ${STAGE2_CHAIN}`, true],
  ];
  if (p === 'isolated') out.push([`-A ${STAGE1_CHAIN} -i ${bridge} -o ${bridge} -m comment --comment ${policy(p)} -j DROP`, true]);
  out.push(
    [`-A ${STAGE1_CHAIN} -m comment --comment ${POLICY_SHARED} -j RETURN`, false],
    [`-A ${STAGE2_CHAIN} -o ${bridge} -m comment --comment ${POLICY_SHARED} -j DROP`, true],
    [`-A ${STAGE2_CHAIN} -m comment --comment ${POLICY_SHARED} -j RETURN`, false],
  );
  return out;
}

/** An iptables-restore script for the filter table, written against what a save showed. */
class FilterScript {
  private readonly lines: string[] = [];
  private readonly rules: Set<string>;
  private readonly chains: Set<string>;

  constructor(table: SavedTable) {
    this.rules = new Set(table.rules.map((r) => r.text));
    this.chains = new Set(table.chains);
  }

  /** `-N`, never `:chain` (with --noflush that flushes an existing chain): fails, so we retry, if another writer made it meanwhile. */
  ensureChain(chain: string): void {
    if (this.chains.has(chain)) return;
    this.lines.push(`-N ${chain}`);
    this.chains.add(chain);
  }

  /** Adds `rule` (an `-A` line) unless present: appended, or inserted at position 1. */
  ensureRule(rule: string, top = false): void {
    if (this.rules.has(rule)) return;
    this.lines.push(top ? rule.replace(/^-A (\S+)/, '-I $1 1') : rule);
    this.rules.add(rule);
  }

  deleteRule(rule: string): void {
    if (!this.rules.delete(rule)) return;
    this.lines.push(`-D${rule.slice(2)}`);
  }

  has(rule: string): boolean {
    return this.rules.has(rule);
  }

  text(): string | undefined {
    return this.lines.length ? ['*filter', ...this.lines, 'COMMIT', ''].join('\n') : undefined;
  }
}

/** The script that installs `spec`, the reference's steps in its order; undefined when all is there. */
export function forwardAddScript(table: SavedTable, spec: ForwardSpec): string | undefined {
  const s = new FilterScript(table);
  if (spec.ips.length) {
    s.ensureChain(FORWARD_CHAIN);
    s.ensureChain(spec.adminChain);
    s.ensureRule(forwardJumpRule(), true);
    s.ensureRule(adminJumpRule(spec.adminChain), true);
    for (const ip of spec.ips) for (const r of ipRules(ip)) s.ensureRule(r);
  }
  if (spec.isolation) {
    s.ensureChain(STAGE1_CHAIN);
    s.ensureChain(STAGE2_CHAIN);
    for (const [rule, top] of isolationRules(spec.isolation.bridge, spec.isolation.policy)) s.ensureRule(rule, top);
  }
  return s.text();
}

/** The rules of `spec` that `table` lacks: what an ADD of it adds. */
export function missingRules(table: SavedTable, spec: ForwardSpec): string[] {
  const s = new FilterScript(table);
  const want = [...spec.ips.flatMap(ipRules), ...(spec.isolation ? isolationRules(spec.isolation.bridge, spec.isolation.policy).map(([r]) => r) : [])];
  return want.filter((r) => !s.has(r));
}

/** The script deleting those of `rules` that are present; chains and jumps stay (other containers use them). */
export function deleteRulesScript(table: SavedTable, rules: string[]): string | undefined {
  const s = new FilterScript(table);
  for (const r of rules) s.deleteRule(r);
  return s.text();
}

/**
 * The script deleting the isolation rules of `bridges` (STAGE-1's `-i <br>`
 * rules, STAGE-2's `-o <br>` DROP; any policy or comment style), for bridges
 * that are gone; the chains, RETURNs and FORWARD jump stay for other bridges.
 */
export function isolationDelScript(table: SavedTable, bridges: string[]): string | undefined {
  const s = new FilterScript(table);
  const own = (r: { chain: string; text: string }, b: string) =>
    (r.chain === STAGE1_CHAIN && r.text.includes(` -i ${b} `)) || (r.chain === STAGE2_CHAIN && r.text.includes(` -o ${b} `));
  for (const r of table.rules) if (bridges.some((b) => own(r, b))) s.deleteRule(r.text);
  return s.text();
}

/** Go's `%v` of an argument list: `[-m comment --comment CNI firewall plugin rules -j CNI-FORWARD]`. */
const goArgs = (rule: string) => `[${rule.replace(/^-A \S+ /, '').replace(/"/g, '')}]`;

/** CHECK: the first missing rule, in the reference's words; undefined when everything is in place. */
export function forwardCheck(table: SavedTable, spec: ForwardSpec): string | undefined {
  const s = new FilterScript(table);
  if (spec.ips.length) {
    if (!s.has(forwardJumpRule())) return `expected FORWARD rule ${goArgs(forwardJumpRule())} not found`;
    const admin = adminJumpRule(spec.adminChain);
    if (!s.has(admin)) return `expected ${FORWARD_CHAIN} rule ${goArgs(admin)} not found`;
  }
  // Debian's 1.1.1 wrote the shared isolation rules with the policy's own comment: accept its rules too
  const p = spec.isolation?.policy;
  const missing = missingRules(table, spec).filter((r) => !(p && s.has(r.replace(POLICY_SHARED, policy(p)))));
  return missing.length ? `expected rule ${goArgs(missing[0])} not found` : undefined;
}

/**
 * Reads the filter table, builds a script from it and applies it; true when
 * something was written. A failed write is retried on a fresh read (twice):
 * another plugin may have created a chain (`-N` fails) or removed a rule (`-D`
 * fails) between our read and our write, and the restore is all or nothing.
 */
export async function updateFilter(family: Family, build: (table: SavedTable) => string | undefined): Promise<boolean> {
  for (let attempt = 0; ; attempt++) {
    const script = build(parseSave(await iptablesSave(family, 'filter')));
    if (!script) return false;
    try {
      await iptablesRestore(family, script);
      return true;
    } catch (e) {
      if (attempt >= 2) throw e;
    }
  }
}

/** One family's part of updateFilters. */
export interface FilterUpdate {
  family: Family;
  build: (table: SavedTable) => string | undefined;
}

/**
 * updateFilter for several families at once: both reads run together, then
 * both writes (each program on an addon thread), so a call with IPv4 and IPv6
 * addresses costs about one family's programs. A family whose write fails goes
 * through updateFilter's read-and-retry. Returns the error of each family that
 * failed (none: all applied), once every program has finished.
 */
export async function updateFilters(updates: FilterUpdate[]): Promise<Map<Family, unknown>> {
  const saves = updates.map((u) => iptablesSaveStart(u.family, 'filter'));
  const outcomes = updates.map((u, i) => {
    try {
      const script = u.build(parseSave(saves[i].wait().stdout));
      return script === undefined ? undefined : iptablesRestoreStart(u.family, script);
    } catch (e) {
      return e as Error;
    }
  });
  const failures = new Map<Family, unknown>();
  for (const [i, o] of outcomes.entries()) {
    if (o === undefined) continue;
    try {
      if (o instanceof Error) throw o;
      o.wait();
    } catch {
      try {
        await updateFilter(updates[i].family, updates[i].build);
      } catch (e) {
        failures.set(updates[i].family, e);
      }
    }
  }
  return failures;
}

/** The filter tables of `families`, parsed, read at the same time; throws the first failure once all finished. */
export async function readFilters(families: Family[]): Promise<SavedTable[]> {
  const saves = families.map((f) => iptablesSaveStart(f, 'filter'));
  const out = saves.map((r) => {
    try {
      return parseSave(r.wait().stdout);
    } catch (e) {
      return e as Error;
    }
  });
  const failed = out.find((t) => t instanceof Error);
  if (failed) throw failed;
  return out as SavedTable[];
}
