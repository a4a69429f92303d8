// cnitool: runs a network configuration against a namespace, as the CNI
// project's cnitool does (same environment variables, same container ID), on
// pkg/libcni. Not a plugin: a CLI that prints the ADD result and errors freely.
import { sha512 } from '../../pkg/hash/index.js';
import * as path from 'node:path';
import { CNIConfig, type GCAttachment, listNetworks, loadConfList, type RuntimeConf, resultJSON } from '../../pkg/libcni/index.js';
import { CniError, ErrCode } from '../../pkg/types/error.js';
import { formatJSON } from '../../pkg/types/result.js';
import { SUITE_COMMIT, SUITE_VERSION } from '../../pkg/skel/index.js';

export const DEFAULT_NET_DIR = '/etc/cni/net.d';

const USAGE = `usage: cnitool add|check|del <network> <netns>
       cnitool gc|status <network> [<netns>]
       cnitool list
       cnitool --version
options: -i, --ifname <name>   interface name (default: $CNI_IFNAME or eth0)
environment:
  NETCONFPATH           configuration directory (default ${DEFAULT_NET_DIR})
  CNI_PATH              plugin directories, ':'-separated
  CNI_IFNAME            interface name (default eth0)
  CNI_ARGS              K=V;K=V arguments for the plugins
  CAP_ARGS              capability arguments, a JSON object (portMappings, ips, mac...)
  CNI_CONTAINERID       container ID (default: cnitool-<sha512 of the netns path>)
  CNI_CACHE_DIR         result cache directory (default /var/lib/cni)
  CNI_VALID_ATTACHMENTS gc: attachments to keep, JSON [{"containerID":"..","ifname":".."}]
`;

/** The container ID the CNI project's cnitool derives from a netns path: `cnitool-` + 20 hex of its sha512. */
export function containerIDFor(netnsPath: string): string {
  return `cnitool-${sha512(netnsPath).slice(0, 20)}`;
}

/** CNI_ARGS as cnitool reads it: every pair exactly `K=V`, both sides non-empty. */
export function parseCNIArgs(raw: string): Array<[string, string]> {
  if (!raw) return [];
  return raw.split(';').map((pair) => {
    const kv = pair.split('=');
    if (kv.length !== 2 || !kv[0] || !kv[1]) throw new CniError(ErrCode.InvalidEnvironmentVariables, `invalid CNI_ARGS pair ${JSON.stringify(pair)}`);
    return [kv[0], kv[1]];
  });
}

function parseJSONEnv<T>(name: string, raw: string | undefined, check: (v: unknown) => v is T, fallback: T): T {
  if (!raw) return fallback;
  let v: unknown;
  try {
    v = JSON.parse(raw);
  } catch (e) {
    throw new CniError(ErrCode.DecodingFailure, `${name}: ${(e as Error).message}`);
  }
  if (!check(v)) throw new CniError(ErrCode.DecodingFailure, `${name}: unexpected JSON shape`);
  return v;
}

const isMap = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isAttachments = (v: unknown): v is GCAttachment[] =>
  Array.isArray(v) && v.every((a) => isMap(a) && typeof a.containerID === 'string' && typeof a.ifname === 'string');

/** Output streams, injectable for tests. */
export interface CliIO {
  stdout(text: string): void;
  stderr(text: string): void;
}

const stdio: CliIO = { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t) };

/** Runs cnitool with `argv` (without the program name); resolves to the exit code. */
export async function cnitool(argv: readonly string[], env: NodeJS.ProcessEnv, io: CliIO = stdio): Promise<number> {
  const positional: string[] = [];
  let ifNameFlag = '';
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '-h' || a === '--help') {
      io.stdout(USAGE);
      return 0;
    }
    if (a === '--version') {
      io.stdout(`cnitool ${SUITE_VERSION} (commit ${SUITE_COMMIT})\n`);
      return 0;
    }
    if (a === '-i' || a === '--ifname') ifNameFlag = argv[++i] ?? '';
    else if (a.startsWith('--ifname=')) ifNameFlag = a.slice('--ifname='.length);
    else positional.push(a);
  }
  const [cmd, network, netnsArg] = positional;
  const netDir = env.NETCONFPATH || DEFAULT_NET_DIR;
  const needsNetns = cmd === 'add' || cmd === 'check' || cmd === 'del';
  if (cmd === 'list') {
    try {
      for (const n of listNetworks(netDir)) io.stdout(`${n}\n`);
      return 0;
    } catch (e) {
      io.stderr(`${errorText(e)}\n`);
      return 1;
    }
  }
  if (!['add', 'check', 'del', 'gc', 'status'].includes(cmd ?? '') || !network || (needsNetns && !netnsArg)) {
    io.stderr(USAGE);
    return 1;
  }
  try {
    const list = loadConfList(netDir, network);
    const capabilityArgs = parseJSONEnv('CAP_ARGS', env.CAP_ARGS, isMap, {});
    const args = parseCNIArgs(env.CNI_ARGS ?? '');
    const netns = netnsArg ? path.resolve(netnsArg) : '';
    const rt: RuntimeConf = {
      containerID: env.CNI_CONTAINERID || containerIDFor(netns),
      netns,
      ifName: ifNameFlag || env.CNI_IFNAME || 'eth0',
      args,
      capabilityArgs,
    };
    const cni = new CNIConfig({ path: (env.CNI_PATH ?? '').split(':').filter(Boolean), cacheDir: env.CNI_CACHE_DIR, env });
    switch (cmd) {
      case 'add': {
        const result = await cni.addNetworkList(list, rt);
        io.stdout(formatJSON(resultJSON(result)) + '\n');
        break;
      }
      case 'check':
        await cni.checkNetworkList(list, rt);
        break;
      case 'del':
        await cni.delNetworkList(list, rt);
        break;
      case 'gc':
        await cni.gcNetworkList(list, parseJSONEnv('CNI_VALID_ATTACHMENTS', env.CNI_VALID_ATTACHMENTS, isAttachments, []));
        break;
      case 'status':
        await cni.getStatusNetworkList(list);
        break;
    }
    return 0;
  } catch (e) {
    io.stderr(`${errorText(e)}\n`);
    return 1;
  }
}

/** An error as Go prints a types.Error: `msg; details`. */
function errorText(e: unknown): string {
  if (e instanceof CniError) return e.details ? `${e.message}; ${e.details}` : e.message;
  return e instanceof Error ? e.message : String(e);
}
