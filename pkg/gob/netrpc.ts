// Go's net/rpc as registered with rpc.HandleHTTP, over a stream socket: the client
// sends `CONNECT /_goRPC_ HTTP/1.0`, the server answers `HTTP/1.0 200 Connected to
// Go RPC`, then each call is a gob Request{ServiceMethod, Seq} and the argument, each
// reply a gob Response{ServiceMethod, Seq, Error} and the reply value.
// The client side talks through the addon (native/unixsock.c), never node:net: a
// plugin makes one call per process, and node:net costs it ~2.5-3.5 ms to load
// plus as much in first calls of its stream machinery. The server side
// (the daemon, long-lived) uses node:net.
import type { Server, Socket } from 'node:net';
import { concat, text, utf8 } from '../bytes/index.js';
import { native } from '../native/index.js';
import { Decoder, GobFramingError, type Decoded } from './decoder.js';
import { Encoder } from './encoder.js';
import { gobString, gobUint, type GobType, type StructType } from './types.js';
import { GobError } from './wire.js';

export const RPC_PATH = '/_goRPC_';
/** The status Go's client insists on, word for word. */
export const CONNECTED = '200 Connected to Go RPC';

/** rpc.Request */
export const requestType: StructType = {
  kind: 'struct',
  name: 'Request',
  fields: [
    { name: 'ServiceMethod', type: gobString },
    { name: 'Seq', type: gobUint },
  ],
};

/** rpc.Response */
export const responseType: StructType = {
  kind: 'struct',
  name: 'Response',
  fields: [
    { name: 'ServiceMethod', type: gobString },
    { name: 'Seq', type: gobUint },
    { name: 'Error', type: gobString },
  ],
};

/** `struct{}`: the Release reply, and the body Go's server sends with every error reply. */
export const emptyStructType: StructType = { kind: 'struct', name: '', fields: [] };

/** An error string the server answered with (Go's rpc.ServerError). */
export class RPCError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RPCError';
  }
}

const MAX_HEAD = 64 << 10;

/** Where an HTTP head ends (a blank line, LF or CRLF, as Go's reader accepts): its length and the terminator's. */
function headEnd(b: Uint8Array): { end: number; skip: number } | undefined {
  for (let i = 0; i + 1 < b.length; i++) {
    if (b[i] !== 0x0a) continue;
    if (b[i + 1] === 0x0a) return { end: i, skip: 2 };
    if (i > 0 && b[i - 1] === 0x0d && b[i + 1] === 0x0d && b[i + 2] === 0x0a) return { end: i - 1, skip: 4 };
  }
  return undefined;
}

/** Splits off an HTTP head (the server side's copy, on node:net Buffers). */
function splitHead(buf: Buffer): { lines: string[]; rest: Buffer } | undefined {
  const h = headEnd(buf);
  if (!h) return undefined;
  return { lines: buf.toString('latin1', 0, h.end).split(/\r?\n/), rest: buf.subarray(h.end + h.skip) };
}

function errnoError(message: string, code: string): Error {
  return Object.assign(new Error(message), { code });
}

function asStruct(d: Decoded, what: string): Record<string, unknown> {
  if (d.type?.kind !== 'struct') throw new GobError(`gob: ${what}: expected a struct, got type id ${d.typeId}`);
  return d.value as Record<string, unknown>;
}

/** Reads a Request/Response header field, checking its wire type (gob's decoder refuses mismatches). */
function headerField(h: Record<string, unknown>, name: string, kind: 'string' | 'uint'): string | number | bigint {
  const v = h[name];
  if (v === undefined) return kind === 'string' ? '' : 0;
  if (kind === 'string' ? typeof v !== 'string' : typeof v !== 'number' && typeof v !== 'bigint') {
    throw new GobError(`gob: ${name}: wrong type`);
  }
  return v as string | number | bigint;
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: unknown): void;
}

export interface DialOptions {
  /** Fails the connection (and every call on it) with ETIMEDOUT once this long has passed since the dial. */
  timeoutMs?: number;
}

/** A net/rpc client on one connection: several calls, in flight at once if you like. */
export class RPCClient {
  private readonly encoder = new Encoder();
  private readonly decoder = new Decoder();
  private readonly pending = new Map<number, Pending>();
  private seq = 0;
  private header: Record<string, unknown> | undefined;
  private failure: Error | undefined;
  private timer: NodeJS.Timeout | undefined;
  private fd = -1;

  private constructor() {}

