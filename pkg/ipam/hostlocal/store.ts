// The host-local store: the reference's on-disk format (reference §2.7), plus an
// index that makes ADD/DEL/CHECK independent of the number of reservations.
//
// Format shared with the Go plugin, byte for byte:
//   <dataDir>/<net>/<ip>                 "<containerID>\r\n<ifname>" (0600), created exclusively (the Go
//                                        plugin: O_EXCL then write; ours: written as .cni-ts-reserving, then
//                                        link(2)ed, so a killed ADD never leaves an empty, ownerless file)
//   <dataDir>/<net>/last_reserved_ip.<i> the last address reserved from range set i (0600)
//   <dataDir>/<net>/lock                 flock(LOCK_EX) around every operation (both plugins)
// A file holding only "<containerID>" (pre-ifname format) still counts on DEL/CHECK.
//
// Index (ours only), kept outside the network directory so the Go plugin's
// directory walks and anyone counting reservations never see it (a network name
// cannot start with '.', so it cannot collide with a network):
//   <dataDir>/.cni-ts-index/<net>/header  {dev, ino, mtime, count} of the network directory when last in sync
//   <dataDir>/.cni-ts-index/<net>/<xx>    256 buckets: [{file, content}, ...] of reservations whose
//                                         container ID hashes to xx (absent = empty)
// Any change to the directory's entries (a Go ADD/DEL, `rm`, a crash between
// our change and our index update) moves its mtime, so a header that does not
// match means "rebuild by one full scan". Before unlocking we make sure the
// clock has passed the recorded mtime, so a change made right after us can
// never carry the same timestamp (coarse timestamps on kernels before 6.13).
// When a network's last reservation goes, its index goes too (and the
// `.cni-ts-index` directory once no network has one): nothing is left behind.
import { dirname, join } from 'node:path';
import { parseIP, type IP } from '../../ipaddr/index.js';
// node:fs's subset on the addon (pkg/native/fs.ts): a Bun executable would load node:fs for ~2 ms per call
import { closeSync, constants, existsSync, fstatSync, ftruncateSync, linkSync, mkdirSync, openSync, readdirEntries, readFileSync, rmdirSync, rmSync, statSync, writeFileSync, writeSync } from '../../native/fs.js';
import { native } from '../../native/index.js';
import { sleepSync } from '../../time/index.js';
import { errnoCode } from '../../types/error.js';

const LOCK_EX = 2;
const LOCK_UN = 8;
const BUCKETS = 256;
const INDEX_ROOT = '.cni-ts-index';
/** The round-robin pointer files' prefix (`last_reserved_ip.<set>`). */
export const LAST_RESERVED = 'last_reserved_ip.';
/** How long we wait for the clock to pass the directory's mtime before giving the index up as racy. */
const CLOCK_WAIT_MS = 50;

/** One reservation file: its name (an address) and its trimmed content. */
export interface Reservation {
  file: string;
  content: string;
}

/** The content the reference writes for an attachment. */
export function reservationKey(containerID: string, ifname: string): string {
  return `${containerID.trim()}\r\n${ifname}`;
}

/** The container ID part of a reservation's content (the whole content for legacy files). */
function idOf(content: string): string {
  const i = content.indexOf('\r\n');
  return i < 0 ? content : content.slice(0, i);
}

function bucketOf(id: string): number {
  // FNV-1a: cheap and stable across versions of this code.
  let h = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h % BUCKETS;
}

/** The scratch name a reservation is written under before it is linked to its address (Store.reserve). */
const PENDING = '.cni-ts-reserving';

/** Files in the network directory that are not reservations. */
export function isBookkeeping(name: string): boolean {
  return name === 'lock' || name === PENDING || name.startsWith(LAST_RESERVED);
}

interface Header {
  v: 2;
  dev: string;
  ino: string;
  mtime: string;
  /** Reservations in the directory. */
  count: number;
}

/** An open, locked network directory. Always `close()` it. */
export class Store {
  readonly dir: string;
  private readonly indexDir: string;
  private lockFd: number;
  private readonly buckets = new Map<number, Reservation[]>();
  private readonly dirty = new Set<number>();
  private synced = false;
  private rebuilt = false;
  private wipe = false;
  private count = 0;

  private constructor(dir: string, indexDir: string, lockFd: number) {
    this.dir = dir;
    this.indexDir = indexDir;
    this.lockFd = lockFd;
  }

  /**
   * Opens and locks `<dataDir>/<network>`. With `create` false, a missing
   * directory gives undefined (DEL, CHECK and GC leave nothing behind).
   */
  static open(dataDir: string, network: string, create: boolean): Store | undefined {
    const dir = join(dataDir, network);
    if (create) mkdirSync(dir, { recursive: true, mode: 0o755 });
    else if (!existsSync(dir)) return undefined;
    // The Go plugin (go-filemutex) opens the lock O_RDONLY|O_CREAT 0750; same file, same lock.
    const fd = openSync(join(dir, 'lock'), constants.O_RDONLY | constants.O_CREAT, 0o750);
    try {
      native().flock(fd, LOCK_EX);
      // A scratch file found under the lock is one a killed reserve() left (never a reservation's only name).
      rmSync(join(dir, PENDING), { force: true });
    } catch (e) {
      closeSync(fd);
      throw e;
    }
    return new Store(dir, join(dataDir, INDEX_ROOT, network), fd);
  }

