// CNI_ARGS: `K=V;K=V` pairs (SPEC.md §2), parsed strictly as the reference does:
// an unknown key is an error unless `IgnoreUnknown` is true.
import { CniError, ErrCode } from './error.js';

/** Splits CNI_ARGS into ordered pairs; a pair without exactly one `=` is code 4. */
export function parseCniArgs(raw: string): Array<[string, string]> {
  if (!raw) return [];
  return raw.split(';').map((pair) => {
    const kv = pair.split('=');
    if (kv.length !== 2) throw new CniError(ErrCode.InvalidEnvironmentVariables, `CNI_ARGS: invalid pair "${pair}"`);
    return [kv[0], kv[1]] as [string, string];
  });
}

/**
 * Reads the keys a plugin knows from CNI_ARGS. `IgnoreUnknown` is always known;
 * any other unknown key fails unless IgnoreUnknown is `1` or `true`.
 */
export function loadArgs<K extends string>(raw: string, known: readonly K[]): Partial<Record<K, string>> {
  const pairs = parseCniArgs(raw);
  let ignoreUnknown = false;
  const unknown: string[] = [];
  const out: Partial<Record<K, string>> = {};
  for (const [k, v] of pairs) {
    if (k === 'IgnoreUnknown') {
      // Go's UnmarshallableBool: 1/true/0/false in any case, anything else is an error.
      if (!/^(1|true|0|false)$/i.test(v)) {
        throw new CniError(ErrCode.InvalidEnvironmentVariables, `CNI_ARGS: error parsing value of pair "${k}=${v}": boolean unmarshal error: invalid input ${v}`);
      }
      ignoreUnknown = /^(1|true)$/i.test(v);
    } else if ((known as readonly string[]).includes(k)) out[k as K] = v;
    else unknown.push(`${k}=${v}`);
  }
  // Like the reference, every unknown pair is named, and only after all pairs are read.
  if (unknown.length && !ignoreUnknown) {
    throw new CniError(ErrCode.InvalidEnvironmentVariables, `CNI_ARGS: unknown args [${unknown.map((p) => JSON.stringify(p)).join(' ')}]`);
  }
  return out;
}
