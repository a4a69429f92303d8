// Traffic control over rtnetlink: qdiscs (tbf, ingress) and u32 filters with
// mirred actions, as the bandwidth plugin needs them (what `tc qdisc add ... tbf`,
// `tc qdisc add ... ingress` and `tc filter add ... u32 ... action mirred` send).
import { Attrs, encodeAttrs, NetlinkError, NLM_F_CREATE, NLM_F_EXCL, Rtnl, type Attr } from './netlink.js';
import { concat, i32, put32, u32, view } from '../bytes/index.js';

const RTM_NEWQDISC = 36;
const RTM_DELQDISC = 37;
const RTM_GETQDISC = 38;
const RTM_NEWTFILTER = 44;
const RTM_GETTFILTER = 46;

const TCA_KIND = 1;
const TCA_OPTIONS = 2;
const TCA_TBF_PARMS = 1;
const TCA_TBF_RATE64 = 4;
const TCA_U32_CLASSID = 1;
const TCA_U32_SEL = 5;
const TCA_U32_ACT = 7;
const TCA_ACT_KIND = 1;
const TCA_ACT_OPTIONS = 2;
const TCA_MIRRED_PARMS = 2;
const TC_U32_TERMINAL = 1;
const TCA_EGRESS_REDIR = 1;

/** The root of a device's egress (TC_H_ROOT). */
export const HANDLE_ROOT = 0xffffffff;
/** The parent an ingress qdisc attaches to (TC_H_INGRESS). */
export const HANDLE_INGRESS = 0xfffffff1;
export const TC_ACT_OK = 0;
export const TC_ACT_STOLEN = 4;
export const ETH_P_ALL = 0x0003;

/** `major:minor` as one 32-bit handle (`tc`'s `1:` is makeHandle(1, 0)). */
export const makeHandle = (major: number, minor: number) => ((major << 16) | minor) >>> 0;

/** Token bucket parameters as the kernel takes them (TCA_TBF_PARMS). */
export interface TbfParams {
  /** Bytes per second. */
  rate: number;
  /** Bytes queued at most. */
  limit: number;
  /** Bucket size in psched ticks (64 ns each). */
  buffer: number;
}

/** A qdisc as listed. */
export interface Qdisc {
  index: number;
  handle: number;
  parent: number;
  kind: string;
  /** Set for kind "tbf". */
  tbf?: TbfParams;
}

function tcmsg(index: number, handle: number, parent: number, info = 0): Uint8Array {
  const b = new Uint8Array(20);
  put32(b, 4, index);
  put32(b, 8, handle);
  put32(b, 12, parent);
  put32(b, 16, info);
  return b;
}

function u64(v: number): Uint8Array {
  const b = new Uint8Array(8);
  put32(b, 0, v % 2 ** 32);
  put32(b, 4, Math.floor(v / 2 ** 32));
  return b;
}

/** TCA_OPTIONS of a tbf: no peak rate, no rate table (the kernel computes it), a 64-bit rate when 32 bits do not hold it. */
export function tbfOptions(p: TbfParams): Attr[] {
  // struct tc_tbf_qopt: rate (tc_ratespec, 12 bytes), peakrate (12), limit, buffer, mtu
  const qopt = new Uint8Array(36);
  put32(qopt, 8, p.rate >= 2 ** 32 ? 0xffffffff : p.rate);
  put32(qopt, 24, p.limit);
  put32(qopt, 28, p.buffer);
  const attrs: Attr[] = [{ type: TCA_TBF_PARMS, buf: qopt }];
  if (p.rate >= 2 ** 32) attrs.push({ type: TCA_TBF_RATE64, buf: u64(p.rate) });
  return attrs;
}

/** Adds a qdisc (create, fail if one is there: EEXIST). */
export function qdiscAdd(nl: Rtnl, q: { index: number; handle: number; parent: number; kind: string; options?: Attr[] }, what: string): void {
  const attrs: Attr[] = [{ type: TCA_KIND, str: q.kind }];
  if (q.options) attrs.push({ type: TCA_OPTIONS, nested: q.options });
  nl.request(RTM_NEWQDISC, NLM_F_CREATE | NLM_F_EXCL, concat([tcmsg(q.index, q.handle, q.parent), encodeAttrs(attrs)]), what);
}

/** Deletes the qdisc at `parent` of link `index`; false when there was none. */
export function qdiscDel(nl: Rtnl, index: number, handle: number, parent: number): boolean {
  try {
    nl.request(RTM_DELQDISC, 0, tcmsg(index, handle, parent), `failed to delete qdisc ${handle.toString(16)}: of link ${index}`);
    return true;
  } catch (e) {
    if (e instanceof NetlinkError && (e.code === 'ENOENT' || e.code === 'ENODEV' || e.code === 'EINVAL')) return false;
    throw e;
  }
}

