// Policy routing rules over rtnetlink (what `ip rule add|del|show` send): the
// source-based rules of sbr, `from <ip>/<len> lookup <table>`.
import { formatIP, type IP, type IPNet } from '../ipaddr/index.js';
import { Attrs, encodeAttrs, NetlinkError, NLM_F_CREATE, NLM_F_EXCL, Rtnl, type Attr } from './netlink.js';
import { concat, copy, view } from '../bytes/index.js';

const RTM_NEWRULE = 32;
const RTM_DELRULE = 33;
const RTM_GETRULE = 34;

const AF_INET = 2;
const AF_INET6 = 10;
const FRA_DST = 1;
const FRA_SRC = 2;
const FRA_IIFNAME = 3;
const FRA_PRIORITY = 6;
const FRA_FWMARK = 10;
const FRA_TABLE = 15;
const FRA_OIFNAME = 17;
/** fib_rule_hdr.action: look the destination up in a table. */
export const FR_ACT_TO_TBL = 1;

/** A rule as listed (selectors sbr never sets are kept so callers can tell foreign rules apart). */
export interface Rule {
  family: 4 | 6;
  priority?: number;
  table: number;
  action: number;
  src?: IPNet;
  dst?: IPNet;
  tos: number;
  iifName?: string;
  oifName?: string;
  fwmark?: number;
}

/** A `from <src> lookup <table>` rule to add or delete; without `priority` the kernel picks one on add and matches any on delete. */
export interface RuleSpec {
  src: IPNet;
  table: number;
  priority?: number;
}

function ruleMsg(r: RuleSpec): Uint8Array {
  const fam = r.src.ip.family;
  // struct fib_rule_hdr: family, dst_len, src_len, tos, table, res1, res2, action, flags
  const hdr = new Uint8Array(12);
  hdr[0] = fam === 4 ? AF_INET : AF_INET6;
  hdr[2] = r.src.prefix;
  hdr[4] = r.table < 256 ? r.table : 0;
  hdr[7] = FR_ACT_TO_TBL;
  const attrs: Attr[] = [
    { type: FRA_SRC, buf: r.src.ip.bytes },
    { type: FRA_TABLE, u32: r.table },
  ];
  if (r.priority !== undefined) attrs.push({ type: FRA_PRIORITY, u32: r.priority });
  return concat([hdr, encodeAttrs(attrs)]);
}

const describe = (r: RuleSpec) => `from ${formatIP(r.src.ip)}/${r.src.prefix} lookup ${r.table}${r.priority !== undefined ? ` priority ${r.priority}` : ''}`;

/** Adds a rule (EEXIST only when an identical rule with the same priority is there). */
export function ruleAdd(nl: Rtnl, r: RuleSpec): void {
  nl.request(RTM_NEWRULE, NLM_F_CREATE | NLM_F_EXCL, ruleMsg(r), `failed to add rule ${describe(r)}`);
}

/** Deletes a rule; false when no rule matched. */
export function ruleDel(nl: Rtnl, r: RuleSpec): boolean {
  try {
    nl.request(RTM_DELRULE, 0, ruleMsg(r), `failed to delete rule ${describe(r)}`);
    return true;
  } catch (e) {
    if (e instanceof NetlinkError && e.code === 'ENOENT') return false;
    throw e;
  }
}

function prefix(fam: 4 | 6, raw: Uint8Array | undefined, len: number): IPNet | undefined {
  return raw ? { ip: { family: fam, bytes: copy(raw) } as IP, prefix: len } : undefined;
}

/** Every rule of both families (IPv4 first), in priority order as the kernel keeps them. */
export function ruleList(nl: Rtnl): Rule[] {
  const out: Rule[] = [];
  for (const m of nl.dump(RTM_GETRULE, new Uint8Array(12), 'failed to list rules')) {
    const b = m.body;
    if (b[0] !== AF_INET && b[0] !== AF_INET6) continue;
    const fam = b[0] === AF_INET ? 4 : 6;
    const a = new Attrs(view(b, 12));
    out.push({
      family: fam,
      priority: a.u32(FRA_PRIORITY),
      table: a.u32(FRA_TABLE) ?? b[4],
      action: b[7],
      src: prefix(fam, a.get(FRA_SRC), b[2]),
      dst: prefix(fam, a.get(FRA_DST), b[1]),
      tos: b[3],
      iifName: a.str(FRA_IIFNAME),
      oifName: a.str(FRA_OIFNAME),
      fwmark: a.u32(FRA_FWMARK),
    });
  }
  return out;
}
