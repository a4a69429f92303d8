// DEL's reading of single fields: a plugin whose DEL needs one or two keys
// (dummy: ipam.type; vrf: vrfname) reads just those, so a value ADD would
// refuse never blocks teardown. Whole configurations read leniently go
// through loadConf(schema, stdin, { lenient: true }) instead.
import { parseConfJSON } from './conf.js';

/**
 * The value at `keys` (matched case-insensitively, as Go does) in the parsed
 * configuration, or undefined when any step is missing, null or not an object.
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
