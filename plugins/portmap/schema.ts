// portmap's configuration keys (§2.10).
// Schemas only: the build replaces this module by the JSON Schema it evaluates to
// (pkg/types/conf.ts checks configurations without TypeBox at run time).
import { Type } from '@sinclair/typebox';
import { NetConfFields } from '../../pkg/types/schema.js';

const MappingSchema = Type.Object({
  hostPort: Type.Integer(),
  containerPort: Type.Integer(),
  protocol: Type.Optional(Type.String()),
  hostIP: Type.Optional(Type.String()),
});

export const PortmapSchema = Type.Object({
  ...NetConfFields,
  snat: Type.Optional(Type.Boolean()),
  masqAll: Type.Optional(Type.Boolean()),
  markMasqBit: Type.Optional(Type.Integer({ minimum: 0, maximum: 31 })),
  externalSetMarkChain: Type.Optional(Type.String()),
  conditionsV4: Type.Optional(Type.Array(Type.String())),
  conditionsV6: Type.Optional(Type.Array(Type.String())),
  backend: Type.Optional(Type.Union([Type.Literal('iptables'), Type.Literal('nftables')])),
  runtimeConfig: Type.Optional(Type.Object({ portMappings: Type.Optional(Type.Array(MappingSchema)) })),
});
