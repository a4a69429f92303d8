// sbr (more-plugins.md §8): source-based routing for the interface the previous
// plugin made. For each of its addresses: `from <ip>/32 lookup <table>`, with the
// interface's routes moved from main into that table (the first tables from 100
// no rule uses), or, with `table`, only the rule. The netns file is flocked as
// the reference does, so our runs and Go's on one namespace are serialised.
import { bitLen, contains, formatIP, ipEqual, type IP, type IPNet } from '../../pkg/ipaddr/index.js';
import { linkByName, type Link } from '../../pkg/ip/link.js';
import { NetlinkError, type Rtnl } from '../../pkg/ip/netlink.js';
import { withNetnsNl } from '../../pkg/ip/netns.js';
import { routeAdd, routeDel, routeList, RT_TABLE_LOCAL, RT_TABLE_MAIN, type RouteSpec } from '../../pkg/ip/route.js';
import { addrList } from '../../pkg/ip/addr.js';
import { FR_ACT_TO_TBL, ruleAdd, ruleDel, ruleList, type Rule } from '../../pkg/ip/rule.js';
import { native } from '../../pkg/native/index.js';
import { NetNSNotFoundError } from '../../pkg/ns/index.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import { CniError, ErrCode } from '../../pkg/types/error.js';
import type { Result } from '../../pkg/types/result.js';
import { Undo } from '../../pkg/undo/index.js';
import { ipConfigs, loadSbrConf, loadSbrConfForDel, type IPCfg, type SbrConf } from './conf.js';
import { FIRST_TABLE, nextFreeTable, routesFor } from './tables.js';

const LOCK_EX = 2;
const RT_TABLE_DEFAULT = 253;

const fail = (msg: string, cause?: unknown) => new CniError(ErrCode.Internal, msg, '', { cause });
const reason = (e: unknown) => (e instanceof NetlinkError ? e.reason : (e as Error).message);
const hostPrefix = (ip: IP): IPNet => ({ ip, prefix: bitLen(ip) });

/** Runs `fn` inside the container netns holding an exclusive flock on the namespace file (as go-filemutex on the path). */
async function withLockedNetns<T>(path: string, fn: (nl: Rtnl) => T | Promise<T>): Promise<T> {
  return withNetnsNl(path, (ns) => {
    // the lock is on the nsfs inode, the one Go's flock of the path takes; closing the handle releases it
    native().flock(ns.container.fd, LOCK_EX);
    return fn(ns.cnl);
  });
}

/** The prevResult and its IPs of CNI_IFNAME, or the reference's errors. */
function chainedIPs(conf: SbrConf, ifName: string): { prev: Result; cfgs: IPCfg[] } {
  const prev = conf.prev;
  if (!prev) throw new CniError(ErrCode.InvalidNetworkConfig, 'This plugin must be called as chained plugin');
  const cfgs = ipConfigs(prev, ifName);
  // none for this interface: the reference would still take every route out of main, with no rule to reach them
  if (!cfgs.length) throw new CniError(ErrCode.InvalidNetworkConfig, `No IP addresses supplied on interface: ${ifName}`);
  return { prev, cfgs };
}

function findLink(nl: Rtnl, ifName: string): Link {
  const link = linkByName(nl, ifName);
  if (!link) throw fail(`Cannot find network interface ${ifName}: link not found`);
  return link;
}

/** A rule as sbr writes it: `from <ip>/<full length> lookup <table>` and no other selector. */
function isSbrRule(r: Rule, table?: number): r is Rule & { src: IPNet } {
  const plain = r.action === FR_ACT_TO_TBL && !r.dst && !r.iifName && !r.oifName && !r.fwmark && r.tos === 0;
  return plain && !!r.src && r.src.prefix === bitLen(r.src.ip) && (table === undefined || r.table === table);
}

/** Every route of both families, in `table` (0: all tables). */
const routesIn = (nl: Rtnl, table: number) => [...routeList(nl, 4, { table }), ...routeList(nl, 6, { table })];

function delRouteQuietly(nl: Rtnl, r: RouteSpec): void {
  try {
    routeDel(nl, r);
  } catch (e) {
    if (!(e instanceof NetlinkError && (e.code === 'ESRCH' || e.code === 'ENOENT'))) throw e;
  }
}

/** `from <ip>/32|128 lookup <table>`; `failed` is the reference's message prefix (its two modes spell it differently). */
function addSourceRule(o: { nl: Rtnl; ip: IP; table: number; undo: Undo; failed: string }): void {
  const { nl, ip, table, undo, failed } = o;
  const rule = { src: hostPrefix(ip), table };
  try {
    ruleAdd(nl, rule);
  } catch (e) {
    throw fail(`${failed}: ${reason(e)}`, e);
  }
  undo.push(`delete rule from ${formatIP(ip)}`, () => ruleDel(nl, rule));
}