  /**
   * Connects to a unix socket and does the HTTP CONNECT handshake. Rejects with the
   * connect error (errno code kept: ENOENT, ECONNREFUSED...) or the handshake's.
   */
  static dial(socketPath: string, opts: DialOptions = {}): Promise<RPCClient> {
    return new Promise((resolve, reject) => {
      const client = new RPCClient();
      let head: Uint8Array | undefined;
      let connected = false;
      const fail = (e: Error) => {
        client.fail(e);
        if (!connected) reject(e);
      };
      const onEvent = (chunk: Buffer | null, err?: Error) => {
        if (client.failure) return;
        if (err) return fail(err);
        if (!chunk) return fail(new Error(connected ? 'unexpected EOF' : `dial-http unix ${socketPath}: unexpected EOF`));
        if (connected) return client.onData(chunk);
        const buf = head ? concat([head, chunk]) : chunk;
        const h = headEnd(buf);
        if (!h) {
          head = buf;
          if (buf.length > MAX_HEAD) fail(new Error(`dial-http unix ${socketPath}: HTTP response head too long`));
          return;
        }
        const line = text(buf, 0, h.end).split(/\r?\n/)[0];
        const status = /^HTTP\/\d\.\d (.*)$/.exec(line)?.[1];
        if (status !== CONNECTED) return fail(new Error(`dial-http unix ${socketPath}: unexpected HTTP response: ${status ?? line}`));
        connected = true;
        resolve(client);
        // the decoder wants a Buffer: a chunk is one; a head that came in pieces is copied once
        const rest = buf === chunk ? chunk.subarray(h.end + h.skip) : Buffer.from(buf.subarray(h.end + h.skip));
        if (rest.length) client.onData(rest);
      };
      try {
        client.fd = native().unixConnect(socketPath, onEvent);
        native().unixWrite(client.fd, utf8(`CONNECT ${RPC_PATH} HTTP/1.0\n\n`));
      } catch (e) {
        return fail(e as Error);
      }
      if (opts.timeoutMs !== undefined) {
        client.timer = setTimeout(() => fail(errnoError(`timed out after ${opts.timeoutMs} ms talking to ${socketPath}`, 'ETIMEDOUT')), opts.timeoutMs);
      }
    });
  }

  /** One call; resolves with the decoded reply value, rejects with RPCError for the server's error string. */
  call(serviceMethod: string, argType: GobType, arg: unknown): Promise<unknown> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = this.seq++;
    return new Promise((resolve, reject) => {
      try {
        const bytes = concat([this.encoder.encode(requestType, { ServiceMethod: serviceMethod, Seq: seq }), this.encoder.encode(argType, arg)]);
        this.pending.set(seq, { resolve, reject });
        native().unixWrite(this.fd, bytes);
      } catch (e) {
        // an encoding error fails this call only; a send error (the daemon went away) the connection, this call included
        if (!this.pending.has(seq)) return reject(e);
        this.fail(e as Error);
      }
    });
  }

  /** Closes the connection; calls still in flight fail with Go's "connection is shut down". */
  close(): void {
    this.fail(new Error('connection is shut down'));
  }

  private fail(e: Error): void {
    if (this.failure) return;
    this.failure = e;
    clearTimeout(this.timer);
    for (const p of this.pending.values()) p.reject(e);
    this.pending.clear();
    // once only: the fd number may belong to another connection after this
    if (this.fd >= 0) native().unixClose(this.fd);
  }

  private onData(chunk: Buffer): void {
    try {
      this.decoder.push(chunk);
      for (let d = this.decoder.next(); d; d = this.decoder.next()) {
        if (!this.header) {
          this.header = asStruct(d, 'rpc.Response');
          continue;
        }
        const h = this.header;
        this.header = undefined;
        const seq = Number(headerField(h, 'Seq', 'uint'));
        const error = headerField(h, 'Error', 'string') as string;
        const p = this.pending.get(seq);
        // Go's client discards a reply nobody waits for.
        if (!p) continue;
        this.pending.delete(seq);
        if (error) p.reject(new RPCError(error));
        else p.resolve(d.value);
      }
    } catch (e) {
      this.fail(e as Error);
    }
  }
}

/** A method's reply: its gob type and value. */
export interface Reply {
  type: GobType;
  value: unknown;
}

/** A method: receives the decoded argument; what it throws becomes the Response's Error string. */
export type RPCHandler = (arg: Decoded) => Promise<Reply>;

export interface ServeOptions {
  /** Told about connections dropped for malformed input and failed writes; nothing else is logged. */
  onError?(err: Error): void;
}

/**
 * Serves net/rpc-over-HTTP on `server` (listening already or later): `methods` keyed "Service.Method".
 * Calls on one connection run concurrently and are answered as they finish, as Go's server does.
 */
export function serveNetRPC(server: Server, methods: Record<string, RPCHandler>, opts: ServeOptions = {}): void {
  const services = new Set(Object.keys(methods).map((m) => m.slice(0, m.lastIndexOf('.'))));
  server.on('connection', (socket: Socket) => serveConn(socket, methods, services, opts));
}

