// vlan configuration (§2.5): master and IPAM are required, vlanId 0..4094.
import type { Static } from '@sinclair/typebox';
import { loadConf } from '../../pkg/types/conf.js';
import { invalidConfig } from '../../pkg/types/error.js';
import { VlanConfSchema } from './schema.js';

export type VlanConf = Static<typeof VlanConfSchema>;

/**
 * Loads a vlan configuration. DEL (`forDel`) asks for nothing and drops bad
 * values: it must work whatever is left of the network.
 */
export function loadVlanConf(stdin: Buffer, forDel = false): VlanConf {
  if (forDel) return loadConf(VlanConfSchema, stdin, { lenient: true });
  const c = loadConf(VlanConfSchema, stdin);
  if (!c.master) throw invalidConfig('master', 'is required: it names the host interface to create the VLAN on');
  if (!c.ipam?.type) throw invalidConfig('ipam.type', 'is required: vlan needs an IPAM plugin');
  return c;
}
