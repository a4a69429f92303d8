// rtnetlink wire format: a synchronous request/ack/dump loop over our addon's
// AF_NETLINK socket. This file and the ones built on it in pkg/ip are the only
// code in the suite that speaks netlink. A socket talks to the namespace it was
// created in, so "which namespace" is decided once, at construction.
import { constants } from 'node:os';
import { closeSync } from '../native/fs.js';
import { native, type NlSendHandle } from '../native/index.js';
import { concat, put16, put32, text, u16, u32, i32, utf8, view } from '../bytes/index.js';
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

/** One attribute to encode: a nested list, raw bytes, or a typed scalar. */
export type Attr =
  | { type: number; nested: Attr[] }
  | { type: number; buf: Uint8Array }
  | { type: number; u8: number }
  | { type: number; u16: number }
  | { type: number; u32: number }
  | { type: number; i32: number }
  | { type: number; str: string };

const align4 = (n: number) => (n + 3) & ~3;

/** Encodes attributes (rtattr) with 4-byte padding. */
export function encodeAttrs(attrs: Attr[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const a of attrs) {
    let payload: Uint8Array;
    let type = a.type;
    if ('nested' in a) {
      payload = encodeAttrs(a.nested);
      type |= NLA_F_NESTED;
    } else if ('buf' in a) payload = a.buf;
    else if ('u8' in a) payload = Uint8Array.of(a.u8);
    else if ('u16' in a) {
      payload = new Uint8Array(2);
      put16(payload, 0, a.u16);
    } else if ('u32' in a || 'i32' in a) {
      payload = new Uint8Array(4);
      put32(payload, 0, 'u32' in a ? a.u32 : a.i32);
    } else payload = utf8(a.str + '\0');
    const hdr = new Uint8Array(4);
    put16(hdr, 0, 4 + payload.length);
    put16(hdr, 2, type);
    parts.push(hdr, payload, new Uint8Array(align4(payload.length) - payload.length));
  }
  return concat(parts);
}

/**
 * Decoded attributes: type → raw payload (last one wins), plus the ordered
 * list. Only offsets are recorded up front; a payload view is made when it
 * is read (a link message carries ~50 attributes and a caller reads a few).
 */
export class Attrs {
  private readonly types: number[] = [];
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly last = new Map<number, number>();
  constructor(private readonly buf: Uint8Array) {
    let off = 0;
    while (off + 4 <= buf.length) {
      const len = u16(buf, off);
      const type = u16(buf, off + 2) & ~NLA_F_NESTED & 0x7fff;
      if (len < 4 || off + len > buf.length) break;
      this.last.set(type, this.types.length);
      this.types.push(type);
      this.starts.push(off + 4);
      this.ends.push(off + len);
      off += align4(len);
    }
  }
  /** Every attribute in message order. */
  get list(): Array<{ type: number; data: Uint8Array }> {
    return this.types.map((type, i) => ({ type, data: view(this.buf, this.starts[i], this.ends[i]) }));
  }
  get(type: number): Uint8Array | undefined {
    const i = this.last.get(type);
    return i === undefined ? undefined : view(this.buf, this.starts[i], this.ends[i]);
  }
  has(type: number): boolean {
    return this.last.has(type);
  }
  str(type: number): string | undefined {
    const i = this.last.get(type);
    if (i === undefined) return undefined;
    let end = this.starts[i];
    while (end < this.ends[i] && this.buf[end] !== 0) end++;
    return text(this.buf, this.starts[i], end);
  }
  u8(type: number): number | undefined {
    const i = this.last.get(type);
    return i !== undefined && this.ends[i] - this.starts[i] >= 1 ? this.buf[this.starts[i]] : undefined;
  }
  u16(type: number): number | undefined {
    const i = this.last.get(type);
    return i !== undefined && this.ends[i] - this.starts[i] >= 2 ? u16(this.buf, this.starts[i]) : undefined;
  }
  u32(type: number): number | undefined {
    const i = this.last.get(type);
    return i !== undefined && this.ends[i] - this.starts[i] >= 4 ? u32(this.buf, this.starts[i]) : undefined;
  }
  i32(type: number): number | undefined {
    const i = this.last.get(type);
    return i !== undefined && this.ends[i] - this.starts[i] >= 4 ? i32(this.buf, this.starts[i]) : undefined;
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
  body: Uint8Array;
}

let seqCounter = Math.floor(Date.now() / 1000) & 0x7fffffff;

/** One request datagram with the next sequence number. */
function message(type: number, flags: number, body: Uint8Array): { seq: number; msg: Uint8Array } {
  const seq = ++seqCounter;
  const msg = new Uint8Array(16 + body.length);
  put32(msg, 0, msg.length);
  put16(msg, 4, type);
  put16(msg, 6, flags | NLM_F_REQUEST);
  put32(msg, 8, seq);
  msg.set(body, 16);
  return { seq, msg };
}

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

  private send(type: number, flags: number, body: Uint8Array): number {
    const { seq, msg } = message(type, flags, body);
    native().nlSend(this.fd, msg);
    return seq;
  }

  private *receive(seq: number, what: string): Generator<NlMessage> {
    for (;;) {
      const buf = native().nlRecv(this.fd);
      let off = 0;
      while (off + 16 <= buf.length) {
        const len = u32(buf, off);
        const type = u16(buf, off + 4);
        const flags = u16(buf, off + 6);
        const mseq = u32(buf, off + 8);
        if (len < 16 || off + len > buf.length) return;
        const body = view(buf, off + 16, off + len);
        off += align4(len);
        if (mseq !== seq) continue;
        if (type === NLMSG_DONE) {
          if (flags & NLM_F_DUMP_INTR) throw new DumpInterrupted();
          return;
        }
        if (type === NLMSG_ERROR) {
          const err = -i32(body, 0);
          if (err === 0) return;
          let extack: string | undefined;
          if (flags & NLM_F_ACK_TLVS) {
            const origLen = flags & NLM_F_CAPPED ? 16 : u32(body, 4);
            extack = new Attrs(view(body, 4 + align4(origLen))).str(NLMSGERR_ATTR_MSG);
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
  request(type: number, flags: number, body: Uint8Array, what: string): NlMessage[] {
    const seq = this.send(type, flags | NLM_F_ACK, body);
    return [...this.receive(seq, what)];
  }

  /**
   * request() with the kernel's part on a thread of its own (native/nlasync.c), for a request that keeps
   * the kernel busy (a veth's destruction): the JS thread goes on until wait(), and the socket is not
   * used by anything else until then.
   */
  requestStart(type: number, flags: number, body: Uint8Array, what: string): { wait(): NlMessage[] } {
    const { seq, msg } = message(type, flags | NLM_F_ACK, body);
    let handle: NlSendHandle | undefined = native().nlSendStart(this.fd, msg);
    return {
      wait: () => {
        if (!handle) throw new Error(`${what}: waited for twice`);
        const h = handle;
        handle = undefined;
        native().nlSendWait(h);
        return [...this.receive(seq, what)];
      },
    };
  }

  /** Dumps a table, retrying when the kernel says the dump was interrupted (plugins#1121). */
  dump(type: number, body: Uint8Array, what: string): NlMessage[] {
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
