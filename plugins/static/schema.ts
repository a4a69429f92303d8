// static's configuration keys (reference v1.9.1, more-plugins §5).
// Schemas only: the build replaces this module by the JSON Schema it evaluates to
// (pkg/types/conf.ts checks configurations without TypeBox at run time).
import { Type } from '@sinclair/typebox';
import { DNSSchema, NetConfFields, RouteSchema } from '../../pkg/types/schema.js';
import { CIDRString, IPString } from '../../pkg/types/typebox.js';

const IPsField = Type.Optional(Type.Object({ ips: Type.Optional(Type.Array(CIDRString())) }));

export const StaticIPAMSchema = Type.Object({
  type: Type.Optional(Type.String()),
  addresses: Type.Optional(Type.Array(Type.Object({ address: CIDRString(), gateway: Type.Optional(IPString()) }))),
  routes: Type.Optional(Type.Array(RouteSchema)),
  dns: Type.Optional(DNSSchema),
});

export const StaticConfSchema = Type.Object({
  ...NetConfFields,
  ipam: Type.Optional(StaticIPAMSchema),
  runtimeConfig: IPsField,
  args: Type.Optional(Type.Object({ cni: IPsField })),
});
