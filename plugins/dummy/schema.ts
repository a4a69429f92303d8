// dummy's configuration keys (reference v1.9.1, more-plugins §2): only the
// common ones, with `ipam.type` required for ADD, CHECK and STATUS.
// Schemas only: the build replaces this module by the JSON Schema it evaluates to
// (pkg/types/conf.ts checks configurations without TypeBox at run time).
import { Type } from '@sinclair/typebox';
import { NetConfFields } from '../../pkg/types/schema.js';

export const DummyConfSchema = Type.Object({
  ...NetConfFields,
  debugPostIPAMError: Type.Optional(Type.Boolean()),
});

