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
  const ignoreUnknown = pairs.some(([k, v]) => k === 'IgnoreUnknown' && /^(1|true)$/i.test(v));
  const out: Partial<Record<K, string>> = {};
  for (const [k, v] of pairs) {
    if (k === 'IgnoreUnknown') continue;
    if ((known as readonly string[]).includes(k)) out[k as K] = v;
    else if (!ignoreUnknown) throw new CniError(ErrCode.InvalidEnvironmentVariables, `CNI_ARGS: unknown args ["${k}"]`);
  }
  return out;
}
