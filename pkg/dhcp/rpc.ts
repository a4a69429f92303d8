// The dhcp plugin <-> daemon protocol: Go net/rpc over HTTP CONNECT on a unix socket,
// gob-encoded, with the reference's types (skel.CmdArgs in, types100.Result out).
// Wire facts verified against Debian's /usr/lib/cni/dhcp 1.1.1: see pkg/gob/README.md.
import type { Server } from 'node:net';
import { resolve } from 'node:path';
import { hex } from '../bytes/index.js';
import { formatIP, parseCIDR, parseIP, prefixFromMask, type IP } from '../ipaddr/index.js';
import type { CmdArgs } from '../skel/index.js';
import type { DNS, IPConfig, Interface, Result, Route } from '../types/result.js';
import { CURRENT_VERSION } from '../types/version.js';
import type { Decoded } from '../gob/decoder.js';
import { RPCClient, RPCError, emptyStructType, serveNetRPC, type Reply } from '../gob/netrpc.js';
import { gobBool, gobBytes, gobInt, gobString, type SliceType, type StructType } from '../gob/types.js';

export { RPCError };

// skel.CmdArgs as Debian's 1.1.1 defines it; newer upstream adds NetnsOverride (sent only when set, so
// our bytes stay identical to the Go plugin's; gob matches fields by name, so either end ignores it).
const cmdArgsFields = (override: boolean): StructType['fields'] => [
  { name: 'ContainerID', type: gobString },
  { name: 'Netns', type: gobString },
  { name: 'IfName', type: gobString },
  { name: 'Args', type: gobString },
  { name: 'Path', type: gobString },
  ...(override ? [{ name: 'NetnsOverride', type: gobBool }] : []),
  { name: 'StdinData', type: gobBytes },
];
const cmdArgsType: StructType = { kind: 'struct', name: 'CmdArgs', fields: cmdArgsFields(false) };
const cmdArgsOverrideType: StructType = { kind: 'struct', name: 'CmdArgs', fields: cmdArgsFields(true) };

// net.IP is a plain []byte on the gob wire (gob never uses MarshalText), net.IPNet a struct of two.
const ipNetType: StructType = {
  kind: 'struct',
  name: 'IPNet',
  fields: [
    { name: 'IP', type: gobBytes },
    { name: 'Mask', type: gobBytes },
  ],
};
const stringsType: SliceType = { kind: 'slice', name: '[]string', elem: gobString };
const dnsType: StructType = {
  kind: 'struct',
  name: 'DNS',
  fields: [
    { name: 'Nameservers', type: stringsType },
    { name: 'Domain', type: gobString },
    { name: 'Search', type: stringsType },
    { name: 'Options', type: stringsType },
  ],
};
const ipConfigType: StructType = {
  kind: 'struct',
  name: '', // reached through []*IPConfig: Go sends no name
  fields: [
    { name: 'Interface', type: gobInt, pointer: true },
    { name: 'Address', type: ipNetType },
    { name: 'Gateway', type: gobBytes },
  ],
};

/** types100.Result in Debian 1.1.1's layout (Interface{Name,Mac,Sandbox}, Route{Dst,GW}) or upstream's newer one. */
function resultType(modern: boolean): StructType {
  const iface: StructType = {
    kind: 'struct',
    name: '',
    fields: modern
      ? [
          { name: 'Name', type: gobString },
          { name: 'Mac', type: gobString },
          { name: 'Mtu', type: gobInt },
          { name: 'Sandbox', type: gobString },
          { name: 'SocketPath', type: gobString },
          { name: 'PciID', type: gobString },
        ]
      : [
          { name: 'Name', type: gobString },
          { name: 'Mac', type: gobString },
          { name: 'Sandbox', type: gobString },
        ],
  };
  const route: StructType = {
    kind: 'struct',
    name: '',
    fields: [
      { name: 'Dst', type: ipNetType },
      { name: 'GW', type: gobBytes },
      ...(modern
        ? [
            { name: 'MTU', type: gobInt },
            { name: 'AdvMSS', type: gobInt },
            { name: 'Priority', type: gobInt },
            { name: 'Table', type: gobInt, pointer: true },
            { name: 'Scope', type: gobInt, pointer: true },
          ]
        : []),
    ],
  };
  return {
    kind: 'struct',
    name: 'Result',
    fields: [
      { name: 'CNIVersion', type: gobString },
      { name: 'Interfaces', type: { kind: 'slice', name: '[]*types100.Interface', elem: iface } },
      { name: 'IPs', type: { kind: 'slice', name: '[]*types100.IPConfig', elem: ipConfigType } },
      { name: 'Routes', type: { kind: 'slice', name: '[]*types.Route', elem: route } },
      { name: 'DNS', type: dnsType },
    ],
  };
}
const legacyResultType = resultType(false);
const modernResultType = resultType(true);

