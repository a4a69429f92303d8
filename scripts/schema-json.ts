// What a `schema.ts` module evaluates to: its TypeBox exports as plain JSON
// Schema, checked to use only the keywords pkg/types/conf.ts knows. build.ts
// puts these into the bundles in the modules' place; scripts/release.ts writes
// them to share/cni-ts/schemas/.
import * as path from 'node:path';
import { pathToFileURL } from 'node:url';

/** One export of a schema module: a schema, or a record of schemas (`isSchema` false). */
export interface SchemaExport {
  name: string;
  value: Record<string, unknown>;
  isSchema: boolean;
}

/** Imports `file` (a schema.ts module under `root`) and returns its exports; anything but schemas fails. */
export async function schemaExports(root: string, file: string): Promise<SchemaExport[]> {
  const { SCHEMA_KEYWORDS } = await import(pathToFileURL(path.join(root, 'pkg', 'types', 'conf.ts')).href);
  const mod: Record<string, unknown> = await import(pathToFileURL(file).href);
  const rel = path.relative(root, file);
  const checkNode = (node: unknown, where: string): void => {
    if (typeof node !== 'object' || node === null || Array.isArray(node)) throw new Error(`${rel}: ${where} is not a schema`);
    const n = node as Record<string, unknown>;
    for (const k of Object.keys(n)) if (!SCHEMA_KEYWORDS.has(k)) throw new Error(`${rel}: ${where} uses "${k}", which pkg/types/conf.ts does not check`);
    for (const [k, sub] of Object.entries((n.properties ?? {}) as object)) checkNode(sub, `${where}.properties.${k}`);
    for (const [k, sub] of Object.entries((n.patternProperties ?? {}) as object)) checkNode(sub, `${where}.patternProperties.${k}`);
    if (n.items !== undefined) checkNode(n.items, `${where}.items`);
    if (typeof n.additionalProperties === 'object') checkNode(n.additionalProperties, `${where}.additionalProperties`);
    ((n.anyOf ?? []) as unknown[]).forEach((sub, i) => checkNode(sub, `${where}.anyOf[${i}]`));
  };
  const found: SchemaExport[] = [];
  for (const [name, value] of Object.entries(mod)) {
    if (typeof value !== 'object' || value === null) throw new Error(`${rel}: export ${name} is not a schema (schema.ts modules hold schemas only)`);
    // a TypeBox schema carries its Kind symbol; anything else must be a record of schemas
    const isSchema = Symbol.for('TypeBox.Kind') in value;
    if (isSchema) checkNode(value, name);
    else for (const [k, sub] of Object.entries(value)) checkNode(sub, `${name}.${k}`);
    // JSON.stringify drops TypeBox's symbol keys: what is left is the JSON Schema
    found.push({ name, value: JSON.parse(JSON.stringify(value)), isSchema });
  }
  return found;
}
