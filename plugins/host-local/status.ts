// STATUS (spec 1.1.0): could an ADD be served right now? See README.md.
import { dirname, join } from 'node:path';
import { candidates, ipString, rangeSetString, Store, type HostLocalConf } from '../../pkg/ipam/hostlocal/index.js';
import { accessSync, constants, existsSync, isDirectory, statSync } from '../../pkg/native/fs.js';
import { CniError, ErrCode } from '../../pkg/types/error.js';

function unavailable(msg: string, cause?: unknown): CniError {
  return new CniError(ErrCode.PluginNotAvailable, msg, '', { cause });
}

/** The network directory exists and is writable, or could be created. */
function checkDataDir(dir: string): void {
  let p = dir;
  while (!existsSync(p)) {
    const up = dirname(p);
    if (up === p) break;
    p = up;
  }
  try {
    if (!isDirectory(statSync(p))) throw new Error(`${p} is not a directory`);
    accessSync(p, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw unavailable(`data directory "${dir}" is not usable: ${(e as Error).message}`, e);
  }
}

/** Throws code 50 unless the data directory is usable and every range set has a free address. */
export function checkStatus(conf: HostLocalConf): void {
  checkDataDir(join(conf.dataDir, conf.name));
  const store = Store.open(conf.dataDir, conf.name, false);
  if (!store) return;
  try {
    conf.ranges.forEach((set, i) => {
      for (const { range, n } of candidates(set, store.lastReserved(i))) if (!store.taken(ipString(range.family, n))) return;
      throw unavailable(`no IP addresses available in range set ${i}: ${rangeSetString(set)}`);
    });
  } finally {
    store.close();
  }
}
