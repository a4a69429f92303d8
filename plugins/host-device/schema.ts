// host-device's configuration keys (reference v1.9.1, more-plugins.md §1.1).
// Schemas only: the build replaces this module by the JSON Schema it evaluates to
// (pkg/types/conf.ts checks configurations without TypeBox at run time).
import { Type } from '@sinclair/typebox';
import { NetConfFields } from '../../pkg/types/schema.js';

export const HostDeviceConfSchema = Type.Object({
  ...NetConfFields,
  device: Type.String({ default: '' }),
  // a MAC address (checked by ADD, not by DEL)
  hwaddr: Type.String({ default: '' }),
  kernelpath: Type.String({ default: '' }),
  pciBusID: Type.String({ default: '' }),
  // the reference reads this untagged Go field (any case); pciBusID's driver decides it when set
  DPDKMode: Type.Boolean({ default: false }),
  runtimeConfig: Type.Optional(Type.Object({ deviceID: Type.Optional(Type.String()) })),
  debugPostIPAMError: Type.Optional(Type.Boolean()),
});
