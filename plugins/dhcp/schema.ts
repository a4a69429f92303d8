// dhcp IPAM's configuration keys (reference §2.8). Schemas only: the build
// replaces this module by the JSON Schema it evaluates to.
import { Type } from '@sinclair/typebox';
import { NetConfFields } from '../../pkg/types/schema.js';

const RequestSchema = Type.Object({
  skipDefault: Type.Optional(Type.Boolean()),
  option: Type.Optional(Type.String()),
});

const ProvideSchema = Type.Object({
  option: Type.String(),
  value: Type.Optional(Type.String()),
  fromArg: Type.Optional(Type.String()),
});

export const DHCPConfSchema = Type.Object({
  ...NetConfFields,
  ipam: Type.Object({
    type: Type.Optional(Type.String()),
    daemonSocketPath: Type.Optional(Type.String()),
    request: Type.Optional(Type.Array(RequestSchema)),
    provide: Type.Optional(Type.Array(ProvideSchema)),
    // a route metric: the kernel's is a u32 (the reference takes any Go int)
    priority: Type.Optional(Type.Integer({ minimum: 0, maximum: 0xffffffff })),
  }),
});
