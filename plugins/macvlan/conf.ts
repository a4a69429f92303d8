// macvlan configuration: every key of the reference v1.9.1 (§2.3), validated
// once, with the MAC precedence `mac` < CNI_ARGS MAC < args.cni.mac < runtimeConfig.mac.
import type { Static } from '@sinclair/typebox';
import { loadArgs } from '../../pkg/types/args.js';
import { loadConf } from '../../pkg/types/conf.js';
import { invalidConfig } from '../../pkg/types/error.js';
import { MacvlanConfSchema } from './schema.js';
import type { MacvlanMode } from '../../pkg/ip/sublink.js';


export type MacvlanConf = Omit<Static<typeof MacvlanConfSchema>, 'mode'> & { mode: MacvlanMode };

/** DEL's reading: the IPAM type is all it needs; bad values are dropped and CNI_ARGS is not read. */
export function loadMacvlanDelConf(stdin: Buffer): MacvlanConf {
  const c = loadConf(MacvlanConfSchema, stdin, { lenient: true });
  return { ...c, mode: c.mode || 'bridge' };
}

/** Loads a macvlan configuration; `cniArgs` is CNI_ARGS. */
export function loadMacvlanConf(stdin: Buffer, cniArgs: string): MacvlanConf {
  const c = loadConf(MacvlanConfSchema, stdin);
  const envMAC = cniArgs ? loadArgs(cniArgs, ['MAC']).MAC : undefined;
  if (envMAC !== undefined && !/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(envMAC)) throw invalidConfig('CNI_ARGS.MAC', `"${envMAC}" is not a MAC address`);
  const mac = c.runtimeConfig?.mac ?? c.args?.cni?.mac ?? envMAC ?? c.mac;
  return { ...c, mode: c.mode || 'bridge', mac };
}
