// rtnetlink wire format: a synchronous request/ack/dump loop over our addon's
// AF_NETLINK socket. This file and the ones built on it in pkg/ip are the only
// code in the suite that speaks netlink. A socket talks to the namespace it was
// created in, so "which namespace" is decided once, at construction.
import { closeSync } from 'node:fs';
import { constants } from 'node:os';
import { native } from '../native/index.js';
import type { NetNS } from '../ns/index.js';

export const NLM_F_REQUEST = 0x1;
export const NLM_F_MULTI = 0x2;
export const NLM_F_ACK = 0x4;
export const NLM_F_DUMP_INTR = 0x10;
export const NLM_F_DUMP = 0x300;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLM_F_APPEND = 0x800;
const NLM_F_CAPPED = 0x100;
const NLM_F_ACK_TLVS = 0x200;
const NLA_F_NESTED = 0x8000;
const NLMSG_ERROR = 2;
const NLMSG_DONE = 3;
const NLMSGERR_ATTR_MSG = 1;

let errnoNames: Record<number, string> | undefined;
/** errno number → name, built on the first error rather than at every start. */
function errnoName(errno: number): string {
  errnoNames ??= Object.fromEntries(Object.entries(constants.errno).map(([name, num]) => [num, name]));
  return errnoNames[errno] ?? `E${errno}`;
}

/** A kernel error: `errno` and `code` ("EEXIST"), plus the extended-ack text when the kernel gave one. */
export class NetlinkError extends Error {
  readonly errno: number;
  readonly code: string;
  /** The kernel's answer alone ("file exists (extack)"), for callers that describe the request themselves. */
  readonly reason: string;
  constructor(errno: number, what: string, extack?: string) {
    const code = errnoName(errno);
    const reason = `${errnoText(errno)}${extack ? ` (${extack})` : ''}`;
    super(`${what}: ${reason}`);
    this.name = 'NetlinkError';
    this.errno = errno;
    this.code = code;
    this.reason = reason;
  }
}

function errnoText(errno: number): string {
  const texts: Record<string, string> = {
    EEXIST: 'file exists',
    ENODEV: 'no such device',
    ENOENT: 'no such file or directory',
    EINVAL: 'invalid argument',
    EPERM: 'operation not permitted',
    EBUSY: 'device or resource busy',
    EADDRNOTAVAIL: 'cannot assign requested address',
    EOPNOTSUPP: 'operation not supported',
    ENETUNREACH: 'network is unreachable',
    ERANGE: 'numerical result out of range',
    ESRCH: 'no such process',
  };
  const code = errnoName(errno);
  return texts[code] ?? code.toLowerCase();
}

/** One attribute to encode: a nested list, a raw buffer, or a typed scalar. */
export type Attr =
  | { type: number; nested: Attr[] }
  | { type: number; buf: Buffer }
  | { type: number; u8: number }
  | { type: number; u16: number }
  | { type: number; u32: number }
  | { type: number; i32: number }
  | { type: number; str: string };

const align4 = (n: number) => (n + 3) & ~3;

/** Encodes attributes (rtattr) with 4-byte padding. */
export function encodeAttrs(attrs: Attr[]): Buffer {
  const parts: Buffer[] = [];
  for (const a of attrs) {
    let payload: Buffer;
    let type = a.type;
    if ('nested' in a) {
      payload = encodeAttrs(a.nested);
      type |= NLA_F_NESTED;
    } else if ('buf' in a) payload = a.buf;
    else if ('u8' in a) payload = Buffer.from([a.u8]);
    else if ('u16' in a) {
      payload = Buffer.alloc(2);
      payload.writeUInt16LE(a.u16);
    } else if ('u32' in a) {
      payload = Buffer.alloc(4);
      payload.writeUInt32LE(a.u32 >>> 0);
    } else if ('i32' in a) {
      payload = Buffer.alloc(4);
      payload.writeInt32LE(a.i32);
    } else payload = Buffer.from(a.str + '\0');
    const hdr = Buffer.alloc(4);
    hdr.writeUInt16LE(4 + payload.length, 0);
    hdr.writeUInt16LE(type, 2);
    parts.push(hdr, payload, Buffer.alloc(align4(payload.length) - payload.length));
  }
  return Buffer.concat(parts);
}

/**
 * Decoded attributes: type → raw payload (last one wins), plus the ordered
 * list. Only offsets are recorded up front; a payload Buffer is made when it
 * is read (a link message carries ~50 attributes and a caller reads a few).
 */