/** The reference's default mode: a table per address, the interface's routes copied there, then removed from main. */
function moveRoutes(o: { nl: Rtnl; cfgs: IPCfg[]; ifName: string; undo: Undo }): void {
  const { nl, cfgs, ifName, undo } = o;
  const link = findLink(nl, ifName);
  const used = new Set(ruleList(nl).map((r) => r.table));
  // a table that holds routes but no rule is skipped too (the reference reuses it, mixing in whatever is there)
  for (const r of routesIn(nl, 0)) used.add(r.table!);
  const routes = routesIn(nl, RT_TABLE_MAIN).filter((r) => r.oif === link.index);
  let table = nextFreeTable(used, FIRST_TABLE);
  for (const cfg of cfgs) {
    addSourceRule({ nl, ip: cfg.address.ip, table, undo, failed: 'Failed to add rule' });
    // the previous plugin may not have installed a default route; this table gets one for its gateway
    if (cfg.gateway && cfg.gateway.family === cfg.address.ip.family) {
      const def: RouteSpec = { family: cfg.gateway.family, gw: cfg.gateway, oif: link.index, table };
      try {
        routeAdd(nl, def);
      } catch (e) {
        throw fail(`Failed to add default route to ${formatIP(cfg.gateway)}: ${reason(e)}`, e);
      }
      undo.push(`delete default route of table ${table}`, () => delRouteQuietly(nl, def));
    }
    for (const r of routesFor(routes, cfg.address)) {
      // replace: the default route just added is usually among them; flags are not carried over (the kernel refuses some)
      const copy: RouteSpec = { ...r, table };
      try {
        routeAdd(nl, copy, { replace: true });
      } catch (e) {
        throw fail(`Failed to readd route: ${reason(e)}`, e);
      }
      undo.push(`delete a route of table ${table}`, () => delRouteQuietly(nl, copy));
    }
    table = nextFreeTable(used, table + 1);
  }
  // removed only now: with two addresses in one prefix both tables need the link routes
  for (const r of routes) {
    try {
      routeDel(nl, r);
    } catch (e) {
      throw fail(`Failed to delete route: ${reason(e)}`, e);
    }
    undo.push('restore a route of table main', () => routeAdd(nl, r, { replace: true }));
  }
}

export async function add(args: CmdArgs): Promise<Result> {
  const conf = loadSbrConf(args.stdinData);
  const { prev, cfgs } = chainedIPs(conf, args.ifName);
  await withLockedNetns(args.netns, (nl) =>
    Undo.run(async (undo) => {
      const table = conf.table;
      if (table !== undefined) for (const cfg of cfgs) addSourceRule({ nl, ip: cfg.address.ip, table, undo, failed: 'failed to add rule' });
      else moveRoutes({ nl, cfgs, ifName: args.ifName, undo });
    }),
  );
  return prev;
}

/**
 * Removes sbr's rules for the interface's addresses (on the link, or in
 * prevResult when the link or its addresses are gone), then the interface's
 * routes in the tables no rule references any more. Missing netns, link or
 * rules: success.
 */
export async function del(args: CmdArgs): Promise<void> {
  const conf = loadSbrConfForDel(args.stdinData);
  if (!args.netns) return;
  try {
    await withLockedNetns(args.netns, (nl) => tidyRules(nl, args.ifName, conf));
  } catch (e) {
    if (e instanceof NetNSNotFoundError) return;
    throw e;
  }
}

function tidyRules(nl: Rtnl, ifName: string, conf: SbrConf): void {
  const link = linkByName(nl, ifName);
  const ips: IP[] = link ? addrList(nl, { index: link.index }).map((a) => a.ip) : [];
  if (conf.prev) ips.push(...ipConfigs(conf.prev, ifName).map((c) => c.address.ip));
  const ours = ruleList(nl).filter((r) => isSbrRule(r, conf.table) && ips.some((ip) => ipEqual(ip, r.src!.ip)));
  let last: unknown;
  for (const r of ours) {
    try {
      ruleDel(nl, { src: r.src!, table: r.table, priority: r.priority });
    } catch (e) {
      last = e;
    }
  }
  // a fixed table's routes are not sbr's (IPAM put them there)
  if (link && conf.table === undefined && ours.length) {
    const referenced = new Set(ruleList(nl).map((r) => r.table));
    const freed = new Set(ours.map((r) => r.table).filter((t) => !referenced.has(t) && t !== RT_TABLE_MAIN && t !== RT_TABLE_LOCAL && t !== RT_TABLE_DEFAULT));
    for (const r of routesIn(nl, 0)) if (freed.has(r.table!) && r.oif === link.index) delRouteQuietly(nl, r);
  }
  if (last) throw fail(`Failed to delete rule ${reason(last)}`, last);
}

/** Every address has its rule; without `table`, its table routes through the interface: the gateway's default route and the address's prefix. */
export async function check(args: CmdArgs): Promise<void> {
  const conf = loadSbrConf(args.stdinData);
  const { cfgs } = chainedIPs(conf, args.ifName);
  await withLockedNetns(args.netns, (nl) => {
    const link = findLink(nl, args.ifName);
    const rules = ruleList(nl);
    const routes = conf.table === undefined ? routesIn(nl, 0).filter((r) => r.oif === link.index) : [];
    for (const cfg of cfgs) {
      const ip = formatIP(cfg.address.ip);
      const rule = rules.find((r) => isSbrRule(r, conf.table) && ipEqual(r.src.ip, cfg.address.ip));
      if (!rule) throw fail(`no rule from ${ip} lookup ${conf.table ?? `a table of its own`}`);
      if (conf.table !== undefined) continue;
      const inTable = routes.filter((r) => r.table === rule.table);
      if (cfg.gateway && !inTable.some((r) => !r.dst && r.gw && ipEqual(r.gw, cfg.gateway!))) {
        throw fail(`table ${rule.table} of ${ip} has no default route via ${formatIP(cfg.gateway)} dev ${args.ifName}`);
      }
      const { address } = cfg;
      if (address.prefix < bitLen(address.ip) && !inTable.some((r) => r.dst && r.dst.prefix === address.prefix && contains(address, r.dst.ip))) {
        throw fail(`table ${rule.table} of ${ip} has no route to its prefix /${address.prefix} dev ${args.ifName}`);
      }
    }
  });
}
