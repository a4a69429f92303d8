// DHCPv4 on the wire (RFC 2131 message, RFC 2132 options, RFC 3442 classless
// routes) and the Ethernet/IPv4/UDP framing the daemon's packet socket needs:
// a client without an address cannot use a UDP socket for DISCOVER/REQUEST,
// nor receive an OFFER/ACK a server unicasts to the offered address.

/** DHCP message types (option 53). */
export const MessageType = {
  DISCOVER: 1,
  OFFER: 2,
  REQUEST: 3,
  DECLINE: 4,
  ACK: 5,
  NAK: 6,
  RELEASE: 7,
  INFORM: 8,
} as const;

/** The option codes this suite reads or writes. */
export const Opt = {
  Pad: 0,
  SubnetMask: 1,
  Router: 3,
  HostName: 12,
  StaticRoutes: 33,
  RequestedIP: 50,
  LeaseTime: 51,
  Overload: 52,
  MessageType: 53,
  ServerID: 54,
  ParameterRequestList: 55,
  MaxMessageSize: 57,
  RenewalTime: 58,
  RebindingTime: 59,
  ClassID: 60,
  ClientID: 61,
  UserClass: 77,
  ClasslessRoutes: 121,
  End: 255,
} as const;

const MAGIC_COOKIE = 0x63825363;
const HEADER_LEN = 236;
/** BOOTP's minimum message (RFC 1542 §2.1): some relays drop shorter ones. */
const MIN_LEN = 300;
export const BROADCAST_FLAG = 0x8000;
export const SERVER_PORT = 67;
export const CLIENT_PORT = 68;

/** A DHCP message. Addresses are dotted quads; options keep their order. */
export interface Message {
  op: 1 | 2;
  htype: number;
  hlen: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: string;
  yiaddr: string;
  siaddr: string;
  giaddr: string;
  /** Client hardware address (hlen bytes). */
  chaddr: Buffer;
  sname: string;
  file: string;
  /** code → value; a code repeated on the wire is concatenated (RFC 3396). */
  options: Map<number, Buffer>;
}

/** A dotted quad as 4 bytes; throws on anything else. */
export function ip4Bytes(ip: string): Buffer {
  const parts = ip.split('.');
  if (parts.length !== 4 || parts.some((p) => !/^\d{1,3}$/.test(p) || Number(p) > 255)) throw new Error(`not an IPv4 address: "${ip}"`);
  return Buffer.from(parts.map(Number));
}

/** 4 bytes at `off` as a dotted quad. */
export function ip4String(b: Buffer, off = 0): string {
  return `${b[off]}.${b[off + 1]}.${b[off + 2]}.${b[off + 3]}`;
}

/** A new client message with the header filled in as RFC 2131 §4.4.1 asks. */
export function newRequest(o: { xid: number; mac: Buffer; type: number; broadcast?: boolean; ciaddr?: string; options?: Array<[number, Buffer]> }): Message {
  const options = new Map<number, Buffer>([[Opt.MessageType, Buffer.from([o.type])]]);
  for (const [code, value] of o.options ?? []) options.set(code, value);
  return {
    op: 1,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: o.xid >>> 0,
    secs: 0,
    flags: o.broadcast ? BROADCAST_FLAG : 0,
    ciaddr: o.ciaddr ?? '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: '0.0.0.0',
    chaddr: Buffer.from(o.mac),
    sname: '',
    file: '',
    options,
  };
}

function putOption(out: number[], code: number, value: Buffer): void {
  // Values over 255 bytes are split into consecutive instances (RFC 3396).
  let off = 0;
  do {
    const chunk = value.subarray(off, off + 255);
    out.push(code, chunk.length, ...chunk);
    off += 255;
  } while (off < value.length);
}

/** The message as bytes: header, magic cookie, options (type first), end, padded to 300. */
export function encodeMessage(m: Message): Buffer {
  const h = Buffer.alloc(HEADER_LEN);
  h.writeUInt8(m.op, 0);
  h.writeUInt8(m.htype, 1);
  h.writeUInt8(m.hlen, 2);
  h.writeUInt8(m.hops, 3);
  h.writeUInt32BE(m.xid >>> 0, 4);
  h.writeUInt16BE(m.secs, 8);
  h.writeUInt16BE(m.flags, 10);
  ip4Bytes(m.ciaddr).copy(h, 12);
  ip4Bytes(m.yiaddr).copy(h, 16);
  ip4Bytes(m.siaddr).copy(h, 20);
  ip4Bytes(m.giaddr).copy(h, 24);
  m.chaddr.copy(h, 28, 0, 16);
  h.write(m.sname, 44, 64, 'latin1');
  h.write(m.file, 108, 128, 'latin1');
  const opts: number[] = [];
  const type = m.options.get(Opt.MessageType);
  if (type) putOption(opts, Opt.MessageType, type);
  for (const [code, value] of m.options) if (code !== Opt.MessageType && code !== Opt.Pad && code !== Opt.End) putOption(opts, code, value);
  opts.push(Opt.End);
  const cookie = Buffer.alloc(4);
  cookie.writeUInt32BE(MAGIC_COOKIE);
  const body = Buffer.concat([h, cookie, Buffer.from(opts)]);
  return body.length >= MIN_LEN ? body : Buffer.concat([body, Buffer.alloc(MIN_LEN - body.length)]);
}

