// Network configuration: the common TypeBox schemas and the one loader every
// plugin uses (JSON.parse → Go-style case-insensitive keys → defaults → check →
// formats), reporting code 7 with the JSON path of the first bad value.
import { Kind, Type, type Static, type TSchema } from '@sinclair/typebox';
// Named imports, not the `Value` namespace: the namespace drags every value
// module (delta, diff, patch...) into the bundle and runs their init at start.
import { Errors } from '@sinclair/typebox/errors';
import { Check, Default } from '@sinclair/typebox/value';
import { parseCIDR, parseIP } from '../ip/addr.js';
import { CniError, ErrCode, invalidConfig } from './error.js';
import { parseResult, type Result } from './result.js';

/** A string that must be `addr/prefix`. */
export const CIDRString = (opts: object = {}) => Type.String({ ...opts, 'x-format': 'cidr' });
/** A string that must be an IP address. */
export const IPString = (opts: object = {}) => Type.String({ ...opts, 'x-format': 'ip' });
/** A string that must be a MAC address. */
export const MACString = (opts: object = {}) => Type.String({ ...opts, 'x-format': 'mac' });

export const DNSSchema = Type.Object({
  nameservers: Type.Optional(Type.Array(Type.String())),
  domain: Type.Optional(Type.String()),
  search: Type.Optional(Type.Array(Type.String())),
  options: Type.Optional(Type.Array(Type.String())),
});
export type DNSConf = Static<typeof DNSSchema>;

export const RouteSchema = Type.Object({
  dst: CIDRString(),
  gw: Type.Optional(IPString()),
  mtu: Type.Optional(Type.Integer()),
  advmss: Type.Optional(Type.Integer()),
  priority: Type.Optional(Type.Integer()),
  table: Type.Optional(Type.Integer()),
  scope: Type.Optional(Type.Integer()),
});

/** The keys every plugin configuration may carry (SPEC.md §1). */
export const NetConfFields = {
  cniVersion: Type.Optional(Type.String()),
  name: Type.String(),
  type: Type.Optional(Type.String()),
  capabilities: Type.Optional(Type.Record(Type.String(), Type.Boolean())),
  ipam: Type.Optional(Type.Object({ type: Type.Optional(Type.String()) })),
  dns: Type.Optional(DNSSchema),
  runtimeConfig: Type.Optional(Type.Object({})),
  args: Type.Optional(Type.Object({})),
  prevResult: Type.Optional(Type.Unknown()),
};
export const NetConfSchema = Type.Object(NetConfFields);
export type NetConf = Static<typeof NetConfSchema>;

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * Renames keys that differ from a schema property only in case, as Go's
 * encoding/json matches them (containerd sends `HostPort`, `ContainerPort`).
 * An exact match wins; later duplicates overwrite earlier ones.
 */
export function foldKeys(schema: TSchema, value: unknown): unknown {
  const s = schema as TSchema & { properties?: Record<string, TSchema>; items?: TSchema; anyOf?: TSchema[]; patternProperties?: Record<string, TSchema> };
  if (Array.isArray(value)) return s.items ? value.map((v) => foldKeys(s.items!, v)) : value;
  if (!isObj(value)) return value;
  if (s.anyOf) {
    const objs = s.anyOf.filter((m) => (m as { properties?: unknown }).properties);
    return objs.length ? foldKeys(Type.Object(Object.assign({}, ...objs.map((m) => (m as unknown as { properties: object }).properties))), value) : value;
  }
  if (s.patternProperties) {
    const inner = Object.values(s.patternProperties)[0];
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, foldKeys(inner, v)]));
  }
  if (!s.properties) return value;
  const props = s.properties;
  const lower = new Map(Object.keys(props).map((k) => [k.toLowerCase(), k]));
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) {
    const target = k in props ? k : (lower.get(k.toLowerCase()) ?? k);
    out[target] = target in props ? foldKeys(props[target], v) : v;
  }
  return out;
}

/** `/ipam/ranges/0/0/subnet` → `ipam.ranges[0][0].subnet`. */
export function jsonPath(pointer: string): string {
  return pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'))
    .reduce((acc, p) => (/^\d+$/.test(p) ? `${acc}[${p}]` : acc ? `${acc}.${p}` : p), '');
}

function describe(v: unknown): string {
  return JSON.stringify(v) ?? String(v);
}

