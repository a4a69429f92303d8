// Delegation to an IPAM plugin (SPEC.md §4): the binary named by `ipam.type` is
// looked up in CNI_PATH and run with the caller's stdin and environment, only
// CNI_COMMAND changed. A delegate's error JSON is passed through with its code.
// A delegate that is this same executable runs in our process (pkg/exec/inproc.ts).
import { join } from 'node:path';
import { once, start, type ExecResult } from '../exec/index.js';
import { embeddedPlugin, runInProcess } from '../exec/inproc.js';
import { writeSync } from '../native/fs.js';
import { native } from '../native/index.js';
import { CniError, ErrCode } from '../types/error.js';
import { parseResult, type Result } from '../types/result.js';

/** Where and how to run a delegate. */
export interface DelegateCall {
  /** The plugin type (`ipam.type`). */
  type: string;
  /** The complete network configuration, forwarded untouched. */
  stdin: Buffer | string;
  /** CNI_PATH, ':'-separated; defaults to the caller's. */
  cniPath?: string;
  /** The environment to inherit (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/** The first executable `type` in the ':'-separated `cniPath`. */
export function findInPath(type: string, cniPath: string): string {
  if (!type) throw new CniError(ErrCode.InvalidNetworkConfig, 'no plugin name provided');
  if (type.includes('/') || type.includes('\\')) throw new CniError(ErrCode.InvalidNetworkConfig, `invalid plugin name: ${type}`);
  const dirs = cniPath.split(':').filter(Boolean);
  if (!dirs.length) throw new CniError(ErrCode.InvalidEnvironmentVariables, 'no paths provided');
  for (const dir of dirs) {
    const file = join(dir, type);
    if (native().isExecutableFile(file)) return file;
  }
  throw new CniError(ErrCode.Internal, `failed to find plugin "${type}" in path [${dirs.join(' ')}]`);
}

/** A delegate running in the background: `wait` resolves to its stdout or rejects with its error (call it on every path). */
export interface Pending<T> {
  wait(): Promise<T>;
}

/**
 * Starts the delegate's `command` and returns at once, so an interface plugin
 * can do netlink work while the IPAM plugin runs: a program on a thread of its
 * own, this same executable in our process (its work runs when the caller
 * awaits). Either starts in the namespace the main thread is in outside
 * NetNS.run: the host's, as it must.
 */
function startDelegate(command: string, call: DelegateCall): Pending<string> {
  const cniPath = call.cniPath ?? (call.env ?? process.env).CNI_PATH ?? '';
  const file = findInPath(call.type, cniPath);
  const vars = { CNI_COMMAND: command, CNI_PATH: cniPath };
  const plugin = embeddedPlugin(file);
  let result: () => Promise<ExecResult>;
  if (plugin) {
    const running = runInProcess(plugin, { input: call.stdin, env: { ...(call.env ?? process.env), ...vars } });
    result = () => running;
  } else {
    const running = start(file, [], call.env ? { input: call.stdin, env: { ...call.env, ...vars }, allowFailure: true } : { input: call.stdin, envOverrides: vars, allowFailure: true });
    result = async () => running.wait();
  }
  return {
    wait: once(async () => {
      const r = await result();
      // the delegate's stderr belongs to the caller's stderr (SPEC §4); written
      // directly: process.stderr would load Node's stream modules (~5 ms)
      if (r.stderr) writeSync(2, r.stderr);
      if (r.code !== 0) throw delegateError(call.type, r.stdout, r.code);
      return r.stdout;
    }),
  };
}

function delegateError(type: string, stdout: string, exitCode: number): CniError {
  let parsed: unknown;
  try {
    parsed = JSON.parse(stdout);
  } catch {
    parsed = undefined;
  }
  const e = parsed as { code?: unknown; msg?: unknown; details?: unknown } | undefined;
  if (e && typeof e.code === 'number' && typeof e.msg === 'string') {
    return new CniError(e.code, e.msg, typeof e.details === 'string' ? e.details : '');
  }
  return new CniError(ErrCode.Internal, `netplugin failed: "${type}" exited with status ${exitCode}: ${stdout.trim()}`);
}

/** Starts the delegate's ADD; `wait` gives its result in the 1.1.0 shape. */
export function startAdd(call: DelegateCall, confVersion: string): Pending<Result> {
  const pending = startDelegate('ADD', call);
  return {
    wait: once(async () => {
      const out = await pending.wait();
      let raw: unknown;
      try {
        raw = JSON.parse(out);
      } catch (e) {
        throw new CniError(ErrCode.DecodingFailure, `failed to decode result of "${call.type}": ${(e as Error).message}`);
      }
      return parseResult(raw, confVersion, 'ipam result');
    }),
  };
}

/** Starts the delegate's DEL, CHECK, STATUS or GC. */
export function startCommand(command: 'DEL' | 'CHECK' | 'STATUS' | 'GC', call: DelegateCall): Pending<void> {
  const pending = startDelegate(command, call);
  return { wait: async () => void (await pending.wait()) };
}

/** Runs the delegate's ADD and returns its result in the 1.1.0 shape. */
export async function execAdd(call: DelegateCall, confVersion: string): Promise<Result> {
  return await startAdd(call, confVersion).wait();
}

/** Runs the delegate's DEL. */
export async function execDel(call: DelegateCall): Promise<void> {
  await startCommand('DEL', call).wait();
}

/** Runs the delegate's CHECK. */
export async function execCheck(call: DelegateCall): Promise<void> {
  await startCommand('CHECK', call).wait();
}

/** Runs the delegate's STATUS. */
export async function execStatus(call: DelegateCall): Promise<void> {
  await startCommand('STATUS', call).wait();
}

/** Runs the delegate's GC. */
export async function execGC(call: DelegateCall): Promise<void> {
  await startCommand('GC', call).wait();
}
