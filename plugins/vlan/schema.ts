// vlan's configuration keys (§2.5).
// Schemas only: the build replaces this module by the JSON Schema it evaluates to
// (pkg/types/conf.ts checks configurations without TypeBox at run time).
import { Type } from '@sinclair/typebox';
import { NetConfFields } from '../../pkg/types/schema.js';

export const VlanConfSchema = Type.Object({
  ...NetConfFields,
  master: Type.String(),
  vlanId: Type.Integer({ default: 0, minimum: 0, maximum: 4094 }),
  mtu: Type.Integer({ default: 0 }),
  linkInContainer: Type.Boolean({ default: false }),
  debugPostIPAMError: Type.Optional(Type.Boolean()),
});
