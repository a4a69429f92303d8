// Lenient configuration reading. JSON `null` on a key means "unset": Go's
// encoding/json leaves the zero value there, so `"ipam": null` or
// `"gateway": null` pass the Go plugins; loadConfNullAsUnset drops such keys
// before the schema check. DEL reads single fields with lenientField, so a
// value ADD would refuse never blocks teardown.
import type { Static, TSchema } from '@sinclair/typebox';
import { text } from '../bytes/index.js';
import { validate } from './conf.js';
import { CniError, ErrCode } from './error.js';

/** `v` without the object members whose value is null (array elements are kept). */
export function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (typeof v !== 'object' || v === null) return v;
  return Object.fromEntries(Object.entries(v).filter(([, x]) => x !== null).map(([k, x]) => [k, dropNulls(x)]));
}

/** Parses stdin as JSON (code 6 when it is not). */
export function parseConfJSON(stdin: Buffer | string): unknown {
  try {
    return JSON.parse(typeof stdin === 'string' ? stdin : text(stdin));
  } catch (e) {
    throw new CniError(ErrCode.DecodingFailure, `failed to load netconf: ${(e as Error).message}`);
  }
}

/** loadConf with null members read as unset. */
export function loadConfNullAsUnset<S extends TSchema>(schema: S, stdin: Buffer | string): Static<S> {
  return validate(schema, dropNulls(parseConfJSON(stdin)));
}

/**
 * The value at `keys` (matched case-insensitively, as Go does) in the parsed
 * configuration, or undefined when any step is missing or not an object.
 */
export function lenientField(stdin: Buffer | string, ...keys: string[]): unknown {
  let v: unknown = parseConfJSON(stdin);
  for (const key of keys) {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return undefined;
    const want = key.toLowerCase();
    let found: unknown;
    // with several spellings the last in the document wins, as in Go
    for (const [k, x] of Object.entries(v)) if (k.toLowerCase() === want) found = x;
    v = found;
  }
  return v === null ? undefined : v;
}
