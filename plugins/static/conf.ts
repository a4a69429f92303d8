// static configuration (reference v1.9.1, more-plugins §5): addresses from
// `ipam.addresses`, CNI_ARGS `IP`/`GATEWAY`, `args.cni.ips` and
// `runtimeConfig.ips`, merged in the order the reference code merges them.
import { contains, parseCIDR, parseIP, type IP, type IPNet } from '../../pkg/ipaddr/index.js';
import { loadArgs } from '../../pkg/types/args.js';
import { loadConf } from '../../pkg/types/conf.js';
import { CniError, ErrCode, invalidConfig } from '../../pkg/types/error.js';
import type { DNS, Route } from '../../pkg/types/result.js';
import { versionAtLeast } from '../../pkg/types/version.js';
import { StaticConfSchema } from './schema.js';

/** One address static hands out: host bits kept, as configured. */
export interface StaticAddress {
  net: IPNet;
  gateway?: IP;
}

/** Everything ADD and CHECK need, canonical. */
export interface StaticConf {
  cniVersion: string;
  addresses: StaticAddress[];
  routes?: Route[];
  dns?: DNS;
  /** The chained prevResult as given (CHECK reads it). */
  prevResult?: unknown;
}

const envError = (msg: string) => new CniError(ErrCode.InvalidEnvironmentVariables, msg);

/**
 * CNI_ARGS `IP` (comma list of CIDRs, appended) and `GATEWAY` (comma list of
 * IPs). As in the reference, GATEWAY applies only to the addresses CNI_ARGS
 * `IP` brings: the configured ones are parsed after this step there, so none
 * of them ever contains a GATEWAY address.
 */
function fromCniArgs(cniArgs: string): StaticAddress[] {
  const env = loadArgs(cniArgs, ['IP', 'GATEWAY']);
  const added = (env.IP ? env.IP.split(',') : []).map((item): StaticAddress => {
    const net = parseCIDR(item.trim());
    if (!net) throw envError(`CNI_ARGS IP: ${JSON.stringify(item.trim())} is not a CIDR (an address with its prefix length)`);
    return { net };
  });
  for (const item of env.GATEWAY ? env.GATEWAY.split(',') : []) {
    const gw = parseIP(item.trim());
    if (!gw) throw envError(`CNI_ARGS GATEWAY: ${JSON.stringify(item)} is not an IP address`);
    for (const a of added) if (contains(a.net, gw)) a.gateway = gw;
  }
  return added;
}

/** Loads and validates static's configuration; `cniArgs` is CNI_ARGS. */
export function loadStaticConf(stdin: Buffer | string, cniArgs: string): StaticConf {
  const conf = loadConf(StaticConfSchema, stdin);
  const ipam = conf.ipam;
  if (!ipam) throw invalidConfig('ipam', "IPAM config missing 'ipam' key");
  let source = 'ipam.addresses';
  let addresses: StaticAddress[] = (ipam.addresses ?? []).map((a) => ({ net: parseCIDR(a.address)!, gateway: a.gateway ? parseIP(a.gateway) : undefined }));
  addresses.push(...fromCniArgs(cniArgs));
  // a non-empty list replaces everything before it: args.cni.ips, then runtimeConfig.ips (gateways are lost)
  for (const [path, ips] of [['args.cni.ips', conf.args?.cni?.ips], ['runtimeConfig.ips', conf.runtimeConfig?.ips]] as const) {
    if (!ips?.length) continue;
    source = path;
    addresses = ips.map((s) => ({ net: parseCIDR(s)! }));
  }
  const cniVersion = conf.cniVersion ?? '';
  if (!versionAtLeast(cniVersion, '0.3.0')) {
    for (const fam of [4, 6]) {
      if (addresses.filter((a) => a.net.ip.family === fam).length > 1) {
        throw invalidConfig(source, `CNI version ${cniVersion} does not support more than 1 address per family`);
      }
    }
  }
  return { cniVersion, addresses, routes: ipam.routes, dns: ipam.dns, prevResult: conf.prevResult };
}
