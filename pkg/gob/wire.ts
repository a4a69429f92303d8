// The primitive encodings of Go's encoding/gob ("Encoding Details" in the package
// documentation): unsigned and signed integers, floats, byte strings, message framing.

/** Malformed or unsupported gob data, or a value that does not fit its gob type. */
export class GobError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'GobError';
  }
}

const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const MAX_U64 = (1n << 64n) - 1n;

/** A number when it is exactly representable, else a bigint. */
function narrow(v: bigint): number | bigint {
  return v <= MAX_SAFE && v >= -MAX_SAFE ? Number(v) : v;
}

/** Reads gob primitives from one message; every read checks the bounds. */
export class Reader {
  pos = 0;
  constructor(private readonly buf: Buffer) {}

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): void {
    if (this.remaining < n) throw new GobError('gob: truncated data');
  }

  /** An unsigned integer as a bigint (the full uint64 range). */
  uintBig(): bigint {
    this.need(1);
    const b = this.buf[this.pos++];
    if (b < 0x80) return BigInt(b);
    const n = 256 - b;
    // A count byte of -1..-8; anything else cannot come from an encoder (Go: "invalid uint data length").
    if (n > 8) throw new GobError(`gob: invalid uint data length ${n}`);
    this.need(n);
    let v = 0n;
    for (let i = 0; i < n; i++) v = (v << 8n) | BigInt(this.buf[this.pos++]);
    return v;
  }

  /** An unsigned integer that must fit a JavaScript number (counts, lengths, deltas, ids). */
  uint(): number {
    const v = this.uintBig();
    if (v > MAX_SAFE) throw new GobError(`gob: count or length ${v} out of range`);
    return Number(v);
  }

  /** A signed integer: bit 0 says whether the rest is complemented. */
  intBig(): bigint {
    const u = this.uintBig();
    return u & 1n ? ~(u >> 1n) : u >> 1n;
  }

  int(): number {
    const v = this.intBig();
    if (v > MAX_SAFE || v < -MAX_SAFE) throw new GobError(`gob: integer ${v} out of range`);
    return Number(v);
  }

  /** uint64 or int64 as a number when exact, else a bigint. */
  uintValue(): number | bigint {
    return narrow(this.uintBig());
  }

  intValue(): number | bigint {
    return narrow(this.intBig());
  }

  /** A float64: its bits byte-reversed, sent as an unsigned integer. */
  float(): number {
    const b = Buffer.alloc(8);
    b.writeBigUInt64LE(this.uintBig());
    return b.readDoubleBE(0);
  }

  /** A count followed by that many bytes (a copy). */
  bytes(): Buffer {
    const n = this.uint();
    this.need(n);
    const out = Buffer.from(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return out;
  }

  string(): string {
    const n = this.uint();
    this.need(n);
    const s = this.buf.toString('utf8', this.pos, this.pos + n);
    this.pos += n;
    return s;
  }
}

/** Collects gob primitives into one buffer. */
export class Writer {
  private chunks: Buffer[] = [];
  private small: number[] = [];

  private flushSmall(): void {
    if (this.small.length) {
      this.chunks.push(Buffer.from(this.small));
      this.small = [];
    }
  }

  uint(x: number | bigint): void {
    if (typeof x === 'number') {
      if (!Number.isInteger(x) || x < 0) throw new GobError(`gob: ${x} is not an unsigned integer`);
      if (x < 0x80) {
        this.small.push(x);
        return;
      }
      x = BigInt(x);
    }
    if (x < 0n || x > MAX_U64) throw new GobError(`gob: ${x} does not fit a uint64`);
    if (x < 0x80n) {
      this.small.push(Number(x));
      return;
    }
    const bytes: number[] = [];
    for (let v = x; v > 0n; v >>= 8n) bytes.unshift(Number(v & 0xffn));
    this.small.push(256 - bytes.length, ...bytes);
  }

  int(x: number | bigint): void {
    if (typeof x === 'number' && !Number.isInteger(x)) throw new GobError(`gob: ${x} is not an integer`);
    const v = BigInt(x);
    if (v < -(1n << 63n) || v >= 1n << 63n) throw new GobError(`gob: ${x} does not fit an int64`);
    this.uint(v < 0n ? (~v << 1n) | 1n : v << 1n);
  }

  float(f: number): void {
    const b = Buffer.alloc(8);
    b.writeDoubleBE(f);
    this.uint(b.readBigUInt64LE(0));
  }

  bytes(b: Uint8Array): void {
    this.uint(b.length);
    this.raw(b);
  }

  string(s: string): void {
    this.bytes(Buffer.from(s, 'utf8'));
  }

  raw(b: Uint8Array): void {
    this.flushSmall();
    this.chunks.push(Buffer.from(b.buffer, b.byteOffset, b.length));
  }

  /** Everything written so far. */
  finish(): Buffer {
    this.flushSmall();
    return Buffer.concat(this.chunks);
  }

  /** Everything written so far as one message: preceded by its byte count. */
  message(): Buffer {
    const body = this.finish();
    const head = new Writer();
    head.uint(body.length);
    return Buffer.concat([head.finish(), body]);
  }
}
