// Running a configuration list through its lifecycle (SPEC.md §3 "Execution of
// network configurations", libcni/api.go): ADD forward with prevResult chaining
// and the result cached, CHECK forward with the cached result, DEL in reverse,
// GC (stale cached attachments deleted, then GC to every plugin), STATUS.
import { CniError, ErrCode } from '../types/error.js';
import { convertResult } from '../types/result.js';
import { compareVersions } from '../types/version.js';
import { cacheAdd, cacheDel, DEFAULT_CACHE_DIR, getCachedAttachments, getCachedResult, type NetworkAttachment, type RuntimeConf } from './cache.js';
import { injectConf, type NetworkConfigList, type PluginConfig } from './conf.js';
import { execPluginWithoutResult, execPluginWithResult, findInPath, type InvokeArgs, type VersionedResult } from './invoke.js';

/** One attachment that GC must keep (SPEC.md GC: `cni.dev/valid-attachments` entries). */
export interface GCAttachment {
  containerID: string;
  ifname: string;
}

export interface CNIConfigOptions {
  /** Directories searched for plugin binaries (CNI_PATH). */
  path: readonly string[];
  /** Where results are cached; default /var/lib/cni. */
  cacheDir?: string;
  /** Base environment handed to plugins (default: this process's). */
  env?: NodeJS.ProcessEnv;
}

const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** The runtime's checks on an attachment before any plugin runs (libcni pkg/utils). */
export function validateRuntimeConf(network: string, rt: Pick<RuntimeConf, 'containerID' | 'ifName'>): void {
  if (rt.containerID === '') throw new CniError(ErrCode.UnknownContainer, 'missing containerID');
  if (!NAME.test(rt.containerID)) throw new CniError(ErrCode.InvalidEnvironmentVariables, 'invalid characters in containerID', rt.containerID);
  if (network === '') throw new CniError(ErrCode.InvalidNetworkConfig, 'missing network name:');
  if (!NAME.test(network)) throw new CniError(ErrCode.InvalidNetworkConfig, 'invalid characters found in network name', network);
  const bad = (msg: string, details = '') => new CniError(ErrCode.InvalidEnvironmentVariables, msg, details);
  if (rt.ifName === '') throw bad('interface name is empty');
  if (Buffer.byteLength(rt.ifName) > 15) throw bad('interface name is too long', 'interface name should be less than 16 characters');
  if (rt.ifName === '.' || rt.ifName === '..') throw bad('interface name is . or ..');
  if (/[/:\s]/.test(rt.ifName)) throw bad('interface name contains / or : or whitespace characters');
}

/** `type="bridge" name="x"` as libcni describes a failing plugin. */
function describe(p: PluginConfig): string {
  return `type=${JSON.stringify(p.type)}${p.name ? ` name=${JSON.stringify(p.name)}` : ''}`;
}

/** Prefixes an error's message, keeping its CNI code and details. */
function wrap(prefix: string, e: unknown): CniError {
  if (e instanceof CniError) return new CniError(e.code, `${prefix}${e.message}`, e.details, { cause: e });
  return new CniError(ErrCode.Internal, `${prefix}${(e as Error)?.message ?? e}`, '', { cause: e });
}

/** The `runtimeConfig` for one plugin: the capability args its `capabilities` enable. */
export function runtimeConfigFor(plugin: PluginConfig, capabilityArgs: Record<string, unknown>): Record<string, unknown> {
  const rc: Record<string, unknown> = {};
  for (const [cap, enabled] of Object.entries(plugin.capabilities)) {
    if (enabled && cap in capabilityArgs && capabilityArgs[cap] !== undefined) rc[cap] = capabilityArgs[cap];
  }
  return rc;
}

/**
 * The stdin of one plugin invocation: the plugin object with the list's `name`
 * and `cniVersion`, the previous result in that version, and its runtimeConfig.
 */
export function buildOneConfig(list: Pick<NetworkConfigList, 'name' | 'cniVersion'>, plugin: PluginConfig, prevResult: VersionedResult | undefined, rt: RuntimeConf | undefined): Record<string, unknown> {
  const inject: Record<string, unknown> = { name: list.name, cniVersion: list.cniVersion };
  if (prevResult) inject.prevResult = convertResult(prevResult.result, prevResult.version);
  if (rt) {
    const rc = runtimeConfigFor(plugin, rt.capabilityArgs);
    if (Object.keys(rc).length) inject.runtimeConfig = rc;
  }
  return injectConf(plugin, inject);
}

/** A runtime: runs configuration lists against plugins found on `path` (libcni's CNIConfig). */
export class CNIConfig {
  readonly path: readonly string[];
  readonly cacheDir: string;
  private readonly env: NodeJS.ProcessEnv | undefined;

  constructor(opts: CNIConfigOptions) {
    this.path = opts.path;
    this.cacheDir = opts.cacheDir || DEFAULT_CACHE_DIR;
    this.env = opts.env;
  }

  private args(command: string, rt?: RuntimeConf): InvokeArgs {
    return { command, containerID: rt?.containerID ?? '', netns: rt?.netns ?? '', ifName: rt?.ifName ?? '', pluginArgs: rt?.args ?? [], path: this.path };
  }

  /** ADD: every plugin in order, each given the previous one's result; the final result is cached. */
  async addNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<VersionedResult> {
    let result: VersionedResult | undefined;
    for (const plugin of list.plugins) {
      try {
        const file = findInPath(plugin.type, this.path);
        validateRuntimeConf(list.name, rt);
        result = await execPluginWithResult(file, buildOneConfig(list, plugin, result, rt), this.args('ADD', rt), this.env);
      } catch (e) {
        throw wrap(`plugin ${describe(plugin)} failed (add): `, e);
      }
    }
    if (!result) throw new CniError(ErrCode.InvalidNetworkConfig, `network "${list.name}" has no plugins`);
    try {
      cacheAdd(this.cacheDir, list.name, list.bytes, rt, result);
    } catch (e) {
      throw wrap(`failed to set network "${list.name}" cached result: `, e);
    }
    return result;
  }