export class Attrs {
  private readonly types: number[] = [];
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly last = new Map<number, number>();
  constructor(private readonly buf: Buffer) {
    let off = 0;
    while (off + 4 <= buf.length) {
      const len = buf.readUInt16LE(off);
      const type = buf.readUInt16LE(off + 2) & ~NLA_F_NESTED & 0x7fff;
      if (len < 4 || off + len > buf.length) break;
      this.last.set(type, this.types.length);
      this.types.push(type);
      this.starts.push(off + 4);
      this.ends.push(off + len);
      off += align4(len);
    }
  }
  /** Every attribute in message order. */
  get list(): Array<{ type: number; data: Buffer }> {
    return this.types.map((type, i) => ({ type, data: this.buf.subarray(this.starts[i], this.ends[i]) }));
  }
  get(type: number): Buffer | undefined {
    const i = this.last.get(type);
    return i === undefined ? undefined : this.buf.subarray(this.starts[i], this.ends[i]);
  }
  has(type: number): boolean {
    return this.last.has(type);
  }
  str(type: number): string | undefined {
    const b = this.get(type);
    if (!b) return undefined;
    const z = b.indexOf(0);
    return b.subarray(0, z < 0 ? b.length : z).toString();
  }
  u8(type: number): number | undefined {
    const i = this.last.get(type);
    return i !== undefined && this.ends[i] - this.starts[i] >= 1 ? this.buf.readUInt8(this.starts[i]) : undefined;
  }
  u16(type: number): number | undefined {
    const i = this.last.get(type);
    return i !== undefined && this.ends[i] - this.starts[i] >= 2 ? this.buf.readUInt16LE(this.starts[i]) : undefined;
  }
  u32(type: number): number | undefined {
    const i = this.last.get(type);
    return i !== undefined && this.ends[i] - this.starts[i] >= 4 ? this.buf.readUInt32LE(this.starts[i]) : undefined;
  }
  i32(type: number): number | undefined {
    const i = this.last.get(type);
    return i !== undefined && this.ends[i] - this.starts[i] >= 4 ? this.buf.readInt32LE(this.starts[i]) : undefined;
  }
  nested(type: number): Attrs | undefined {
    const b = this.get(type);
    return b ? new Attrs(b) : undefined;
  }
}

/** One message of a reply: its type, flags and body (after the nlmsghdr). */
export interface NlMessage {
  type: number;
  flags: number;
  body: Buffer;
}

let seqCounter = Math.floor(Date.now() / 1000) & 0x7fffffff;

/** An rtnetlink socket bound to the namespace it was created in. Close it when done. */
export class Rtnl {
  private fd: number;
  private readonly ns: NetNS | undefined;

  /** Opens a socket in `ns` (the caller's namespace when omitted). */
  constructor(ns?: NetNS) {
    this.ns = ns;
    this.fd = this.open();
  }

  private open(): number {
    return this.ns ? this.ns.run(() => native().nlOpen(0)) : native().nlOpen(0);
  }

  close(): void {
    if (this.fd >= 0) {
      closeSync(this.fd);
      this.fd = -1;
    }
  }

  private send(type: number, flags: number, body: Buffer): number {
    const seq = ++seqCounter;
    const hdr = Buffer.alloc(16);
    hdr.writeUInt32LE(16 + body.length, 0);
    hdr.writeUInt16LE(type, 4);
    hdr.writeUInt16LE(flags | NLM_F_REQUEST, 6);
    hdr.writeUInt32LE(seq, 8);
    native().nlSend(this.fd, Buffer.concat([hdr, body]));
    return seq;
  }

  private *receive(seq: number, what: string): Generator<NlMessage> {
    for (;;) {
      const buf = native().nlRecv(this.fd);
      let off = 0;
      while (off + 16 <= buf.length) {
        const len = buf.readUInt32LE(off);
        const type = buf.readUInt16LE(off + 4);
        const flags = buf.readUInt16LE(off + 6);
        const mseq = buf.readUInt32LE(off + 8);
        if (len < 16 || off + len > buf.length) return;
        const body = buf.subarray(off + 16, off + len);
        off += align4(len);
        if (mseq !== seq) continue;
        if (type === NLMSG_DONE) {
          if (flags & NLM_F_DUMP_INTR) throw new DumpInterrupted();
          return;
        }
        if (type === NLMSG_ERROR) {
          const err = -body.readInt32LE(0);
          if (err === 0) return;
          let extack: string | undefined;
          if (flags & NLM_F_ACK_TLVS) {
            const origLen = flags & NLM_F_CAPPED ? 16 : body.readUInt32LE(4);
            extack = new Attrs(body.subarray(4 + align4(origLen))).str(NLMSGERR_ATTR_MSG);
          }
          throw new NetlinkError(err, what, extack);
        }
        if (flags & NLM_F_DUMP_INTR) throw new DumpInterrupted();
        yield { type, flags, body };
        if (!(flags & NLM_F_MULTI)) return;
      }
    }
  }

  /** Sends a request that expects an ack; throws NetlinkError on a kernel error. */
  request(type: number, flags: number, body: Buffer, what: string): NlMessage[] {
    const seq = this.send(type, flags | NLM_F_ACK, body);
    return [...this.receive(seq, what)];
  }

  /** Dumps a table, retrying when the kernel says the dump was interrupted (plugins#1121). */
  dump(type: number, body: Buffer, what: string): NlMessage[] {
    for (let attempt = 0; ; attempt++) {
      try {
        const seq = this.send(type, NLM_F_DUMP, body);
        return [...this.receive(seq, what)];
      } catch (e) {
        if (e instanceof DumpInterrupted && attempt < 10) {
          this.drain();
          continue;
        }
        if (e instanceof DumpInterrupted) throw new NetlinkError(constants.errno.EINTR, `${what}: dump interrupted ${attempt} times`);
        throw e;
      }
    }
  }

  private drain(): void {
    // a fresh socket is the simplest way to drop the rest of an interrupted dump
    closeSync(this.fd);
    this.fd = this.open();
  }
}

class DumpInterrupted extends Error {}
