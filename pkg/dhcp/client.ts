// A DHCPv4 client on one interface of one network namespace, over the addon's
// AF_PACKET socket (native/packet.c): the socket is opened inside the
// namespace (the main thread setns'es in for the one synchronous call) and
// then receives on the event loop, so many clients run at once.
import { Rtnl } from '../ip/netlink.js';
import { IF_OPER_UP, IFF_LOWER_UP, isUp, linkByName, linkSet, parseMAC } from '../ip/link.js';

const IF_OPER_UNKNOWN = 0;
import { native } from '../native/index.js';
import { NetNS } from '../ns/index.js';
import {
  BROADCAST_MAC,
  buildFrame,
  CLIENT_PORT,
  decodeMessage,
  encodeMessage,
  type FrameAddrs,
  ip4Bytes,
  type Message,
  MessageType,
  messageType,
  newRequest,
  Opt,
  optIP,
  parseFrame,
  SERVER_PORT,
} from './message.js';
import { clientIDOption } from './options.js';

/** No answer within the per-request timeout. */
export class DHCPTimeoutError extends Error {
  readonly code = 'ETIMEDOUT';
  constructor(what: string, ms: number) {
    super(`no ${what} within ${ms} ms`);
    this.name = 'DHCPTimeoutError';
  }
}

/** The server answered DHCPNAK. */
export class DHCPNakError extends Error {
  readonly code = 'DHCPNAK';
  constructor(server: string, text: string) {
    super(`DHCPNAK from ${server}${text ? `: ${text}` : ''}`);
    this.name = 'DHCPNakError';
  }
}

/** The interface (or its namespace) no longer exists. */
export class LinkGoneError extends Error {
  readonly code = 'ENODEV';
  constructor(what: string) {
    super(what);
    this.name = 'LinkGoneError';
  }
}

/** A bound lease: the ACK and where it came from. */
export interface Lease {
  ack: Message;
  address: string;
  serverID: string;
  /** Ethernet source of the ACK: the server, or the relay/router in front of it. */
  serverMAC: Buffer;
  /** When the ACK arrived (ms since the epoch): the lease times count from here. */
  boundAt: number;
}

interface Waiter {
  accept(m: Message, from: FrameAddrs): boolean;
  resolve(v: { msg: Message; from: FrameAddrs }): void;
}

/** One packet socket on an interface, delivering replies by transaction id. */
export class Transport {
  private readonly waiters = new Map<number, Waiter>();
  private fd: number;

  private constructor(
    readonly ifName: string,
    readonly ifIndex: number,
    readonly mac: Buffer,
    /** True when open() had to set the link up. */
    readonly setUp: boolean,
    open: (onFrame: (f: Buffer) => void) => number,
  ) {
    this.fd = open((f) => this.onFrame(f));
  }

  /**
   * Opens `ifName` in the namespace at `netnsPath`, setting the link up when it
   * is down (as the reference does before DORA). LinkGoneError when the
   * namespace or the link does not exist.
   */
  static open(netnsPath: string, ifName: string, opts: { setUp?: boolean } = {}): Transport {
    let ns: NetNS;
    try {
      ns = NetNS.open(netnsPath);
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') throw new LinkGoneError(`netns "${netnsPath}" does not exist`);
      throw e;
    }
    const nl = new Rtnl(ns);
    try {
      const link = linkByName(nl, ifName);
      if (!link) throw new LinkGoneError(`error looking up "${ifName}": link not found`);
      const setUp = opts.setUp !== false && !isUp(link);
      if (setUp) linkSet(nl, link.index, { up: true }, `failed to set "${ifName}" up`);
      const mac = parseMAC(link.mac);
      if (!mac) throw new Error(`"${ifName}" has no Ethernet address`);
      return new Transport(ifName, link.index, mac, setUp, (onFrame) => ns.run(() => native().packetOpen(link.index, onFrame)));
    } finally {
      nl.close();
      ns.close();
    }
  }

