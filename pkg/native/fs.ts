// The node:fs functions a plugin call uses, on the addon (native/fsops.c,
// native/fileio.c): a Bun executable loads its node:fs module, ~2 ms of a
// ~17 ms start on this machine, the first time anything imports it, and the
// calls every plugin makes (stdout, netns handles, netlink sockets, the
// host-local store) need nothing else. Names, arguments and errors follow
// node:fs for the subset here (errors carry `code`, `errno`, `syscall`,
// `path`, and Node's message shape), so a module switches by its import line.
// Code off the hot path (the dhcp daemon, GC, tests) keeps node:fs.
import { native, type Stat } from './index.js';

export type { Stat };

/** Linux open(2) flags (the same numbers on x86-64 and arm64). */
export const constants = {
  O_RDONLY: 0,
  O_WRONLY: 1,
  O_RDWR: 2,
  O_CREAT: 0o100,
  O_EXCL: 0o200,
  O_TRUNC: 0o1000,
  O_APPEND: 0o2000,
  F_OK: 0,
  X_OK: 1,
  W_OK: 2,
  R_OK: 4,
} as const;

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

export interface DirEntry {
  name: string;
  isFile(): boolean;
  isDirectory(): boolean;
  isSymbolicLink(): boolean;
}

type Flag = 'r' | 'w' | 'wx' | 'a';
const FLAGS: Record<Flag, number> = {
  r: constants.O_RDONLY,
  w: constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC,
  wx: constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL,
  a: constants.O_WRONLY | constants.O_CREAT | constants.O_APPEND,
};

/** Node's error shape: "ENOENT: no such file or directory, open '/x'", with `path`. */
function withPath<T>(path: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (typeof err?.code === 'string' && typeof err.syscall === 'string' && err.path === undefined) {
      const why = err.message.slice(err.message.indexOf(': ') + 2);
      err.message = `${err.code}: ${why.charAt(0).toLowerCase()}${why.slice(1)}, ${err.syscall} '${path}'`;
      err.path = path;
    }
    throw err;
  }
}

export const isFile = (st: Stat): boolean => (st.mode & S_IFMT) === S_IFREG;
export const isDirectory = (st: Stat): boolean => (st.mode & S_IFMT) === S_IFDIR;

export function existsSync(path: string): boolean {
  return native().fsExists(path);
}

export function accessSync(path: string, mode: number = constants.F_OK): void {
  withPath(path, () => native().fsAccess(path, mode));
}

export function statSync(path: string): Stat {
  return withPath(path, () => native().fsStat(path));
}

export function lstatSync(path: string): Stat {
  return withPath(path, () => native().fsLstat(path));
}

export function fstatSync(fd: number): Stat {
  return native().fsFstat(fd);
}

export function openSync(path: string, flags: number | Flag = 'r', mode = 0o666): number {
  const f = typeof flags === 'number' ? flags : FLAGS[flags];
  return withPath(path, () => native().fsOpen(path, f, mode));
}

export function closeSync(fd: number): void {
  native().fsClose(fd);
}

/**
 * Writes all of `data` (at `position` when given, as pwrite); the count written.
 * On a non-blocking descriptor that fills up, the count so far, or EAGAIN when
 * nothing went out (callers retry the rest, as with node:fs).
 */
export function writeSync(fd: number, data: string | Uint8Array, position?: number | null): number {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  return native().fsWrite(fd, bytes, position ?? -1);
}

export function ftruncateSync(fd: number, len = 0): void {
  native().fsFtruncate(fd, len);
}

export function readFileSync(path: string): Buffer;
export function readFileSync(path: string, encoding: 'utf8'): string;
export function readFileSync(path: string, encoding?: 'utf8'): Buffer | string {
  const buf = withPath(path, () => native().readFile(path));
  return encoding ? buf.toString('utf8') : buf;
}

/** open (flag 'w' by default), write it all, close; a failed write leaves what open made, as node:fs does. */
export function writeFileSync(path: string, data: string | Uint8Array, opts: { mode?: number; flag?: Flag } = {}): void {
  const fd = openSync(path, opts.flag ?? 'w', opts.mode ?? 0o666);
  try {
    withPath(path, () => writeSync(fd, data));
  } finally {
    closeSync(fd);
  }
}

export function readlinkSync(path: string): string {
  return withPath(path, () => native().fsReadlink(path));
}

export function linkSync(existing: string, path: string): void {
  withPath(path, () => native().fsLink(existing, path));
}

export function renameSync(from: string, to: string): void {
  withPath(to, () => native().fsRename(from, to));
}

export function unlinkSync(path: string): void {
  withPath(path, () => native().fsUnlink(path));
}

export function rmdirSync(path: string): void {
  withPath(path, () => native().fsRmdir(path));
}

/** mkdir; with `recursive`, the missing parents too and no error when it exists (as a directory). */
export function mkdirSync(path: string, opts: { recursive?: boolean; mode?: number } = {}): void {
  const mode = opts.mode ?? 0o777;
  withPath(path, () => (opts.recursive ? mkdirAll(path, mode) : native().fsMkdir(path, mode)));
}

function mkdirAll(path: string, mode: number): void {
  let err: unknown;
  try {
    return native().fsMkdir(path, mode);
  } catch (e) {
    err = e;
  }
  const parent = path.replace(/\/+[^/]*\/*$/, '');
  if ((err as NodeJS.ErrnoException).code === 'ENOENT' && parent !== '' && parent !== path) {
    mkdirAll(parent, mode);
    try {
      return native().fsMkdir(path, mode);
    } catch (e) {
      err = e; // EEXIST: made meanwhile by someone else
    }
  }
  if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || !isDirectory(native().fsStat(path))) throw err;
}

export function readdirSync(path: string): string[] {
  return readdirEntries(path).map((d) => d.name);
}

/** readdir with each entry's type (lstat for file systems that give none). */
export function readdirEntries(path: string): DirEntry[] {
  const flat = withPath(path, () => native().fsReaddir(path));
  const out: DirEntry[] = [];
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i];
    let type = flat[i + 1];
    if (type === '?') {
      const m = lstatSync(`${path}/${name}`).mode & S_IFMT;
      type = m === S_IFREG ? 'f' : m === S_IFDIR ? 'd' : m === S_IFLNK ? 'l' : 'o';
    }
    out.push({ name, isFile: () => type === 'f', isDirectory: () => type === 'd', isSymbolicLink: () => type === 'l' });
  }
  return out;
}

/** rm: `force` ignores a missing path; `recursive` removes a directory and what it holds (links are not followed). */
export function rmSync(path: string, opts: { force?: boolean; recursive?: boolean } = {}): void {
  let st: Stat;
  try {
    st = lstatSync(path);
  } catch (e) {
    if (opts.force && (e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  if (!isDirectory(st)) {
    try {
      unlinkSync(path);
    } catch (e) {
      if (!(opts.force && (e as NodeJS.ErrnoException).code === 'ENOENT')) throw e;
    }
    return;
  }
  if (!opts.recursive) throw withPath(path, () => native().fsUnlink(path)); // EISDIR, as node:fs
  for (const ent of readdirSync(path)) rmSync(`${path}/${ent}`, { ...opts, force: true });
  try {
    rmdirSync(path);
  } catch (e) {
    if (!(opts.force && (e as NodeJS.ErrnoException).code === 'ENOENT')) throw e;
  }
}
