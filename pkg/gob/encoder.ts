// A gob Encoder for one stream: type definitions go out once, before the first
// value that needs them, then each value as one length-prefixed message.
import { BUILTIN_IDS, FIRST_USER_ID, WIRE_VARIANTS, type BuiltinType, type GobType, type StructType } from './types.js';
import { GobError, Writer } from './wire.js';

/**
 * Encodes values described by a {@link GobType} schema. Struct values are plain objects keyed by Go
 * field name; ints are numbers or bigints; bytes are Buffers/Uint8Arrays; maps are Maps or objects.
 * Type ids are this stream's own, handed out as Go does (a struct before its fields, a slice, array or
 * map after its elements), so a first message is byte-identical to what a fresh Go process sends.
 */
export class Encoder {
  private readonly ids = new Map<GobType, number>();
  private readonly sent = new Set<GobType>();
  private nextId = FIRST_USER_ID;

  /** The bytes for `value`: definitions of types not yet sent on this stream, then the value message. */
  encode(type: GobType, value: unknown): Buffer {
    this.assign(type, new Set());
    const out: Buffer[] = [];
    const defined = new Set<GobType>();
    this.sendDefinitions(type, out, defined);
    const w = new Writer();
    w.int(this.idOf(type));
    // "A single non-struct value at top level is transmitted like a field with delta tag 0."
    if (type.kind !== 'struct') w.uint(0);
    this.value(w, type, value, topName(type));
    out.push(w.message());
    // Only now: a value that failed to encode must not leave its types marked as sent.
    for (const t of defined) this.sent.add(t);
    return Buffer.concat(out);
  }

  private idOf(t: GobType): number {
    if (isBuiltin(t)) return BUILTIN_IDS[t.kind];
    const id = this.ids.get(t);
    if (id === undefined) throw new GobError('gob: internal error: type without id');
    return id;
  }

  private assign(t: GobType, inProgress: Set<GobType>): void {
    if (isBuiltin(t) || this.ids.has(t)) return;
    if (inProgress.has(t)) throw new GobError(`gob: recursive type ${t.name || t.kind} without a struct in the cycle`);
    inProgress.add(t);
    switch (t.kind) {
      case 'struct':
        this.ids.set(t, this.nextId++);
        for (const f of t.fields) this.assign(f.type, inProgress);
        break;
      case 'slice':
      case 'array':
        this.assign(t.elem, inProgress);
        this.ids.set(t, this.nextId++);
        break;
      case 'map':
        this.assign(t.key, inProgress);
        this.assign(t.elem, inProgress);
        this.ids.set(t, this.nextId++);
        break;
      default:
        this.ids.set(t, this.nextId++);
    }
    inProgress.delete(t);
  }

  /** A type's definition, then its components' (pre-order, as Go sends them). */
  private sendDefinitions(t: GobType, out: Buffer[], defined: Set<GobType>): void {
    if (isBuiltin(t) || this.sent.has(t) || defined.has(t)) return;
    defined.add(t);
    const w = new Writer();
    w.int(-this.idOf(t));
    this.wireType(w, t as Exclude<GobType, BuiltinType>);
    out.push(w.message());
    switch (t.kind) {
      case 'struct':
        for (const f of t.fields) this.sendDefinitions(f.type, out, defined);
        break;
      case 'slice':
      case 'array':
        this.sendDefinitions(t.elem, out, defined);
        break;
      case 'map':
        this.sendDefinitions(t.key, out, defined);
        this.sendDefinitions(t.elem, out, defined);
        break;
    }
  }

  /** wireType{ArrayT, SliceT, StructT, MapT, GobEncoderT, BinaryMarshalerT, TextMarshalerT}: one variant set. */
  private wireType(w: Writer, t: Exclude<GobType, BuiltinType>): void {
    w.uint(WIRE_VARIANTS.indexOf(t.kind) + 1);
    // CommonType{Name string; Id int} is field 0 of every variant; an empty name is omitted as zero.
    w.uint(1);
    if (t.name) {
      w.uint(1);
      w.string(t.name);
      w.uint(1);
    } else w.uint(2);
    w.int(this.idOf(t));
    w.uint(0);
    switch (t.kind) {
      case 'array':
        w.uint(1);
        w.int(this.idOf(t.elem));
        if (t.len) {
          w.uint(1);
          w.int(t.len);
        }
        break;
      case 'slice':
        w.uint(1);
        w.int(this.idOf(t.elem));
        break;
      case 'struct':
        if (t.fields.length) {
          w.uint(1);
          w.uint(t.fields.length);
          for (const f of t.fields) {
            w.uint(1);
            w.string(f.name);
            w.uint(1);
            w.int(this.idOf(f.type));
            w.uint(0);
          }
        }
        break;
      case 'map':
        w.uint(1);
        w.int(this.idOf(t.key));
        w.uint(1);
        w.int(this.idOf(t.elem));
        break;
    }
    w.uint(0); // end of the variant
    w.uint(0); // end of wireType
  }

