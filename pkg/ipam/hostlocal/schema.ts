// host-local's configuration keys (reference §2.7).
// Schemas only: the build replaces this module by the JSON Schema it evaluates to
// (pkg/types/conf.ts checks configurations without TypeBox at run time).
import { Type, type Static } from '@sinclair/typebox';
import { NetConfFields, RouteSchema } from '../../types/schema.js';
import { CIDRString, IPString } from '../../types/typebox.js';

const RangeFields = {
  subnet: CIDRString(),
  rangeStart: Type.Optional(IPString()),
  rangeEnd: Type.Optional(IPString()),
  gateway: Type.Optional(IPString()),
};
const RangeSchema = Type.Object(RangeFields);
const RangeSetsSchema = Type.Array(Type.Array(RangeSchema));

export const HostLocalIPAMSchema = Type.Object({
  type: Type.Optional(Type.String()),
  subnet: Type.Optional(CIDRString()),
  rangeStart: Type.Optional(IPString()),
  rangeEnd: Type.Optional(IPString()),
  gateway: Type.Optional(IPString()),
  ranges: Type.Optional(RangeSetsSchema),
  routes: Type.Optional(Type.Array(RouteSchema)),
  dataDir: Type.Optional(Type.String()),
  resolvConf: Type.Optional(Type.String()),
});

export const HostLocalConfSchema = Type.Object({
  ...NetConfFields,
  ipam: Type.Optional(HostLocalIPAMSchema),
  runtimeConfig: Type.Optional(Type.Object({ ipRanges: Type.Optional(RangeSetsSchema), ips: Type.Optional(Type.Array(Type.String())) })),
  args: Type.Optional(Type.Object({ cni: Type.Optional(Type.Object({ ips: Type.Optional(Type.Array(Type.String())) })) })),
});

export type RawRange = Static<typeof RangeSchema>;
