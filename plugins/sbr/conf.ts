// sbr's configuration (more-plugins.md §8.1-8.2): an optional fixed `table`,
// and the prevResult IPs that belong to CNI_IFNAME.
import type { Static } from '@sinclair/typebox';
import { parseCIDR, parseIP, type IP, type IPNet } from '../../pkg/ipaddr/index.js';
import { parseConfJSON, prevResultOf, validate } from '../../pkg/types/conf.js';
import { containerIPs } from '../../pkg/types/iface.js';
import type { Result } from '../../pkg/types/result.js';
import { SbrSchema } from './schema.js';

export interface SbrConf {
  raw: Static<typeof SbrSchema>;
  /** The fixed table: only rules are added, routes are left alone. */
  table?: number;
  prev?: Result;
}

/** One address of the interface: the rule's source and the prefix its routes are matched against. */
export interface IPCfg {
  address: IPNet;
  gateway?: IP;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Parses and checks stdin (code 7 with the key's path). */
export function loadSbrConf(stdin: Buffer): SbrConf {
  // validate drops JSON nulls: "table": null means no table, as for Go's *int
  const raw = validate(SbrSchema, parseConfJSON(stdin));
  return { raw, table: raw.table, prev: prevResultOf(raw) };
}

/**
 * What DEL needs, read leniently: the table when it is a valid number, and the
 * prevResult when it parses. DEL must not fail on what only ADD checks.
 */
export function loadSbrConfForDel(stdin: Buffer): SbrConf {
  try {
    return loadSbrConf(stdin);
  } catch {
    const parsed = parseConfJSON(stdin);
    const raw = (isObj(parsed) ? parsed : {}) as SbrConf['raw'];
    let table: number | undefined;
    let prev: Result | undefined;
    for (const [k, v] of Object.entries(raw)) {
      if (k.toLowerCase() === 'table' && Number.isInteger(v) && (v as number) > 0 && (v as number) < 2 ** 32) table = v as number;
    }
    try {
      prev = prevResultOf(raw);
    } catch {
      prev = undefined;
    }
    return { raw, table, prev };
  }
}

/**
 * The prevResult IPs of CNI_IFNAME: those naming no interface, an interface
 * called CNI_IFNAME, or an index out of range (kept, as the reference does).
 */
export function ipConfigs(prev: Result, ifName: string): IPCfg[] {
  const out: IPCfg[] = [];
  // by name only, in whichever sandbox, as the reference
  for (const ip of containerIPs(prev, { ifName, sandbox: false })) {
    const address = parseCIDR(ip.address);
    if (!address) continue;
    out.push({ address, gateway: ip.gateway ? parseIP(ip.gateway) : undefined });
  }
  return out;
}
