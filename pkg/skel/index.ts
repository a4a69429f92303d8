// The CNI protocol as a plugin sees it (SPEC.md §2-§5 and the reference skel):
// the environment table, stdin, version gates, error JSON and result printing.
// The only code in the suite that writes to stdout.
import { text, utf8 } from '../bytes/index.js';
import { writeSync } from '../native/fs.js';
import { native } from '../native/index.js';
import { CniError, ErrCode } from '../types/error.js';
import { convertResult, formatJSON, parseResult, type Result } from '../types/result.js';
import { ALL_VERSIONS, CURRENT_VERSION, compareVersions } from '../types/version.js';

/** What a command receives (Go's skel.CmdArgs). */
export interface CmdArgs {
  containerID: string;
  netns: string;
  ifName: string;
  args: string;
  path: string;
  netnsOverride: boolean;
  stdinData: Buffer;
}

/** The commands a plugin implements. GC and STATUS default to success, as in the reference. */
export interface PluginFuncs {
  add(args: CmdArgs): Promise<Result>;
  del(args: CmdArgs): Promise<void>;
  check?(args: CmdArgs): Promise<void>;
  gc?(args: CmdArgs): Promise<void>;
  status?(args: CmdArgs): Promise<void>;
}

/** The plugin's commands, or a loader that imports them on demand (keeps VERSION fast). */
export type FuncsSource = PluginFuncs | (() => Promise<PluginFuncs>);

/** Process I/O, injectable for tests. */
export interface PluginIO {
  env: Record<string, string | undefined>;
  readStdin(): Buffer;
  stdout(text: string): void;
  stderr(text: string): void;
}

/**
 * The first line printed to stderr when CNI_COMMAND is unset or on --version: the
 * reference's "CNI <name> plugin <version>", then the commit the build came from.
 */
export function about(name: string, version = SUITE_VERSION): string {
  return `CNI ${name} plugin ${version} (commit ${SUITE_COMMIT})`;
}

declare const __SUITE_VERSION__: string | undefined;
declare const __SUITE_COMMIT__: string | undefined;
/** The suite version (`git describe` style) and commit build.ts stamps into every program. */
export const SUITE_VERSION = typeof __SUITE_VERSION__ === 'string' ? __SUITE_VERSION__ : 'v0.0.0-dev';
export const SUITE_COMMIT = typeof __SUITE_COMMIT__ === 'string' ? __SUITE_COMMIT__ : 'unknown';

/** The about text: the about line, then the spec versions (both lines as the reference prints them). */
function aboutLines(aboutText: string, supported: readonly string[]): string {
  return `${aboutText}\nCNI protocol versions supported: ${supported.join(', ')}\n`;
}

const CONTAINER_ID = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const NETWORK_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

interface EnvVar {
  name: string;
  requiredFor: string[];
}

const ENV_TABLE: EnvVar[] = [
  { name: 'CNI_COMMAND', requiredFor: [] },
  { name: 'CNI_CONTAINERID', requiredFor: ['ADD', 'CHECK', 'DEL'] },
  { name: 'CNI_NETNS', requiredFor: ['ADD', 'CHECK'] },
  { name: 'CNI_IFNAME', requiredFor: ['ADD', 'CHECK', 'DEL'] },
  { name: 'CNI_ARGS', requiredFor: [] },
  { name: 'CNI_PATH', requiredFor: ['ADD', 'CHECK', 'DEL', 'GC', 'STATUS'] },
];

/** Validates an interface name as the reference does (code 4). */
export function validateIfName(name: string): void {
  const bad = (msg: string, details = '') => new CniError(ErrCode.InvalidEnvironmentVariables, msg, details);
  if (name === '') throw bad('interface name is empty');
  if (utf8(name).length > 15) throw bad('interface name is too long', 'interface name should be less than 16 characters');
  if (name === '.' || name === '..') throw bad('interface name is . or ..');
  if (/[/:\s]/.test(name)) throw bad('interface name contains / or : or whitespace characters');
}

function validateContainerID(id: string): void {
  if (id === '') throw new CniError(ErrCode.UnknownContainer, 'missing containerID');
  if (!CONTAINER_ID.test(id)) throw new CniError(ErrCode.InvalidEnvironmentVariables, 'invalid characters in containerID', id);
}

/** Reads `cniVersion` and `name` from stdin with the reference's checks. */
function decodeConf(stdin: Buffer): { cniVersion: string; name: string } {
  let conf: unknown;
  try {
    conf = JSON.parse(text(stdin));
  } catch (e) {
    throw new CniError(ErrCode.DecodingFailure, `error unmarshall network config: ${(e as Error).message}`);
  }
  if (typeof conf !== 'object' || conf === null || Array.isArray(conf)) {
    throw new CniError(ErrCode.DecodingFailure, 'error unmarshall network config: not a JSON object');
  }
  // Go's encoding/json matches keys case-insensitively; with several matches the last in the document wins.
  const c = conf as Record<string, unknown>;
  const field = (key: string) => {
    const want = key.toLowerCase();
    let found: unknown;
    for (const k in c) if (k.toLowerCase() === want) found = c[k];
    return found;
  };
  const cniVersion = field('cniVersion') ?? '';
  if (typeof cniVersion !== 'string') throw new CniError(ErrCode.DecodingFailure, 'cniVersion: must be a string');
  const name = field('name') ?? '';
  // Go's json.Unmarshal fails on a non-string name: a decoding error (6), not a config error.
  if (typeof name !== 'string') throw new CniError(ErrCode.DecodingFailure, 'error unmarshall network config: name: must be a string');
  return { cniVersion: cniVersion || '0.1.0', name };
}

