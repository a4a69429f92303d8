// The runtime's result cache, byte-compatible with libcni (api.go cachedInfo):
// `<cacheDir>/results/<network>-<containerID>-<ifName>`, dir 0700, file 0600,
// `{"kind":"cniCacheV1",...}`. Written after a successful ADD, read as prevResult
// by CHECK and DEL, enumerated by GC, removed after DEL.
import { mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';
import { CniError, ErrCode } from '../types/error.js';
import { convertResult, parseResult } from '../types/result.js';
import type { VersionedResult } from './invoke.js';

export const DEFAULT_CACHE_DIR = '/var/lib/cni';
export const CACHE_KIND = 'cniCacheV1';

/** Who an attachment is: the arguments of one ADD. */
export interface RuntimeConf {
  containerID: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS as ordered pairs. */
  args: Array<[string, string]>;
  /** Capability arguments; each plugin gets those its `capabilities` enable, as `runtimeConfig`. */
  capabilityArgs: Record<string, unknown>;
}

/** A cached attachment (libcni's NetworkAttachment). */
export interface NetworkAttachment extends RuntimeConf {
  network: string;
  /** The configuration list's bytes at ADD time. */
  config: Buffer;
}

/** The cache file's path; libcni refuses to build one from an empty part. */
export function cacheFilePath(cacheDir: string, network: string, rt: Pick<RuntimeConf, 'containerID' | 'ifName'>): string {
  if (!network || !rt.containerID || !rt.ifName) {
    throw new CniError(
      ErrCode.Internal,
      `cache file path requires network name (${JSON.stringify(network)}), container ID (${JSON.stringify(rt.containerID)}), and interface name (${JSON.stringify(rt.ifName)})`,
    );
  }
  return path.join(cacheDir, 'results', `${network}-${rt.containerID}-${rt.ifName}`);
}

/** The file's JSON, key for key as Go marshals cachedInfo (omitempty on netns, cniArgs, capabilityArgs, result). */
export function cacheEntry(network: string, config: Buffer, rt: RuntimeConf, result: VersionedResult | undefined): Record<string, unknown> {
  const o: Record<string, unknown> = {
    kind: CACHE_KIND,
    containerId: rt.containerID,
    config: config.toString('base64'),
    ifName: rt.ifName,
    networkName: network,
  };
  if (rt.netns) o.netns = rt.netns;
  if (rt.args.length) o.cniArgs = rt.args;
  if (Object.keys(rt.capabilityArgs).length) o.capabilityArgs = rt.capabilityArgs;
  if (result) o.result = convertResult(result.result, result.version);
  return o;
}

/** Writes the cache file after a successful ADD (atomically: a crash never leaves half a file). */
export function cacheAdd(cacheDir: string, network: string, config: Buffer, rt: RuntimeConf, result: VersionedResult): void {
  const file = cacheFilePath(cacheDir, network, rt);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(cacheEntry(network, config, rt, result)), { mode: 0o600 });
  renameSync(tmp, file);
}

/** Removes the cache file; a missing one is fine. */
export function cacheDel(cacheDir: string, network: string, rt: Pick<RuntimeConf, 'containerID' | 'ifName'>): void {
  let file: string;
  try {
    file = cacheFilePath(cacheDir, network, rt);
  } catch {
    return;
  }
  rmSync(file, { force: true });
}

const isObj = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The cached result converted to `cniVersion`, or undefined when there is no
 * cache file. A file holding a bare result (written by old libcni) is read too.
 * Throws when the file exists but cannot be read as a result.
 */
export function getCachedResult(cacheDir: string, network: string, cniVersion: string, rt: Pick<RuntimeConf, 'containerID' | 'ifName'>): VersionedResult | undefined {
  const file = cacheFilePath(cacheDir, network, rt);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new CniError(ErrCode.DecodingFailure, `failed to read cached result for network "${network}": ${(e as Error).message}`);
  }
  const stored = isObj(raw) && raw.kind === CACHE_KIND ? raw.result : raw;
  if (!isObj(stored) || typeof stored.cniVersion !== 'string') {
    throw new CniError(ErrCode.DecodingFailure, `failed to read cached result for network "${network}": no result version`);
  }
  const result = parseResult(stored, stored.cniVersion, 'result');
  try {
    convertResult(result, cniVersion);
  } catch (e) {
    throw new CniError(ErrCode.IncompatibleCNIVersion, `failed to convert cached result to config version "${cniVersion}": ${(e as Error).message}`, '', { cause: e });
  }
  return { version: cniVersion, result };
}

function pairs(v: unknown): Array<[string, string]> {
  if (!Array.isArray(v)) return [];
  return v.filter((p): p is [string, string] => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string' && typeof p[1] === 'string');
}

/** Every well-formed cniCacheV1 attachment in the cache, sorted by file name, optionally for one container. */
export function getCachedAttachments(cacheDir: string, containerID = ''): NetworkAttachment[] {
  const dir = path.join(cacheDir, 'results');
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw e;
  }
  const out: NetworkAttachment[] = [];
  for (const name of names) {
    if (containerID) {
      const pos = name.indexOf(`-${containerID}-`);
      if (pos <= 0 || pos + containerID.length + 2 >= name.length) continue;
    }
    let c: unknown;
    try {
      c = JSON.parse(readFileSync(path.join(dir, name), 'utf8'));
    } catch {
      continue;
    }
    if (!isObj(c) || c.kind !== CACHE_KIND) continue;
    if (containerID && c.containerId !== containerID) continue;
    if (typeof c.ifName !== 'string' || !c.ifName || typeof c.networkName !== 'string' || !c.networkName) continue;
    out.push({
      containerID: typeof c.containerId === 'string' ? c.containerId : '',
      network: c.networkName,
      ifName: c.ifName,
      config: Buffer.from(typeof c.config === 'string' ? c.config : '', 'base64'),
      netns: typeof c.netns === 'string' ? c.netns : '',
      args: pairs(c.cniArgs),
      capabilityArgs: isObj(c.capabilityArgs) ? c.capabilityArgs : {},
    });
  }
  return out;
}
