// A gob Decoder for one stream: it reads the sender's type definitions and decodes
// every value generically from them, so field order, extra fields and type ids are
// whatever the sender chose.
import { FIRST_WIRE_MACHINERY_ID, LAST_WIRE_MACHINERY_ID, WIRE_VARIANTS, isBuiltinId, type WireType } from './types.js';
import { GobError, Reader } from './wire.js';

/** A non-nil interface value: Go's registered name of the concrete type, and the value. */
export interface GobInterfaceValue {
  name: string;
  typeId: number;
  value: unknown;
}

/** One decoded top-level value. */
export interface Decoded {
  typeId: number;
  /** The sender's definition, undefined for a builtin type. */
  type: WireType | undefined;
  /**
   * Structs are objects keyed by Go field name holding only the fields that were sent (gob omits zero
   * values); ints/uints are numbers, or bigints beyond 2^53; floats numbers; complex [re, im]; bytes and
   * marshaler bytes Buffers; slices and arrays arrays; maps Maps; a nil interface null.
   */
  value: unknown;
}

export interface DecoderOptions {
  /** Largest message accepted (Go's limit is far larger; a daemon wants a small one). Default 16 MiB. */
  maxMessage?: number;
}

const MAX_DEPTH = 100;

export class Decoder {
  private buf: Buffer = Buffer.alloc(0);
  private readonly types = new Map<number, WireType>();
  private readonly maxMessage: number;

  constructor(opts: DecoderOptions = {}) {
    this.maxMessage = opts.maxMessage ?? 16 << 20;
  }

  /** Appends bytes read from the stream. */
  push(chunk: Buffer): void {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
  }

  /** Bytes pushed but not consumed yet. */
  get buffered(): number {
    return this.buf.length;
  }

  /** The sender's definition of type `id`, once received. */
  typeOf(id: number): WireType | undefined {
    return this.types.get(id);
  }

  /**
   * The next value, after consuming any type definitions before it; undefined when the buffer holds
   * no complete value yet. Throws GobError on malformed data: the offending message is consumed, so
   * the caller may go on only when it knows the framing is intact (see {@link GobFramingError}).
   */
  next(): Decoded | undefined {
    for (;;) {
      const msg = this.takeMessage();
      if (msg === undefined) return undefined;
      if (msg.length === 0) continue; // Go skips empty messages too
      const r = new Reader(msg);
      const id = r.int();
      if (id < 0) {
        this.define(-id, r);
        continue;
      }
      const value = this.topValue(id, r);
      if (r.remaining) throw new GobError(`gob: ${r.remaining} bytes left over after a value of type id ${id}`);
      return { typeId: id, type: this.types.get(id), value };
    }
  }

  private takeMessage(): Buffer | undefined {
    if (this.buf.length === 0) return undefined;
    const first = this.buf[0];
    const width = first < 0x80 ? 1 : 1 + (256 - first);
    if (first >= 0x80 && 256 - first > 8) throw new GobFramingError(`gob: invalid message length prefix 0x${first.toString(16)}`);
    if (this.buf.length < width) return undefined;
    let len = 0;
    if (first < 0x80) len = first;
    else for (let i = 1; i < width; i++) len = len * 256 + this.buf[i];
    if (len > this.maxMessage) throw new GobFramingError(`gob: message of ${len} bytes exceeds the limit of ${this.maxMessage}`);
    if (this.buf.length < width + len) return undefined;
    const msg = this.buf.subarray(width, width + len);
    this.buf = this.buf.subarray(width + len);
    return msg;
  }

  private define(id: number, r: Reader): void {
    if (id === 0 || isBuiltinId(id) || (id >= FIRST_WIRE_MACHINERY_ID && id <= LAST_WIRE_MACHINERY_ID)) {
      throw new GobError(`gob: type definition for reserved id ${id}`);
    }
    if (this.types.has(id)) throw new GobError(`gob: duplicate type received: id ${id}`);
    const t = readWireType(r, id);
    if (r.remaining) throw new GobError('gob: extra data in buffer after a type definition');
    this.types.set(id, t);
  }

  private topValue(id: number, r: Reader): unknown {
    const t = this.types.get(id);
    if (t?.kind === 'struct') return this.struct(t, r, 0);
    if (!t && !isBuiltinId(id)) throw new GobError(`gob: unknown type id ${id}`);
    const delta = r.uint();
    if (delta !== 0) throw new GobError('gob: corrupted data: non-zero delta for singleton');
    return this.value(id, r, 0);
  }

  private value(id: number, r: Reader, depth: number): unknown {
    if (depth > MAX_DEPTH) throw new GobError('gob: value nested too deeply');
    switch (id) {
      case 1:
        return r.uintBig() !== 0n;
      case 2:
        return r.intValue();
      case 3:
        return r.uintValue();
      case 4:
        return r.float();
      case 5:
        return r.bytes();
      case 6:
        return r.string();
      case 7:
        return [r.float(), r.float()];
      case 8:
        return this.interfaceValue(r, depth);
    }
    const t = this.types.get(id);
    if (!t) throw new GobError(`gob: unknown type id ${id}`);
    switch (t.kind) {
      case 'struct':
        return this.struct(t, r, depth);
      case 'slice':
      case 'array': {
        const n = this.count(r);
        if (t.kind === 'array' && n !== t.len) throw new GobError(`gob: array ${t.name || t.id}: length ${n}, want ${t.len}`);
        const out: unknown[] = new Array(n);
        for (let i = 0; i < n; i++) out[i] = this.value(t.elem, r, depth + 1);
        return out;
      }
      case 'map': {
        const n = this.count(r);
        const out = new Map<unknown, unknown>();
        for (let i = 0; i < n; i++) {
          const k = this.value(t.key, r, depth + 1);
          out.set(k, this.value(t.elem, r, depth + 1));
        }
        return out;
      }
      default:
        return r.bytes();
    }
  }

