// tap's configuration keys (reference v1.9.1, more-plugins.md §3.1).
// Schemas only: the build replaces this module by the JSON Schema it evaluates to
// (pkg/types/conf.ts checks configurations without TypeBox at run time).
import { Type } from '@sinclair/typebox';
import { NetConfFields } from '../../pkg/types/schema.js';
import { MACString } from '../../pkg/types/typebox.js';

/** A uid or gid: Go's *uint32, where null means unset and 0 is root (its range is checked by ADD, not by DEL). */
const Id = Type.Optional(Type.Union([Type.Integer(), Type.Null()]));

export const TapConfSchema = Type.Object({
  ...NetConfFields,
  mac: Type.Optional(MACString()),
  mtu: Type.Integer({ default: 0 }),
  multiQueue: Type.Boolean({ default: false }),
  owner: Id,
  group: Id,
  selinuxContext: Type.String({ default: '' }),
  bridge: Type.String({ default: '' }),
  runtimeConfig: Type.Optional(Type.Object({ mac: Type.Optional(MACString()) })),
  debugPostIPAMError: Type.Optional(Type.Boolean()),
});
