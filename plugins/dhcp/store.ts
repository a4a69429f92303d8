// The daemon's lease file (plugins#235: the reference keeps leases in memory
// only, so a restart forgets them). One JSON document, ours and versioned,
// rewritten whole after every change: temp file, fsync, rename (a crash leaves
// the old file or the new one, never half of one), mode 0600 in a 0700
// directory. Writes are serialized and coalesced: a burst of changes costs at
// most one write in flight and one after it, the last carrying the newest state.
import { readdirSync, readFileSync, renameSync, unlinkSync } from 'node:fs';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { Result } from '../../pkg/types/result.js';

export const DEFAULT_LEASE_FILE = '/var/lib/cni/dhcp/leases.json';
/** The format this daemon writes and reads; another version is set aside, never guessed at. */
export const LEASE_FILE_VERSION = 1;

/** One lease as the file holds it: what a restarted daemon needs to resume it. */
export interface StoredLease {
  /** Option 61's text, `<containerID>/<network>/<ifName>`: the lease's key. */
  clientID: string;
  containerID: string;
  /** The network name of the configuration. */
  network: string;
  /** The netns path as the runtime gave it (without -hostprefix, which is added at start-up). */
  netns: string;
  /** dev:inode of that namespace when the lease was acquired ("" when unknown). */
  netnsID: string;
  ifName: string;
  /** The interface's MAC (chaddr): a resumed lease must find the same interface. */
  mac: string;
  /** The options every message of this client carries (provide, fromArg values, request list), in order, values in hex. */
  options: Array<{ code: number; value: string }>;
  serverID: string;
  /** Ethernet source of the ACK: where unicast renewals and the release go. */
  serverMAC: string;
  address: string;
  /** Prefix length of option 1. */
  prefix: number;
  routers: string[];
  /** The CNI result of the lease (without `priority`, which each ADD's configuration sets); informative. */
  result: Result;
  /** Wall-clock times (ISO 8601): when the ACK came, T1, T2, expiry; null = never (an infinite lease). */
  boundAt: string;
  renewAt: string | null;
  rebindAt: string | null;
  expireAt: string | null;
  /** The maintenance state when written; informative (start-up derives it from the times). */
  state: string;
  /** The DHCPACK, base64: the result, routes and every option are read from it again. */
  ack: string;
}

export interface LeaseFile {
  version: number;
  leases: StoredLease[];
}

/**
 * Each record's line, kept while the record object lives: a lease's record is
 * the same object until the lease changes (ManagedLease.record), so a save
 * stringifies only what changed (1,000 leases: ~12 ms for all, ~1 ms to join).
 */
const lines = new WeakMap<StoredLease, string>();

/** The file's text: one lease per line, so that it reads and diffs well. */
export function serializeLeases(leases: readonly StoredLease[]): string {
  if (!leases.length) return `{"version":${LEASE_FILE_VERSION},"leases":[]}\n`;
  const body = leases.map((l) => {
    let line = lines.get(l);
    if (line === undefined) lines.set(l, (line = JSON.stringify(l)));
    return line;
  });
  return `{"version":${LEASE_FILE_VERSION},"leases":[\n${body.join(',\n')}\n]}\n`;
}

const isStr = (v: unknown): v is string => typeof v === 'string';
const isTime = (v: unknown) => v === null || (isStr(v) && !Number.isNaN(Date.parse(v)));
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;
const isIPv4 = (v: unknown) => isStr(v) && IPV4.test(v) && v.split('.').every((p) => Number(p) <= 255);
const isMAC = (v: unknown) => isStr(v) && /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/i.test(v);

/** Why `v` is not a usable lease record, or undefined when it is. */
export function invalidRecord(v: unknown): string | undefined {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'not an object';
  const r = v as Record<string, unknown>;
  for (const k of ['clientID', 'containerID', 'network', 'netns', 'netnsID', 'ifName', 'ack', 'boundAt'] as const) if (!isStr(r[k])) return `${k}: not a string`;
  if (!r.clientID || !r.netns || !r.ifName) return 'clientID, netns and ifName must not be empty';
  for (const k of ['address', 'serverID'] as const) if (!isIPv4(r[k])) return `${k}: not an IPv4 address`;
  for (const k of ['mac', 'serverMAC'] as const) if (!isMAC(r[k])) return `${k}: not a MAC address`;
  for (const k of ['boundAt', 'renewAt', 'rebindAt', 'expireAt'] as const) if (!isTime(r[k])) return `${k}: not a time`;
  if (new Set([r.renewAt === null, r.rebindAt === null, r.expireAt === null]).size > 1) return 'renewAt, rebindAt, expireAt: all null (an infinite lease) or none';
  if (!Array.isArray(r.options) || !r.options.every((o) => Number.isInteger(o?.code) && o.code >= 0 && o.code <= 255 && isStr(o.value) && /^([0-9a-f]{2})*$/i.test(o.value))) {
    return 'options: not a list of {code, value (hex)}';
  }
  return undefined;
}