/**
 * One net/rpc call over HTTP CONNECT on a unix socket. Rejects with RPCError (message = the server's
 * error string) or with the dial error (errno code kept). Like the Go plugin, it sends Netns made
 * absolute against our working directory (filepath.Abs: an empty Netns becomes the directory itself).
 */
export async function callDHCP(socketPath: string, method: 'DHCP.Allocate' | 'DHCP.Release', args: CmdArgs, timeoutMs?: number): Promise<Result | undefined> {
  const client = await RPCClient.dial(socketPath, { timeoutMs });
  try {
    const reply = await client.call(method, args.netnsOverride ? cmdArgsOverrideType : cmdArgsType, cmdArgsToGob(args));
    return method === 'DHCP.Allocate' ? resultFromGob(reply, 'DHCP.Allocate reply') : undefined;
  } finally {
    client.close();
  }
}

export { RPCClient };

/** skel.CmdArgs as a gob struct value (for {@link RPCClient.call} users that keep a connection). */
export function cmdArgsToGob(args: CmdArgs): Record<string, unknown> {
  return {
    ContainerID: args.containerID,
    Netns: resolve(args.netns),
    IfName: args.ifName,
    Args: args.args,
    Path: args.path,
    NetnsOverride: args.netnsOverride,
    StdinData: args.stdinData,
  };
}

/** The gob type {@link cmdArgsToGob}'s value goes with. */
export function cmdArgsGobType(args: CmdArgs): StructType {
  return args.netnsOverride ? cmdArgsOverrideType : cmdArgsType;
}

/**
 * Serve net/rpc-over-HTTP on an already listening (or about to listen) server; a handler's thrown
 * Error becomes the Response.Error string. Several calls per connection, concurrent connections.
 */
export function serveDHCP(server: Server, handlers: { allocate(args: CmdArgs): Promise<Result>; release(args: CmdArgs): Promise<void> }): void {
  serveNetRPC(server, {
    'DHCP.Allocate': async (arg) => {
      const result = await handlers.allocate(cmdArgsFromGob(arg));
      try {
        return resultToGob(result);
      } catch (e) {
        throw new Error(`failed to encode the result: ${(e as Error).message}`, { cause: e });
      }
    },
    'DHCP.Release': async (arg): Promise<Reply> => {
      await handlers.release(cmdArgsFromGob(arg));
      return { type: emptyStructType, value: {} };
    },
  });
}

function wrongType(path: string, want: string, got: unknown): Error {
  return new Error(`gob: ${path}: expected ${want}, got ${got instanceof Uint8Array ? 'bytes' : typeof got}`);
}

function structValue(v: unknown, path: string): Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v) || v instanceof Uint8Array || v instanceof Map) throw wrongType(path, 'a struct', v);
  return v as Record<string, unknown>;
}

function str(o: Record<string, unknown>, key: string, path: string): string {
  const v = o[key];
  if (v === undefined) return '';
  if (typeof v !== 'string') throw wrongType(`${path}.${key}`, 'a string', v);
  return v;
}

function int(o: Record<string, unknown>, key: string, path: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number') throw wrongType(`${path}.${key}`, 'an int', v);
  return v;
}

function bytes(o: Record<string, unknown>, key: string, path: string): Uint8Array | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (!(v instanceof Uint8Array)) throw wrongType(`${path}.${key}`, 'bytes', v);
  return v;
}

function list(o: Record<string, unknown>, key: string, path: string): unknown[] {
  const v = o[key];
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw wrongType(`${path}.${key}`, 'a slice', v);
  return v;
}

