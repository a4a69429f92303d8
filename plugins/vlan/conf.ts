// vlan configuration (§2.5): master and IPAM are required, vlanId 0..4094.
import { Type, type Static } from '@sinclair/typebox';
import { loadConf, NetConfFields } from '../../pkg/types/conf.js';
import { invalidConfig } from '../../pkg/types/error.js';

export const VlanConfSchema = Type.Object({
  ...NetConfFields,
  master: Type.String(),
  vlanId: Type.Integer({ default: 0, minimum: 0, maximum: 4094 }),
  mtu: Type.Integer({ default: 0 }),
  linkInContainer: Type.Boolean({ default: false }),
  debugPostIPAMError: Type.Optional(Type.Boolean()),
});
export type VlanConf = Static<typeof VlanConfSchema>;

/**
 * Loads a vlan configuration. DEL (`forDel`) asks for nothing beyond valid
 * JSON types: it must work whatever is left of the network.
 */
export function loadVlanConf(stdin: Buffer, forDel = false): VlanConf {
  const c = loadConf(VlanConfSchema, stdin);
  if (forDel) return c;
  if (!c.master) throw invalidConfig('master', 'is required: it names the host interface to create the VLAN on');
  if (!c.ipam?.type) throw invalidConfig('ipam.type', 'is required: vlan needs an IPAM plugin');
  return c;
}
