// Network configuration: the one loader every plugin uses (JSON.parse →
// Go-style case-insensitive keys → defaults → check → formats), reporting code 7
// with the JSON path of the first bad value.
//
// Schemas are written with TypeBox in `schema.ts` modules; the build replaces
// those modules by the JSON Schema literals they evaluate to, so this checker
// reads plain JSON Schema (the subset below) and never loads TypeBox: TypeBox's
// module initialisation, schema construction and Value functions cost a plugin
// ~2.5 ms per call (README "Configuration schemas"). It follows TypeBox's own
// semantics (Value.Default, Value.Check, the first of Value.Errors), which
// test/unit/conf-oracle.test.ts holds it to.
import type { Static, TSchema } from '@sinclair/typebox';
import { text } from '../bytes/index.js';
import { parseCIDR, parseIP } from '../ipaddr/index.js';
import { CniError, ErrCode, invalidConfig } from './error.js';
import { parseResult, type Result } from './result.js';

/** The JSON Schema keywords the checker understands (a TypeBox schema is one too). */
export interface JSONSchema {
  type?: string;
  properties?: Record<string, JSONSchema>;
  required?: string[];
  additionalProperties?: boolean | JSONSchema;
  patternProperties?: Record<string, JSONSchema>;
  items?: JSONSchema;
  anyOf?: JSONSchema[];
  const?: unknown;
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  multipleOf?: number;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  'x-format'?: string;
}

/** Every keyword above; a schema using any other is refused by the build. */
export const SCHEMA_KEYWORDS: ReadonlySet<string> = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'patternProperties', 'items', 'anyOf', 'const', 'default',
  'minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf', 'minLength', 'maxLength', 'pattern',
  'minItems', 'maxItems', 'x-format', 'description', 'title', '$id',
]);

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
// TypeBox's IsObject, which Value.Default uses: arrays count
const isObjectLike = (v: unknown): v is Obj => typeof v === 'object' && v !== null;

/** The TypeBox kind a JSON Schema node corresponds to. */
export function kindOf(s: JSONSchema): string {
  if (s.anyOf) return 'Union';
  if (s.const !== undefined) return 'Literal';
  switch (s.type) {
    case 'object':
      return s.patternProperties ? 'Record' : 'Object';
    case 'array':
      return 'Array';
    case 'string':
      return 'String';
    case 'integer':
      return 'Integer';
    case 'number':
      return 'Number';
    case 'boolean':
      return 'Boolean';
    case 'null':
      return 'Null';
    default:
      return 'Unknown';
  }
}

const clone = <T>(v: T): T => (v === undefined ? v : structuredClone(v));

/**
 * Renames keys that differ from a schema property only in case, as Go's
 * encoding/json matches them (containerd sends `HostPort`, `ContainerPort`).
 * An exact match wins; later duplicates overwrite earlier ones.
 */