function checkVersion(confVersion: string, supported: readonly string[]): void {
  if (!supported.includes(confVersion)) {
    throw new CniError(
      ErrCode.IncompatibleCNIVersion,
      'incompatible CNI versions',
      `config is "${confVersion}", plugin supports [${supported.map((v) => `"${v}"`).join(' ')}]`,
    );
  }
}

function gate(cmd: string, min: string, confVersion: string, supported: readonly string[]): void {
  if (compareVersions(confVersion, min) < 0) throw new CniError(ErrCode.IncompatibleCNIVersion, `config version does not allow ${cmd}`);
  if (!supported.some((v) => compareVersions(v, confVersion) >= 0)) {
    throw new CniError(ErrCode.IncompatibleCNIVersion, `plugin version does not allow ${cmd}`);
  }
}

function sameNetnsAsPlugin(netns: string): boolean {
  try {
    return native().fileId(netns) === native().fileId('/proc/self/ns/net');
  } catch {
    return false;
  }
}

/**
 * Runs one plugin invocation against `io` and returns the exit code. Never
 * throws: every failure becomes the spec's error JSON on stdout.
 */
export async function runPlugin(io: PluginIO, source: FuncsSource, supported: readonly string[] = ALL_VERSIONS, aboutText = about('plugin')): Promise<number> {
  const cmd = io.env.CNI_COMMAND ?? '';
  if (cmd === '') {
    io.stderr(aboutLines(aboutText, supported));
    return 0;
  }
  let confVersion: string | undefined;
  try {
    if (cmd === 'VERSION') {
      io.stdout(JSON.stringify({ cniVersion: CURRENT_VERSION, supportedVersions: supported }) + '\n');
      return 0;
    }
    if (!['ADD', 'DEL', 'CHECK', 'GC', 'STATUS'].includes(cmd)) {
      throw new CniError(ErrCode.InvalidEnvironmentVariables, `unknown CNI_COMMAND: ${cmd}`);
    }
    const missing = ENV_TABLE.filter((v) => v.requiredFor.includes(cmd) && !io.env[v.name]).map((v) => v.name);
    if (missing.length) throw new CniError(ErrCode.InvalidEnvironmentVariables, `required env variables [${missing.join(',')}] missing`);
    let stdinData: Buffer;
    try {
      stdinData = io.readStdin();
    } catch (e) {
      throw new CniError(ErrCode.IOFailure, `error reading from stdin: ${(e as Error).message}`);
    }
    const conf = decodeConf(stdinData);
    confVersion = conf.cniVersion;
    if (conf.name === '') throw new CniError(ErrCode.InvalidNetworkConfig, 'missing network name');
    if (!NETWORK_NAME.test(conf.name)) throw new CniError(ErrCode.InvalidNetworkConfig, 'invalid characters found in network name', conf.name);
    const args: CmdArgs = {
      containerID: io.env.CNI_CONTAINERID ?? '',
      netns: io.env.CNI_NETNS ?? '',
      ifName: io.env.CNI_IFNAME ?? '',
      args: io.env.CNI_ARGS ?? '',
      path: io.env.CNI_PATH ?? '',
      netnsOverride: /^(1|true)$/i.test(io.env.CNI_NETNS_OVERRIDE ?? ''),
      stdinData,
    };
    if (cmd === 'ADD' || cmd === 'DEL' || cmd === 'CHECK') {
      validateContainerID(args.containerID);
      validateIfName(args.ifName);
    }
    if (cmd === 'CHECK') gate('CHECK', '0.4.0', confVersion, supported);
    if (cmd === 'GC') gate('GC', '1.1.0', confVersion, supported);
    if (cmd === 'STATUS') gate('STATUS', '1.1.0', confVersion, supported);
    checkVersion(confVersion, supported);
    // The reference checks this after ADD/DEL ran; checking first leaves nothing behind.
    if ((cmd === 'ADD' || cmd === 'DEL') && args.netns && !args.netnsOverride && sameNetnsAsPlugin(args.netns)) {
      throw new CniError(ErrCode.InvalidNetNS, "plugin's netns and netns from CNI_NETNS should not be the same");
    }
    const funcs = typeof source === 'function' ? await source() : source;
    switch (cmd) {
      case 'ADD': {
        const result = await funcs.add(args);
        io.stdout(formatJSON(convertResult(normalise(result, confVersion), confVersion)) + '\n');
        break;
      }
      case 'DEL':
        await funcs.del(args);
        break;
      case 'CHECK':
        if (funcs.check) await funcs.check(args);
        break;
      case 'GC':
        if (funcs.gc) await funcs.gc(args);
        break;
      case 'STATUS':
        if (funcs.status) await funcs.status(args);
        break;
    }
    return 0;
  } catch (e) {
    const err = e instanceof CniError ? e : new CniError(ErrCode.Internal, e instanceof Error ? e.message : String(e), '', { cause: e });
    if (!(e instanceof CniError) && process.env.CNI_TS_DEBUG && e instanceof Error) io.stderr(`${e.stack}\n`);
    io.stdout(formatJSON(err.toJSON(confVersion)) + '\n');
    return 1;
  }
}