  /** Unlocks. Records the index first when it changed; a failure there only costs a rescan later. */
  close(): void {
    if (this.lockFd < 0) return;
    try {
      this.seal();
    } catch (e) {
      process.stderr.write(`host-local: index not saved (next call rescans): ${(e as Error).message}\n`);
    } finally {
      native().flock(this.lockFd, LOCK_UN);
      closeSync(this.lockFd);
      this.lockFd = -1;
    }
  }

  /** True when the last call rebuilt the index by a full scan (for tests and benchmarks). */
  get rescanned(): boolean {
    return this.rebuilt;
  }

  /** Reservations held by (containerID, ifname); legacy id-only files count when none carry the ifname. */
  heldBy(containerID: string, ifname: string): { current: Reservation[]; legacy: Reservation[] } {
    const id = containerID.trim();
    const key = reservationKey(containerID, ifname);
    const list = this.bucket(bucketOf(id));
    return { current: list.filter((r) => r.content === key), legacy: list.filter((r) => r.content === id) };
  }

  /** Every reservation of the network. */
  all(): Reservation[] {
    const out: Reservation[] = [];
    for (let b = 0; b < BUCKETS; b++) out.push(...this.bucket(b));
    return out;
  }

  /**
   * Creates the reservation file for `ip` exclusively (link(2) of a written
   * scratch file; EEXIST, like the Go plugin's O_EXCL, means taken) and records
   * it as the range set's last reserved address. False when the address is
   * already taken.
   */
  reserve(ip: string, containerID: string, ifname: string, rangeSet: number): boolean {
    this.sync(); // before our own change moves the directory's mtime
    const file = join(this.dir, ip);
    const content = reservationKey(containerID, ifname);
    // The file appears under its address with its content already in it:
    // written under a scratch name, then hard-linked (link(2) fails with
    // EEXIST like O_EXCL). A create-then-write left an empty file when the
    // process died in between (SIGKILL, plugins#498), and no DEL could ever
    // find its owner. A scratch file a killed writer left is removed by the
    // next holder of the lock (open()); never truncated in place, since it may
    // be a second name of a reservation.
    if (existsSync(file)) return false; // one stat for a taken candidate; link() below still decides
    const pending = join(this.dir, PENDING);
    try {
      writeFileSync(pending, content, { mode: 0o600, flag: 'wx' });
    } catch (e) {
      rmSync(pending, { force: true });
      throw e;
    }
    try {
      linkSync(pending, file);
    } catch (e) {
      if (errnoCode(e) === 'EEXIST') return false;
      throw e;
    } finally {
      rmSync(pending, { force: true });
    }
    const list = this.bucket(bucketOf(idOf(content)));
    list.push({ file: ip, content });
    this.count++;
    this.dirty.add(bucketOf(idOf(content)));
    this.setPointer(rangeSet, ip);
    return true;
  }

  /** The text of `last_reserved_ip.<i>`, or undefined when there is none. */
  pointer(rangeSet: number): string | undefined {
    try {
      return readFileSync(join(this.dir, `${LAST_RESERVED}${rangeSet}`), 'utf8');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return undefined;
      throw e;
    }
  }

  /** Writes `last_reserved_ip.<i>` (0600, as the newest Go plugin), or removes it for undefined. */
  setPointer(rangeSet: number, text: string | undefined): void {
    const file = join(this.dir, `${LAST_RESERVED}${rangeSet}`);
    if (text === undefined) rmSync(file, { force: true });
    else writeFileSync(file, text, { mode: 0o600 });
  }

  /** True when a file for `ip` exists (STATUS probes without reserving). */
  taken(ip: string): boolean {
    return existsSync(join(this.dir, ip));
  }

  /** Removes one reservation; a file already gone is fine. */
  release(r: Reservation): void {
    this.sync();
    rmSync(join(this.dir, r.file), { force: true });
    const b = bucketOf(idOf(r.content));
    const list = this.bucket(b);
    const i = list.findIndex((x) => x.file === r.file);
    if (i >= 0) {
      list.splice(i, 1);
      this.count--;
    }
    this.dirty.add(b);
  }

  /** The address recorded in `last_reserved_ip.<i>`, if readable. */
  lastReserved(rangeSet: number): IP | undefined {
    try {
      return parseIP(readFileSync(join(this.dir, `${LAST_RESERVED}${rangeSet}`), 'utf8').trim());
    } catch {
      return undefined;
    }
  }

