// Byte helpers for the hot paths (netlink codec, stdin) on plain Uint8Arrays.
// Node's Buffer methods are JavaScript compiled on their first call in every
// process: measured here, 20-250 us each (Buffer.concat ~170, toString ~250,
// writeInt32LE ~150), ~1.5 ms per plugin call for the dozen a netlink exchange
// uses. These few lines are ours, so they come precompiled from the program's
// code cache; the typed-array operations they use are V8 builtins.

/** Little-endian unsigned 16 bits at `o`. */
export const u16 = (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8);
/** Big-endian unsigned 16 bits at `o`. */
export const u16be = (b: Uint8Array, o: number): number => (b[o] << 8) | b[o + 1];
/** Little-endian unsigned 32 bits at `o`. */
export const u32 = (b: Uint8Array, o: number): number => (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
/** Little-endian signed 32 bits at `o`. */
export const i32 = (b: Uint8Array, o: number): number => b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24);

/** Writes `v` as little-endian 16 bits at `o`. */
export function put16(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
}

/** Writes `v` as big-endian 16 bits at `o`. */
export function put16be(b: Uint8Array, o: number, v: number): void {
  b[o] = (v >>> 8) & 0xff;
  b[o + 1] = v & 0xff;
}

/** Writes `v` (signed or unsigned) as little-endian 32 bits at `o`. */
export function put32(b: Uint8Array, o: number, v: number): void {
  b[o] = v & 0xff;
  b[o + 1] = (v >>> 8) & 0xff;
  b[o + 2] = (v >>> 16) & 0xff;
  b[o + 3] = (v >>> 24) & 0xff;
}

/** The bytes of `parts` one after another, in a new array. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** `b[start, end)` (clamped, as subarray), sharing memory: a plain Uint8Array even when `b` is a Buffer. */
export function view(b: Uint8Array, start: number, end = b.length): Uint8Array {
  const e = Math.min(end, b.length);
  const s = Math.min(start, e);
  return new Uint8Array(b.buffer, b.byteOffset + s, e - s);
}

/** A copy of `b` as a plain Uint8Array. */
export const copy = (b: Uint8Array): Uint8Array => new Uint8Array(b);

/** Byte-wise equality. */
export function equal(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Byte-wise order, as Buffer.compare. */
export function compare(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] < b[i] ? -1 : 1;
  return a.length === b.length ? 0 : a.length < b.length ? -1 : 1;
}

/** UTF-8 encoding of `s`. */
export function utf8(s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    let c = s.charCodeAt(i);
    if (c >= 0xd800 && c < 0xdc00 && i + 1 < s.length) {
      const d = s.charCodeAt(i + 1);
      if (d >= 0xdc00 && d < 0xe000) {
        c = 0x10000 + ((c - 0xd800) << 10) + (d - 0xdc00);
        i++;
      }
    }
    if (c < 0x80) out.push(c);
    else if (c < 0x800) out.push(0xc0 | (c >> 6), 0x80 | (c & 0x3f));
    else if (c < 0x10000) out.push(0xe0 | (c >> 12), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
    else out.push(0xf0 | (c >> 18), 0x80 | ((c >> 12) & 0x3f), 0x80 | ((c >> 6) & 0x3f), 0x80 | (c & 0x3f));
  }
  return Uint8Array.from(out);
}

/**
 * The text of UTF-8 bytes `b[start, end)`. Interface names and other netlink
 * strings are ASCII in practice; anything else takes the general decoder.
 */
export function text(b: Uint8Array, start = 0, end = b.length): string {
  let s = '';
  for (let i = start; i < end; i++) {
    if (b[i] >= 0x80) return s + new TextDecoder().decode(b.subarray(i, end));
    s += String.fromCharCode(b[i]);
  }
  return s;
}

/** Lower-case hex of `b`. */
export function hex(b: Uint8Array): string {
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}

/** Bytes of an even-length hex string, undefined if it is not hex. */
export function fromHex(s: string): Uint8Array | undefined {
  if (s.length % 2 || !/^[0-9a-fA-F]*$/.test(s)) return undefined;
  const out = new Uint8Array(s.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(s.slice(2 * i, 2 * i + 2), 16);
  return out;
}
