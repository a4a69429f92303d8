// ptp's configuration keys (§2.2).
// Schemas only: the build replaces this module by the JSON Schema it evaluates to
// (pkg/types/conf.ts checks configurations without TypeBox at run time).
import { Type } from '@sinclair/typebox';
import { NetConfFields } from '../../pkg/types/schema.js';

export const PtpConfSchema = Type.Object({
  ...NetConfFields,
  ipMasq: Type.Boolean({ default: false }),
  ipMasqBackend: Type.Optional(Type.Union([Type.Literal('iptables'), Type.Literal('nftables')])),
  mtu: Type.Integer({ default: 0, minimum: 0 }),
  debugPostIPAMError: Type.Optional(Type.Boolean()),
});