  private value(w: Writer, t: GobType, v: unknown, path: string): void {
    const bad = (what: string) => new GobError(`gob: ${path}: ${what}`);
    switch (t.kind) {
      case 'bool':
        if (typeof v !== 'boolean') throw bad('expected a boolean');
        w.uint(v ? 1 : 0);
        return;
      case 'int':
        if (!isInteger(v)) throw bad('expected an integer');
        w.int(v);
        return;
      case 'uint':
        if (!isInteger(v) || v < 0) throw bad('expected an unsigned integer');
        w.uint(v);
        return;
      case 'float':
        if (typeof v !== 'number') throw bad('expected a number');
        w.float(v);
        return;
      case 'complex':
        if (!Array.isArray(v) || v.length !== 2 || v.some((x) => typeof x !== 'number')) throw bad('expected [real, imaginary]');
        w.float(v[0]);
        w.float(v[1]);
        return;
      case 'string':
        if (typeof v !== 'string') throw bad('expected a string');
        w.string(v);
        return;
      case 'bytes':
      case 'gobEncoder':
      case 'binaryMarshaler':
      case 'textMarshaler':
        if (!(v instanceof Uint8Array)) throw bad('expected bytes');
        w.bytes(v);
        return;
      case 'interface':
        // Only the nil interface: a non-nil one needs Go's registered concrete type names.
        if (v !== null && v !== undefined) throw bad('non-nil interface values are not supported');
        w.uint(0);
        return;
      case 'struct':
        this.struct(w, t, v, path);
        return;
      case 'slice':
      case 'array': {
        if (!Array.isArray(v)) throw bad('expected an array');
        if (t.kind === 'array' && v.length !== t.len) throw bad(`expected ${t.len} elements, got ${v.length}`);
        w.uint(v.length);
        v.forEach((e, i) => {
          // Go cannot send a nil element of []*T ("encodeArray: nil element").
          if (e === undefined || e === null) throw new GobError(`gob: ${path}[${i}]: nil element`);
          this.value(w, t.elem, e, `${path}[${i}]`);
        });
        return;
      }
      case 'map': {
        const entries = v instanceof Map ? [...v.entries()] : isObject(v) ? Object.entries(v) : undefined;
        if (!entries) throw bad('expected a Map or an object');
        w.uint(entries.length);
        for (const [k, e] of entries) {
          this.value(w, t.key, k, `${path}[key]`);
          this.value(w, t.elem, e, `${path}[${String(k)}]`);
        }
        return;
      }
    }
  }

  private struct(w: Writer, t: StructType, v: unknown, path: string): void {
    // Go always sends a nested struct value, even an empty one; undefined stands for that zero value.
    const obj = v === undefined || v === null ? {} : v;
    if (!isObject(obj)) throw new GobError(`gob: ${path}: expected an object`);
    let last = -1;
    t.fields.forEach((f, i) => {
      const fv = (obj as Record<string, unknown>)[f.name];
      if (fv === undefined || fv === null) {
        if (f.type.kind !== 'struct' || f.pointer) return;
      } else if (!f.pointer && isZero(f.type, fv)) return;
      w.uint(i - last);
      last = i;
      this.value(w, f.type, fv, `${path}.${f.name}`);
    });
    w.uint(0);
  }
}

function isBuiltin(t: GobType): t is BuiltinType {
  return t.kind in BUILTIN_IDS;
}

function topName(t: GobType): string {
  return ('name' in t && t.name) || t.kind;
}

function isInteger(v: unknown): v is number | bigint {
  return typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !(v instanceof Uint8Array);
}

/** Go omits a struct field holding its type's zero value (structs, arrays and maps excepted). */
function isZero(t: GobType, v: unknown): boolean {
  switch (t.kind) {
    case 'bool':
      return v === false;
    case 'int':
    case 'uint':
    case 'float':
      return v === 0 || v === 0n;
    case 'complex':
      return Array.isArray(v) && v[0] === 0 && v[1] === 0;
    case 'string':
      return v === '';
    case 'bytes':
    case 'slice':
      return (v as { length?: number }).length === 0;
    default:
      return false;
  }
}
