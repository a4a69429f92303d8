// bandwidth's configuration (more-plugins.md §6.1): the four limits from the top
// level or, when none of those keys is present, from runtimeConfig.bandwidth
// (Go allocates the embedded top-level struct as soon as one of its keys is seen,
// even with a null value); each direction is either off or a rate with a burst.
import type { Static } from '@sinclair/typebox';
import { parseConfJSON, validate } from '../../pkg/types/conf.js';
import { invalidConfig } from '../../pkg/types/error.js';
import { BandwidthSchema } from './schema.js';

type RawConf = Static<typeof BandwidthSchema>;

/** One shaped direction: rate in bits/s, burst in bits. */
export interface Limit {
  rate: number;
  burst: number;
}

export interface BandwidthConf {
  raw: RawConf;
  name: string;
  /** Traffic to the container: tbf on the host veth. */
  ingress?: Limit;
  /** Traffic from the container: tbf on the ifb. */
  egress?: Limit;
  /** Keys of v1.5.x that v1.6.0 removed, present in the config: ignored as the reference ignores them. */
  removedKeys: string[];
}

const LIMIT_KEYS = new Set(['ingressrate', 'ingressburst', 'egressrate', 'egressburst']);
/** shapedSubnets/unshapedSubnets: v1.5.0-v1.5.1 only (reverted in v1.6.0, commit d44bbf28). */
const REMOVED_KEYS = new Set(['shapedsubnets', 'unshapedsubnets']);
/** The reference refuses `burst/8 >= math.MaxUint32`. */
const MAX_BURST_BYTES = 0xffffffff;

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function limit(rate: number | undefined, burst: number | undefined, base: string, dir: 'ingress' | 'egress'): Limit | undefined {
  const r = rate ?? 0;
  const b = burst ?? 0;
  const at = (key: string) => `${base}${dir}${key}`;
  for (const [key, v] of [['Rate', r], ['Burst', b]] as const) {
    if (!Number.isSafeInteger(v)) throw invalidConfig(at(key), `${v} is too large`);
  }
  if (r === 0 && b === 0) return undefined;
  if (b === 0) throw invalidConfig(at('Burst'), 'if rate is set, burst must also be set');
  if (r === 0) throw invalidConfig(at('Rate'), 'if burst is set, rate must also be set');
  if (Math.floor(b / 8) >= MAX_BURST_BYTES) throw invalidConfig(at('Burst'), 'burst cannot be more than 4GB');
  // below one byte per second the reference divides by zero and the kernel refuses the qdisc
  if (r < 8) throw invalidConfig(at('Rate'), `${r} is below 8 bits per second`);
  return { rate: r, burst: b };
}

/** Parses and checks stdin: code 7 with the JSON path of the offending key. */
export function loadBandwidthConf(stdin: Buffer): BandwidthConf {
  const parsed = parseConfJSON(stdin);
  const topLevel = isObj(parsed) && Object.keys(parsed).some((k) => LIMIT_KEYS.has(k.toLowerCase()));
  const raw = validate(BandwidthSchema, parsed);
  const entry = topLevel ? raw : raw.runtimeConfig?.bandwidth;
  const base = topLevel ? '' : 'runtimeConfig.bandwidth.';
  return {
    raw,
    name: raw.name,
    removedKeys: isObj(parsed) ? Object.keys(parsed).filter((k) => REMOVED_KEYS.has(k.toLowerCase())) : [],
    ingress: limit(entry?.ingressRate, entry?.ingressBurst, base, 'ingress'),
    egress: limit(entry?.egressRate, entry?.egressBurst, base, 'egress'),
  };
}

/** The network name alone, for DEL: nothing else is needed to find the ifb, and DEL must not fail on ADD-only checks. */
export function networkName(stdin: Buffer): string {
  const parsed = parseConfJSON(stdin);
  let name = '';
  // Go matches keys case-insensitively, the last match winning (skel has checked the value is a string)
  if (isObj(parsed)) for (const k in parsed) if (k.toLowerCase() === 'name' && typeof parsed[k] === 'string') name = parsed[k] as string;
  return name;
}