  private onFrame(f: Buffer): void {
    try {
      const p = parseFrame(f);
      if (!p || p.addrs.dstPort !== CLIENT_PORT || p.addrs.srcPort !== SERVER_PORT) return;
      const msg = decodeMessage(p.payload);
      if (msg.op !== 2 || msg.hlen !== 6 || !msg.chaddr.equals(this.mac)) return;
      const w = this.waiters.get(msg.xid);
      if (w && w.accept(msg, p.addrs)) {
        this.waiters.delete(msg.xid);
        w.resolve({ msg, from: p.addrs });
      }
    } catch {
      // a malformed frame on the wire is not our failure: wait for the next
    }
  }

  /** Sends `msg` in one frame. */
  send(msg: Message, to: { mac: Buffer; ip: string }, fromIP = '0.0.0.0'): void {
    if (this.fd < 0) throw new Error('DHCP transport is closed');
    const addrs: FrameAddrs = { srcMAC: this.mac, dstMAC: to.mac, srcIP: fromIP, dstIP: to.ip, srcPort: CLIENT_PORT, dstPort: SERVER_PORT };
    try {
      native().packetSend(this.fd, buildFrame(addrs, encodeMessage(msg), Math.floor(Math.random() * 0x10000)));
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'ENXIO' || code === 'ENODEV') throw new LinkGoneError(`interface "${this.ifName}" is gone`);
      throw e;
    }
  }

  /**
   * Sends `msg` and waits up to `timeoutMs` for a reply with its xid that `accept` takes; sends it again
   * (same xid) at each of `resendAt` (ms after the first send, ascending, below `timeoutMs`) while none came.
   */
  exchange(
    msg: Message,
    to: { mac: Buffer; ip: string },
    o: { fromIP?: string; timeoutMs: number; what: string; signal?: AbortSignal; resendAt?: readonly number[]; accept(m: Message): boolean },
  ): Promise<{ msg: Message; from: FrameAddrs }> {
    return new Promise((resolve, reject) => {
      if (o.signal?.aborted) return reject(o.signal.reason);
      let resendTimer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        clearTimeout(timer);
        clearTimeout(resendTimer);
        o.signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(msg.xid);
      };
      const onAbort = () => {
        done();
        reject(o.signal!.reason);
      };
      const timer = setTimeout(() => {
        done();
        reject(new DHCPTimeoutError(o.what, o.timeoutMs));
      }, o.timeoutMs);
      o.signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.set(msg.xid, {
        accept: o.accept,
        resolve: (v) => {
          done();
          resolve(v);
        },
      });
      const sendOrFail = () => {
        try {
          this.send(msg, to, o.fromIP);
          return true;
        } catch (e) {
          done();
          reject(e);
          return false;
        }
      };
      const sentAt = Date.now();
      const resends = (o.resendAt ?? []).filter((ms) => ms < o.timeoutMs);
      const scheduleResend = () => {
        const next = resends.shift();
        if (next === undefined) return;
        resendTimer = setTimeout(() => {
          if (this.waiters.has(msg.xid) && sendOrFail()) scheduleResend();
        }, Math.max(0, sentAt + next - Date.now()));
      };
      if (sendOrFail()) scheduleResend();
    });
  }

  close(): void {
    if (this.fd >= 0) {
      native().packetClose(this.fd);
      this.fd = -1;
    }
  }
}

/**
 * Waits (asynchronously, up to `ms`) until a link that was just set up is
 * operational. Until the kernel's link watcher has run (it batches events, up
 * to 1 s), a new link transmits into a no-op queue: a DISCOVER sent at once is
 * lost and costs a whole retry.
 */
