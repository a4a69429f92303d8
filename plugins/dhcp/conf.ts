// dhcp IPAM configuration (reference §2.8): `ipam.daemonSocketPath`, `request`,
// `provide`, `priority`. Read by the plugin (code 7/4 before any RPC) and by the
// daemon for every Allocate (a reference plugin may send it anything).
import type { Static } from '@sinclair/typebox';
import { OptionError, prepareOptions } from '../../pkg/dhcp/options.js';
import { loadConf } from '../../pkg/types/conf.js';
import { CniError, ErrCode, invalidConfig } from '../../pkg/types/error.js';
import { DHCPConfSchema } from './schema.js';

export const DEFAULT_SOCKET_PATH = '/run/cni/dhcp.sock';

/**
 * Set by our plugin's CHECK in the configuration it forwards to DHCP.Allocate:
 * our daemon then answers from an existing lease and never acquires one. A
 * reference daemon ignores the key (and, as the reference does, allocates).
 */
export const CHECK_MARKER = 'cni-ts.dev/dhcp-check-only';

export type DHCPConf = Static<typeof DHCPConfSchema>;

export interface LoadedConf {
  conf: DHCPConf;
  socketPath: string;
  /** The options every client message carries (provide values, Parameter Request List). */
  options: Map<number, Buffer>;
  /** True when our plugin's CHECK sent this (see CHECK_MARKER). */
  checkOnly: boolean;
}

/**
 * Validates a dhcp configuration and its options; `cniArgs` feeds `fromArg`.
 * Code 7 names the JSON path; a CNI_ARGS value too long for an option is code 4.
 * `options: false` (DEL) drops bad values instead of failing and reads no option names or values.
 */
export function loadDHCPConf(stdin: Buffer | string, cniArgs: string, opts: { options?: boolean } = {}): LoadedConf {
  const conf = loadConf(DHCPConfSchema, stdin, { lenient: opts.options === false });
  let options = new Map<number, Buffer>();
  try {
    // DEL skips them: a lease must be releasable whatever its options say (the reference reads none on DEL)
    if (opts.options !== false) options = prepareOptions(cniArgs, conf.ipam.provide, conf.ipam.request);
  } catch (e) {
    if (!(e instanceof OptionError)) throw e;
    throw e.fromArgs ? new CniError(ErrCode.InvalidEnvironmentVariables, e.message) : invalidConfig(e.path, e.reason);
  }
  const checkOnly = (conf as Record<string, unknown>)[CHECK_MARKER] === true;
  return { conf, socketPath: conf.ipam?.daemonSocketPath || DEFAULT_SOCKET_PATH, options, checkOnly };
}
