// Running helper programs (iptables-restore, nft, conntrack, delegate plugins).
// Neither execa nor node:child_process: execa's module graph costs ~11 ms and
// node:child_process (with node:net and node:stream behind it) ~8 ms of CPU at
// every start that loads it. A plugin only needs "run, feed stdin, collect
// output, know the exit code", so our addon does posix_spawnp + poll and the
// call is synchronous: a plugin has nothing else to do while it waits.
import { native, type SpawnHandle, type SpawnResult } from '../native/index.js';

/** The outcome of a finished program. */
export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A program that could not be started or exited non-zero. */
export class ExecError extends Error {
  constructor(
    readonly file: string,
    readonly result: ExecResult,
    cause?: unknown,
  ) {
    super(`${file} failed (exit ${result.code}): ${(result.stderr || result.stdout).trim()}`, { cause });
    this.name = 'ExecError';
  }
}

export interface ExecOptions {
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
  /** With no `env`: our environment with these variables set (cheaper than copying process.env). */
  envOverrides?: Record<string, string>;
  /** Kill the program after this long (default 60 s; 0 waits forever, as child_process does). */
  timeoutMs?: number;
  /** Return instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
}

type SpawnArgs = [file: string, argv: string[], env: string[] | null, input: Buffer, timeoutMs: number, overrides: string[] | undefined];

function spawnArgs(file: string, args: readonly string[], opts: ExecOptions): SpawnArgs {
  const env = opts.env ? Object.entries(opts.env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`) : null;
  const input = typeof opts.input === 'string' ? Buffer.from(opts.input) : (opts.input ?? Buffer.alloc(0));
  const overrides = opts.envOverrides && Object.entries(opts.envOverrides).map(([k, v]) => `${k}=${v}`);
  return [file, [file, ...args], env, input, Math.min(opts.timeoutMs ?? 60_000, 0x7fffffff), overrides];
}

function finish(a: SpawnArgs, opts: ExecOptions, spawn: () => SpawnResult): ExecResult {
  let r: SpawnResult;
  try {
    r = spawn();
  } catch (e) {
    throw new ExecError(a[0], { code: -1, stdout: '', stderr: (e as Error).message }, e);
  }
  const result: ExecResult = {
    code: r.timedOut ? 124 : r.status >= 0 ? r.status : 128 + r.signal,
    stdout: r.stdout.toString(),
    stderr: r.timedOut ? `timed out after ${a[4]} ms` : r.stderr.toString(),
  };
  if (result.code !== 0 && !opts.allowFailure) throw new ExecError(a[0], result);
  return result;
}

/** Runs `file args...` (found through PATH), feeding `input` on stdin; throws ExecError on failure. */
export function runSync(file: string, args: readonly string[], opts: ExecOptions = {}): ExecResult {
  const a = spawnArgs(file, args, opts);
  return finish(a, opts, () => native().spawnSync(...a));
}

/** A program started by `start`; `wait` returns (or throws) what runSync would have. */
export interface Running {
  wait(): ExecResult;
}

/**
 * Starts `file args...` on a thread of the addon and returns at once, so the
 * caller can do other work while it runs. The program starts in the namespaces
 * the calling thread is in now. Call `wait` exactly once, on every path: a
 * program left running when the plugin exits keeps running without us.
 */
export function start(file: string, args: readonly string[], opts: ExecOptions = {}): Running {
  const a = spawnArgs(file, args, opts);
  let handle: SpawnHandle | undefined;
  let startError: unknown;
  try {
    handle = native().spawnStart(...a);
  } catch (e) {
    startError = e;
  }
  const join = (): SpawnResult => {
    if (!handle) throw startError;
    return native().spawnWait(handle);
  };
  return { wait: once(() => finish(a, opts, join)) };
}

/** `f` run at most once: later calls return (or throw) what the first call did. */
export function once<T>(f: () => T): () => T {
  let done: { ok: true; value: T } | { ok: false; error: unknown } | undefined;
  return () => {
    if (!done) {
      try {
        done = { ok: true, value: f() };
      } catch (error) {
        done = { ok: false, error };
      }
    }
    if (!done.ok) throw done.error;
    return done.value;
  };
}

/** runSync behind a Promise, for callers written against an async API. */
export async function run(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return runSync(file, args, opts);
}
