// tap configuration (more-plugins.md §3.1), validated once, with the MAC
// precedence `mac` < CNI_ARGS MAC < runtimeConfig.mac.
import type { Static } from '@sinclair/typebox';
import { parseMAC } from '../../pkg/ip/link.js';
import { loadArgs } from '../../pkg/types/args.js';
import { loadConf } from '../../pkg/types/conf.js';
import { invalidConfig } from '../../pkg/types/error.js';
import { TapConfSchema } from './schema.js';

const MAX_ID = 0xfffffffe;

export type TapConf = Omit<Static<typeof TapConfSchema>, 'owner' | 'group'> & {
  /** uid and gid; undefined when unset (JSON null too). */
  owner?: number;
  group?: number;
  /** Where the MAC came from, for errors. */
  macKey: string;
};

/**
 * Loads a tap configuration; `cniArgs` is CNI_ARGS. DEL (`forDel`) reads only
 * what finds the link and the IPAM plugin: CNI_ARGS are not parsed there, so a
 * runtime's unknown args never block teardown.
 */
export function loadTapConf(stdin: Buffer, cniArgs: string, forDel = false): TapConf {
  const c = loadConf(TapConfSchema, stdin, { lenient: forDel });
  if (forDel) return { ...c, owner: c.owner ?? undefined, group: c.group ?? undefined, macKey: 'mac' };
  if (c.mtu < 0) throw invalidConfig('mtu', `${c.mtu} must be at least 0`);
  for (const key of ['owner', 'group'] as const) {
    const id = c[key];
    // 4294967295 is (uid_t)-1: "no owner" to the kernel, which refuses it
    if (id !== null && id !== undefined && (id < 0 || id > MAX_ID)) throw invalidConfig(key, `${id} is not a valid ${key === 'owner' ? 'uid' : 'gid'} (0..${MAX_ID})`);
  }
  const envMAC = cniArgs ? loadArgs(cniArgs, ['MAC']).MAC || undefined : undefined;
  if (envMAC !== undefined && !parseMAC(envMAC)) throw invalidConfig('CNI_ARGS.MAC', `"${envMAC}" is not a MAC address`);
  const [mac, macKey] = c.runtimeConfig?.mac ? [c.runtimeConfig.mac, 'runtimeConfig.mac'] : envMAC ? [envMAC, 'CNI_ARGS.MAC'] : [c.mac, 'mac'];
  return { ...c, mac: mac?.toLowerCase().replace(/-/g, ':'), macKey, owner: c.owner ?? undefined, group: c.group ?? undefined };
}
