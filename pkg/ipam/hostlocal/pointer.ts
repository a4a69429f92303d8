// host-local's round-robin pointers (`last_reserved_ip.<i>`) around an
// interface plugin's ADD: a failed ADD releases its reservation through
// host-local's DEL, which (as in the reference) leaves the pointer on the
// released address. The interface plugin notes the pointers before IPAM runs
// and, on rollback, puts back every one that still names an address this ADD
// was given (one that moved on since belongs to a concurrent ADD and is kept).
// Works whichever host-local binary runs: the files are the reference's.
import { join } from 'node:path';
import { text } from '../../bytes/index.js';
import { native } from '../../native/index.js';
import { errnoCode } from '../../types/error.js';
import { validateLenient } from '../../types/conf.js';
import { DEFAULT_DATA_DIR } from './config.js';
import { HostLocalConfSchema } from './schema.js';
import { LAST_RESERVED, Store } from './store.js';

/** The pointers of one network as they were before an ADD. */
export interface PointerSnapshot {
  dataDir: string;
  network: string;
  saved: Array<string | undefined>;
}

/** Notes the pointers the configuration `stdin` may move (one per range set); undefined when it names no network. */
export function snapshotPointers(stdin: Buffer | string): PointerSnapshot | undefined {
  let conf;
  try {
    conf = validateLenient(HostLocalConfSchema, JSON.parse(typeof stdin === 'string' ? stdin : text(stdin)));
  } catch {
    return undefined; // host-local will refuse it before reserving anything
  }
  if (!conf.name) return undefined;
  const sets = (conf.runtimeConfig?.ipRanges?.length ?? 0) + (conf.ipam?.subnet ? 1 : 0) + (conf.ipam?.ranges?.length ?? 0);
  const dataDir = conf.ipam?.dataDir || DEFAULT_DATA_DIR;
  const dir = join(dataDir, conf.name);
  const saved: Array<string | undefined> = [];
  // read without host-local's lock, through the addon (no first-call cost of node:fs in a fresh plugin process)
  for (let i = 0; i < sets; i++) {
    try {
      saved.push(text(native().readFile(join(dir, `${LAST_RESERVED}${i}`))));
    } catch (e) {
      if (errnoCode(e) !== 'ENOENT') return undefined; // an unusable data directory: host-local's own ADD reports it
      saved.push(undefined);
    }
  }
  return { dataDir, network: conf.name, saved };
}

/** Puts back every pointer that still names one of `given` (addresses, without prefix). */
export function restorePointers(snap: PointerSnapshot, given: readonly string[]): void {
  const store = Store.open(snap.dataDir, snap.network, false);
  if (!store) return;
  try {
    snap.saved.forEach((text, i) => {
      const now = store.pointer(i)?.trim();
      if (now !== undefined && given.includes(now)) store.setPointer(i, text);
    });
  } finally {
    store.close();
  }
}