  /** CHECK (spec ≥ 0.4.0): every plugin in order with the cached result; a no-op with disableCheck. */
  async checkNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    if (compareVersions(list.cniVersion, '0.4.0') < 0) {
      throw new CniError(ErrCode.IncompatibleCNIVersion, `configuration version "${list.cniVersion}" does not support the CHECK command`);
    }
    if (list.disableCheck) return;
    let cached: VersionedResult | undefined;
    try {
      cached = getCachedResult(this.cacheDir, list.name, list.cniVersion, rt);
    } catch (e) {
      throw wrap(`failed to get network "${list.name}" cached result: `, e);
    }
    for (const plugin of list.plugins) {
      const file = findInPath(plugin.type, this.path);
      await execPluginWithoutResult(file, buildOneConfig(list, plugin, cached, rt), this.args('CHECK', rt), this.env);
    }
  }

  /** DEL: every plugin in reverse order with the cached result (≥ 0.4.0); the cache entry goes after success. */
  async delNetworkList(list: NetworkConfigList, rt: RuntimeConf): Promise<void> {
    let cached: VersionedResult | undefined;
    if (compareVersions(list.cniVersion, '0.4.0') >= 0) {
      try {
        cached = getCachedResult(this.cacheDir, list.name, list.cniVersion, rt);
      } catch {
        // an unreadable cache must not block DEL: drop it and delete without prevResult
        cacheDel(this.cacheDir, list.name, rt);
      }
    }
    for (const plugin of [...list.plugins].reverse()) {
      try {
        const file = findInPath(plugin.type, this.path);
        await execPluginWithoutResult(file, buildOneConfig(list, plugin, cached, rt), this.args('DEL', rt), this.env);
      } catch (e) {
        throw wrap(`plugin ${describe(plugin)} failed (delete): `, e);
      }
    }
    // libcni removes the entry only when it read one; removing it always also clears
    // the entry of a < 0.4.0 list, which libcni leaves behind forever.
    cacheDel(this.cacheDir, list.name, rt);
  }

  /** The cached final ADD result of an attachment, in the list's version. */
  getNetworkListCachedResult(list: NetworkConfigList, rt: Pick<RuntimeConf, 'containerID' | 'ifName'>): VersionedResult | undefined {
    return getCachedResult(this.cacheDir, list.name, list.cniVersion, rt);
  }

  /** Every attachment in the cache (all networks), optionally of one container. */
  getCachedAttachments(containerID = ''): NetworkAttachment[] {
    return getCachedAttachments(this.cacheDir, containerID);
  }

  /**
   * GC: DEL every cached attachment of this network that is not in `valid`,
   * then (spec ≥ 1.1.0) GC to every plugin with `cni.dev/valid-attachments`.
   * Continues past failures and throws them all together at the end.
   */
  async gcNetworkList(list: NetworkConfigList, valid: readonly GCAttachment[] = []): Promise<void> {
    if (list.disableGC) return;
    const errors: string[] = [];
    let firstCode: number | undefined;
    const fail = (msg: string, e: unknown) => {
      errors.push(`${msg}: ${e instanceof Error ? e.message : String(e)}`);
      firstCode ??= e instanceof CniError ? e.code : ErrCode.Internal;
    };
    const keep = new Set(valid.map((a) => `${a.containerID}\0${a.ifname}`));
    let attachments: NetworkAttachment[] = [];
    try {
      attachments = this.getCachedAttachments();
    } catch (e) {
      fail('failed to list cached attachments', e);
    }
    for (const a of attachments) {
      if (a.network !== list.name || keep.has(`${a.containerID}\0${a.ifName}`)) continue;
      try {
        await this.delNetworkList(list, a);
      } catch (e) {
        fail(`failed to delete stale attachment ${a.containerID} ${a.ifName}`, e);
      }
    }
    if (compareVersions(list.cniVersion, '1.1.0') >= 0) {
      const attachmentsJSON = valid.map((a) => ({ containerID: a.containerID, ifname: a.ifname }));
      // libcni also sends the pre-release key `cni.dev/attachments` (cni#1101) for older plugins.
      const inject = { name: list.name, cniVersion: list.cniVersion, 'cni.dev/valid-attachments': attachmentsJSON, 'cni.dev/attachments': attachmentsJSON };
      for (const plugin of list.plugins) {
        try {
          const file = findInPath(plugin.type, this.path);
          await execPluginWithoutResult(file, injectConf(plugin, inject), this.args('GC'), this.env);
        } catch (e) {
          fail(`failed to GC plugin ${plugin.type}`, e);
        }
      }
    }
    if (errors.length) throw new CniError(firstCode ?? ErrCode.Internal, errors.join('\n'));
  }

  /** STATUS (spec ≥ 1.1.0; success without calling anything below): every plugin in order, stopping at the first error. */
  async getStatusNetworkList(list: NetworkConfigList): Promise<void> {
    if (compareVersions(list.cniVersion, '1.1.0') < 0) return;
    for (const plugin of list.plugins) {
      const file = findInPath(plugin.type, this.path);
      await execPluginWithoutResult(file, injectConf(plugin, { name: list.name, cniVersion: list.cniVersion }), this.args('STATUS'), this.env);
    }
  }
}