  private bucket(b: number): Reservation[] {
    this.sync();
    let list = this.buckets.get(b);
    if (list) return list;
    try {
      list = JSON.parse(readFileSync(join(this.indexDir, b.toString(16).padStart(2, '0')), 'utf8')) as Reservation[];
      if (!Array.isArray(list)) throw new Error('bucket is not a list');
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') {
        list = []; // only non-empty buckets are written
      } else {
        // A torn bucket: the header cannot be trusted either.
        this.rebuild();
        return this.buckets.get(b)!;
      }
    }
    this.buckets.set(b, list);
    return list;
  }

  /** Validates the index against the directory once per call; rebuilds it when stale. */
  private sync(): void {
    if (this.synced) return;
    this.synced = true;
    const st = statSync(this.dir);
    let hdr: Header | undefined;
    try {
      hdr = JSON.parse(readFileSync(join(this.indexDir, 'header'), 'utf8')) as Header;
    } catch {
      hdr = undefined;
    }
    const fresh = hdr?.v === 2 && hdr.dev === st.dev && hdr.ino === st.ino && hdr.mtime === st.mtimeNs;
    if (fresh) this.count = hdr!.count;
    else this.rebuild();
  }

  /** One full scan of the directory, as the reference does on every call. */
  private rebuild(): void {
    this.synced = true;
    this.rebuilt = true;
    this.wipe = true;
    this.buckets.clear();
    this.count = 0;
    for (let b = 0; b < BUCKETS; b++) this.buckets.set(b, []);
    for (const ent of readdirEntries(this.dir)) {
      if (!ent.isFile() || isBookkeeping(ent.name)) continue;
      const content = readSmall(join(this.dir, ent.name));
      if (content === undefined) continue; // removed meanwhile by a writer that does not lock
      this.buckets.get(bucketOf(idOf(content)))!.push({ file: ent.name, content });
      this.count++;
    }
  }

  /** Writes changed buckets, then the header naming the directory state they describe. */
  private seal(): void {
    if (this.dirty.size === 0 && !this.wipe) return;
    if (this.count <= 0) {
      // the network's last reservation is gone: so is its index (a later call finds no header and scans the near-empty directory)
      rmSync(this.indexDir, { recursive: true, force: true });
      removeIfEmpty(dirname(this.indexDir));
      this.dirty.clear();
      this.wipe = false;
      return;
    }
    if (this.wipe) {
      // Start from nothing: no bucket of the old index may survive, and empty ones are not written.
      rmSync(this.indexDir, { recursive: true, force: true });
      for (const [b, list] of this.buckets) if (list.length) this.dirty.add(b);
    }
    try {
      mkdirSync(this.indexDir, { recursive: true, mode: 0o700 });
    } catch (e) {
      // another network's seal may have removed the empty `.cni-ts-index` between our two mkdirs
      if (errnoCode(e) !== 'ENOENT') throw e;
      mkdirSync(this.indexDir, { recursive: true, mode: 0o700 });
    }
    for (const b of this.dirty) {
      writeFileSync(join(this.indexDir, b.toString(16).padStart(2, '0')), JSON.stringify(this.buckets.get(b) ?? []), { mode: 0o600 });
    }
    this.dirty.clear();
    this.wipe = false;
    const st = statSync(this.dir);
    const header = JSON.stringify({ v: 2, dev: st.dev, ino: st.ino, mtime: st.mtimeNs, count: this.count } satisfies Header);
    const hfd = openSync(join(this.indexDir, 'header'), constants.O_RDWR | constants.O_CREAT, 0o600);
    try {
      // Querying the inode first makes kernels with multigrain timestamps (6.13+)
      // stamp the write below finely; older kernels need the coarse tick to pass.
      fstatSync(hfd);
      const deadline = Date.now() + CLOCK_WAIT_MS;
      // sleepSync(0) returns at once; calling it on every path keeps its compilation out of the
      // clock's hands, so the trained code cache (and the release binary) is the same every build.
      for (let wait = 0; ; wait = 0.2) {
        sleepSync(wait);
        ftruncateSync(hfd, 0);
        writeSync(hfd, header, 0);
        if (BigInt(fstatSync(hfd).mtimeNs) > BigInt(st.mtimeNs)) break;
        if (Date.now() > deadline) {
          ftruncateSync(hfd, 0); // cannot prove freshness: the next call rescans
          break;
        }
      }
    } finally {
      closeSync(hfd);
    }
  }
}

/** rmdir that leaves a directory someone still uses (ENOTEMPTY) or that is already gone. */
function removeIfEmpty(dir: string): void {
  try {
    rmdirSync(dir);
  } catch (e) {
    const code = errnoCode(e);
    if (code !== 'ENOTEMPTY' && code !== 'EEXIST' && code !== 'ENOENT') throw e;
  }
}

/** The trimmed content of a small file (open, read, close in the addon), or undefined when it is gone. */
function readSmall(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return undefined;
  }
}
