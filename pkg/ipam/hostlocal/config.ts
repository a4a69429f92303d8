// host-local configuration (reference §2.7): the `ipam` object, the legacy
// single-range shorthand, `runtimeConfig.ipRanges` / `ips`, `args.cni.ips` and
// CNI_ARGS `IP=`. Validated once; every error is code 7 naming the JSON path.
import type { Static } from '@sinclair/typebox';
import { ipToBigInt, lastOf, networkOf, parseCIDR, parseIP, formatIP, type IP } from '../../ipaddr/index.js';
import { loadArgs } from '../../types/args.js';
import { loadConf } from '../../types/conf.js';
import { CniError, ErrCode, invalidConfig } from '../../types/error.js';
import type { Route } from '../../types/result.js';
import { versionAtLeast } from '../../types/version.js';
import { HostLocalConfSchema, type RawRange } from './schema.js';
import { ipString, rangesOverlap, rangeString, type Range, type RangeSet } from './range.js';

export const DEFAULT_DATA_DIR = '/var/lib/cni/networks';


/** Everything an ADD/DEL/CHECK/GC/STATUS needs, canonical. */
export interface HostLocalConf {
  name: string;
  cniVersion: string;
  dataDir: string;
  resolvConf?: string;
  routes?: Route[];
  ranges: RangeSet[];
  /** Requested addresses, in the order given (args.cni.ips, runtimeConfig.ips, else CNI_ARGS IP). */
  requested: IP[];
  /** The configuration as parsed (keys folded), for GC's attachment list. */
  raw: Static<typeof HostLocalConfSchema> & Record<string, unknown>;
}

/** Parses `ip` or `ip/prefix` (the prefix of a requested address is ignored, as in the reference). */
function parseRequested(s: string, path: string, code: number = ErrCode.InvalidNetworkConfig): IP {
  const ip = s.includes('/') ? parseCIDR(s)?.ip : parseIP(s);
  if (!ip) throw new CniError(code, `${path}: ${JSON.stringify(s)} is not an IP address`);
  return ip;
}

function canonicalRange(raw: RawRange, path: string): Range {
  const net = parseCIDR(raw.subnet)!;
  const family = net.ip.family;
  const bits = family === 4 ? 32 : 128;
  if (net.prefix > bits - 2) throw invalidConfig(`${path}.subnet`, `network ${raw.subnet} is too small to allocate from`);
  const network = ipToBigInt(networkOf(net));
  if (ipToBigInt(net.ip) !== network) {
    throw invalidConfig(`${path}.subnet`, `network ${raw.subnet} has host bits set (the network address is ${formatIP(networkOf(net))}/${net.prefix})`);
  }
  const last = ipToBigInt(lastOf(net));
  const subnet = `${formatIP(networkOf(net))}/${net.prefix}`;
  const addr = (key: 'rangeStart' | 'rangeEnd' | 'gateway'): bigint | undefined => {
    const v = raw[key];
    if (v === undefined) return undefined;
    const ip = parseIP(v)!;
    if (ip.family !== family) throw invalidConfig(`${path}.${key}`, `${v} is not an IPv${family} address like its subnet ${subnet}`);
    const n = ipToBigInt(ip);
    if (key !== 'gateway' && (n < network || n > last)) throw invalidConfig(`${path}.${key}`, `${v} is not in network ${subnet}`);
    return n;
  };
  const start = addr('rangeStart') ?? network + 1n;
  // IPv4 keeps the broadcast address out by default; IPv6 has none.
  const end = addr('rangeEnd') ?? (family === 4 ? last - 1n : last);
  if (end < start) throw invalidConfig(`${path}.rangeEnd`, `${ipString(family, end)} is before rangeStart ${ipString(family, start)}`);
  const gateway = addr('gateway') ?? network + 1n;
  return { family, prefix: net.prefix, network, last, start, end, gateway, subnet };
}

interface SourcedSet {
  path: string;
  raw: RawRange[];
}

