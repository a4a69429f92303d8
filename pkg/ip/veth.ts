// veth pairs for bridge and ptp: the container end is created directly in the
// container namespace and the peer directly in the host namespace (no move, so
// no window where a half-configured link is visible under a temporary name).
import { randomBytes } from '../hash/index.js';
import { writeSysctl, type NetNS } from '../ns/index.js';
import { linkAdd, linkByName, linkDelByName, linkSet, type Link } from './link.js';
import { NetlinkError, Rtnl } from './netlink.js';

const MAX_NAME_TRIES = 10;

/** A random host-side name: `veth` + 8 hex digits, as the reference. */
export function randomVethName(): string {
  return `veth${randomBytes(4).toString('hex')}`;
}

/** The two ends of a new veth pair. */
export interface VethPair {
  host: Link;
  container: Link;
}

export interface SetupVethOptions {
  container: NetNS;
  host: NetNS;
  ifName: string;
  mtu?: number;
  /** MAC of the container end. */
  mac?: string;
  /** Sockets the caller already has open in each namespace (each new one in the container costs two setns). */
  containerNl?: Rtnl;
  hostNl?: Rtnl;
}

/**
 * Creates a veth pair: `ifName` in `container`, `vethXXXXXXXX` in `host`
 * (retrying on a name clash), MTU on both ends, the host end up and with
 * `accept_ra=0`. The container end is left down.
 */
export function setupVeth(o: SetupVethOptions): VethPair {
  const cnl = o.containerNl ?? new Rtnl(o.container);
  const hnl = o.hostNl ?? new Rtnl(o.host);
  try {
    // no look-up first: the create fails with EEXIST when ifName is taken, which is told apart from a host-name clash below
    let hostName = '';
    for (let i = 0; ; i++) {
      hostName = randomVethName();
      try {
        linkAdd(cnl, { name: o.ifName, kind: 'veth', mtu: o.mtu, mac: o.mac, peer: { name: hostName, mtu: o.mtu, nsFd: o.host.fd } });
        break;
      } catch (e) {
        const clash = e instanceof NetlinkError && e.code === 'EEXIST' && !!linkByName(hnl, hostName);
        if (!clash || i + 1 >= MAX_NAME_TRIES) {
          if (e instanceof NetlinkError && e.code === 'EEXIST' && linkByName(cnl, o.ifName)) {
            throw new Error(`container veth name provided (${o.ifName}) already exists`, { cause: e });
          }
          throw new Error(`failed to make veth pair: ${(e as Error).message}`, { cause: e });
        }
      }
    }
    try {
      const host = linkByName(hnl, hostName);
      if (!host) throw new Error(`failed to lookup "${hostName}": link not found`);
      linkSet(hnl, host.index, { up: true }, `failed to set "${hostName}" up`);
      // a host-side veth must not autoconfigure from router advertisements sent by the container
      try {
        writeSysctl(o.host, `net/ipv6/conf/${hostName}/accept_ra`, '0');
      } catch {
        // IPv6 disabled on the host
      }
      const container = linkByName(cnl, o.ifName);
      if (!container) throw new Error(`failed to lookup "${o.ifName}": link not found`);
      // `host` predates the set-up: its flags and operstate are stale, its index, name and MAC are not
      return { host, container };
    } catch (e) {
      linkDelByName(cnl, o.ifName);
      throw e;
    }
  } finally {
    if (!o.containerNl) cnl.close();
    if (!o.hostNl) hnl.close();
  }
}
