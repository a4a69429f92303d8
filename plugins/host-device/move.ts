// Moving the device between the host and the container. Each way is one
// RTM_SETLINK carrying the target namespace and the new name (and alias): the
// kernel moves the device and renames it in the target namespace, so it is
// never renamed on the host, where udev and NetworkManager race with renames
// (the reason v1.6.0 moved the reference's renames into a temporary netns).
import { linkByIndex, linkByName, linkSet, isUp, type Link } from '../../pkg/ip/link.js';
import type { Rtnl } from '../../pkg/ip/netlink.js';
import type { NetNS } from '../../pkg/ns/index.js';

/** Sockets and handles of the two namespaces. */
export interface MoveNamespaces {
  host: NetNS;
  container: NetNS;
  hnl: Rtnl;
  cnl: Rtnl;
}

/**
 * Moves host link `dev` into the container as `ifName`, with its host name as
 * alias (as the reference: a Go DEL finds the name there) and up. On failure
 * the device is back on the host as it was. Returns the link in the container.
 */
export function moveIn(ns: MoveNamespaces, dev: Link, ifName: string): Link {
  if (linkByName(ns.cnl, ifName)) throw new Error(`failed to move "${dev.name}" to container NS: an interface "${ifName}" already exists there`);
  try {
    linkSet(ns.hnl, dev.index, { nsFd: ns.container.fd, name: ifName }, `failed to move "${dev.name}" to container NS as "${ifName}"`);
  } catch (e) {
    // moved but not renamed (a name taken meanwhile): it kept its host name
    const stray = linkByName(ns.cnl, dev.name);
    if (stray) linkSet(ns.cnl, stray.index, { nsFd: ns.host.fd, up: isUp(dev) || undefined }, `failed to move "${dev.name}" back to the host`);
    throw e;
  }
  const moved = linkByName(ns.cnl, ifName);
  if (!moved) throw new Error(`failed to find "${ifName}" in the container after moving "${dev.name}"`);
  try {
    linkSet(ns.cnl, moved.index, { alias: dev.name, up: true }, `failed to set "${ifName}" up`);
    const l = linkByIndex(ns.cnl, moved.index);
    if (!l) throw new Error(`failed to find "${ifName}" in the container`);
    return l;
  } catch (e) {
    moveOut(ns, moved, { name: dev.name, alias: dev.alias ?? '', mtu: dev.mtu, up: isUp(dev) });
    throw e;
  }
}

/** How the device goes back to the host. */
export interface HostSettings {
  name: string;
  alias: string;
  /** Restored when it differs; undefined leaves it. */
  mtu?: number;
  up: boolean;
}

/**
 * Moves container link `l` to the host as `to.name` with `to.alias`, then
 * restores MTU and up state there. A host link already holding the name fails
 * before anything moves (the reference's error). Returns a warning when MTU or
 * up state could not be restored (the device is home; DEL must not fail for it).
 */
export function moveOut(ns: MoveNamespaces, l: Link, to: HostSettings): string | undefined {
  if (linkByName(ns.hnl, to.name)) throw new Error(`failed to rename device "${l.name}" to "${to.name}": file exists`);
  linkSet(ns.cnl, l.index, { nsFd: ns.host.fd, name: to.name, alias: to.alias }, `failed to move "${l.name}" to the host as "${to.name}"`);
  const back = linkByName(ns.hnl, to.name);
  if (!back) return `"${to.name}" not found on the host after the move`;
  const mtu = to.mtu && to.mtu !== back.mtu ? to.mtu : undefined;
  if (!mtu && !to.up) return undefined;
  try {
    linkSet(ns.hnl, back.index, { mtu, up: to.up || undefined }, `failed to restore MTU ${to.mtu} and up state of "${to.name}"`);
  } catch (e) {
    return (e as Error).message;
  }
  return undefined;
}
