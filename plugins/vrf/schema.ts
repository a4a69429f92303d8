// vrf's configuration keys (reference v1.9.1, more-plugins §4).
// Schemas only: the build replaces this module by the JSON Schema it evaluates to
// (pkg/types/conf.ts checks configurations without TypeBox at run time).
import { Type } from '@sinclair/typebox';
import { NetConfFields } from '../../pkg/types/schema.js';

export const VRFConfSchema = Type.Object({
  ...NetConfFields,
  vrfname: Type.String({ default: '' }),
  // 0: the lowest table no other VRF of the namespace uses
  table: Type.Integer({ default: 0, minimum: 0, maximum: 0xffffffff }),
});
