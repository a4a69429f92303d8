// The namespaces of a command with a netlink socket in each: what plugins use
// instead of opening Rtnl sockets on their namespace handles by hand.
import { withNetns, type NetNS } from '../ns/index.js';
import { Rtnl } from './netlink.js';

/** The container and host namespaces of a command, and a netlink socket bound to each. */
export interface NetnsHandles {
  readonly container: NetNS;
  readonly host: NetNS;
  /** A socket in the container, opened when first read (each costs two setns). */
  readonly cnl: Rtnl;
  /** A socket in the host namespace, opened when first read. */
  readonly hnl: Rtnl;
}

/**
 * `withNetns` with netlink sockets: opens the container namespace at `path`
 * (first, so a bad CNI_NETNS fails before anything exists) and the host's,
 * passes them to `fn` with `cnl`/`hnl`, and closes whatever was opened. A
 * socket opens when `fn` first reads it, so destructuring `({ container, cnl })`
 * opens only the container's, in the order the callback names them (a spread
 * `...ns` reads, and opens, both).
 */
export function withNetnsNl<T>(path: string, fn: (ns: NetnsHandles) => Promise<T> | T): Promise<T> {
  return withNetns(path, async (container, host) => {
    let cnl: Rtnl | undefined;
    let hnl: Rtnl | undefined;
    let closed = false;
    // a socket first asked for once fn has returned would never be closed (and its namespace fd is)
    const open = (ns: NetNS) => {
      if (closed) throw new Error(`netlink socket for "${ns.path}" asked for after withNetnsNl returned`);
      return new Rtnl(ns);
    };
    const handles: NetnsHandles = {
      container,
      host,
      get cnl() {
        return (cnl ??= open(container));
      },
      get hnl() {
        return (hnl ??= open(host));
      },
    };
    try {
      return await fn(handles);
    } finally {
      closed = true;
      cnl?.close();
      hnl?.close();
    }
  });
}
