// What DEL needs to give a device back as it was: its host name, MTU, up state
// and alias, and its index in the container (found again after a rename there).
// Kept in /run/cni/host-device/<network>/<containerID>_<ifname>.json: the link's
// alias holds only the host name (that is what a Go DEL reads, so either binary
// can DEL the other's ADD), and /run goes with the namespaces on a reboot.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmdirSync, rmSync, writeFileSync } from '../../pkg/native/fs.js';
import { join } from 'node:path';
import type { Attachment } from '../../pkg/ipam/index.js';

export const STATE_DIR = '/run/cni/host-device';

/** The device as it was on the host before ADD, and where ADD put it. */
export interface DeviceState {
  hostName: string;
  mtu: number;
  up: boolean;
  /** The alias it had on the host ('' for none). */
  alias: string;
  /** Its index inside the container. */
  index: number;
  mac: string;
}

const fileName = (containerID: string, ifName: string) => `${containerID}_${ifName}.json`;
const stateFile = (network: string, containerID: string, ifName: string) => join(STATE_DIR, network, fileName(containerID, ifName));

/** Records `s` for the attachment (atomically: a crash leaves the old file or the new one). */
export function writeState(network: string, containerID: string, ifName: string, s: DeviceState): void {
  const file = stateFile(network, containerID, ifName);
  mkdirSync(join(STATE_DIR, network), { recursive: true, mode: 0o700 });
  writeFileSync(`${file}.tmp`, JSON.stringify(s));
  renameSync(`${file}.tmp`, file);
}

/** The attachment's state, or undefined when there is none (a Go ADD) or it is unreadable. */
export function readState(network: string, containerID: string, ifName: string): DeviceState | undefined {
  try {
    const s = JSON.parse(readFileSync(stateFile(network, containerID, ifName), 'utf8'));
    return typeof s?.hostName === 'string' && s.hostName ? (s as DeviceState) : undefined;
  } catch {
    return undefined;
  }
}

/** Removes the attachment's state, and the network's directory once empty. */
export function removeState(network: string, containerID: string, ifName: string): void {
  rmSync(stateFile(network, containerID, ifName), { force: true });
  try {
    rmdirSync(join(STATE_DIR, network));
  } catch {
    // other attachments' states are there, or it never existed
  }
}

/** GC: removes the states of attachments not in `valid`; returns how many went. */
export function gcStates(network: string, valid: Attachment[]): number {
  const keep = new Set(valid.map((a) => fileName(a.containerID, a.ifname)));
  let names: string[];
  try {
    names = readdirSync(join(STATE_DIR, network));
  } catch {
    return 0;
  }
  let n = 0;
  for (const f of names) {
    if (!f.endsWith('.json') || keep.has(f)) continue;
    rmSync(join(STATE_DIR, network, f), { force: true });
    n++;
  }
  return n;
}
