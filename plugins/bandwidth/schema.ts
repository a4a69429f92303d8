// bandwidth's configuration keys (more-plugins.md §6.1): rates in bits per
// second, bursts in bits, top level or from the `bandwidth` capability.
// Schemas only: the build replaces this module by the JSON Schema it evaluates to
// (pkg/types/conf.ts checks configurations without TypeBox at run time).
import { Type } from '@sinclair/typebox';
import { NetConfFields } from '../../pkg/types/schema.js';

const Limits = {
  ingressRate: Type.Optional(Type.Integer({ minimum: 0 })),
  ingressBurst: Type.Optional(Type.Integer({ minimum: 0 })),
  egressRate: Type.Optional(Type.Integer({ minimum: 0 })),
  egressBurst: Type.Optional(Type.Integer({ minimum: 0 })),
};

export const BandwidthEntrySchema = Type.Object(Limits);

export const BandwidthSchema = Type.Object({
  ...NetConfFields,
  ...Limits,
  runtimeConfig: Type.Optional(Type.Object({ bandwidth: Type.Optional(BandwidthEntrySchema) })),
});