function schemaReason(schema: TSchema, value: unknown): string {
  const kind = schema[Kind];
  const want: Record<string, string> = {
    String: 'a string',
    Number: 'a number',
    Integer: 'an integer',
    Boolean: 'a boolean',
    Array: 'a list',
    Object: 'an object',
    Record: 'an object',
  };
  if (kind === 'Integer' || kind === 'Number') {
    if (typeof value === 'number') {
      if (kind === 'Integer' && !Number.isInteger(value)) return `${describe(value)} must be an integer`;
      const s = schema as { minimum?: number; maximum?: number };
      if (s.minimum !== undefined && value < s.minimum) return `${describe(value)} must be at least ${s.minimum}`;
      if (s.maximum !== undefined && value > s.maximum) return `${describe(value)} must be at most ${s.maximum}`;
    }
  }
  if (kind === 'Union') {
    const lits = (schema as unknown as { anyOf: Array<{ const?: unknown }> }).anyOf.map((m) => m.const).filter((c) => c !== undefined);
    if (lits.length) return `${describe(value)} must be one of ${lits.map(describe).join(', ')}`;
  }
  if (kind === 'Literal') return `${describe(value)} must be ${describe((schema as unknown as { const: unknown }).const)}`;
  if (value === undefined) return 'is required';
  return `${describe(value)} must be ${want[kind] ?? 'valid'}`;
}

/** Checks `x-format` strings (CIDR, IP, MAC) below `schema`; throws code 7 naming the path. */
function checkFormats(schema: TSchema, value: unknown, path: string): void {
  const s = schema as TSchema & { properties?: Record<string, TSchema>; items?: TSchema; anyOf?: TSchema[]; 'x-format'?: string };
  const fmt = s['x-format'];
  if (fmt && typeof value === 'string') {
    const ok = fmt === 'cidr' ? !!parseCIDR(value) : fmt === 'ip' ? !!parseIP(value) : /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(value);
    if (!ok) throw invalidConfig(path, `${describe(value)} is not ${fmt === 'cidr' ? 'a CIDR' : fmt === 'ip' ? 'an IP address' : 'a MAC address'}`);
    return;
  }
  if (Array.isArray(value) && s.items) value.forEach((v, i) => checkFormats(s.items!, v, `${path}[${i}]`));
  else if (isObj(value) && s.properties) {
    for (const [k, sub] of Object.entries(s.properties)) if (k in value) checkFormats(sub, value[k], path ? `${path}.${k}` : k);
  } else if (s.anyOf) {
    for (const m of s.anyOf) if (Check(m, value)) return checkFormats(m, value, path);
  }
}

/**
 * Parses and validates a plugin configuration against `schema`: defaults
 * applied, keys folded as Go does, the first error reported as code 7
 * `<json.path>: <reason>`. Unknown keys pass through untouched.
 */
export function loadConf<S extends TSchema>(schema: S, stdin: Buffer | string): Static<S> {
  let raw: unknown;
  try {
    raw = JSON.parse(typeof stdin === 'string' ? stdin : stdin.toString('utf8'));
  } catch (e) {
    throw new CniError(ErrCode.DecodingFailure, `failed to load netconf: ${(e as Error).message}`);
  }
  return validate(schema, raw);
}

/** The validation half of loadConf, for values that are already parsed. */
export function validate<S extends TSchema>(schema: S, raw: unknown, base = ''): Static<S> {
  const value = Default(schema, foldKeys(schema, raw));
  if (!Check(schema, value)) {
    const first = Errors(schema, value).First();
    if (first) {
      const p = [base, jsonPath(first.path)].filter(Boolean).join('.');
      throw invalidConfig(p, schemaReason(first.schema, first.value));
    }
    throw invalidConfig(base, 'invalid configuration');
  }
  checkFormats(schema, value, base);
  return value as Static<S>;
}

/** The prevResult of a chained call in the 1.1.0 shape, or undefined when absent. */
export function prevResultOf(conf: { prevResult?: unknown; cniVersion?: string }): Result | undefined {
  if (conf.prevResult === undefined || conf.prevResult === null) return undefined;
  try {
    return parseResult(conf.prevResult, conf.cniVersion ?? '', 'prevResult');
  } catch (e) {
    if (e instanceof CniError) throw new CniError(ErrCode.InvalidNetworkConfig, `could not parse prevResult: ${e.message}`, '', { cause: e });
    throw e;
  }
}