/** The qdiscs of link `index`, in the kernel's order (root first, then ingress). */
export function qdiscList(nl: Rtnl, index: number): Qdisc[] {
  const out: Qdisc[] = [];
  for (const m of nl.dump(RTM_GETQDISC, tcmsg(index, 0, 0), 'failed to list qdiscs')) {
    const b = m.body;
    if (i32(b, 4) !== index) continue; // older kernels dump every device
    const a = new Attrs(view(b, 20));
    const q: Qdisc = { index, handle: u32(b, 8), parent: u32(b, 12), kind: a.str(TCA_KIND) ?? '' };
    const parms = q.kind === 'tbf' ? a.nested(TCA_OPTIONS)?.get(TCA_TBF_PARMS) : undefined;
    if (parms && parms.length >= 36) {
      const rate64 = a.nested(TCA_OPTIONS)?.get(TCA_TBF_RATE64);
      const rate = rate64 && rate64.length >= 8 ? u32(rate64, 0) + u32(rate64, 4) * 2 ** 32 : u32(parms, 8);
      q.tbf = { rate, limit: u32(parms, 24), buffer: u32(parms, 28) };
    }
    out.push(q);
  }
  return out;
}

function mirredAction(order: number, ifindex: number, verdict: number): Attr {
  // struct tc_mirred: tc_gen (index, capab, action, refcnt, bindcnt), eaction, ifindex
  const parms = new Uint8Array(28);
  put32(parms, 8, verdict);
  put32(parms, 20, TCA_EGRESS_REDIR);
  put32(parms, 24, ifindex);
  return { type: order, nested: [{ type: TCA_ACT_KIND, str: 'mirred' }, { type: TCA_ACT_OPTIONS, nested: [{ type: TCA_MIRRED_PARMS, buf: parms }] }] };
}

/** A match-everything u32 filter whose actions redirect to other links (mirred egress redirect). */
export interface RedirectFilter {
  index: number;
  parent: number;
  priority: number;
  protocol: number;
  classID: number;
  /** One mirred egress redirect per entry, in order. */
  redirects: Array<{ ifindex: number; verdict: number }>;
}

/** Adds a u32 match-all filter (`match u32 0 0`) with mirred redirect actions. */
export function filterAddRedirect(nl: Rtnl, f: RedirectFilter, what: string): void {
  // struct tc_u32_sel (16 bytes) with one all-zero tc_u32_key (16 bytes): every packet matches
  const sel = new Uint8Array(32);
  sel[0] = TC_U32_TERMINAL;
  sel[2] = 1;
  const options: Attr[] = [
    { type: TCA_U32_SEL, buf: sel },
    { type: TCA_U32_CLASSID, u32: f.classID },
    { type: TCA_U32_ACT, nested: f.redirects.map((r, i) => mirredAction(i + 1, r.ifindex, r.verdict)) },
  ];
  // tcm_info: priority in the upper 16 bits, the protocol in network order in the lower
  const info = ((f.priority << 16) | ((f.protocol & 0xff) << 8) | (f.protocol >> 8)) >>> 0;
  const attrs: Attr[] = [{ type: TCA_KIND, str: 'u32' }, { type: TCA_OPTIONS, nested: options }];
  nl.request(RTM_NEWTFILTER, NLM_F_CREATE | NLM_F_EXCL, concat([tcmsg(f.index, 0, f.parent, info), encodeAttrs(attrs)]), what);
}

/** The links that the u32 filters at `parent` of link `index` redirect to (mirred egress redirect), in order. */
export function filterRedirectTargets(nl: Rtnl, index: number, parent: number): number[] {
  const out: number[] = [];
  for (const m of nl.dump(RTM_GETTFILTER, tcmsg(index, 0, parent), 'failed to list filters')) {
    if (i32(m.body, 4) !== index || u32(m.body, 12) !== parent) continue;
    const a = new Attrs(view(m.body, 20));
    if (a.str(TCA_KIND) !== 'u32') continue;
    const acts = a.nested(TCA_OPTIONS)?.nested(TCA_U32_ACT);
    for (const act of acts?.list ?? []) {
      const one = new Attrs(act.data);
      const parms = one.str(TCA_ACT_KIND) === 'mirred' ? one.nested(TCA_ACT_OPTIONS)?.get(TCA_MIRRED_PARMS) : undefined;
      if (parms && parms.length >= 28 && u32(parms, 20) === TCA_EGRESS_REDIR) out.push(u32(parms, 24));
    }
  }
  return out;
}
