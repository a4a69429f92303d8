// The lease and the container's link: whether the namespace and interface a
// lease was acquired on are still there (the same namespace, the same MAC), and
// bringing the interface down when the lease expires, as the reference does.
// Each call opens the namespace and a netlink socket in it, and closes both.
import { linkByName, linkSet } from '../../pkg/ip/link.js';
import { Rtnl } from '../../pkg/ip/netlink.js';
import { native } from '../../pkg/native/index.js';
import { NetNS } from '../../pkg/ns/index.js';
import type { StoredLease } from './store.js';

/** dev:ino of the namespace file at `path`, or undefined when there is none. */
export function netnsFileID(path: string): string | undefined {
  try {
    return native().fileId(path);
  } catch {
    return undefined;
  }
}

/** Whether `ifName` exists in the namespace at `netnsPath` (false when the namespace is gone or replaced). */
export function linkPresent(netnsPath: string, ifName: string, nsID?: string): boolean {
  if (nsID) {
    const now = netnsFileID(netnsPath);
    if (now !== nsID) return false;
  }
  let ns: NetNS;
  try {
    ns = NetNS.open(netnsPath);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return false;
    throw e;
  }
  const nl = new Rtnl(ns);
  try {
    return linkByName(nl, ifName) !== undefined;
  } finally {
    nl.close();
    ns.close();
  }
}

/**
 * Why a saved lease's interface is not the one it was acquired on (namespace
 * gone or replaced, no such interface, another MAC), or undefined when it is.
 * Other errors (a namespace we may not enter) are thrown.
 */
export function savedLinkGone(netnsPath: string, r: Pick<StoredLease, 'netnsID' | 'ifName' | 'mac'>): string | undefined {
  const now = netnsFileID(netnsPath);
  if (now === undefined) return `netns "${netnsPath}" no longer exists`;
  if (r.netnsID && now !== r.netnsID) return `netns "${netnsPath}" is another namespace now`;
  let ns: NetNS;
  try {
    ns = NetNS.open(netnsPath);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return `netns "${netnsPath}" no longer exists`;
    throw e;
  }
  const nl = new Rtnl(ns);
  try {
    const link = linkByName(nl, r.ifName);
    if (!link) return `interface "${r.ifName}" no longer exists`;
    if (link.mac.toLowerCase() !== r.mac.toLowerCase()) return `interface "${r.ifName}" has MAC ${link.mac}, not ${r.mac}`;
    return undefined;
  } finally {
    nl.close();
    ns.close();
  }
}

/** Brings `ifName` down (an expired lease's address must not stay in use); a failure is only logged. */
export function setLinkDown(netnsPath: string, ifName: string, log: (m: string) => void): void {
  try {
    const ns = NetNS.open(netnsPath);
    const nl = new Rtnl(ns);
    try {
      const link = linkByName(nl, ifName);
      if (link) linkSet(nl, link.index, { up: false }, `failed to bring "${ifName}" down`);
    } finally {
      nl.close();
      ns.close();
    }
  } catch (e) {
    log(`failed to bring ${ifName} interface DOWN: ${(e as Error).message}`);
  }
}
