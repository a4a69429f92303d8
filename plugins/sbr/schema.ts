// sbr's configuration keys (more-plugins.md §8.1).
// Schemas only: the build replaces this module by the JSON Schema it evaluates to
// (pkg/types/conf.ts checks configurations without TypeBox at run time).
import { Type } from '@sinclair/typebox';
import { NetConfFields } from '../../pkg/types/schema.js';

export const SbrSchema = Type.Object({
  ...NetConfFields,
  table: Type.Optional(Type.Integer({ minimum: 1, maximum: 4294967295 })),
});
