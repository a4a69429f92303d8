// macvlan's configuration keys (reference v1.9.1, §2.3).
// Schemas only: the build replaces this module by the JSON Schema it evaluates to
// (pkg/types/conf.ts checks configurations without TypeBox at run time).
import { Type } from '@sinclair/typebox';
import { NetConfFields } from '../../pkg/types/schema.js';
import { MACString } from '../../pkg/types/typebox.js';

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