export function foldKeys(schema: JSONSchema, value: unknown): unknown {
  const s = schema;
  if (Array.isArray(value)) return s.items ? value.map((v) => foldKeys(s.items!, v)) : value;
  if (!isObj(value)) return value;
  if (s.anyOf) {
    const objs = s.anyOf.filter((m) => m.properties);
    return objs.length ? foldKeys({ type: 'object', properties: Object.assign({}, ...objs.map((m) => m.properties)) }, value) : value;
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

/** TypeBox's ValueOrDefault: the default when absent, an object default completed by the value. */
function valueOrDefault(s: JSONSchema, v: unknown): unknown {
  const d = clone(s.default);
  if (v === undefined) return d;
  return isObjectLike(v) && isObjectLike(d) ? Object.assign(d, v) : v;
}

/** Value.Default: fills in `default`s, in place where the value is an object. */
export function applyDefaults(s: JSONSchema, v: unknown): unknown {
  switch (kindOf(s)) {
    case 'Array': {
      const d = Array.isArray(v) ? v : valueOrDefault(s, v);
      if (!Array.isArray(d)) return d;
      for (let i = 0; i < d.length; i++) d[i] = applyDefaults(s.items ?? {}, d[i]);
      return d;
    }
    case 'Object': {
      const d = valueOrDefault(s, v);
      if (!isObjectLike(d)) return d;
      for (const [key, prop] of Object.entries(s.properties ?? {})) {
        const pv = applyDefaults(prop, d[key]);
        if (pv !== undefined) d[key] = pv;
      }
      return d;
    }
    case 'Record': {
      const d = valueOrDefault(s, v);
      if (!isObjectLike(d)) return d;
      const [pattern, inner] = Object.entries(s.patternProperties!)[0];
      if (inner.default === undefined) return d;
      const re = new RegExp(pattern);
      for (const key of Object.getOwnPropertyNames(d)) if (re.test(key)) d[key] = applyDefaults(inner, d[key]);
      return d;
    }
    case 'Union': {
      const d = valueOrDefault(s, v);
      for (const inner of s.anyOf!) {
        const r = applyDefaults(inner, clone(d));
        if (!firstError(inner, r, '')) return r;
      }
      return d;
    }
    default:
      return valueOrDefault(s, v);
  }
}

/** One schema violation: the node, its JSON pointer and the offending value. */
interface Violation {
  schema: JSONSchema;
  path: string;
  value: unknown;
}

const escapeKey = (k: string) => k.replace(/~/g, '~0').replace(/\//g, '~1');

function bounds(s: JSONSchema, v: number): boolean {
  return (
    (s.exclusiveMaximum === undefined || v < s.exclusiveMaximum) &&
    (s.exclusiveMinimum === undefined || v > s.exclusiveMinimum) &&
    (s.maximum === undefined || v <= s.maximum) &&
    (s.minimum === undefined || v >= s.minimum) &&
    (s.multipleOf === undefined || v % s.multipleOf === 0)
  );
}

/** The first violation in Value.Errors order, or undefined when `v` conforms (Value.Check). */
export function firstError(s: JSONSchema, v: unknown, path: string): Violation | undefined {
  const here = (): Violation => ({ schema: s, path, value: v });
  switch (kindOf(s)) {
    case 'Object': {
      if (!isObj(v)) return here();
      const props = s.properties ?? {};
      const required = s.required ?? [];
      const own = Object.getOwnPropertyNames(v);
      for (const key of required) if (!own.includes(key)) return { schema: props[key], path: `${path}/${escapeKey(key)}`, value: undefined };
      if (s.additionalProperties === false) {
        for (const key of own) if (!(key in props)) return { schema: s, path: `${path}/${escapeKey(key)}`, value: v[key] };
      } else if (typeof s.additionalProperties === 'object') {
        for (const key of own) {
          if (key in props) continue;
          const e = firstError(s.additionalProperties, v[key], `${path}/${escapeKey(key)}`);
          if (e) return e;
        }
      }
      for (const [key, prop] of Object.entries(props)) {
        if (!required.includes(key) && v[key] === undefined) continue;
        const e = firstError(prop, v[key], `${path}/${escapeKey(key)}`);
        if (e) return e;
      }
      return undefined;
    }
    case 'Record': {
      if (!isObj(v)) return here();
      const [pattern, inner] = Object.entries(s.patternProperties!)[0];
      const re = new RegExp(pattern);
      for (const [key, pv] of Object.entries(v)) {
        if (!re.test(key)) continue;
        const e = firstError(inner, pv, `${path}/${escapeKey(key)}`);
        if (e) return e;
      }
      return undefined;
    }
    case 'Array': {
      if (!Array.isArray(v)) return here();
      if ((s.minItems !== undefined && v.length < s.minItems) || (s.maxItems !== undefined && v.length > s.maxItems)) return here();
      for (let i = 0; i < v.length; i++) {
        const e = firstError(s.items ?? {}, v[i], `${path}/${i}`);
        if (e) return e;
      }
      return undefined;
    }
    case 'String':
      if (typeof v !== 'string') return here();
      if (s.minLength !== undefined && v.length < s.minLength) return here();
      if (s.maxLength !== undefined && v.length > s.maxLength) return here();
      if (s.pattern !== undefined && !new RegExp(s.pattern).test(v)) return here();
      return undefined;
    case 'Integer':
      return Number.isInteger(v) && bounds(s, v as number) ? undefined : here();
    case 'Number':
      return Number.isFinite(v) && bounds(s, v as number) ? undefined : here();
    case 'Boolean':
      return typeof v === 'boolean' ? undefined : here();
    case 'Null':
      return v === null ? undefined : here();
    case 'Literal':
      return v === s.const ? undefined : here();
    case 'Union':
      return s.anyOf!.some((m) => !firstError(m, v, path)) ? undefined : here();
    default:
      return undefined;
  }
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

const WANT: Record<string, string> = {
  String: 'a string',
  Number: 'a number',
  Integer: 'an integer',
  Boolean: 'a boolean',
  Array: 'a list',
  Object: 'an object',
  Record: 'an object',
};

function schemaReason(schema: JSONSchema, value: unknown): string {
  const kind = kindOf(schema);
  if ((kind === 'Integer' || kind === 'Number') && typeof value === 'number') {
    if (kind === 'Integer' && !Number.isInteger(value)) return `${describe(value)} must be an integer`;
    if (schema.minimum !== undefined && value < schema.minimum) return `${describe(value)} must be at least ${schema.minimum}`;
    if (schema.maximum !== undefined && value > schema.maximum) return `${describe(value)} must be at most ${schema.maximum}`;
  }
  if (kind === 'Union') {
    const lits = schema.anyOf!.map((m) => m.const).filter((c) => c !== undefined);
    if (lits.length) return `${describe(value)} must be one of ${lits.map(describe).join(', ')}`;
  }
  if (kind === 'Literal') return `${describe(value)} must be ${describe(schema.const)}`;
  if (value === undefined) return 'is required';
  return `${describe(value)} must be ${WANT[kind] ?? 'valid'}`;
}

/** Checks `x-format` strings (CIDR, IP, MAC) below `schema`; throws code 7 naming the path. */
function checkFormats(schema: JSONSchema, value: unknown, path: string): void {
  const s = schema;
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
    for (const m of s.anyOf) if (!firstError(m, value, '')) return checkFormats(m, value, path);
  }
}

/**
 * Removes every object key whose value is JSON `null`, at any depth: Go's
 * encoding/json leaves a field untouched (or a pointer nil) on null, so
 * `"mtu": null` means the key is unset. Array elements are kept as they are.
 */
export function dropNulls(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(dropNulls);
  if (!isObj(value)) return value;
  const out: Obj = {};
  for (const [k, v] of Object.entries(value)) if (v !== null) out[k] = dropNulls(v);
  return out;
}

/** How loadConf reads a configuration. */
export interface LoadOptions {
  /**
   * DEL's reading: a value that breaks the schema (wrong type, out of range,
   * not one of the allowed literals, a bad format, a missing required key) is
   * dropped, so its default applies, instead of failing. DEL must never block
   * teardown on what only ADD needed (see README "DEL never blocks teardown").
   */
  lenient?: boolean;
}

/**
 * Parses and validates a plugin configuration against `schema`: JSON nulls
 * dropped, defaults applied, keys folded as Go does, the first error reported
 * as code 7 `<json.path>: <reason>` (or, `lenient`, bad values dropped).
 * Unknown keys pass through untouched.
 */
export function loadConf<S extends TSchema>(schema: S, stdin: Buffer | string, opts: LoadOptions = {}): Static<S> {
  const raw = parseConfJSON(stdin);
  return opts.lenient ? validateLenient(schema, raw) : validate(schema, raw);
}

/** stdin as JSON, unchecked (code 6 when it does not parse): for a plugin that looks at the raw keys before validate. */
export function parseConfJSON(stdin: Buffer | string): unknown {
  try {
    return JSON.parse(typeof stdin === 'string' ? stdin : text(stdin));
  } catch (e) {
    throw new CniError(ErrCode.DecodingFailure, `failed to load netconf: ${(e as Error).message}`);
  }
}

/**
 * Removes from `v` everything `s` does not accept; returns DROP when `v`
 * itself is unacceptable. An object missing a required key is dropped, except
 * the root: DEL code reads only the keys it needs.
 */
function prune(s: JSONSchema, v: unknown, root = false): unknown {
  switch (kindOf(s)) {
    case 'Object': {
      if (!isObj(v)) return DROP;
      const props = s.properties ?? {};
      for (const key of Object.keys(v)) {
        const sub = key in props ? props[key] : typeof s.additionalProperties === 'object' ? s.additionalProperties : s.additionalProperties === false ? undefined : {};
        const r = sub ? prune(sub, v[key]) : DROP;
        if (r === DROP) delete v[key];
        else v[key] = r;
      }
      return root || (s.required ?? []).every((k) => k in v) ? v : DROP;
    }
    case 'Record': {
      if (!isObj(v)) return DROP;
      const [pattern, inner] = Object.entries(s.patternProperties!)[0];
      const re = new RegExp(pattern);
      for (const key of Object.keys(v)) {
        if (!re.test(key)) continue;
        const r = prune(inner, v[key]);
        if (r === DROP) delete v[key];
        else v[key] = r;
      }
      return v;
    }
    case 'Array': {
      if (!Array.isArray(v)) return DROP;
      const kept = v.map((x) => prune(s.items ?? {}, x)).filter((x) => x !== DROP);
      return firstError({ ...s, items: undefined }, kept, '') ? DROP : kept;
    }
    case 'Union': {
      const m = s.anyOf!.find((x) => !firstError(x, v, ''));
      return m && formatOK(m, v) ? v : DROP;
    }
    default:
      return firstError(s, v, '') || !formatOK(s, v) ? DROP : v;
  }
}
const DROP = Symbol('drop');

function formatOK(s: JSONSchema, v: unknown): boolean {
  try {
    checkFormats(s, v, '');
    return true;
  } catch {
    return false;
  }
}

/** DEL's reading of an already parsed configuration (see LoadOptions.lenient); never throws for content. */
export function validateLenient<S extends TSchema>(schema: S, raw: unknown): Static<S> {
  const s = schema as JSONSchema;
  const folded = foldKeys(s, dropNulls(raw));
  const pruned = prune(s, applyDefaults(s, folded), true);
  // a dropped key gets its default back; a dropped root (not an object) reads as an empty configuration
  return applyDefaults(s, pruned === DROP ? {} : pruned) as Static<S>;
}

/** The validation half of loadConf, for values that are already parsed. */
export function validate<S extends TSchema>(schema: S, raw: unknown, base = ''): Static<S> {
  const s = schema as JSONSchema;
  const value = applyDefaults(s, foldKeys(s, dropNulls(raw)));
  const first = firstError(s, value, '');
  if (first) {
    const p = [base, jsonPath(first.path)].filter(Boolean).join('.');
    throw invalidConfig(p, schemaReason(first.schema, first.value));
  }
  checkFormats(s, value, base);
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
