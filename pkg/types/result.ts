// Results of every spec version and the conversions between them (SPEC.md
// "Success"; libcni's convert rules). Inside the suite a result is always the
// 1.1.0 shape; pkg/skel converts it to the configuration's cniVersion on output.
import { familyOf, parseCIDR, parseIP } from '../ipaddr/index.js';
import { CniError, ErrCode } from './error.js';
import { ALL_VERSIONS, CURRENT_VERSION, compareVersions, isLegacyResultVersion } from './version.js';

export interface Interface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

export interface IPConfig {
  interface?: number;
  address: string;
  gateway?: string;
}

export interface Route {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface DNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A result in the 1.1.0 shape. */
export interface Result {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IPConfig[];
  routes?: Route[];
  dns?: DNS;
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function bad(path: string, why: string): CniError {
  return new CniError(ErrCode.DecodingFailure, `${path}: ${why}`);
}

function str(v: unknown, path: string, optional = true): string | undefined {
  if (v === undefined || v === null) {
    if (optional) return undefined;
    throw bad(path, 'missing');
  }
  if (typeof v !== 'string') throw bad(path, 'must be a string');
  return v;
}

function int(v: unknown, path: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(path, 'must be an integer');
  return v;
}

function strList(v: unknown, path: string): string[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) throw bad(path, 'must be a list of strings');
  return v as string[];
}

function cidr(v: unknown, path: string): string {
  const s = str(v, path, false)!;
  if (!parseCIDR(s)) throw bad(path, `invalid CIDR address "${s}"`);
  return s;
}

function ip(v: unknown, path: string): string | undefined {
  const s = str(v, path);
  if (s === undefined || s === '') return undefined;
  if (!parseIP(s)) throw bad(path, `invalid IP address "${s}"`);
  return s;
}

function route(v: unknown, path: string): Route {
  if (!isObj(v)) throw bad(path, 'must be an object');
  const r: Route = { dst: cidr(v.dst, `${path}.dst`) };
  const gw = ip(v.gw, `${path}.gw`);
  if (gw) r.gw = gw;
  for (const k of ['mtu', 'advmss', 'priority', 'table', 'scope'] as const) {
    const n = int(v[k], `${path}.${k}`);
    if (n !== undefined) r[k] = n;
  }
  return r;
}

function dns(v: unknown, path: string): DNS | undefined {
  if (v === undefined || v === null) return undefined;
  if (!isObj(v)) throw bad(path, 'must be an object');
  const d: DNS = {};
  const ns = strList(v.nameservers, `${path}.nameservers`);
  if (ns) d.nameservers = ns;
  const dom = str(v.domain, `${path}.domain`);
  if (dom) d.domain = dom;
  const se = strList(v.search, `${path}.search`);
  if (se) d.search = se;
  const op = strList(v.options, `${path}.options`);
  if (op) d.options = op;
  return d;
}

function list<T>(v: unknown, path: string, each: (x: unknown, p: string) => T): T[] | undefined {
  if (v === undefined || v === null) return undefined;
  if (!Array.isArray(v)) throw bad(path, 'must be a list');
  return v.map((x, i) => each(x, `${path}[${i}]`));
}

/**
 * Reads a result of any version into the 1.1.0 shape. A result without
 * `cniVersion` is taken to be `fallbackVersion` (libcni's fixupResultVersion).
 */
export function parseResult(raw: unknown, fallbackVersion: string, path = 'prevResult'): Result {
  if (!isObj(raw)) throw bad(path, 'must be an object');
  const version = (str(raw.cniVersion, `${path}.cniVersion`) || fallbackVersion || '0.1.0');
  if (!(ALL_VERSIONS as readonly string[]).includes(version)) {
    throw new CniError(ErrCode.IncompatibleCNIVersion, `unsupported result version "${version}"`);
  }
  const out: Result = { cniVersion: CURRENT_VERSION };
  if (isLegacyResultVersion(version)) {
    const ips: IPConfig[] = [];
    const routes: Route[] = [];
    for (const fam of ['ip4', 'ip6'] as const) {
      const v = raw[fam];
      if (v === undefined || v === null) continue;
      if (!isObj(v)) throw bad(`${path}.${fam}`, 'must be an object');
      const c: IPConfig = { address: cidr(v.ip, `${path}.${fam}.ip`) };
      const gw = ip(v.gateway, `${path}.${fam}.gateway`);
      if (gw) c.gateway = gw;
      ips.push(c);
      routes.push(...(list(v.routes, `${path}.${fam}.routes`, route) ?? []));
    }
    if (ips.length) out.ips = ips;
    if (routes.length) out.routes = routes;
  } else {
    const ifaces = list(raw.interfaces, `${path}.interfaces`, (x, p) => {
      if (!isObj(x)) throw bad(p, 'must be an object');
      const i: Interface = { name: str(x.name, `${p}.name`) ?? '' };
      const mac = str(x.mac, `${p}.mac`);
      if (mac) i.mac = mac;
      const mtu = int(x.mtu, `${p}.mtu`);
      if (mtu) i.mtu = mtu;
      const sb = str(x.sandbox, `${p}.sandbox`);
      if (sb) i.sandbox = sb;
      const sp = str(x.socketPath, `${p}.socketPath`);
      if (sp) i.socketPath = sp;
      const pci = str(x.pciID, `${p}.pciID`);
      if (pci) i.pciID = pci;
      return i;
    });
    if (ifaces) out.interfaces = ifaces;
    const ips = list(raw.ips, `${path}.ips`, (x, p) => {
      if (!isObj(x)) throw bad(p, 'must be an object');
      const c: IPConfig = { address: cidr(x.address, `${p}.address`) };
      const idx = int(x.interface, `${p}.interface`);
      if (idx !== undefined) c.interface = idx;
      const gw = ip(x.gateway, `${p}.gateway`);
      if (gw) c.gateway = gw;
      return c;
    });
    if (ips) out.ips = ips;
    const routes = list(raw.routes, `${path}.routes`, route);
    if (routes) out.routes = routes;
  }
  const d = dns(raw.dns, `${path}.dns`);
  if (d) out.dns = d;
  return out;
}

function routeOut(r: Route): Record<string, unknown> {
  const o: Record<string, unknown> = { dst: r.dst };
  if (r.gw) o.gw = r.gw;
  if (r.mtu) o.mtu = r.mtu;
  if (r.advmss) o.advmss = r.advmss;
  if (r.priority) o.priority = r.priority;
  if (r.table !== undefined) o.table = r.table;
  if (r.scope !== undefined) o.scope = r.scope;
  return o;
}

function dnsOut(d: DNS): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (d.nameservers?.length) o.nameservers = d.nameservers;
  if (d.domain) o.domain = d.domain;
  if (d.search?.length) o.search = d.search;
  if (d.options?.length) o.options = d.options;
  return o;
}

