// ptp configuration (§2.2): IPAM is required.
import { Type, type Static } from '@sinclair/typebox';
import { loadConf, NetConfFields } from '../../pkg/types/conf.js';
import { invalidConfig } from '../../pkg/types/error.js';

export const PtpConfSchema = Type.Object({
  ...NetConfFields,
  ipMasq: Type.Boolean({ default: false }),
  ipMasqBackend: Type.Optional(Type.Union([Type.Literal('iptables'), Type.Literal('nftables')])),
  mtu: Type.Integer({ default: 0, minimum: 0 }),
  debugPostIPAMError: Type.Optional(Type.Boolean()),
});
export type PtpConf = Static<typeof PtpConfSchema>;

/** Loads and checks a ptp configuration. */
export function loadPtpConf(stdin: Buffer): PtpConf {
  const c = loadConf(PtpConfSchema, stdin);
  if (!c.ipam?.type) throw invalidConfig('ipam.type', 'is required: ptp needs an IPAM plugin');
  return c;
}