function parseOptions(b: Buffer, into: Map<number, Buffer>): void {
  let i = 0;
  while (i < b.length) {
    const code = b[i++];
    if (code === Opt.Pad) continue;
    if (code === Opt.End) return;
    if (i >= b.length) throw new Error(`option ${code}: missing length`);
    const len = b[i++];
    if (i + len > b.length) throw new Error(`option ${code}: length ${len} runs past the end`);
    const value = b.subarray(i, i + len);
    const prev = into.get(code);
    into.set(code, prev ? Buffer.concat([prev, value]) : Buffer.from(value));
    i += len;
  }
}

function cString(b: Buffer): string {
  const end = b.indexOf(0);
  return b.subarray(0, end < 0 ? b.length : end).toString('latin1');
}

/** Parses a DHCP message; throws on a malformed one. Honours option overload (52). */
export function decodeMessage(b: Buffer): Message {
  if (b.length < HEADER_LEN + 4) throw new Error(`message too short (${b.length} bytes)`);
  if (b.readUInt32BE(HEADER_LEN) !== MAGIC_COOKIE) throw new Error('bad magic cookie');
  const op = b[0];
  if (op !== 1 && op !== 2) throw new Error(`bad op ${op}`);
  const hlen = Math.min(b[2], 16);
  const options = new Map<number, Buffer>();
  parseOptions(b.subarray(HEADER_LEN + 4), options);
  const overload = options.get(Opt.Overload)?.[0] ?? 0;
  if (overload & 1) parseOptions(b.subarray(108, 236), options);
  if (overload & 2) parseOptions(b.subarray(44, 108), options);
  return {
    op,
    htype: b[1],
    hlen,
    hops: b[3],
    xid: b.readUInt32BE(4),
    secs: b.readUInt16BE(8),
    flags: b.readUInt16BE(10),
    ciaddr: ip4String(b, 12),
    yiaddr: ip4String(b, 16),
    siaddr: ip4String(b, 20),
    giaddr: ip4String(b, 24),
    chaddr: Buffer.from(b.subarray(28, 28 + hlen)),
    sname: overload & 2 ? '' : cString(b.subarray(44, 108)),
    file: overload & 1 ? '' : cString(b.subarray(108, 236)),
    options,
  };
}

/** The message type (option 53), or undefined. */
export function messageType(m: Message): number | undefined {
  const v = m.options.get(Opt.MessageType);
  return v && v.length === 1 ? v[0] : undefined;
}

/** A 4-byte address option as a dotted quad. */
export function optIP(m: Message, code: number): string | undefined {
  const v = m.options.get(code);
  return v && v.length >= 4 ? ip4String(v) : undefined;
}

/** A list-of-addresses option (routers, DNS). */
export function optIPs(m: Message, code: number): string[] {
  const v = m.options.get(code);
  const out: string[] = [];
  if (v) for (let i = 0; i + 4 <= v.length; i += 4) out.push(ip4String(v, i));
  return out;
}

/** A 32-bit unsigned option (lease time, T1, T2), in seconds. */
export function optU32(m: Message, code: number): number | undefined {
  const v = m.options.get(code);
  return v && v.length === 4 ? v.readUInt32BE(0) : undefined;
}

/** A netmask option as a prefix length; undefined when absent or not contiguous. */
export function optPrefix(m: Message, code = Opt.SubnetMask): number | undefined {
  const v = m.options.get(code);
  if (!v || v.length !== 4) return undefined;
  const n = v.readUInt32BE(0);
  let len = 0;
  while (len < 32 && n & (0x80000000 >>> len)) len++;
  return (n << len) >>> 0 === 0 || len === 32 ? len : undefined;
}

/** A route a DHCP server handed out: `dst` in CIDR form, `gw` a dotted quad. */
export interface DHCPRoute {
  dst: string;
  gw: string;
}

/**
 * Option 121 (RFC 3442): width, the significant octets of the destination,
 * router. A malformed option yields undefined (the whole option is ignored).
 */
export function classlessRoutes(m: Message): DHCPRoute[] | undefined {
  const v = m.options.get(Opt.ClasslessRoutes);
  if (!v) return undefined;
  const out: DHCPRoute[] = [];
  let i = 0;
  while (i < v.length) {
    const width = v[i++];
    if (width > 32) return undefined;
    const octets = Math.ceil(width / 8);
    if (i + octets + 4 > v.length) return undefined;
    const dst = Buffer.alloc(4);
    v.copy(dst, 0, i, i + octets);
    i += octets;
    out.push({ dst: `${ip4String(dst)}/${width}`, gw: ip4String(v, i) });
    i += 4;
  }
  return out;
}

