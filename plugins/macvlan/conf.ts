// macvlan configuration: every key of the reference v1.9.1 (§2.3), validated
// once, with the MAC precedence `mac` < CNI_ARGS MAC < args.cni.mac < runtimeConfig.mac.
import { Type, type Static } from '@sinclair/typebox';
import { loadArgs } from '../../pkg/types/args.js';
import { loadConf, MACString, NetConfFields } from '../../pkg/types/conf.js';
import { invalidConfig } from '../../pkg/types/error.js';
import type { MacvlanMode } from '../../pkg/ip/sublink.js';

const MacField = Type.Optional(Type.Object({ mac: Type.Optional(MACString()) }));

export const MacvlanConfSchema = Type.Object({
  ...NetConfFields,
  master: Type.String({ default: '' }),
  // "" is the reference's spelling of the default
  mode: Type.Union([Type.Literal(''), Type.Literal('bridge'), Type.Literal('private'), Type.Literal('vepa'), Type.Literal('passthru')], { default: 'bridge' }),
  mtu: Type.Integer({ default: 0 }),
  mac: Type.Optional(MACString()),
  linkInContainer: Type.Boolean({ default: false }),
  bcqueuelen: Type.Integer({ default: 0, minimum: 0, maximum: 0xffffffff }),
  runtimeConfig: MacField,
  args: Type.Optional(Type.Object({ cni: MacField })),
  debugPostIPAMError: Type.Optional(Type.Boolean()),
});

export type MacvlanConf = Omit<Static<typeof MacvlanConfSchema>, 'mode'> & { mode: MacvlanMode };

/** Loads a macvlan configuration; `cniArgs` is CNI_ARGS. */
export function loadMacvlanConf(stdin: Buffer, cniArgs: string): MacvlanConf {
  const c = loadConf(MacvlanConfSchema, stdin);
  const envMAC = cniArgs ? loadArgs(cniArgs, ['MAC']).MAC : undefined;
  if (envMAC !== undefined && !/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(envMAC)) throw invalidConfig('CNI_ARGS.MAC', `"${envMAC}" is not a MAC address`);
  const mac = c.runtimeConfig?.mac ?? c.args?.cni?.mac ?? envMAC ?? c.mac;
  return { ...c, mode: c.mode || 'bridge', mac };
}
