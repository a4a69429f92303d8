// tuning's configuration keys (reference §2.9).
// Schemas only: the build replaces this module by the JSON Schema it evaluates to
// (pkg/types/conf.ts checks configurations without TypeBox at run time).
import { Type } from '@sinclair/typebox';
import { NetConfFields } from '../../pkg/types/schema.js';
import { MACString } from '../../pkg/types/typebox.js';

const Settings = {
  sysctl: Type.Optional(Type.Record(Type.String(), Type.String())),
  mac: Type.Optional(MACString()),
  promisc: Type.Optional(Type.Boolean()),
  mtu: Type.Optional(Type.Integer({ minimum: 0 })),
  allmulti: Type.Optional(Type.Boolean()),
  txQLen: Type.Optional(Type.Integer({ minimum: 0 })),
};

export const TuningSchema = Type.Object({
  ...NetConfFields,
  ...Settings,
  dataDir: Type.Optional(Type.String()),
  runtimeConfig: Type.Optional(Type.Object({ mac: Type.Optional(MACString()) })),
  args: Type.Optional(Type.Object({ cni: Type.Optional(Type.Object(Settings)) })),
});

/** CNI_ARGS as tuning reads it: MAC must be a MAC address. */
export const TuningArgsSchema = Type.Object({ MAC: MACString() });