  /** An element count: every element takes at least one byte, so more than what is left is corrupt. */
  private count(r: Reader): number {
    const n = r.uint();
    if (n > r.remaining) throw new GobError(`gob: element count ${n} exceeds the ${r.remaining} bytes left`);
    return n;
  }

  private struct(t: Extract<WireType, { kind: 'struct' }>, r: Reader, depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) throw new GobError('gob: value nested too deeply');
    const out: Record<string, unknown> = {};
    let field = -1;
    for (;;) {
      const delta = r.uint();
      if (delta === 0) return out;
      field += delta;
      if (field >= t.fields.length) throw new GobError(`gob: field number ${field} out of range for ${t.name || `type id ${t.id}`}`);
      const f = t.fields[field];
      // defineProperty: a hostile field name such as "__proto__" stays an ordinary own property.
      Object.defineProperty(out, f.name, { value: this.value(f.id, r, depth + 1), enumerable: true, writable: true, configurable: true });
    }
  }

  private interfaceValue(r: Reader, depth: number): GobInterfaceValue | null {
    const name = r.string();
    if (name === '') return null;
    const id = r.int();
    // Definitions nested inside an interface value: not needed by any protocol we speak.
    if (id < 0) throw new GobError('gob: type definitions inside interface values are not supported');
    const len = r.uint();
    if (len > r.remaining) throw new GobError('gob: truncated data');
    const start = r.pos;
    const value = this.types.get(id)?.kind === 'struct' ? this.struct(this.types.get(id) as Extract<WireType, { kind: 'struct' }>, r, depth + 1) : this.singleton(id, r, depth);
    if (r.pos - start !== len) throw new GobError(`gob: interface value of ${name}: length ${len} does not match its contents`);
    return { name, typeId: id, value };
  }

  private singleton(id: number, r: Reader, depth: number): unknown {
    if (r.uint() !== 0) throw new GobError('gob: corrupted data: non-zero delta for singleton');
    return this.value(id, r, depth + 1);
  }
}

/** Malformed framing (a length prefix): the stream cannot be read any further. */
export class GobFramingError extends GobError {
  constructor(message: string) {
    super(message);
    this.name = 'GobFramingError';
  }
}

/** Reads wireType{ArrayT, SliceT, StructT, MapT, GobEncoderT, BinaryMarshalerT, TextMarshalerT}. */
function readWireType(r: Reader, id: number): WireType {
  let variant: (typeof WIRE_VARIANTS)[number] | undefined;
  let name = '';
  let commonId = 0;
  let elem = 0;
  let key = 0;
  let len = 0;
  const fields: { name: string; id: number }[] = [];
  readStruct(r, 'wireType', 7, (f) => {
    if (variant) throw new GobError('gob: wireType with more than one variant');
    variant = WIRE_VARIANTS[f];
    readStruct(r, variant, variant === 'array' || variant === 'map' ? 3 : variant === 'slice' || variant === 'struct' ? 2 : 1, (g) => {
      if (g === 0) {
        readStruct(r, 'CommonType', 2, (h) => {
          if (h === 0) name = r.string();
          else commonId = r.int();
        });
        return;
      }
      switch (variant) {
        case 'array':
          if (g === 1) elem = r.int();
          else len = r.int();
          return;
        case 'slice':
          elem = r.int();
          return;
        case 'map':
          if (g === 1) key = r.int();
          else elem = r.int();
          return;
        case 'struct': {
          const n = r.uint();
          if (n > r.remaining) throw new GobError('gob: field count exceeds the data');
          for (let i = 0; i < n; i++) {
            const fd = { name: '', id: 0 };
            readStruct(r, 'fieldType', 2, (h) => {
              if (h === 0) fd.name = r.string();
              else fd.id = r.int();
            });
            fields.push(fd);
          }
          return;
        }
      }
    });
  });
  if (!variant) throw new GobError(`gob: empty wireType for type id ${id}`);
  if (commonId !== id) throw new GobError(`gob: type definition for id ${id} names id ${commonId}`);
  const refs = variant === 'struct' ? fields.map((f) => f.id) : variant === 'map' ? [key, elem] : variant === 'array' || variant === 'slice' ? [elem] : [];
  if (refs.some((x) => x <= 0)) throw new GobError(`gob: type ${name || id} refers to an invalid type id`);
  if (len < 0) throw new GobError(`gob: array type ${name || id} with negative length`);
  switch (variant) {
    case 'struct':
      return { kind: 'struct', name, id, fields };
    case 'slice':
      return { kind: 'slice', name, id, elem };
    case 'array':
      return { kind: 'array', name, id, elem, len };
    case 'map':
      return { kind: 'map', name, id, key, elem };
    default:
      return { kind: variant, name, id };
  }
}

/** Walks one struct's (delta, value) pairs; `field` must consume the value of field number n. */
function readStruct(r: Reader, what: string, nFields: number, field: (n: number) => void): void {
  let n = -1;
  for (;;) {
    const delta = r.uint();
    if (delta === 0) return;
    n += delta;
    if (n >= nFields) throw new GobError(`gob: field number ${n} out of range in ${what}`);
    field(n);
  }
}