function strings(o: Record<string, unknown>, key: string, path: string): string[] | undefined {
  const l = list(o, key, path);
  l.forEach((s, i) => {
    if (typeof s !== 'string') throw wrongType(`${path}.${key}[${i}]`, 'a string', s);
  });
  return l.length ? (l as string[]) : undefined;
}

/** CmdArgs.stdinData is a Buffer (pkg/skel's type), whatever byte array the decoder hands out. */
function asBuffer(b: Uint8Array | undefined): Buffer {
  if (!b) return Buffer.alloc(0);
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.length);
}

/** A decoded CmdArgs; fields the sender left out (zero values) or does not know (NetnsOverride) default. */
export function cmdArgsFromGob(d: Decoded): CmdArgs {
  const o = structValue(d.value, 'CmdArgs');
  const override = o.NetnsOverride;
  if (override !== undefined && typeof override !== 'boolean') throw wrongType('CmdArgs.NetnsOverride', 'a bool', override);
  return {
    containerID: str(o, 'ContainerID', 'CmdArgs'),
    netns: str(o, 'Netns', 'CmdArgs'),
    ifName: str(o, 'IfName', 'CmdArgs'),
    args: str(o, 'Args', 'CmdArgs'),
    path: str(o, 'Path', 'CmdArgs'),
    netnsOverride: override === true,
    stdinData: asBuffer(bytes(o, 'StdinData', 'CmdArgs')),
  };
}

function ipBytes(s: string | undefined, path: string): Buffer | undefined {
  if (!s) return undefined;
  const ip = parseIP(s);
  if (!ip) throw new Error(`${path}: invalid IP address "${s}"`);
  return Buffer.from(ip.bytes);
}

function maskBytes(family: 4 | 6, prefix: number): Buffer {
  const m = Buffer.alloc(family === 4 ? 4 : 16);
  for (let i = 0; i < prefix; i++) m[i >> 3] |= 0x80 >> (i & 7);
  return m;
}

function ipNet(cidr: string, path: string): Record<string, unknown> {
  const n = parseCIDR(cidr);
  if (!n) throw new Error(`${path}: invalid CIDR address "${cidr}"`);
  return { IP: n.ip.bytes, Mask: maskBytes(n.ip.family, n.prefix) };
}

/**
 * A Result as the gob value of types100.Result. CNIVersion is left empty, as the Go daemon leaves it:
 * the Go plugin then reads it as its own types100 version (Debian's 1.1.1 cannot convert from "1.1.0").
 */
export function resultToGob(r: Result): Reply {
  const modern =
    (r.interfaces ?? []).some((i) => i.mtu || i.socketPath || i.pciID) ||
    (r.routes ?? []).some((x) => x.mtu || x.advmss || x.priority || x.table !== undefined || x.scope !== undefined);
  const value = {
    Interfaces: r.interfaces?.map((i) => ({ Name: i.name, Mac: i.mac, Mtu: i.mtu, Sandbox: i.sandbox, SocketPath: i.socketPath, PciID: i.pciID })),
    IPs: r.ips?.map((ip, n) => ({
      Interface: ip.interface,
      Address: ipNet(ip.address, `ips[${n}].address`),
      Gateway: ipBytes(ip.gateway, `ips[${n}].gateway`),
    })),
    Routes: r.routes?.map((x, n) => ({
      Dst: ipNet(x.dst, `routes[${n}].dst`),
      GW: ipBytes(x.gw, `routes[${n}].gw`),
      MTU: x.mtu,
      AdvMSS: x.advmss,
      Priority: x.priority,
      Table: x.table,
      Scope: x.scope,
    })),
    DNS: r.dns && { Nameservers: r.dns.nameservers, Domain: r.dns.domain, Search: r.dns.search, Options: r.dns.options },
  };
  return { type: modern ? modernResultType : legacyResultType, value };
}

/** net.IP bytes as Go prints them: 4 bytes or 16 (an IPv4-mapped one printed as IPv4). */
function ipFromBytes(b: Uint8Array, path: string): IP {
  if (b.length === 4) return { family: 4, bytes: b };
  if (b.length === 16) {
    const mapped = b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
    return mapped ? { family: 4, bytes: b.subarray(12) } : { family: 6, bytes: b };
  }
  throw new Error(`${path}: IP of ${b.length} bytes`);
}

