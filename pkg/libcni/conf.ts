// Network configuration files as libcni reads them (SPEC.md §1 "Configuration
// format", libcni/conf.go): `.conflist` lists first, then legacy single-plugin
// `.conf`/`.json` files up-converted to a one-plugin list; `cniVersions`
// negotiation; `<dir>/<name>/*.conf` sibling plugins unless loadOnlyInlinedPlugins.
import { Dirent, readFileSync, readdirSync } from 'node:fs';
import { dirname, extname, join } from 'node:path';
import { CniError, ErrCode } from '../types/error.js';
import { CURRENT_VERSION, compareVersions } from '../types/version.js';

/** One plugin object of a list: its raw JSON object and the keys the runtime reads. */
export interface PluginConfig {
  type: string;
  /** The plugin object's own `name` (set only in legacy single-plugin files). */
  name?: string;
  cniVersion?: string;
  capabilities: Record<string, boolean>;
  /** The plugin object exactly as configured; injections copy it. */
  raw: Record<string, unknown>;
}

/** A network configuration list (libcni's NetworkConfigList). */
export interface NetworkConfigList {
  name: string;
  /** The negotiated version: the highest of `cniVersion` ∪ `cniVersions` not above 1.1.0. */
  cniVersion: string;
  disableCheck: boolean;
  disableGC: boolean;
  loadOnlyInlinedPlugins: boolean;
  plugins: PluginConfig[];
  /** The bytes the list was read from (cached, base64, next to each result). */
  bytes: Buffer;
}

/** No configuration of that name in the directory (libcni's NotFoundError). */
export class NotFoundError extends CniError {
  constructor(
    readonly dir: string,
    readonly network: string,
  ) {
    super(ErrCode.InvalidNetworkConfig, `no net configuration with name "${network}" in ${dir}`);
    this.name = 'NotFoundError';
  }
}

/** The directory holds no configuration file at all (libcni's NoConfigsFoundError). */
export class NoConfigsFoundError extends CniError {
  constructor(readonly dir: string) {
    super(ErrCode.InvalidNetworkConfig, `no net configurations found in ${dir}`);
    this.name = 'NoConfigsFoundError';
  }
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const confError = (msg: string) => new CniError(ErrCode.InvalidNetworkConfig, msg);

/** Go's `%T` for a decoded JSON value, used in libcni's type errors. */
function goType(v: unknown): string {
  if (v === null) return '<nil>';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'object') return 'map[string]interface {}';
  return { string: 'string', number: 'float64', boolean: 'bool' }[typeof v as 'string'] ?? typeof v;
}

function parseJSON(bytes: Buffer | string, what: string): unknown {
  try {
    return JSON.parse(bytes.toString());
  } catch (e) {
    throw confError(`error parsing ${what}: ${(e as Error).message}`);
  }
}

/** Reads one plugin object; `type` is required and must be a bare binary name. */
export function pluginConfFromObject(raw: unknown, where = 'configuration'): PluginConfig {
  if (!isObj(raw)) throw confError(`error parsing ${where}: not a JSON object`);
  const type = raw.type;
  if (type !== undefined && typeof type !== 'string') throw confError(`error parsing ${where}: type: must be a string`);
  if (!type) throw confError(`error parsing ${where}: missing 'type'`);
  if (/[/\\]/.test(type)) throw confError(`error parsing ${where}: invalid plugin type "${type}": must not contain / or \\`);
  const caps = raw.capabilities;
  if (caps !== undefined && caps !== null && (!isObj(caps) || Object.values(caps).some((b) => typeof b !== 'boolean'))) {
    throw confError(`error parsing ${where}: capabilities: must be a map of booleans`);
  }
  const conf: PluginConfig = { type, capabilities: (caps as Record<string, boolean> | undefined) ?? {}, raw };
  if (typeof raw.name === 'string') conf.name = raw.name;
  if (typeof raw.cniVersion === 'string') conf.cniVersion = raw.cniVersion;
  return conf;
}

/** Parses a single-plugin (legacy `.conf`) configuration. */
export function confFromBytes(bytes: Buffer | string): PluginConfig {
  return pluginConfFromObject(parseJSON(bytes, 'configuration'));
}

function readBool(list: Record<string, unknown>, key: string): boolean {
  const v = list[key];
  if (v === undefined) return false;
  if (typeof v === 'boolean') return v;
  if (typeof v !== 'string') throw confError(`error parsing configuration list: invalid type ${goType(v)} for ${key}`);
  const s = v.toLowerCase();
  if (s === 'true') return true;
  if (s === 'false') return false;
  throw confError(`error parsing configuration list: invalid value "${s}" for ${key}`);
}

/** The highest of `cniVersion` ∪ `cniVersions` not above the version libcni implements (1.1.0). */
export function negotiateVersion(cniVersion: string, cniVersions: readonly string[] | undefined): string {
  if (!cniVersions) return cniVersion;
  const valid = (v: string, what: string) => {
    try {
      return compareVersions(v, CURRENT_VERSION) <= 0;
    } catch (e) {
      throw confError(`error parsing configuration list: invalid ${what}: ${(e as Error).message}`);
    }
  };
  const vs = cniVersions.filter((v, i) => valid(v, `cniVersions entry ${v} at index ${i}`));
  if (cniVersion && valid(cniVersion, `cniVersion ${cniVersion}`)) vs.push(cniVersion);
  vs.sort(compareVersions);
  return vs.length ? vs[vs.length - 1] : cniVersion;
}