export async function waitOperational(netnsPath: string, ifName: string, ms: number): Promise<void> {
  const end = Date.now() + ms;
  for (;;) {
    const ns = NetNS.open(netnsPath);
    const nl = new Rtnl(ns);
    let link;
    try {
      link = linkByName(nl, ifName);
    } finally {
      nl.close();
      ns.close();
    }
    if (!link) throw new LinkGoneError(`"${ifName}" disappeared`);
    if (link.flags & IFF_LOWER_UP && (link.operstate === IF_OPER_UP || link.operstate === IF_OPER_UNKNOWN)) return;
    if (Date.now() >= end) return;
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** What every message of one client carries. */
export interface ClientConfig {
  /** The text of option 61 (see clientIDOf). */
  clientID: string;
  /** Options from the configuration (provide, Parameter Request List), sent as given. */
  options: Map<number, Buffer>;
  /** Sets the BOOTP broadcast flag (the daemon's -broadcast). */
  broadcast: boolean;
  /** How long to wait for each reply. */
  timeoutMs: number;
}

const BROADCAST = { mac: BROADCAST_MAC, ip: '255.255.255.255' };
/** The largest message we accept (option 57): an Ethernet MTU's worth. */
const MAX_MESSAGE = Buffer.from([0x05, 0xdc]);

function clientOptions(c: ClientConfig, extra: Array<[number, Buffer]>): Array<[number, Buffer]> {
  // the client id first, so that a `provide`d dhcp-client-identifier replaces it
  const m = new Map<number, Buffer>([[Opt.ClientID, clientIDOption(c.clientID)], ...extra]);
  for (const [code, v] of c.options) m.set(code, v);
  return [...m];
}

function nakText(m: Message): string {
  return m.options.get(56)?.toString('latin1') ?? '';
}

function toLease(msg: Message, from: FrameAddrs, serverID?: string): Lease {
  return { ack: msg, address: msg.yiaddr, serverID: optIP(msg, Opt.ServerID) ?? serverID ?? from.srcIP, serverMAC: from.srcMAC, boundAt: Date.now() };
}

function replyTo(types: number[]) {
  return (m: Message) => types.includes(messageType(m) ?? 0);
}

/** A transaction id for a new exchange; retransmissions keep theirs, so a late answer still counts. */
export const newXID = () => Math.floor(Math.random() * 0x100000000) >>> 0;

/**
 * When the first DISCOVER on a link that just came up is sent again without an OFFER (ms after it).
 * The far end of a new link may not forward yet: the host end of a veth becomes a forwarding bridge
 * port only when the kernel's link watcher processes that end, in either order with the container's
 * end and up to ~3 ms apart here (`ip monitor`/`bridge monitor`), so a DISCOVER sent as soon as our end is operational is dropped by
 * the bridge about half the time. Lost, it would cost a whole `-timeout` (10 s by default) and a
 * retry; re-sent (same xid), it costs 0.2 s. A server slower than that sees a duplicate, which
 * RFC 2131 clients send anyway (§4.1 retransmissions) and which it answers with the same offer.
 */
export const EARLY_RESEND_MS = [200, 600] as const;

/**
 * DISCOVER → OFFER → REQUEST → ACK once (RFC 2131 §3.1). Throws DHCPTimeoutError
 * or DHCPNakError. Pass the same `xid` to retransmit (an OFFER that comes late,
 * e.g. after dnsmasq's ping check of the address, then answers the retry).
 * `resendDiscoverAt`: re-send the DISCOVER at these times (ms) while no OFFER came
 * (EARLY_RESEND_MS on a link that just came up).
 */
export async function obtain(t: Transport, c: ClientConfig, signal?: AbortSignal, xid = newXID(), resendDiscoverAt?: readonly number[]): Promise<Lease> {
  const discover = newRequest({ xid, mac: t.mac, type: MessageType.DISCOVER, broadcast: c.broadcast, options: clientOptions(c, [[Opt.MaxMessageSize, MAX_MESSAGE]]) });
  const offer = await t.exchange(discover, BROADCAST, {
    timeoutMs: c.timeoutMs,
    what: 'DHCPOFFER',
    signal,
    resendAt: resendDiscoverAt,
    accept: (m) => messageType(m) === MessageType.OFFER && m.yiaddr !== '0.0.0.0',
  });
  const serverID = optIP(offer.msg, Opt.ServerID) ?? offer.from.srcIP;
  const request = newRequest({
    xid,
    mac: t.mac,
    type: MessageType.REQUEST,
    broadcast: c.broadcast,
    options: clientOptions(c, [
      [Opt.MaxMessageSize, MAX_MESSAGE],
      [Opt.RequestedIP, ip4Bytes(offer.msg.yiaddr)],
      [Opt.ServerID, ip4Bytes(serverID)],
    ]),
  });
  const reply = await t.exchange(request, BROADCAST, {
    timeoutMs: c.timeoutMs,
    what: 'DHCPACK',
    signal,
    // other servers' answers to our REQUEST are not for us (§4.4.1: only the selected server replies)
    accept: (m) => replyTo([MessageType.ACK, MessageType.NAK])(m) && (optIP(m, Opt.ServerID) ?? serverID) === serverID,
  });
  if (messageType(reply.msg) === MessageType.NAK) throw new DHCPNakError(serverID, nakText(reply.msg));
  return toLease(reply.msg, reply.from, serverID);
}

/**
 * REQUEST with `ciaddr` (RFC 2131 §4.3.2 RENEWING, unicast to the server that
 * granted the lease, or REBINDING, broadcast to any server).
 */
export async function extend(t: Transport, c: ClientConfig, lease: Lease, mode: 'renew' | 'rebind', signal?: AbortSignal, xid = newXID()): Promise<Lease> {
  const request = newRequest({ xid, mac: t.mac, type: MessageType.REQUEST, ciaddr: lease.address, broadcast: c.broadcast && mode === 'rebind', options: clientOptions(c, [[Opt.MaxMessageSize, MAX_MESSAGE]]) });
  const to = mode === 'renew' ? { mac: lease.serverMAC, ip: lease.serverID } : BROADCAST;
  const reply = await t.exchange(request, to, { fromIP: lease.address, timeoutMs: c.timeoutMs, what: 'DHCPACK', signal, accept: replyTo([MessageType.ACK, MessageType.NAK]) });
  const server = optIP(reply.msg, Opt.ServerID) ?? reply.from.srcIP;
  if (messageType(reply.msg) === MessageType.NAK) throw new DHCPNakError(server, nakText(reply.msg));
  return toLease(reply.msg, reply.from, lease.serverID);
}

/**
 * INIT-REBOOT (RFC 2131 §3.2, §4.3.2): a broadcast REQUEST for the address we
 * held, with option 50 and without `ciaddr` or a server id, for a lease that
 * expired while nobody maintained it. Any server may confirm (ACK) or refuse
 * (NAK); an ACK for another address is a refusal too.
 */
export async function reboot(t: Transport, c: ClientConfig, address: string, signal?: AbortSignal, xid = newXID()): Promise<Lease> {
  const request = newRequest({
    xid,
    mac: t.mac,
    type: MessageType.REQUEST,
    broadcast: c.broadcast,
    options: clientOptions(c, [
      [Opt.MaxMessageSize, MAX_MESSAGE],
      [Opt.RequestedIP, ip4Bytes(address)],
    ]),
  });
  const reply = await t.exchange(request, BROADCAST, { timeoutMs: c.timeoutMs, what: 'DHCPACK', signal, accept: replyTo([MessageType.ACK, MessageType.NAK]) });
  const server = optIP(reply.msg, Opt.ServerID) ?? reply.from.srcIP;
  if (messageType(reply.msg) === MessageType.NAK) throw new DHCPNakError(server, nakText(reply.msg));
  if (reply.msg.yiaddr !== address) throw new DHCPNakError(server, `DHCPACK for ${reply.msg.yiaddr}, not ${address}`);
  return toLease(reply.msg, reply.from);
}

/** DHCPRELEASE, unicast to the server (RFC 2131 §4.4.6); no answer comes. */
export function release(t: Transport, c: ClientConfig, lease: Lease): void {
  const msg = newRequest({
    xid: newXID(),
    mac: t.mac,
    type: MessageType.RELEASE,
    ciaddr: lease.address,
    options: [
      [Opt.ServerID, ip4Bytes(lease.serverID)],
      [Opt.ClientID, clientIDOption(c.clientID)],
    ],
  });
  // a provided client identifier replaces ours in RELEASE too: the server keys the lease by it
  const cid = c.options.get(Opt.ClientID);
  if (cid) msg.options.set(Opt.ClientID, cid);
  t.send(msg, { mac: lease.serverMAC, ip: lease.serverID }, lease.address);
}
