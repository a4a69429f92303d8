// The dhcp IPAM plugin: every verb is one RPC to the daemon over its unix
// socket (reference §2.8: DHCP.Allocate / DHCP.Release, Go net/rpc + gob).
import { resolve } from 'node:path';
import { text } from '../../pkg/bytes/index.js';
import { callDHCP, RPCError } from '../../pkg/dhcp/rpc.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import { CniError, ErrCode, errnoCode } from '../../pkg/types/error.js';
import type { Result } from '../../pkg/types/result.js';
import { CHECK_MARKER, loadDHCPConf } from './conf.js';

/** How long STATUS waits for the daemon to answer. */
const STATUS_TIMEOUT_MS = 5000;

type Method = 'DHCP.Allocate' | 'DHCP.Release';

async function call(socketPath: string, method: Method, args: CmdArgs, timeoutMs?: number): Promise<Result | undefined> {
  // The daemon may run in another working directory (the reference does the same).
  const sent: CmdArgs = { ...args, netns: resolve(args.netns) };
  try {
    return await callDHCP(socketPath, method, sent, timeoutMs);
  } catch (e) {
    if (e instanceof RPCError) throw new CniError(ErrCode.Internal, `failed to call ${method}: ${e.message}`, '', { cause: e });
    const why = e instanceof Error ? e.message : String(e);
    throw new CniError(ErrCode.Internal, `failed to reach the DHCP daemon at "${socketPath}": ${why}`, errnoCode(e) ?? '', { cause: e });
  }
}

/** The daemon's answer in the 1.1.0 shape (the wire result carries no usable version). */
function asResult(r: Result | undefined, method: Method): Result {
  if (!r || !r.ips?.length) throw new CniError(ErrCode.Internal, `${method} returned no address`);
  return { ...r, cniVersion: '1.1.0' };
}

export async function add(args: CmdArgs): Promise<Result> {
  const { socketPath } = loadDHCPConf(args.stdinData, args.args);
  return asResult(await call(socketPath, 'DHCP.Allocate', args), 'DHCP.Allocate');
}

export async function del(args: CmdArgs): Promise<void> {
  const { socketPath } = loadDHCPConf(args.stdinData, args.args, { options: false });
  await call(socketPath, 'DHCP.Release', args);
}

/**
 * CHECK is DHCP.Allocate, as in the reference, with CHECK_MARKER added to the
 * configuration: our daemon then only confirms a lease it maintains (and fails
 * when there is none) instead of acquiring one; a reference daemon ignores the key.
 */
export async function check(args: CmdArgs): Promise<void> {
  const { socketPath } = loadDHCPConf(args.stdinData, args.args);
  const conf = JSON.parse(text(args.stdinData)) as Record<string, unknown>;
  const stdinData = Buffer.from(JSON.stringify({ ...conf, [CHECK_MARKER]: true }));
  asResult(await call(socketPath, 'DHCP.Allocate', { ...args, stdinData }), 'DHCP.Allocate');
}

/** GC: the daemon's leases live in its memory and end with DEL; nothing to collect here. */
export async function gc(args: CmdArgs): Promise<void> {
  loadDHCPConf(args.stdinData, args.args, { options: false });
}

/**
 * STATUS: code 50 unless the daemon answers an RPC. The probe is a Release
 * for an interface name no attachment can have (""), which both our daemon and
 * the reference's answer with success without touching any lease.
 */
export async function status(args: CmdArgs): Promise<void> {
  const { socketPath } = loadDHCPConf(args.stdinData, args.args, { options: false });
  const probe: CmdArgs = { ...args, containerID: 'cni-ts-status-probe', ifName: '', netns: '' };
  try {
    await callDHCP(socketPath, 'DHCP.Release', probe, STATUS_TIMEOUT_MS);
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new CniError(ErrCode.PluginNotAvailable, `DHCP daemon at "${socketPath}" is not answering: ${why}`, '', { cause: e });
  }
}