/**
 * Option 33 (RFC 2132 §5.8): destination/router pairs, the destination's
 * mask being its class's. Class D/E destinations have no mask and are skipped.
 */
export function staticRoutes(m: Message): DHCPRoute[] {
  const v = m.options.get(Opt.StaticRoutes);
  const out: DHCPRoute[] = [];
  if (!v) return out;
  for (let i = 0; i + 8 <= v.length; i += 8) {
    const first = v[i];
    const prefix = first < 128 ? 8 : first < 192 ? 16 : first < 224 ? 24 : undefined;
    if (prefix === undefined) continue;
    out.push({ dst: `${ip4String(v, i)}/${prefix}`, gw: ip4String(v, i + 4) });
  }
  return out;
}

// --- Ethernet / IPv4 / UDP framing -----------------------------------------

export const BROADCAST_MAC = Buffer.from([0xff, 0xff, 0xff, 0xff, 0xff, 0xff]);
const ETH_P_IP = 0x0800;
const IPPROTO_UDP = 17;

/** The Internet checksum (RFC 1071) of `b`, starting from `initial`. */
export function inetChecksum(b: Buffer, initial = 0): number {
  let sum = initial;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length & 1) sum += b[b.length - 1] << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** Addresses and ports of one UDP datagram in an Ethernet frame. */
export interface FrameAddrs {
  srcMAC: Buffer;
  dstMAC: Buffer;
  srcIP: string;
  dstIP: string;
  srcPort: number;
  dstPort: number;
}

/** An Ethernet II frame carrying `payload` in IPv4/UDP, both checksums computed. */
export function buildFrame(a: FrameAddrs, payload: Buffer, ipID = 0): Buffer {
  const eth = Buffer.alloc(14);
  a.dstMAC.copy(eth, 0, 0, 6);
  a.srcMAC.copy(eth, 6, 0, 6);
  eth.writeUInt16BE(ETH_P_IP, 12);
  const udpLen = 8 + payload.length;
  const ip = Buffer.alloc(20);
  ip.writeUInt8(0x45, 0);
  // DSCP CS6 would be the usual marking for network control; the reference sends 0, and so do we
  ip.writeUInt16BE(20 + udpLen, 2);
  ip.writeUInt16BE(ipID & 0xffff, 4);
  ip.writeUInt8(64, 8);
  ip.writeUInt8(IPPROTO_UDP, 9);
  ip4Bytes(a.srcIP).copy(ip, 12);
  ip4Bytes(a.dstIP).copy(ip, 16);
  ip.writeUInt16BE(inetChecksum(ip), 10);
  const udp = Buffer.alloc(8);
  udp.writeUInt16BE(a.srcPort, 0);
  udp.writeUInt16BE(a.dstPort, 2);
  udp.writeUInt16BE(udpLen, 4);
  const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, IPPROTO_UDP, udpLen >> 8, udpLen & 0xff])]);
  const sum = inetChecksum(Buffer.concat([pseudo, udp, payload]));
  // a computed 0 is sent as all ones (RFC 768): 0 means "no checksum"
  udp.writeUInt16BE(sum === 0 ? 0xffff : sum, 6);
  return Buffer.concat([eth, ip, udp, payload]);
}

/**
 * The UDP payload of an IPv4 frame with its addresses, or undefined for
 * anything else (not IPv4/UDP, fragment, bad IP header checksum, truncated).
 * The UDP checksum is not verified: frames a veth peer sends reach packet
 * sockets before the offloaded checksum is filled in (CHECKSUM_PARTIAL).
 */
export function parseFrame(f: Buffer): { addrs: FrameAddrs; payload: Buffer } | undefined {
  if (f.length < 14 + 20 + 8 || f.readUInt16BE(12) !== ETH_P_IP) return undefined;
  const ip = f.subarray(14);
  const ihl = (ip[0] & 0x0f) * 4;
  if (ip[0] >> 4 !== 4 || ihl < 20 || ip.length < ihl + 8 || ip[9] !== IPPROTO_UDP) return undefined;
  if (ip.readUInt16BE(6) & 0x3fff) return undefined;
  if (inetChecksum(ip.subarray(0, ihl)) !== 0) return undefined;
  const total = ip.readUInt16BE(2);
  if (total < ihl + 8 || total > ip.length) return undefined;
  const udp = ip.subarray(ihl, total);
  const udpLen = udp.readUInt16BE(4);
  if (udpLen < 8 || udpLen > udp.length) return undefined;
  return {
    addrs: {
      dstMAC: Buffer.from(f.subarray(0, 6)),
      srcMAC: Buffer.from(f.subarray(6, 12)),
      srcIP: ip4String(ip, 12),
      dstIP: ip4String(ip, 16),
      srcPort: udp.readUInt16BE(0),
      dstPort: udp.readUInt16BE(2),
    },
    payload: Buffer.from(udp.subarray(8, udpLen)),
  };
}
