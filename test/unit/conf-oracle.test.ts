// pkg/types/conf checks configurations against plain JSON Schema, without
// TypeBox (the build turns every schema.ts into JSON). This holds it to
// TypeBox's own semantics: for every schema of every plugin, and for the JSON
// round trip of it that the bundles carry, thousands of generated configs
// (valid ones, keys in other cases, wrong types, out-of-range numbers, bad
// formats, missing required keys) must give the same value or the same code-7
// message as Value.Default + Value.Check + the first of Value.Errors did.
import assert from 'node:assert/strict';
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { Kind, type TSchema } from '@sinclair/typebox';
import { Errors } from '@sinclair/typebox/errors';
import { Check, Default } from '@sinclair/typebox/value';
import { parseCIDR, parseIP } from '../../pkg/ipaddr/index.js';
import { dropNulls, foldKeys, jsonPath, validate, type JSONSchema } from '../../pkg/types/conf.js';
import { CniError, invalidConfig } from '../../pkg/types/error.js';

const root = join(import.meta.dirname, '..', '..');

// ---- the oracle: the TypeBox-based checker pkg/types/conf.ts had before ----
const describeV = (v: unknown) => JSON.stringify(v) ?? String(v);
function oracleReason(schema: TSchema, value: unknown): string {
  const kind = schema[Kind];
  const want: Record<string, string> = { String: 'a string', Number: 'a number', Integer: 'an integer', Boolean: 'a boolean', Array: 'a list', Object: 'an object', Record: 'an object' };
  if ((kind === 'Integer' || kind === 'Number') && typeof value === 'number') {
    if (kind === 'Integer' && !Number.isInteger(value)) return `${describeV(value)} must be an integer`;
    const s = schema as { minimum?: number; maximum?: number };
    if (s.minimum !== undefined && value < s.minimum) return `${describeV(value)} must be at least ${s.minimum}`;
    if (s.maximum !== undefined && value > s.maximum) return `${describeV(value)} must be at most ${s.maximum}`;
  }
  if (kind === 'Union') {
    const lits = (schema as unknown as { anyOf: Array<{ const?: unknown }> }).anyOf.map((m) => m.const).filter((c) => c !== undefined);
    if (lits.length) return `${describeV(value)} must be one of ${lits.map(describeV).join(', ')}`;
  }
  if (kind === 'Literal') return `${describeV(value)} must be ${describeV((schema as unknown as { const: unknown }).const)}`;
  if (value === undefined) return 'is required';
  return `${describeV(value)} must be ${want[kind] ?? 'valid'}`;
}
function oracleFormats(schema: TSchema, value: unknown, path: string): void {
  const s = schema as TSchema & { properties?: Record<string, TSchema>; items?: TSchema; anyOf?: TSchema[]; 'x-format'?: string };
  const fmt = s['x-format'];
  const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  if (fmt && typeof value === 'string') {
    const ok = fmt === 'cidr' ? !!parseCIDR(value) : fmt === 'ip' ? !!parseIP(value) : /^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(value);
    if (!ok) throw invalidConfig(path, `${describeV(value)} is not ${fmt === 'cidr' ? 'a CIDR' : fmt === 'ip' ? 'an IP address' : 'a MAC address'}`);
    return;
  }
  if (Array.isArray(value) && s.items) value.forEach((v, i) => oracleFormats(s.items!, v, `${path}[${i}]`));
  else if (isObj(value) && s.properties) {
    for (const [k, sub] of Object.entries(s.properties)) if (k in value) oracleFormats(sub, value[k], path ? `${path}.${k}` : k);
  } else if (s.anyOf) {
    for (const m of s.anyOf) if (Check(m, value)) return oracleFormats(m, value, path);
  }
}
function oracleValidate(schema: TSchema, raw: unknown): unknown {
  // JSON null means unset (as Go's encoding/json): both sides read the config without its nulls
  const value = Default(schema, foldKeys(schema as JSONSchema, dropNulls(raw)));
  if (!Check(schema, value)) {
    const first = Errors(schema, value).First();
    if (first) throw invalidConfig(jsonPath(first.path), oracleReason(first.schema, first.value));
    throw invalidConfig('', 'invalid configuration');
  }
  oracleFormats(schema, value, '');
  return value;
}

// ---- every schema.ts in the tree ----
function schemaFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) schemaFiles(p, out);
    else if (name === 'schema.ts') out.push(p);
  }
  return out;
}
const isTSchema = (v: unknown): v is TSchema => typeof v === 'object' && v !== null && Kind in v;

