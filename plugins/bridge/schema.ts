// bridge's configuration keys (reference v1.9.1, §2.1).
// Schemas only: the build replaces this module by the JSON Schema it evaluates to
// (pkg/types/conf.ts checks configurations without TypeBox at run time).
import { Type, type Static } from '@sinclair/typebox';
import { NetConfFields } from '../../pkg/types/schema.js';
import { MACString } from '../../pkg/types/typebox.js';

const VlanTrunkSchema = Type.Object({
  minID: Type.Optional(Type.Integer()),
  maxID: Type.Optional(Type.Integer()),
  id: Type.Optional(Type.Integer()),
});

export const BridgeConfSchema = Type.Object({
  ...NetConfFields,
  bridge: Type.String({ default: 'cni0' }),
  isGateway: Type.Boolean({ default: false }),
  isDefaultGateway: Type.Boolean({ default: false }),
  forceAddress: Type.Boolean({ default: false }),
  ipMasq: Type.Boolean({ default: false }),
  ipMasqBackend: Type.Optional(Type.Union([Type.Literal('iptables'), Type.Literal('nftables')])),
  mtu: Type.Integer({ default: 0, minimum: 0 }),
  hairpinMode: Type.Boolean({ default: false }),
  promiscMode: Type.Boolean({ default: false }),
  vlan: Type.Integer({ default: 0 }),
  vlanTrunk: Type.Optional(Type.Array(VlanTrunkSchema)),
  preserveDefaultVlan: Type.Boolean({ default: false }),
  enabledad: Type.Boolean({ default: false }),
  macspoofchk: Type.Boolean({ default: false }),
  disableContainerInterface: Type.Boolean({ default: false }),
  portIsolation: Type.Boolean({ default: false }),
  runtimeConfig: Type.Optional(Type.Object({ mac: Type.Optional(MACString()) })),
  args: Type.Optional(Type.Object({ cni: Type.Optional(Type.Object({ mac: Type.Optional(MACString()) })) })),
  debugPostIPAMError: Type.Optional(Type.Boolean()),
});
export type VlanTrunk = Static<typeof VlanTrunkSchema>;