function normalise(result: Result, confVersion: string): Result {
  // A plugin may hand back a result in any version (e.g. a delegate's output); read it into the 1.1.0 shape.
  return result.cniVersion === CURRENT_VERSION ? result : parseResult(result, confVersion, 'result');
}

/**
 * A program mode chosen by the first argument instead of CNI_COMMAND (as
 * `dhcp daemon`): the loader is imported only when that word is given, and the
 * mode gets the arguments after it.
 */
export type Subcommands = Record<string, () => Promise<(argv: readonly string[]) => void>>;

/** A plugin loaded into another program's process: one invocation per `run`, its exit code returned. */
export interface EmbeddedPlugin {
  run(io: PluginIO): Promise<number>;
}

// Set only while embed() imports a program: pluginMain then hands the plugin over instead of running it.
let capture: ((plugin: EmbeddedPlugin) => void) | undefined;
let embedded: Promise<EmbeddedPlugin> | undefined;

/**
 * Imports a program whose main module calls pluginMain and returns the plugin
 * it declares, without running it, reading stdin or exiting (pkg/exec/inproc.ts
 * runs a delegate of this same executable this way). Imported once per process.
 */
export function embed(load: () => Promise<unknown>): Promise<EmbeddedPlugin> {
  embedded ??= (async () => {
    let plugin: EmbeddedPlugin | undefined;
    capture = (p) => (plugin = p);
    try {
      await load();
    } finally {
      capture = undefined;
    }
    if (!plugin) throw new Error('the program is not a plugin (its main never called pluginMain)');
    return plugin;
  })();
  return embedded;
}

/** The process-level entry: real env, stdin and stdout, then exit; or a subcommand when argv[2] names one. */
export function pluginMain(source: FuncsSource, supported: readonly string[] = ALL_VERSIONS, aboutText = about('plugin'), subcommands: Subcommands = {}): void {
  if (capture) {
    capture({ run: (io) => runPlugin(io, source, supported, aboutText) });
    return;
  }
  const sub = process.argv[2];
  // the reference prints the about text only for an empty CNI_COMMAND (it ignores arguments); --version always does
  if (sub === '--version') {
    writeAll(2, aboutLines(aboutText, supported));
    process.exit(0);
  }
  if (sub !== undefined && Object.hasOwn(subcommands, sub)) {
    subcommands[sub]().then(
      (run) => run(process.argv.slice(3)),
      (e) => {
        writeAll(2, `${(e as Error)?.stack ?? e}\n`);
        process.exit(1);
      },
    );
    return;
  }
  const io: PluginIO = {
    env: process.env,
    readStdin: () => {
      try {
        return native().readFd(0);
      } catch (e) {
        // a closed or absent stdin reads as empty, as Go's io.ReadAll of /dev/null
        if ((e as { code?: string }).code === 'EAGAIN' || (e as { code?: string }).code === 'EBADF') return Buffer.alloc(0);
        throw e;
      }
    },
    stdout: (t) => writeAll(1, t),
    stderr: (t) => writeAll(2, t),
  };
  runPlugin(io, source, supported, aboutText).then(
    (code) => process.exit(code),
    (e) => {
      writeAll(2, `${(e as Error)?.stack ?? e}\n`);
      process.exit(1);
    },
  );
}

function writeAll(fd: number, text: string): void {
  const buf = Buffer.from(text);
  let off = 0;
  while (off < buf.length) {
    try {
      off += writeOut(fd, buf.subarray(off));
    } catch (e) {
      if ((e as { code?: string }).code === 'EAGAIN') continue;
      throw e;
    }
  }
}

let nodeWrite: ((fd: number, b: Uint8Array) => number) | undefined;

/** One write through the addon (no node:fs, see pkg/native/fs.ts); node:fs when the addon cannot load, so its error still reaches stdout. */
function writeOut(fd: number, bytes: Uint8Array): number {
  if (!nodeWrite) {
    try {
      return writeSync(fd, bytes);
    } catch (e) {
      if (typeof (e as NodeJS.ErrnoException).errno === 'number') throw e; // the write failed, not the addon
      nodeWrite = (process.getBuiltinModule('node:fs') as typeof import('node:fs')).writeSync;
    }
  }
  return nodeWrite(fd, bytes);
}
