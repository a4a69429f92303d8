// Executing a plugin as a runtime does (SPEC.md §2 "Execution protocol";
// libcni pkg/invoke): find it on CNI_PATH, pass the CNI_* environment and the
// configuration on stdin, read its result or error from stdout.
import { statSync } from 'node:fs';
import * as path from 'node:path';
import { run, type ExecResult } from '../exec/index.js';
import { CniError, ErrCode } from '../types/error.js';
import { convertResult, parseResult, type Result } from '../types/result.js';

/** The per-invocation environment (libcni's invoke.Args). */
export interface InvokeArgs {
  command: string;
  containerID: string;
  netns: string;
  ifName: string;
  /** CNI_ARGS pairs, joined as `K=V;K=V`. */
  pluginArgs: ReadonlyArray<readonly [string, string]>;
  /** The plugin search path, joined with ':' into CNI_PATH. */
  path: readonly string[];
}

/** A result together with the spec version it was printed in. */
export interface VersionedResult {
  version: string;
  result: Result;
}

/** The JSON object of a result in its own version (what the plugin printed, normalised). */
export function resultJSON(r: VersionedResult): Record<string, unknown> {
  return convertResult(r.result, r.version);
}

/** Finds `plugin` in the directories of `paths` (libcni's FindInPath). */
export function findInPath(plugin: string, paths: readonly string[]): string {
  if (plugin === '') throw new CniError(ErrCode.InvalidNetworkConfig, 'no plugin name provided');
  if (/[/\\]/.test(plugin)) throw new CniError(ErrCode.InvalidNetworkConfig, `invalid plugin name: ${plugin}`);
  const dirs = paths.filter(Boolean);
  if (dirs.length === 0) throw new CniError(ErrCode.InvalidEnvironmentVariables, 'no paths provided');
  for (const dir of dirs) {
    const file = path.join(dir, plugin);
    try {
      const st = statSync(file);
      if (st.isFile()) return file;
    } catch {
      // not in this directory
    }
  }
  throw new CniError(ErrCode.InvalidEnvironmentVariables, `failed to find plugin "${plugin}" in path [${dirs.join(' ')}]`);
}

/** The environment of one invocation: ours, with the CNI_* variables overridden. */
export function invokeEnv(args: InvokeArgs, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return {
    ...base,
    CNI_COMMAND: args.command,
    CNI_CONTAINERID: args.containerID,
    CNI_NETNS: args.netns,
    CNI_ARGS: args.pluginArgs.map(([k, v]) => `${k}=${v}`).join(';'),
    CNI_IFNAME: args.ifName,
    CNI_PATH: args.path.join(':'),
  };
}

/** The error a failed plugin reported: its stdout error JSON, or its stderr when stdout is empty. */
export function pluginError(res: ExecResult): CniError {
  const out = res.stdout.trim();
  if (out === '') {
    const msg = res.stderr ? `netplugin failed: ${JSON.stringify(res.stderr)}` : `netplugin failed with no error message: exit status ${res.code}`;
    return new CniError(ErrCode.Internal, msg);
  }
  let e: unknown;
  try {
    e = JSON.parse(out);
  } catch (err) {
    return new CniError(ErrCode.Internal, `netplugin failed but error parsing its diagnostic message ${JSON.stringify(res.stdout)}: ${(err as Error).message}`);
  }
  const o = (typeof e === 'object' && e !== null ? e : {}) as Record<string, unknown>;
  return new CniError(typeof o.code === 'number' ? o.code : 0, typeof o.msg === 'string' ? o.msg : '', typeof o.details === 'string' ? o.details : '');
}

/** Runs a plugin binary once; a non-zero exit becomes the plugin's CniError. Its stderr goes to ours. */
export async function rawExec(file: string, stdin: string, env: NodeJS.ProcessEnv, stderr: (t: string) => void = (t) => process.stderr.write(t)): Promise<string> {
  let res: ExecResult | undefined;
  // libcni retries a few times when the binary is being replaced ("text file busy").
  for (let attempt = 0; attempt <= 5; attempt++) {
    res = await run(file, [], { input: stdin, env, allowFailure: true, timeoutMs: 0 }).catch((e: unknown) => {
      const cause = (e as { cause?: { code?: string } }).cause;
      if (cause?.code === 'ETXTBSY' && attempt < 5) return undefined;
      throw new CniError(ErrCode.Internal, `failed to exec plugin ${file}: ${(cause as Error | undefined)?.message ?? (e as Error).message}`, '', { cause: e });
    });
    if (res) break;
    await new Promise((r) => setTimeout(r, 1000));
  }
  if (!res) throw new CniError(ErrCode.Internal, `failed to exec plugin ${file}: text file busy`);
  if (res.stderr) stderr(res.stderr);
  if (res.code !== 0) throw pluginError(res);
  return res.stdout;
}

/** Runs an ADD and reads its result, labelled with the config's version when the plugin left it out. */
export async function execPluginWithResult(file: string, conf: Record<string, unknown>, args: InvokeArgs, env?: NodeJS.ProcessEnv): Promise<VersionedResult> {
  const stdout = await rawExec(file, JSON.stringify(conf), invokeEnv(args, env));
  let raw: unknown;
  try {
    raw = JSON.parse(stdout);
  } catch (e) {
    throw new CniError(ErrCode.DecodingFailure, `failed to decode plugin result: ${(e as Error).message}`);
  }
  const confVersion = typeof conf.cniVersion === 'string' ? conf.cniVersion : '';
  const printed = (raw as { cniVersion?: unknown })?.cniVersion;
  const version = typeof printed === 'string' && printed ? printed : confVersion || '0.1.0';
  return { version, result: parseResult(raw, version, 'result') };
}

/** Runs DEL, CHECK, GC or STATUS, which print nothing on success. */
export async function execPluginWithoutResult(file: string, conf: Record<string, unknown>, args: InvokeArgs, env?: NodeJS.ProcessEnv): Promise<void> {
  await rawExec(file, JSON.stringify(conf), invokeEnv(args, env));
}
