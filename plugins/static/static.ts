// static: hands out the addresses, routes and DNS of its configuration (and of
// CNI_ARGS, args, runtimeConfig). No state, no kernel: DEL has nothing to undo.
import { formatCIDR, formatIP, ipEqual, parseCIDR, parseIP } from '../../pkg/ipaddr/index.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import { prevResultOf } from '../../pkg/types/conf.js';
import { CniError, ErrCode } from '../../pkg/types/error.js';
import type { Result, Route } from '../../pkg/types/result.js';
import { loadStaticConf } from './conf.js';

/** Routes as Go prints them after a round trip through net.IP (`2001:db8::0001` → `2001:db8::1`). */
function canonicalRoute(r: Route): Route {
  const out: Route = { ...r, dst: formatCIDR(parseCIDR(r.dst)!) };
  if (r.gw) out.gw = formatIP(parseIP(r.gw)!);
  return out;
}

export async function add(args: CmdArgs): Promise<Result> {
  const conf = loadStaticConf(args.stdinData, args.args);
  const result: Result = { cniVersion: '1.1.0' };
  if (conf.addresses.length) {
    result.ips = conf.addresses.map((a) => (a.gateway ? { address: formatCIDR(a.net), gateway: formatIP(a.gateway) } : { address: formatCIDR(a.net) }));
  }
  if (conf.routes?.length) result.routes = conf.routes.map(canonicalRoute);
  if (conf.dns) result.dns = conf.dns;
  return result;
}

/** Nothing to release: static keeps no state (the reference does not even read the configuration). */
export async function del(): Promise<void> {}

/**
 * Every configured address must be in the prevResult, with the configured
 * gateway when one is set. The reference passes a configured address that is
 * missing from the prevResult; we report it.
 */
export async function check(args: CmdArgs): Promise<void> {
  const conf = loadStaticConf(args.stdinData, args.args);
  const prev = prevResultOf(conf);
  if (!prev) throw new CniError(ErrCode.InvalidNetworkConfig, 'Required prevResult missing');
  for (const want of conf.addresses) {
    const ip = formatIP(want.net.ip);
    const got = (prev.ips ?? []).find((c) => ipEqual(parseCIDR(c.address)!.ip, want.net.ip));
    if (!got) throw new Error(`static: address ${ip} is not in the prevResult of interface ${args.ifName}`);
    if (want.gateway && !(got.gateway && ipEqual(parseIP(got.gateway)!, want.gateway))) {
      throw new Error(`static: Failed to match addr ${ip} on interface ${args.ifName}`);
    }
  }
}
