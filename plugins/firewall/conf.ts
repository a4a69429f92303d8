// firewall's configuration (reference §7.1): the keys with their defaults, the
// container IPs and bridge taken from prevResult, and DEL's lenient reading,
// which needs only what finds ADD's rules (backend, zone, IPs).
import type { Static } from '@sinclair/typebox';
import { parseCIDR, type IP } from '../../pkg/ipaddr/index.js';
import { DEFAULT_ADMIN_CHAIN, type IsolationPolicy } from '../../pkg/firewall/forward-iptables.js';
import { text } from '../../pkg/bytes/index.js';
import { foldKeys, prevResultOf, validate, type JSONSchema } from '../../pkg/types/conf.js';
import { CniError, ErrCode, invalidConfig } from '../../pkg/types/error.js';
import type { Result } from '../../pkg/types/result.js';
import { FirewallSchema } from './schema.js';

type RawConf = Static<typeof FirewallSchema>;

export const DEFAULT_ZONE = 'trusted';
export const DEFAULT_DATA_DIR = '/run/cni/firewall';

/** `iptables` or `firewalld` as configured; undefined: auto-detect (any other value, as in the reference). */
export type BackendChoice = 'iptables' | 'firewalld' | undefined;

export interface FirewallConf {
  raw: RawConf;
  network: string;
  backend: BackendChoice;
  adminChain: string;
  zone: string;
  isolation?: IsolationPolicy;
  dataDir: string;
}

/** What DEL reads: no value checks, nothing ADD-only. */
export interface FirewallDelConf {
  network: string;
  backend: BackendChoice;
  zone: string;
  dataDir: string;
  /** Container IPs found in prevResult (none when it is absent or unreadable). */
  ips: IP[];
}

// iptables: XT_EXTENSION_MAXNAMELEN (29) with its NUL; a name an option or a built-in target would be taken for
const CHAIN_NAME = /^[^\s!-][^\s]{0,27}$/;
const TARGETS = ['ACCEPT', 'DROP', 'QUEUE', 'RETURN'];

const backendOf = (v: unknown): BackendChoice => (v === 'iptables' || v === 'firewalld' ? v : undefined);

function parseJSON(stdin: Buffer): Record<string, unknown> {
  let raw: unknown;
  try {
    raw = JSON.parse(text(stdin));
  } catch (e) {
    throw new CniError(ErrCode.DecodingFailure, `failed to load netconf: ${(e as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new CniError(ErrCode.DecodingFailure, 'failed to load netconf: not a JSON object');
  // a JSON null on an optional key means unset, as for Go's encoding/json
  const folded = foldKeys(FirewallSchema as JSONSchema, raw) as Record<string, unknown>;
  for (const k of Object.keys(folded)) if (folded[k] === null) delete folded[k];
  return folded;
}

/** ADD and CHECK: every key checked (code 7 with its path). */
export function loadFirewallConf(stdin: Buffer): FirewallConf {
  const raw = validate(FirewallSchema, parseJSON(stdin));
  const adminChain = raw.iptablesAdminChainName || DEFAULT_ADMIN_CHAIN;
  if (!CHAIN_NAME.test(adminChain) || TARGETS.includes(adminChain)) {
    throw invalidConfig('iptablesAdminChainName', `"${adminChain}" is not a usable iptables chain name (1-28 characters, no whitespace, not starting with "-" or "!", not a built-in target)`);
  }
  const policy = raw.ingressPolicy;
  return {
    raw,
    network: raw.name,
    backend: backendOf(raw.backend),
    adminChain,
    zone: raw.firewalldZone || DEFAULT_ZONE,
    isolation: policy === 'same-bridge' || policy === 'isolated' ? policy : undefined,
    dataDir: raw.dataDir || DEFAULT_DATA_DIR,
  };
}

/** The prevResult ADD and CHECK require (code 7 when absent, as a config that cannot work). */
export function requirePrevResult(conf: FirewallConf): Result {
  const prev = prevResultOf(conf.raw);
  if (!prev) throw invalidConfig('prevResult', 'missing prevResult from earlier plugin');
  return prev;
}

/** Every IP of the result, as the reference takes them (all interfaces, prefix ignored). */
export function resultIPs(prev: Result): IP[] {
  return (prev.ips ?? []).flatMap((c) => {
    const n = parseCIDR(c.address);
    return n ? [n.ip] : [];
  });
}

/** The bridge of an ingress policy: the first interface of prevResult, as the reference takes it. */
export function isolationBridge(policy: IsolationPolicy, prev: Result): string {
  const ifaces = prev.interfaces ?? [];
  if (!ifaces.length) {
    throw invalidConfig('prevResult.interfaces', `interface needs to be set for ingress policy "${policy}", make sure to chain "firewall" plugin with "bridge"`);
  }
  const name = ifaces[0]?.name;
  if (!name) throw invalidConfig('prevResult.interfaces[0].name', 'got empty bridge name');
  return name;
}

/** Addresses in a prevResult of any version, read without judging the rest of it (DEL). */
function lenientIPs(prev: unknown): IP[] {
  if (typeof prev !== 'object' || prev === null) return [];
  const p = prev as Record<string, any>;
  const texts: unknown[] = [];
  if (Array.isArray(p.ips)) for (const c of p.ips) texts.push(c?.address);
  for (const legacy of [p.ip4, p.ip6]) texts.push(legacy?.ip);
  return texts.flatMap((t) => {
    const n = typeof t === 'string' ? parseCIDR(t) : undefined;
    return n ? [n.ip] : [];
  });
}

/** DEL: the keys that locate ADD's rules, taken as found; invalid values fall back to defaults. */
export function loadFirewallDelConf(stdin: Buffer): FirewallDelConf {
  const raw = parseJSON(stdin);
  const str = (k: string) => (typeof raw[k] === 'string' ? (raw[k] as string) : '');
  return {
    network: str('name'),
    backend: backendOf(raw.backend),
    zone: str('firewalldZone') || DEFAULT_ZONE,
    dataDir: str('dataDir') || DEFAULT_DATA_DIR,
    ips: lenientIPs(raw.prevResult),
  };
}