/** Parses a configuration list (a `.conflist` file's bytes). */
export function confListFromBytes(bytes: Buffer | string): NetworkConfigList {
  const raw = parseJSON(bytes, 'configuration list');
  if (!isObj(raw)) throw confError('error parsing configuration list: not a JSON object');
  if (!('name' in raw)) throw confError('error parsing configuration list: no name');
  if (typeof raw.name !== 'string') throw confError(`error parsing configuration list: invalid name type ${goType(raw.name)}`);
  let cniVersion = '';
  if ('cniVersion' in raw) {
    if (typeof raw.cniVersion !== 'string') throw confError(`error parsing configuration list: invalid cniVersion type ${goType(raw.cniVersion)}`);
    cniVersion = raw.cniVersion;
  }
  let versions: string[] | undefined;
  if ('cniVersions' in raw) {
    if (!Array.isArray(raw.cniVersions)) throw confError(`error parsing configuration list: invalid type for cniVersions: ${goType(raw.cniVersions)}`);
    versions = raw.cniVersions.map((v, i) => {
      if (typeof v !== 'string') throw confError(`error parsing configuration list: invalid type for cniVersions index ${i}: ${goType(v)}`);
      return v;
    });
  }
  const list: NetworkConfigList = {
    name: raw.name,
    cniVersion: negotiateVersion(cniVersion, versions),
    disableCheck: readBool(raw, 'disableCheck'),
    disableGC: readBool(raw, 'disableGC'),
    loadOnlyInlinedPlugins: readBool(raw, 'loadOnlyInlinedPlugins'),
    plugins: [],
    bytes: Buffer.from(bytes),
  };
  if (!('plugins' in raw)) {
    if (list.loadOnlyInlinedPlugins) throw confError("error parsing configuration list: `loadOnlyInlinedPlugins` is true, and no 'plugins' key");
    return list;
  }
  if (!Array.isArray(raw.plugins)) throw confError(`error parsing configuration list: invalid 'plugins' type ${goType(raw.plugins)}`);
  if (raw.plugins.length === 0) throw confError('error parsing configuration list: no plugins in list');
  raw.plugins.forEach((p, i) => {
    try {
      list.plugins.push(pluginConfFromObject(p));
    } catch (e) {
      throw confError(`failed to parse plugin config ${i}: ${(e as Error).message}`);
    }
  });
  return list;
}

/** Files of `dir` with one of `extensions`, sorted; a missing dir has none. */
export function confFiles(dir: string, extensions: readonly string[]): string[] {
  let entries: Dirent[];
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  return entries
    .filter((e) => !e.isDirectory() && extensions.includes(extname(e.name)))
    .map((e) => e.name)
    .sort()
    .map((n) => join(dir, n));
}

function readConfFile(file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw new CniError(ErrCode.IOFailure, `error reading ${file}: ${(e as Error).message}`, '', { cause: e });
  }
}

/** Plugin objects from `<dir>/<network>/*.conf` (spec 1.1.0 sibling folder). */
export function pluginConfsFromDir(dir: string, network: string): PluginConfig[] {
  return confFiles(join(dir, network), ['.conf']).map((f) => pluginConfFromObject(parseJSON(readConfFile(f), 'configuration'), 'configuration'));
}

/** Reads a `.conflist` file, appending sibling-folder plugins unless loadOnlyInlinedPlugins. */
export function confListFromFile(file: string): NetworkConfigList {
  const list = confListFromBytes(readConfFile(file));
  if (!list.loadOnlyInlinedPlugins) list.plugins.push(...pluginConfsFromDir(dirname(file), list.name));
  if (list.plugins.length === 0) throw confError('no plugin configs found');
  return list;
}

/** Up-converts a single-plugin configuration into a one-plugin list, as libcni's ConfListFromConf. */
export function confListFromConf(conf: PluginConfig): NetworkConfigList {
  return confListFromBytes(JSON.stringify({ cniVersion: conf.cniVersion ?? '', name: conf.name ?? '', plugins: [conf.raw] }));
}

/** Finds a legacy single-plugin configuration (`.conf`, `.json`) by network name. */
export function loadConf(dir: string, name: string): PluginConfig {
  const files = confFiles(dir, ['.conf', '.json']);
  if (files.length === 0) throw new NoConfigsFoundError(dir);
  for (const f of files) {
    const conf = confFromBytes(readConfFile(f));
    if (conf.name === name) return conf;
  }
  throw new NotFoundError(dir, name);
}

/** Finds network `name` in `dir`: `.conflist` files first, then up-converted `.conf`/`.json` files. */
export function loadConfList(dir: string, name: string): NetworkConfigList {
  const lists = confFiles(dir, ['.conflist']);
  for (const f of lists) {
    const list = confListFromFile(f);
    if (list.name === name) return list;
  }
  try {
    return confListFromConf(loadConf(dir, name));
  } catch (e) {
    if (e instanceof NoConfigsFoundError && lists.length > 0) throw new NotFoundError(dir, name);
    throw e;
  }
}

/** Names of every network in `dir`, in the order loadConfList searches them (duplicates dropped). */
export function listNetworks(dir: string): string[] {
  const names: string[] = [];
  for (const f of confFiles(dir, ['.conflist'])) names.push(confListFromBytes(readConfFile(f)).name);
  for (const f of confFiles(dir, ['.conf', '.json'])) names.push(confFromBytes(readConfFile(f)).name ?? '');
  return [...new Set(names.filter(Boolean))];
}

/** A copy of a plugin object with `values` set (libcni's InjectConf). */
export function injectConf(conf: PluginConfig, values: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...conf.raw };
  for (const [k, v] of Object.entries(values)) {
    if (k === '') throw new Error('keys cannot be empty');
    if (v === undefined || v === null) throw new Error(`key '${k}' value must not be nil`);
    out[k] = v;
  }
  return out;
}
