// tuning's configuration (reference §2.9): the keys, the merge of config <
// CNI_ARGS < runtimeConfig < args.cni, the sysctl key rules and the allow-list.
import { readFileSync } from '../../pkg/native/fs.js';
import type { Static } from '@sinclair/typebox';
import { CniError, ErrCode, invalidConfig } from '../../pkg/types/error.js';
import { loadArgs } from '../../pkg/types/args.js';
import { validate, validateLenient } from '../../pkg/types/conf.js';
import { TuningArgsSchema, TuningSchema } from './schema.js';

/** The reference's allow-list; `CNI_TS_TUNING_ALLOWLIST` overrides the path (tests). */
export const DEFAULT_ALLOWLIST = '/etc/cni/tuning/allowlist.conf';
export const DEFAULT_DATA_DIR = '/run/cni/tuning';

type RawConf = Static<typeof TuningSchema>;

/** One sysctl to write: the key as configured and the /proc/sys-relative path. */
export interface Sysctl {
  key: string;
  path: string;
  value: string;
}

/** The effective configuration after every source was merged. */
export interface TuningConf {
  raw: RawConf;
  cniVersion: string;
  dataDir: string;
  sysctls: Sysctl[];
  mac?: string;
  promisc?: boolean;
  mtu?: number;
  allmulti?: boolean;
  txQLen?: number;
}

/**
 * The JSON paths of object keys that appear twice in the same object. JSON.parse
 * keeps the last silently; the reference refuses duplicate sysctl keys.
 */
export function duplicateKeys(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  const ws = () => {
    while (i < text.length && /\s/.test(text[i])) i++;
  };
  const str = (): string => {
    const start = i;
    i++;
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
    return JSON.parse(text.slice(start, i)) as string;
  };
  const value = (path: string): void => {
    ws();
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      ws();
      if (text[i] === '}') return void i++;
      for (;;) {
        ws();
        const k = str();
        const p = path ? `${path}.${k}` : k;
        if (seen.has(k)) out.push(p);
        seen.add(k);
        ws();
        i++; // ':'
        value(p);
        ws();
        if (text[i++] === '}') return;
      }
    } else if (c === '[') {
      i++;
      ws();
      if (text[i] === ']') return void i++;
      for (let n = 0; ; n++) {
        value(`${path}[${n}]`);
        ws();
        if (text[i++] === ']') return;
      }
    } else if (c === '"') str();
    else while (i < text.length && !/[\s,}\]]/.test(text[i])) i++;
  };
  value('');
  return out;
}

/** Reads the allow-list: one unanchored regex per non-empty line; undefined when the file is absent. */
export function readAllowList(file = process.env.CNI_TS_TUNING_ALLOWLIST || DEFAULT_ALLOWLIST): RegExp[] | undefined {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return undefined;
    throw new CniError(ErrCode.IOFailure, `failed to read sysctl allow-list "${file}": ${(e as Error).message}`);
  }
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      try {
        return new RegExp(l);
      } catch (e) {
        throw new CniError(ErrCode.InvalidNetworkConfig, `invalid regular expression "${l}" in sysctl allow-list "${file}": ${(e as Error).message}`);
      }
    });
}

/**
 * The /proc/sys-relative path of a sysctl key: dots become `/` (unless the key
 * already uses `/`, whose dots are then literal, e.g. `net/ipv4/conf/eth0.100/rp_filter`),
 * then the first `IFNAME` segment becomes the interface name. Only keys under
 * `net/` with no `.`, `..` or empty segment are accepted (code 7).
 */
export function sysctlPath(key: string, ifName: string, jsonPath: string): string {
  const segs = (key.includes('/') ? key : key.replace(/\./g, '/')).split('/');
  const bad = segs.find((s) => s === '' || s === '.' || s === '..');
  if (bad !== undefined) throw invalidConfig(jsonPath, `invalid net sysctl key "${key}": empty, "." or ".." segment`);
  if (segs[0] !== 'net' || segs.length < 2) throw invalidConfig(jsonPath, `invalid net sysctl key "${key}": only net.* sysctls of the container may be set`);
  const at = segs.indexOf('IFNAME');
  if (at >= 0) segs[at] = ifName;
  return segs.join('/');
}

/** JSON and schema checks; DEL (`forDel`) drops bad values instead and ignores duplicate sysctl keys (it needs dataDir only). */
export function parseTuningConf(stdin: Buffer, forDel = false): RawConf {
  const text = stdin.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CniError(ErrCode.DecodingFailure, `failed to load netconf: ${(e as Error).message}`);
  }
  if (forDel) return validateLenient(TuningSchema, parsed);
  for (const dup of duplicateKeys(text)) {
    const m = /^(sysctl|args\.cni\.sysctl)\.(.*)$/i.exec(dup);
    if (m) throw invalidConfig(`${m[1]}["${m[2]}"]`, 'duplicate sysctl key');
  }
  return validate(TuningSchema, parsed);
}

/** Parses stdin and merges the MAC/settings sources with the reference precedence. */
export function loadTuningConf(stdin: Buffer, ifName: string, cniArgs: string): TuningConf {
  const raw = parseTuningConf(stdin);
  const a = raw.args?.cni ?? {};
  const envMAC = loadArgs(cniArgs, ['MAC']).MAC;
  if (envMAC !== undefined) validate(TuningArgsSchema, { MAC: envMAC }, 'CNI_ARGS');
  // MAC precedence (reference §2.9, unlike bridge): conf < CNI_ARGS < runtimeConfig < args.cni.
  const mac = a.mac ?? raw.runtimeConfig?.mac ?? envMAC ?? raw.mac;
  // args.cni.sysctl entries are merged over the config's (the reference panics here without a config map).
  const merged = new Map<string, { value: string; path: string }>();
  for (const [k, v] of Object.entries(raw.sysctl ?? {})) merged.set(k, { value: v, path: `sysctl["${k}"]` });
  for (const [k, v] of Object.entries(a.sysctl ?? {})) merged.set(k, { value: v, path: `args.cni.sysctl["${k}"]` });
  const allow = merged.size ? readAllowList() : undefined;
  const sysctls: Sysctl[] = [];
  for (const [key, { value, path }] of merged) {
    if (allow && !allow.some((re) => re.test(key))) {
      throw invalidConfig(path, `sysctl "${key}" is not allowed; only these are: ${allow.map((r) => r.source).join(', ')}`);
    }
    sysctls.push({ key, path: sysctlPath(key, ifName, path), value });
  }
  return {
    raw,
    cniVersion: raw.cniVersion ?? '',
    dataDir: raw.dataDir || DEFAULT_DATA_DIR,
    sysctls,
    mac: mac ? mac.toLowerCase().replace(/-/g, ':') : undefined,
    promisc: a.promisc ?? raw.promisc,
    mtu: (a.mtu ?? raw.mtu) || undefined, // 0 means unset, as in the reference
    allmulti: a.allmulti ?? raw.allmulti,
    txQLen: a.txQLen ?? raw.txQLen,
  };
}
