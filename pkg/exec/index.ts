// Running helper programs (iptables-restore, nft, conntrack, delegate plugins).
// Neither execa nor node:child_process: execa's module graph costs ~11 ms and
// node:child_process (with node:net and node:stream behind it) ~8 ms of CPU at
// every start that loads it. A plugin only needs "run, feed stdin, collect
// output, know the exit code", so our addon does posix_spawnp + poll and the
// call is synchronous: a plugin has nothing else to do while it waits.
import { native } from '../native/index.js';

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
  /** Kill the program after this long (default 60 s; 0 waits forever, as child_process does). */
  timeoutMs?: number;
  /** Return instead of throwing on a non-zero exit. */
  allowFailure?: boolean;
}

/** Runs `file args...` (found through PATH), feeding `input` on stdin; throws ExecError on failure. */
export function runSync(file: string, args: readonly string[], opts: ExecOptions = {}): ExecResult {
  const env = opts.env ? Object.entries(opts.env).filter(([, v]) => v !== undefined).map(([k, v]) => `${k}=${v}`) : null;
  const input = typeof opts.input === 'string' ? Buffer.from(opts.input) : (opts.input ?? Buffer.alloc(0));
  const timeout = Math.min(opts.timeoutMs ?? 60_000, 0x7fffffff);
  let r: ReturnType<ReturnType<typeof native>['spawnSync']>;
  try {
    r = native().spawnSync(file, [file, ...args], env, input, timeout);
  } catch (e) {
    throw new ExecError(file, { code: -1, stdout: '', stderr: (e as Error).message }, e);
  }
  const result: ExecResult = {
    code: r.timedOut ? 124 : r.status >= 0 ? r.status : 128 + r.signal,
    stdout: r.stdout.toString(),
    stderr: r.timedOut ? `timed out after ${timeout} ms` : r.stderr.toString(),
  };
  if (result.code !== 0 && !opts.allowFailure) throw new ExecError(file, result);
  return result;
}

/** runSync behind a Promise, for callers written against an async API. */
export async function run(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return runSync(file, args, opts);
}
