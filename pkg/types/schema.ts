// The configuration keys every plugin shares (SPEC.md §1), as TypeBox schemas.
// Like every `schema.ts`, this module holds schemas only: build.ts replaces it
// in the bundles by the JSON Schema literals it evaluates to (see README
// "Configuration schemas"), which pkg/types/conf.ts checks without TypeBox.
import { Type, type Static } from '@sinclair/typebox';
import { CIDRString, IPString } from './typebox.js';

export const DNSSchema = Type.Object({
  nameservers: Type.Optional(Type.Array(Type.String())),
  domain: Type.Optional(Type.String()),
  search: Type.Optional(Type.Array(Type.String())),
  options: Type.Optional(Type.Array(Type.String())),
});
export type DNSConf = Static<typeof DNSSchema>;

export const RouteSchema = Type.Object({
  dst: CIDRString(),
  gw: Type.Optional(IPString()),
  mtu: Type.Optional(Type.Integer()),
  advmss: Type.Optional(Type.Integer()),
  priority: Type.Optional(Type.Integer()),
  table: Type.Optional(Type.Integer()),
  scope: Type.Optional(Type.Integer()),
});

/** The keys every plugin configuration may carry (SPEC.md §1). */
export const NetConfFields = {
  cniVersion: Type.Optional(Type.String()),
  name: Type.String(),
  type: Type.Optional(Type.String()),
  capabilities: Type.Optional(Type.Record(Type.String(), Type.Boolean())),
  ipam: Type.Optional(Type.Object({ type: Type.Optional(Type.String()) })),
  dns: Type.Optional(DNSSchema),
  runtimeConfig: Type.Optional(Type.Object({})),
  args: Type.Optional(Type.Object({})),
  prevResult: Type.Optional(Type.Unknown()),
};
export const NetConfSchema = Type.Object(NetConfFields);
export type NetConf = Static<typeof NetConfSchema>;