function canonicalSets(sources: SourcedSet[]): RangeSet[] {
  const sets: RangeSet[] = [];
  sources.forEach(({ path, raw }, i) => {
    if (raw.length === 0) throw invalidConfig(path, 'empty range set');
    const set = raw.map((r, j) => canonicalRange(r, `${path}[${j}]`));
    set.forEach((r, j) => {
      if (r.family !== set[0].family) throw invalidConfig(`${path}[${j}].subnet`, `mixed address families in one range set (${r.subnet} and ${set[0].subnet})`);
      for (let k = 0; k < j; k++) {
        if (rangesOverlap(set[k], r)) throw invalidConfig(`${path}[${j}]`, `range ${rangeString(r)} overlaps with range ${rangeString(set[k])} of the same set`);
      }
    });
    for (let k = 0; k < i; k++) {
      if (sets[k].some((a) => set.some((b) => rangesOverlap(a, b)))) throw invalidConfig(path, `range set overlaps with ${sources[k].path}`);
    }
    sets.push(set);
  });
  return sets;
}

/**
 * DEL's reading: releasing goes by network name, container ID and ifname in
 * dataDir, so no range, route or requested address is checked (the reference
 * refuses a config without a valid range here), and CNI_ARGS is not read.
 */
export function loadHostLocalDelConf(stdin: Buffer | string): { name: string; dataDir: string } {
  const conf = loadConf(HostLocalConfSchema, stdin, { lenient: true });
  return { name: conf.name, dataDir: conf.ipam?.dataDir || DEFAULT_DATA_DIR };
}

/**
 * Loads and validates the host-local configuration from stdin and CNI_ARGS.
 * Range sets are ordered runtimeConfig.ipRanges, legacy top-level range, ranges.
 */
export function loadHostLocalConf(stdin: Buffer | string, cniArgs: string): HostLocalConf {
  const conf = loadConf(HostLocalConfSchema, stdin) as HostLocalConf['raw'];
  const ipam = conf.ipam;
  if (!ipam) throw invalidConfig('ipam', "IPAM config missing 'ipam' key");
  const sources: SourcedSet[] = [];
  (conf.runtimeConfig?.ipRanges ?? []).forEach((raw, i) => sources.push({ path: `runtimeConfig.ipRanges[${i}]`, raw }));
  if (ipam.subnet !== undefined) {
    sources.push({ path: 'ipam', raw: [{ subnet: ipam.subnet, rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd, gateway: ipam.gateway }] });
  }
  (ipam.ranges ?? []).forEach((raw, i) => sources.push({ path: `ipam.ranges[${i}]`, raw }));
  if (sources.length === 0) throw invalidConfig('ipam.ranges', 'no IP ranges specified');
  // The legacy shorthand reports its errors at `ipam.subnet`, not `ipam[0].subnet`.
  let ranges: RangeSet[];
  try {
    ranges = canonicalSets(sources);
  } catch (e) {
    if (e instanceof CniError) throw new CniError(e.code, e.message.replace(/^ipam\[0\]/, 'ipam'), e.details);
    throw e;
  }
  const cniVersion = conf.cniVersion || '0.1.0';
  if (!versionAtLeast(cniVersion, '0.3.0')) {
    for (const fam of [4, 6]) {
      if (ranges.filter((s) => s[0].family === fam).length > 1) {
        throw invalidConfig('ipam.ranges', `CNI version ${cniVersion} does not support more than 1 address per family`);
      }
    }
  }
  // CONVENTIONS.md: a runtime that sends `args` means CNI_ARGS to be ignored for the same information.
  const requested: IP[] = [];
  (conf.args?.cni?.ips ?? []).forEach((s, i) => requested.push(parseRequested(s, `args.cni.ips[${i}]`)));
  (conf.runtimeConfig?.ips ?? []).forEach((s, i) => requested.push(parseRequested(s, `runtimeConfig.ips[${i}]`)));
  const envIP = loadArgs(cniArgs, ['IP']).IP;
  if (envIP && !conf.args?.cni?.ips?.length) requested.push(parseRequested(envIP, 'CNI_ARGS IP', ErrCode.InvalidEnvironmentVariables));
  return {
    name: conf.name,
    cniVersion,
    dataDir: ipam.dataDir || DEFAULT_DATA_DIR,
    resolvConf: ipam.resolvConf || undefined,
    routes: ipam.routes,
    ranges,
    requested: dedupe(requested),
    raw: conf,
  };
}

function dedupe(ips: IP[]): IP[] {
  const seen = new Set<string>();
  return ips.filter((ip) => {
    const k = formatIP(ip);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
