// Delegates of this same executable, run in our own process. Every plugin of
// the suite is one multi-call file, hard-linked under each name; when CNI_PATH
// resolves a delegate (an IPAM plugin) to that file, exec'ing it would start a
// second runtime (~25-30 ms on Node) for a few ms of work. Instead the
// executable's dispatcher (scripts/sea-main.cjs) hands us that program's bundle
// and we run one invocation of it against an in-memory environment, stdin and
// stdout, with the same outcome a child would have had: its exit code, stdout
// and stderr. Any other file (Go's host-local, a third-party plugin, a copy of
// our binary that is not this very inode) is exec'ed as before.
import { basename } from 'node:path';
import { native } from '../native/index.js';
import type { EmbeddedPlugin, PluginIO } from '../skel/index.js';
import type { ExecResult } from './index.js';

/** What the dispatcher offers: the exports of one of the executable's programs, or undefined. */
interface Programs {
  load(name: string): { embedded?: () => Promise<EmbeddedPlugin> } | undefined;
}

/** An invocation as a child would get it: its whole environment and stdin. */
export interface InProcessCall {
  env: Record<string, string | undefined>;
  input: Buffer | string;
}

/**
 * Loads `file`'s plugin when `file` is the running executable itself (same
 * device and inode as /proc/self/exe) and the executable has a plugin by its
 * name; undefined otherwise, and the caller execs `file`.
 */
export function embeddedPlugin(file: string): (() => Promise<EmbeddedPlugin>) | undefined {
  const programs = (globalThis as Record<symbol, Programs | undefined>)[Symbol.for('cni-ts.programs')];
  if (!programs) return undefined;
  let same: boolean;
  try {
    same = native().fileId(file) === native().fileId('/proc/self/exe');
  } catch {
    return undefined;
  }
  // the name decides the program, as it does for an exec'ed child (argv[0])
  return same ? programs.load(basename(file))?.embedded : undefined;
}

/**
 * Runs one invocation of `plugin` in this process. Nothing of it runs inside a
 * NetNS.run (those are synchronous), so it works in the namespace of the
 * caller's main thread at rest: the plugin's own, as an exec'ed child's.
 */
export async function runInProcess(plugin: () => Promise<EmbeddedPlugin>, call: InProcessCall): Promise<ExecResult> {
  let stdout = '';
  let stderr = '';
  const input = typeof call.input === 'string' ? Buffer.from(call.input) : call.input;
  const io: PluginIO = {
    env: call.env,
    readStdin: () => input,
    stdout: (t) => void (stdout += t),
    stderr: (t) => void (stderr += t),
  };
  let code: number;
  try {
    code = await (await plugin()).run(io);
  } catch (e) {
    // what a child that crashed on start-up would leave: no JSON, a non-zero status, the reason on stderr
    return { code: 1, stdout, stderr: stderr + `${(e as Error)?.stack ?? e}\n` };
  }
  return { code, stdout, stderr };
}