// ---- generated configurations ----
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}
const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const JUNK = [null, true, false, 0, -1, 1.5, 7, 4095, 70000, 2 ** 33, '', 'x', '10.0.0.1', '10.1.0.0/16', 'fd00::1/64', '00:11:22:33:44:55', 'not-a-cidr', [], [1], {}, { a: 1 }];
const FORMAT_SAMPLES: Record<string, unknown[]> = {
  cidr: ['10.230.0.0/24', 'fd00:230::/64', '10.230.0.1', '10.230.0.0/33', 'garbage'],
  ip: ['10.230.0.1', 'fd00::1', '10.230.0.300', '::ffff:1.2.3.4', 'x'],
  mac: ['00:11:22:33:44:55', '00-11-22-33-44-55', '00:11:22:33:44', 'zz:11:22:33:44:55'],
};

/** A value for `s`: usually conforming, sometimes not (`bad` is the chance of junk at each node). */
function gen(s: TSchema, r: () => number, bad: number, depth = 0): unknown {
  if (r() < bad) return pick(r, JUNK);
  const j = s as JSONSchema;
  if (j.anyOf) return gen(pick(r, j.anyOf) as TSchema, r, bad, depth);
  if (j.const !== undefined) return j.const;
  switch (j.type) {
    case 'object': {
      if (j.patternProperties) {
        const inner = Object.values(j.patternProperties)[0] as TSchema;
        return Object.fromEntries(Array.from({ length: Math.floor(r() * 3) }, (_, i) => [`k${i}`, gen(inner, r, bad, depth + 1)]));
      }
      const o: Record<string, unknown> = {};
      if (depth > 6) return o;
      for (const [k, sub] of Object.entries(j.properties ?? {})) {
        const required = (j.required ?? []).includes(k);
        if (!required && r() < 0.5) continue;
        if (required && r() < bad / 2) continue;
        if (k === 'prevResult') continue;
        // Go-style key spellings
        const key = r() < 0.15 ? k.toUpperCase() : r() < 0.1 ? k[0].toUpperCase() + k.slice(1) : k;
        o[key] = gen(sub as TSchema, r, bad, depth + 1);
      }
      if (r() < 0.2) o.unknownKey = pick(r, JUNK);
      return o;
    }
    case 'array':
      return Array.from({ length: Math.floor(r() * 3) }, () => gen(j.items as TSchema, r, bad, depth + 1));
    case 'string': {
      const f = j['x-format'];
      return f ? pick(r, FORMAT_SAMPLES[f]) : pick(r, ['', 'cni0', 'eth0', 'iptables', 'l2', 'bridge', 'tcp']);
    }
    case 'integer':
      return pick(r, [0, 1, 5, 100, 1500, 4094, 4095, -3, 65536, 2 ** 32]);
    case 'number':
      return pick(r, [0, 1.5, -2]);
    case 'boolean':
      return r() < 0.5;
    default:
      return pick(r, JUNK);
  }
}

function outcome(f: () => unknown): { ok: true; value: unknown } | { ok: false; message: string; code: number } {
  try {
    return { ok: true, value: f() };
  } catch (e) {
    assert.ok(e instanceof CniError, `threw ${e}`);
    return { ok: false, message: e.message, code: e.code };
  }
}

describe('pkg/types/conf against TypeBox semantics', () => {
  const files = schemaFiles(join(root, 'plugins')).concat(schemaFiles(join(root, 'pkg')));

  it('finds the schema modules of every plugin', () => {
    const rel = files.map((f) => relative(root, f));
    for (const p of ['plugins/bridge/schema.ts', 'plugins/ptp/schema.ts', 'plugins/tuning/schema.ts', 'pkg/ipam/hostlocal/schema.ts', 'pkg/types/schema.ts']) {
      assert.ok(rel.includes(p), `${p} missing from ${rel.join(', ')}`);
    }
  });

  for (const file of files) {
    it(`${relative(root, file)}: generated configs give TypeBox's value or message, from the schema and from its JSON`, async () => {
      const mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
      const schemas = Object.entries(mod).filter(([, v]) => isTSchema(v)) as Array<[string, TSchema]>;
      assert.ok(schemas.length > 0);
      for (const [name, schema] of schemas) {
        const json = JSON.parse(JSON.stringify(schema)) as TSchema;
        const r = rng(name.length * 7919 + 17);
        let rejected = 0;
        for (let i = 0; i < 1500; i++) {
          const input = gen(schema, r, i % 3 === 0 ? 0 : i % 3 === 1 ? 0.05 : 0.3);
          const want = outcome(() => oracleValidate(schema, structuredClone(input)));
          const got = outcome(() => validate(schema, structuredClone(input)));
          const gotJSON = outcome(() => validate(json, structuredClone(input)));
          assert.deepEqual(got, want, `${name} on ${JSON.stringify(input)}`);
          assert.deepEqual(gotJSON, want, `${name} (JSON) on ${JSON.stringify(input)}`);
          if (!want.ok) rejected++;
        }
        // the generator reaches both sides of the check
        assert.ok(rejected > 100 && rejected < 1400, `${name}: ${rejected} of 1500 rejected`);
      }
    });
  }
});
