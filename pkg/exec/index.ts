// Running helper programs (iptables-restore, nft, conntrack, delegate plugins).
// A 30-line wrapper over child_process instead of execa: execa's module graph
// costs ~11 ms at every start-up (packaging-notes §1.1) and a CNI plugin needs
// only "run, feed stdin, collect output, know the exit code".
import { spawn } from 'node:child_process';

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
  timeoutMs?: number;
  /** Resolve instead of rejecting on a non-zero exit. */
  allowFailure?: boolean;
}

/** Runs `file args...`, feeding `input` on stdin; rejects with ExecError on failure. */
export function run(file: string, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { env: opts.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'], timeout: opts.timeoutMs ?? 60_000 });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', (e) => reject(new ExecError(file, { code: -1, stdout: '', stderr: e.message }, e)));
    child.on('close', (code, signal) => {
      const result = { code: code ?? (signal ? 128 : -1), stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
      if (result.code !== 0 && !opts.allowFailure) reject(new ExecError(file, result));
      else resolve(result);
    });
    child.stdin.on('error', () => {}); // the program may exit without reading stdin
    child.stdin.end(opts.input ?? '');
  });
}
