// Localhost host ports (reference §2.10; plugins#729): DNAT of 127.0.0.1 traffic
// needs route_localnet=1 on the host interface toward the container, and that
// setting lets the outside send packets to 127.0.0.0/8 too. Kubernetes guards it
// with a rule dropping such "martian" packets; the reference does not. This
// module finds the interface, sets the sysctl and writes the guard for both backends.
import { formatIP, type IP } from '../ipaddr/index.js';
import { linkByIndex } from '../ip/link.js';
import { Attrs, encodeAttrs, Rtnl } from '../ip/netlink.js';
import { readSysctl, writeSysctl } from '../ns/index.js';
import type { SavedTable } from './iptables-save.js';

const RTM_GETROUTE = 26;
const RTA_DST = 1;
const RTA_OIF = 4;
const AF_INET = 2;

export const LOCALNET_CHAIN = 'CNI-HOSTPORT-LOCALNET';
const GUARD_COMMENT = 'CNI portfwd: drop martian localnet packets';

/** The interface the current namespace routes `ip` through (`ip route get`), or undefined. */
export function routeGetInterface(ip: IP): string | undefined {
  if (ip.family !== 4) return undefined;
  const nl = new Rtnl();
  try {
    const msg = Buffer.alloc(12);
    msg.writeUInt8(AF_INET, 0);
    msg.writeUInt8(32, 1);
    const reply = nl.request(RTM_GETROUTE, 0, Buffer.concat([msg, encodeAttrs([{ type: RTA_DST, buf: ip.bytes }])]), `failed to get route to ${formatIP(ip)}`);
    const oif = reply.length ? new Attrs(reply[0].body.subarray(12)).u32(RTA_OIF) : undefined;
    return oif ? linkByIndex(nl, oif)?.name : undefined;
  } finally {
    nl.close();
  }
}

/**
 * Sets `net.ipv4.conf.<if>.route_localnet=1` on the host interface toward
 * `containerIP` (current namespace). Returns an undo, or undefined when nothing changed.
 */
export function enableLocalnetRouting(containerIP: IP): (() => void) | undefined {
  const ifName = routeGetInterface(containerIP);
  if (!ifName) throw new Error(`failed to find the host interface routing to ${formatIP(containerIP)}`);
  const key = `net/ipv4/conf/${ifName}/route_localnet`;
  const old = readSysctl(undefined, key);
  if (old === '1') return undefined;
  writeSysctl(undefined, key, '1');
  return () => writeSysctl(undefined, key, old);
}

/** The guard, as kube-proxy writes it: drop packets for 127.0.0.0/8 not from loopback, except replies and DNAT. */
export const GUARD_RULE = `-A ${LOCALNET_CHAIN} -d 127.0.0.0/8 ! -i lo -m comment --comment "${GUARD_COMMENT}" -m conntrack ! --ctstate RELATED,ESTABLISHED,DNAT -j DROP`;
const GUARD_JUMP = `-A INPUT -m comment --comment "CNI portfwd localnet guard" -j ${LOCALNET_CHAIN}`;

/** The filter-table lines installing the guard, empty when it is already there. */
export function localnetGuardIptables(filter: SavedTable): string[] {
  const present = new Set(filter.rules.map((r) => r.text));
  const out: string[] = [];
  if (!filter.chains.has(LOCALNET_CHAIN)) out.push(`:${LOCALNET_CHAIN} - [0:0]`);
  if (!present.has(GUARD_RULE)) out.push(GUARD_RULE);
  if (!present.has(GUARD_JUMP)) out.push(GUARD_JUMP.replace('-A INPUT', '-I INPUT 1'));
  return out;
}

/** nft statements (re)writing the guard chain in `ip <table>`: a filter chain on the input hook. */
export function localnetGuardNft(table: string): string[] {
  return [
    `add chain ip ${table} localnet_guard { type filter hook input priority filter ; policy accept ; }`,
    `flush chain ip ${table} localnet_guard`,
    `add rule ip ${table} localnet_guard iifname != "lo" ip daddr 127.0.0.0/8 ct state != { established, related } ct status & dnat == 0 drop comment "${GUARD_COMMENT}"`,
  ];
}