/**
 * The JSON object of `result` in spec version `to`, with the key order and
 * omissions of the Go types. Fails as libcni does when 0.1.0/0.2.0 cannot
 * express a result without IPs.
 */
export function convertResult(result: Result, to: string): Record<string, unknown> {
  if (!(ALL_VERSIONS as readonly string[]).includes(to)) {
    throw new CniError(ErrCode.IncompatibleCNIVersion, `no converter for CNI result version ${result.cniVersion} to ${to}`);
  }
  if (isLegacyResultVersion(to)) {
    const out: Record<string, unknown> = { cniVersion: to };
    let any = false;
    for (const fam of [4, 6] as const) {
      const c = result.ips?.find((x) => familyOf(x.address) === fam);
      if (!c) continue;
      any = true;
      const o: Record<string, unknown> = { ip: c.address };
      if (c.gateway) o.gateway = c.gateway;
      const rs = (result.routes ?? []).filter((r) => familyOf(r.dst) === fam).map((r) => {
        const x: Record<string, unknown> = { dst: r.dst };
        if (r.gw) x.gw = r.gw;
        return x;
      });
      if (rs.length) o.routes = rs;
      out[fam === 4 ? 'ip4' : 'ip6'] = o;
    }
    if (!any) throw new CniError(ErrCode.IncompatibleCNIVersion, 'cannot convert: no valid IP addresses');
    out.dns = result.dns ? dnsOut(result.dns) : {};
    return out;
  }
  const legacyIps = compareVersions(to, '1.0.0') < 0;
  const out: Record<string, unknown> = { cniVersion: to };
  if (result.interfaces?.length) {
    out.interfaces = result.interfaces.map((i) => {
      const o: Record<string, unknown> = { name: i.name };
      if (i.mac) o.mac = i.mac;
      if (!legacyIps && i.mtu) o.mtu = i.mtu;
      if (i.sandbox) o.sandbox = i.sandbox;
      if (!legacyIps && i.socketPath) o.socketPath = i.socketPath;
      if (!legacyIps && i.pciID) o.pciID = i.pciID;
      return o;
    });
  }
  if (result.ips?.length) {
    out.ips = result.ips.map((c) => {
      const o: Record<string, unknown> = {};
      if (legacyIps) o.version = familyOf(c.address) === 4 ? '4' : '6';
      if (c.interface !== undefined) o.interface = c.interface;
      o.address = c.address;
      if (c.gateway) o.gateway = c.gateway;
      return o;
    });
  }
  if (result.routes?.length) out.routes = result.routes.map(routeOut);
  // Go's result types hold DNS as a struct, which encoding/json never omits: `"dns": {}` when empty
  out.dns = result.dns ? dnsOut(result.dns) : {};
  return out;
}

/** The text a plugin prints: 4-space indented JSON as Go's MarshalIndent. */
export function formatJSON(obj: unknown): string {
  return JSON.stringify(obj, null, 4);
}
