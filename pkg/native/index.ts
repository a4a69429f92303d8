// Loads our small N-API addon (native/, see native/README.md). In a single executable (Node SEA or Bun) the
// addon travels as an asset: it is written once to a root-owned, content-addressed
// cache and dlopen'ed from there; when that directory is unusable it is dlopen'ed
// from an anonymous O_TMPFILE that never has a name another user could race.
//
// node:fs is loaded here only when the cache file has to be written: a Bun
// executable pays ~2 ms for that module (see fs.ts), and the common call finds
// the file and dlopens it straight away.
import { constants as osConstants, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { sha256 } from '../hash/index.js';

/** The addon's exports. Errors thrown carry `errno` and `code`. */
export interface Native {
  setns(fd: number, nstype: number): void;
  flock(fd: number, op: number): boolean;
  fsMagic(path: string): number;
  /** "dev:ino" of `path` (stat). */
  fileId(path: string): string;
  /** statfs + open(O_RDONLY|O_CLOEXEC) + fstat of a namespace file. */
  openNetns(path: string): { fd: number; id: string; magic: number };
  /** Everything readable from `fd` until end of file. */
  readFd(fd: number): Buffer;
  readFile(path: string): Buffer;
  /** open(O_WRONLY|O_TRUNC), one write, close: for /proc/sys. */
  writeFile(path: string, data: string): void;
  /** A regular file we may execute. */
  isExecutableFile(path: string): boolean;
  /** native/fsops.c, for fs.ts: one system call each (open adds O_CLOEXEC). */
  fsOpen(path: string, flags: number, mode: number): number;
  fsClose(fd: number): void;
  /** All of `data`, at `position` (pwrite) when >= 0; a non-blocking descriptor that fills returns the count so far. */
  fsWrite(fd: number, data: Uint8Array, position: number): number;
  fsStat(path: string): Stat;
  fsLstat(path: string): Stat;
  fsFstat(fd: number): Stat;
  fsFtruncate(fd: number, len: number): void;
  fsLink(existing: string, path: string): void;
  fsRename(from: string, to: string): void;
  fsMkdir(path: string, mode: number): void;
  fsRmdir(path: string): void;
  fsUnlink(path: string): void;
  /** Names and types, flat: [name, 'f' | 'd' | 'l' | 'o' | '?', ...], without "." and "..". */
  fsReaddir(path: string): string[];
  fsExists(path: string): boolean;
  fsAccess(path: string, mode: number): void;
  fsReadlink(path: string): string;
  nlOpen(protocol: number): number;
  nlSend(fd: number, buf: Uint8Array): number;
  nlRecv(fd: number): Buffer;
  /** native/nlasync.c: nlSend on a thread of its own; the socket is the thread's until nlSendWait. */
  nlSendStart(fd: number, buf: Uint8Array): NlSendHandle;
  /** Joins an nlSendStart (once per handle); throws sendto's errno. */
  nlSendWait(handle: NlSendHandle): number;
  /** posix_spawnp + poll: runs a program to completion. `env` null inherits ours, with `overrides` ("K=V") applied. */
  spawnSync(file: string, argv: string[], env: string[] | null, input: Buffer, timeoutMs: number, overrides?: string[]): SpawnResult;
  /** The same run on a thread of its own, started in the calling thread's namespaces. */
  spawnStart(file: string, argv: string[], env: string[] | null, input: Buffer, timeoutMs: number, overrides?: string[]): SpawnHandle;
  /** Joins a spawnStart run (once per handle). */
  spawnWait(handle: SpawnHandle): SpawnResult;
  /** native/packet.c: a raw Ethernet socket on `ifindex` in the calling thread's netns; DHCP client frames (UDP to port 68) go to `onFrame` on the event loop. */
  packetOpen(ifindex: number, onFrame: (frame: Buffer) => void): number;
  /** One whole Ethernet frame out of a packetOpen socket's interface. */
  packetSend(fd: number, frame: Buffer): number;
  /** Stops delivering frames and closes a packetOpen socket. */
  packetClose(fd: number): void;
  /** native/unixsock.c: a non-blocking connect to a unix stream socket (errno errors thrown); `onEvent` gets each chunk read, `null` at the end of the stream, or `(null, error)`, on the event loop. */
  unixConnect(path: string, onEvent: (data: Buffer | null, err?: Error) => void): number;
  /** Sends `data` on a unixConnect socket now, queueing what the socket does not take at once. */
  unixWrite(fd: number, data: Uint8Array): void;
  /** Stops a unixConnect socket's callbacks and closes it. */
  unixClose(fd: number): void;
  /** native/tun.c: a persistent TUN/TAP device made through /dev/net/tun in the calling thread's netns (TUNSETIFF `flags`; owner/group -1: unset); returns its name. */
  tunCreate(name: string, flags: number, owner: number, group: number): string;
}

/** stat(2) of a file (fsStat): the 64-bit identity and time as exact decimal strings (compare mtimes with BigInt). */
export interface Stat {
  dev: string;
  ino: string;
  mtimeNs: string;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  size: number;
}

/** An opaque running spawnStart job. */
export type SpawnHandle = { readonly __spawnHandle: unique symbol };
/** An opaque running nlSendStart. */
export type NlSendHandle = { readonly __nlSendHandle: unique symbol };

export interface SpawnResult {
  status: number;
  signal: number;
  timedOut: boolean;
  stdout: Buffer;
  stderr: Buffer;
}

declare const __NATIVE_HASH__: string | undefined;

const CACHE_DIR = '/var/lib/cni-ts/native';
const O_TMPFILE = 0o20200000;
// Kept open for the life of the process: glibc dedups dlopen by path string, so a
// reused /proc/self/fd/N would hand back an already loaded library.
const heldFds: number[] = [];

let loaded: Native | undefined;

/** The addon, loaded on first use. */
export function native(): Native {
  if (loaded) return loaded;
  const file = locate();
  loaded = loadedEarly ?? dlopen(file); // fromAsset may have loaded it while looking
  return loaded;
}

function dlopen(file: string): Native {
  const mod = { exports: {} as Native };
  process.dlopen(mod, file, osConstants.dlopen.RTLD_NOW);
  return mod.exports;
}

type NodeFs = typeof import('node:fs');
const nodeFs = (): NodeFs => process.getBuiltinModule('node:fs') as NodeFs;

function locate(): string {
  const explicit = process.env.CNI_TS_NATIVE;
  if (explicit) return explicit;
  const programs = executablePrograms();
  if (programs?.asset) return fromAsset(() => programs.asset!('cninative.node'));
  const candidates = [
    process.argv[1] && join(dirname(process.argv[1]), 'cninative.node'),
    process.argv[1] && join(dirname(process.argv[1]), '..', 'build', 'cninative.node'),
    join(process.cwd(), 'build', 'cninative.node'),
  ].filter((p): p is string => !!p);
  for (const c of candidates) if (nodeFs().existsSync(c)) return c;
  throw new Error(`native addon cninative.node not found (looked in ${candidates.join(', ')}); run make`);
}

/**
 * The running single executable's programs and the files it carries (Node SEA
 * or Bun): its dispatcher (scripts/sea-main.cjs, scripts/bun-main.js) offers
 * them. Undefined when running from plain bundles.
 */
function executablePrograms(): { asset?(name: string): Buffer | undefined } | undefined {
  return (globalThis as Record<symbol, { asset?(name: string): Buffer | undefined } | undefined>)[Symbol.for('cni-ts.programs')];
}

/** The addon's bytes are read from the executable only when its cache file is missing (the bundle knows their hash). */
function fromAsset(read: () => Buffer | undefined): string {
  let bytes: Buffer | undefined;
  const load = (): Buffer => (bytes ??= read() ?? missing());
  const hash = typeof __NATIVE_HASH__ === 'string' ? __NATIVE_HASH__ : sha256(load()).slice(0, 16);
  const file = join(CACHE_DIR, `cninative-${hash}.node`);
  if (cached(file)) return file;
  const { constants, lstatSync, mkdirSync, openSync, renameSync, writeFileSync, writeSync } = nodeFs();
  try {
    mkdirSync(CACHE_DIR, { recursive: true, mode: 0o700 });
    const st = lstatSync(CACHE_DIR);
    if (!st.isDirectory() || st.uid !== process.getuid!() || (st.mode & 0o022) !== 0) throw new Error('unsafe cache dir');
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, load(), { flag: 'wx', mode: 0o755 });
    renameSync(tmp, file);
    return file;
  } catch {
    for (const dir of ['/run', '/dev/shm', tmpdir()]) {
      try {
        const fd = openSync(dir, O_TMPFILE | constants.O_RDWR, 0o700);
        writeSync(fd, load());
        heldFds.push(fd);
        return `/proc/self/fd/${fd}`;
      } catch {
        // try the next directory
      }
    }
    throw new Error(`cannot materialise native addon (cache ${CACHE_DIR} and O_TMPFILE both failed)`);
  }
}

/** True when `file` exists, by trying it: the common case costs one dlopen, and no node:fs. */
function cached(file: string): boolean {
  try {
    loadedEarly = dlopen(file);
    return true;
  } catch (e) {
    if (nodeFs().existsSync(file)) throw e; // there but unloadable: say why, as before
    return false;
  }
}
let loadedEarly: Native | undefined;

function missing(): never {
  throw new Error('native addon cninative.node: this executable does not carry it');
}