function httpReply(socket: Socket, proto: string, status: string, body: string): void {
  socket.end(`${proto} ${status}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

function serveConn(socket: Socket, methods: Record<string, RPCHandler>, services: Set<string>, opts: ServeOptions): void {
  const encoder = new Encoder();
  const decoder = new Decoder();
  let head: Buffer | undefined = Buffer.alloc(0);
  let header: { serviceMethod: string; seq: number | bigint } | undefined;
  let closed = false;
  const drop = (e: Error) => {
    if (!closed) opts.onError?.(e);
    closed = true;
    socket.destroy();
  };
  socket.on('error', drop);
  socket.on('close', () => {
    closed = true;
  });

  const respond = (serviceMethod: string, seq: number | bigint, error: string, reply: Reply) => {
    if (closed) return;
    let bytes: Buffer;
    try {
      bytes = Buffer.concat([encoder.encode(responseType, { ServiceMethod: serviceMethod, Seq: seq, Error: error }), encoder.encode(reply.type, reply.value)]);
    } catch (e) {
      // A reply our schema cannot carry: tell the caller instead of sending half a message.
      const msg = `rpc: failed to encode reply for ${serviceMethod}: ${(e as Error).message}`;
      bytes = Buffer.concat([encoder.encode(responseType, { ServiceMethod: serviceMethod, Seq: seq, Error: msg }), encoder.encode(emptyStructType, {})]);
    }
    socket.write(bytes);
  };

  const dispatch = (serviceMethod: string, seq: number | bigint, body: Decoded | Error) => {
    const fail = (msg: string) => respond(serviceMethod, seq, msg, { type: emptyStructType, value: {} });
    // Go's server checks these after reading the header and discards the body; the texts are its own.
    const dot = serviceMethod.lastIndexOf('.');
    if (dot < 0) return fail(`rpc: service/method request ill-formed: ${serviceMethod}`);
    if (!services.has(serviceMethod.slice(0, dot))) return fail(`rpc: can't find service ${serviceMethod}`);
    const handler = Object.hasOwn(methods, serviceMethod) ? methods[serviceMethod] : undefined;
    if (!handler) return fail(`rpc: can't find method ${serviceMethod}`);
    if (body instanceof Error) return fail(body.message);
    handler(body).then(
      (reply) => respond(serviceMethod, seq, '', reply),
      (e) => fail((e instanceof Error ? e.message : String(e)) || 'error'),
    );
  };

  const onRPC = (chunk: Buffer) => {
    decoder.push(chunk);
    for (;;) {
      let d: Decoded | undefined;
      try {
        d = decoder.next();
      } catch (e) {
        // Bad framing, or a bad header: Go's server closes the connection ("rpc: server cannot decode request").
        if (e instanceof GobFramingError || !header) return drop(e as Error);
        // A bad body with intact framing: Go answers the call with the decoding error and reads on.
        const h = header;
        header = undefined;
        dispatch(h.serviceMethod, h.seq, e as Error);
        continue;
      }
      if (!d) return;
      if (!header) {
        try {
          const h = asStruct(d, 'rpc.Request');
          header = { serviceMethod: headerField(h, 'ServiceMethod', 'string') as string, seq: headerField(h, 'Seq', 'uint') as number | bigint };
        } catch (e) {
          return drop(e as Error);
        }
        continue;
      }
      const h = header;
      header = undefined;
      dispatch(h.serviceMethod, h.seq, d);
    }
  };

  socket.on('data', (chunk: Buffer) => {
    if (closed) return;
    if (!head) return onRPC(chunk);
    head = Buffer.concat([head, chunk]);
    const parsed = splitHead(head);
    if (!parsed) {
      if (head.length > MAX_HEAD) {
        closed = true;
        httpReply(socket, 'HTTP/1.1', '431 Request Header Fields Too Large', '431 Request Header Fields Too Large');
      }
      return;
    }
    head = undefined;
    const m = /^(\S+) (\S+) (HTTP\/\d\.\d)$/.exec(parsed.lines[0]);
    if (!m) {
      closed = true;
      return httpReply(socket, 'HTTP/1.1', '400 Bad Request', '400 Bad Request');
    }
    const [, method, uri, proto] = m;
    if (uri !== RPC_PATH) {
      closed = true;
      return httpReply(socket, proto, '404 Not Found', '404 page not found\n');
    }
    if (method !== 'CONNECT') {
      closed = true;
      return httpReply(socket, proto, '405 Method Not Allowed', '405 must CONNECT\n');
    }
    socket.write(`HTTP/1.0 ${CONNECTED}\n\n`);
    if (parsed.rest.length) onRPC(parsed.rest);
  });
}
