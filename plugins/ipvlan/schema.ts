// ipvlan's configuration keys (§2.4).
// Schemas only: the build replaces this module by the JSON Schema it evaluates to
// (pkg/types/conf.ts checks configurations without TypeBox at run time).
import { Type } from '@sinclair/typebox';
import { NetConfFields } from '../../pkg/types/schema.js';

export const IpvlanConfSchema = Type.Object({
  ...NetConfFields,
  master: Type.String({ default: '' }),
  // "" is the reference's spelling of the default
  mode: Type.Union([Type.Literal(''), Type.Literal('l2'), Type.Literal('l3'), Type.Literal('l3s')], { default: 'l2' }),
  mtu: Type.Integer({ default: 0, minimum: 0 }),
  linkInContainer: Type.Boolean({ default: false }),
  debugPostIPAMError: Type.Optional(Type.Boolean()),
});