/**
 * The lease file at `path`: reads it once at start-up (never fatal) and
 * rewrites it after changes. One daemon per file: two daemons sharing one
 * would overwrite each other's leases.
 */
export class LeaseStore {
  private latest?: string;
  private chain: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    private readonly log: (msg: string) => void,
  ) {}

  /**
   * The leases in the file. A missing file is no lease; an unreadable or
   * corrupt one, or one of another version, is logged, set aside as
   * `<path>.corrupt` (so the next write does not destroy what an operator may
   * want to look at) and read as no lease. A bad record is logged and skipped.
   */
  load(): StoredLease[] {
    this.removeStaleTemps();
    let text: string;
    try {
      text = readFileSync(this.path, 'utf8');
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') this.log(`ignoring lease file ${this.path}: ${(e as Error).message}`);
      return [];
    }
    let doc: Partial<LeaseFile>;
    try {
      doc = JSON.parse(text);
      if (typeof doc !== 'object' || doc === null) throw new Error('not a JSON object');
      if (doc.version !== LEASE_FILE_VERSION) throw new Error(`version ${JSON.stringify(doc.version)} is not ${LEASE_FILE_VERSION}`);
      if (!Array.isArray(doc.leases)) throw new Error('"leases" is not a list');
    } catch (e) {
      this.setAside(`ignoring lease file ${this.path}: ${(e as Error).message}`);
      return [];
    }
    const out: StoredLease[] = [];
    const seen = new Set<string>();
    (doc.leases as unknown[]).forEach((v, i) => {
      const r = v as StoredLease;
      const why = invalidRecord(v) ?? (seen.has(r.clientID) ? `a second lease for ${r.clientID}` : undefined);
      if (why) this.log(`lease file ${this.path}: ignoring leases[${i}]: ${why}`);
      else {
        seen.add(r.clientID);
        out.push(r);
      }
    });
    return out;
  }

  /** Temp files of daemons killed while writing (`<file>.<pid>.tmp`): never renamed, never read. */
  private removeStaleTemps(): void {
    const prefix = `${basename(this.path)}.`;
    let names: string[];
    try {
      names = readdirSync(dirname(this.path));
    } catch {
      return;
    }
    for (const name of names) {
      if (!name.startsWith(prefix) || !/^\d+\.tmp$/.test(name.slice(prefix.length))) continue;
      try {
        unlinkSync(join(dirname(this.path), name));
      } catch {
        // gone already, or not ours to remove: harmless either way
      }
    }
  }

  private setAside(msg: string): void {
    try {
      renameSync(this.path, `${this.path}.corrupt`);
      this.log(`${msg}; moved to ${this.path}.corrupt`);
    } catch (e) {
      this.log(`${msg} (could not move it aside: ${(e as Error).message})`);
    }
  }

  /** Records `leases` as the current state: serialized now, written after any write in flight. */
  save(leases: readonly StoredLease[]): void {
    this.latest = serializeLeases(leases);
    this.chain = this.chain.then(() => this.writeLatest());
  }

  /** Resolves when every state saved so far is on disk (or its write has failed and been logged). */
  flush(): Promise<void> {
    return this.chain;
  }

  private async writeLatest(): Promise<void> {
    const text = this.latest;
    // a later save already written by an earlier link of the chain
    if (text === undefined) return;
    this.latest = undefined;
    const tmp = `${this.path}.${process.pid}.tmp`;
    try {
      await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
      const fh = await open(tmp, 'w', 0o600);
      try {
        // a temp file left by a crash keeps its old mode through open(): set ours
        await fh.chmod(0o600);
        await fh.writeFile(text);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.path);
      await syncDir(dirname(this.path));
    } catch (e) {
      this.log(`failed to write lease file ${this.path}: ${(e as Error).message}`);
      await unlink(tmp).catch(() => undefined);
    }
  }
}

/** fsync of a directory: the rename itself survives a power cut only once the directory is on disk. */
async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}
