// Network namespaces as explicit handles. See README.md beside this file for how a
// netlink socket and a /proc/sys/net write reach the right namespace from Node.
import { closeSync } from '../native/fs.js';
import { native } from '../native/index.js';

const CLONE_NEWNET = 0x40000000;
const NSFS_MAGIC = 0x6e736673;
const PROC_SUPER_MAGIC = 0x9fa0;

/** The namespace path does not exist (DEL treats this as already gone). */
export class NetNSNotFoundError extends Error {
  readonly code = 'ENOENT';
  constructor(readonly path: string) {
    super(`failed to open netns "${path}": no such file or directory`);
    this.name = 'NetNSNotFoundError';
  }
}

/** The path exists but is not a network namespace (nsfs or /proc). */
export class NotNetNSError extends Error {
  readonly code = 'ENOTNS';
  constructor(readonly path: string) {
    super(`"${path}" is not a valid network namespace path`);
    this.name = 'NotNetNSError';
  }
}

/** An open network namespace. `run` is synchronous by design: see README.md. */
export class NetNS {
  private constructor(
    readonly path: string,
    private fdValue: number,
    /** dev:inode of the nsfs file: equal ids are the same namespace. */
    private readonly id: string,
  ) {}

  /** Opens the namespace at `path` (`/run/netns/x`, `/proc/<pid>/ns/net`). */
  static open(path: string): NetNS {
    let opened: { fd: number; id: string; magic: number };
    try {
      opened = native().openNetns(path);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') throw new NetNSNotFoundError(path);
      throw e;
    }
    if (opened.magic !== NSFS_MAGIC && opened.magic !== PROC_SUPER_MAGIC) {
      closeSync(opened.fd);
      throw new NotNetNSError(path);
    }
    return new NetNS(path, opened.fd, opened.id);
  }

  /** The namespace of the calling (main) thread. */
  static current(): NetNS {
    return NetNS.open('/proc/thread-self/ns/net');
  }

  get fd(): number {
    if (this.fdValue < 0) throw new Error(`netns "${this.path}" is closed`);
    return this.fdValue;
  }

  /**
   * Runs `fn` with the main thread inside this namespace and returns to the
   * namespace it came from. `fn` must be synchronous: anything asynchronous
   * would run later, in whichever namespace the thread happens to be in.
   * When the thread is already in this namespace no switch is made (a setns
   * costs ~0.3 ms, and plugins ask for the host namespace they run in a lot).
   */
  run<T>(fn: () => T): T {
    const from = where.length ? where[where.length - 1] : home();
    if (from.id === this.id) return checkSync(fn());
    native().setns(this.fd, CLONE_NEWNET);
    where.push({ id: this.id, fd: this.fd });
    try {
      return checkSync(fn());
    } finally {
      where.pop();
      native().setns(from.fd, CLONE_NEWNET);
    }
  }

  /** True when both handles name the same namespace (same nsfs inode). */
  sameAs(other: NetNS): boolean {
    return this.id === other.id;
  }

  close(): void {
    if (this.fdValue >= 0) {
      closeSync(this.fdValue);
      this.fdValue = -1;
    }
  }
}

// Where the main thread is: its home namespace, then one entry per active run().
// Private to this module and always unwound by run()'s finally.
const where: Array<{ id: string; fd: number }> = [];
let homeNs: { id: string; fd: number } | undefined;

function home(): { id: string; fd: number } {
  if (!homeNs) {
    // opened once, while no run() is active, and kept for the life of the process
    const { fd, id } = native().openNetns('/proc/thread-self/ns/net');
    homeNs = { id, fd };
  }
  return homeNs;
}

function checkSync<T>(out: T): T {
  if (out && typeof (out as { then?: unknown }).then === 'function') throw new Error('NetNS.run takes a synchronous function');
  return out;
}

/**
 * Opens the container namespace at `path` and the caller's (host) namespace,
 * passes both to `fn`, and closes them afterwards.
 */
export async function withNetns<T>(path: string, fn: (container: NetNS, host: NetNS) => Promise<T> | T): Promise<T> {
  const container = NetNS.open(path);
  const host = NetNS.current();
  try {
    return await fn(container, host);
  } finally {
    container.close();
    host.close();
  }
}

/** Writes `/proc/sys/<key>` (slash-separated, e.g. `net/ipv4/ip_forward`) in `ns`, synchronously (see README.md). */
export function writeSysctl(ns: NetNS | undefined, key: string, value: string): void {
  const file = `/proc/sys/${key}`;
  const write = () => native().writeFile(file, value);
  if (ns) ns.run(write);
  else write();
}

/**
 * Writes several sysctls in `ns` with one namespace switch. With `bestEffort`
 * a write that fails (IPv6 disabled, an old kernel without the key) is skipped.
 */
export function writeSysctls(ns: NetNS | undefined, entries: Array<[key: string, value: string]>, opts: { bestEffort?: boolean } = {}): void {
  const write = () => {
    for (const [key, value] of entries) {
      try {
        native().writeFile(`/proc/sys/${key}`, value);
      } catch (e) {
        if (!opts.bestEffort) throw e;
      }
    }
  };
  if (ns) ns.run(write);
  else write();
}

/** Reads `/proc/sys/<key>` in `ns`, trailing newline trimmed. */
export function readSysctl(ns: NetNS | undefined, key: string): string {
  const file = `/proc/sys/${key}`;
  const read = () => native().readFile(file).toString('utf8').replace(/\n$/, '');
  return ns ? ns.run(read) : read();
}