function ipNetFromGob(v: unknown, path: string): string {
  const o = structValue(v, path);
  const ip = bytes(o, 'IP', path);
  const mask = bytes(o, 'Mask', path);
  if (!ip || !mask) throw new Error(`${path}: missing IP or Mask`);
  const addr = ipFromBytes(ip, `${path}.IP`);
  // Go's IPNet.String: a 16-byte mask goes with an IPv4 address through its last 4 bytes.
  const m = addr.family === 4 && mask.length === 16 ? mask.subarray(12) : mask;
  const prefix = m.length === addr.bytes.length ? prefixFromMask(m) : undefined;
  if (prefix === undefined) throw new Error(`${path}: mask ${hex(mask)} is not a prefix of ${formatIP(addr)}`);
  return `${formatIP(addr)}/${prefix}`;
}

function optIP(o: Record<string, unknown>, key: string, path: string): string | undefined {
  const b = bytes(o, key, path);
  return b && b.length ? formatIP(ipFromBytes(b, `${path}.${key}`)) : undefined;
}

/** A decoded types100.Result (any layout: fields matched by name, unknown ones ignored) in our 1.1.0 shape. */
export function resultFromGob(v: unknown, what = 'Result'): Result {
  try {
    const o = structValue(v, 'Result');
    const out: Result = { cniVersion: CURRENT_VERSION };
    const interfaces = list(o, 'Interfaces', 'Result').map((x, n): Interface => {
      const p = `Result.Interfaces[${n}]`;
      const i = structValue(x, p);
      const r: Interface = { name: str(i, 'Name', p) };
      const mac = str(i, 'Mac', p);
      if (mac) r.mac = mac;
      const mtu = int(i, 'Mtu', p);
      if (mtu) r.mtu = mtu;
      for (const [k, key] of [['sandbox', 'Sandbox'], ['socketPath', 'SocketPath'], ['pciID', 'PciID']] as const) {
        const s = str(i, key, p);
        if (s) r[k] = s;
      }
      return r;
    });
    if (interfaces.length) out.interfaces = interfaces;
    const ips = list(o, 'IPs', 'Result').map((x, n): IPConfig => {
      const p = `Result.IPs[${n}]`;
      const c = structValue(x, p);
      const r: IPConfig = { address: ipNetFromGob(c.Address, `${p}.Address`) };
      const idx = int(c, 'Interface', p);
      if (idx !== undefined) r.interface = idx;
      const gw = optIP(c, 'Gateway', p);
      if (gw) r.gateway = gw;
      return r;
    });
    if (ips.length) out.ips = ips;
    const routes = list(o, 'Routes', 'Result').map((x, n): Route => {
      const p = `Result.Routes[${n}]`;
      const c = structValue(x, p);
      const r: Route = { dst: ipNetFromGob(c.Dst, `${p}.Dst`) };
      const gw = optIP(c, 'GW', p);
      if (gw) r.gw = gw;
      for (const [k, key] of [['mtu', 'MTU'], ['advmss', 'AdvMSS'], ['priority', 'Priority']] as const) {
        const n2 = int(c, key, p);
        if (n2) r[k] = n2;
      }
      for (const [k, key] of [['table', 'Table'], ['scope', 'Scope']] as const) {
        const n2 = int(c, key, p);
        if (n2 !== undefined) r[k] = n2;
      }
      return r;
    });
    if (routes.length) out.routes = routes;
    if (o.DNS !== undefined) {
      const d = structValue(o.DNS, 'Result.DNS');
      const dns: DNS = {};
      const ns = strings(d, 'Nameservers', 'Result.DNS');
      if (ns) dns.nameservers = ns;
      const domain = str(d, 'Domain', 'Result.DNS');
      if (domain) dns.domain = domain;
      const search = strings(d, 'Search', 'Result.DNS');
      if (search) dns.search = search;
      const options = strings(d, 'Options', 'Result.DNS');
      if (options) dns.options = options;
      if (Object.keys(dns).length) out.dns = dns;
    }
    return out;
  } catch (e) {
    throw new Error(`failed to decode ${what}: ${(e as Error).message}`, { cause: e });
  }
}
