// IPAM: delegating to an IPAM plugin, applying its result to an interface, and
// the small rules interface plugins share around it.
import type { CmdArgs } from '../skel/index.js';
import { CniError, ErrCode } from '../types/error.js';
import type { DNS, Result } from '../types/result.js';
import type { Undo } from '../undo/index.js';
import { execDel, startAdd, startCommand, type DelegateCall, type Pending } from './exec.js';
import { restorePointers, snapshotPointers, type PointerSnapshot } from './hostlocal/pointer.js';
import { netnsBlind } from './kinds.js';

export { execAdd, execCheck, execDel, execGC, execStatus, findInPath, startAdd, startCommand, type DelegateCall, type Pending } from './exec.js';
export { deleteIfaceAndRelease } from './teardown.js';
export { configureIface, enableIPv6, settleAddresses } from './configure.js';
export { validAttachments, type Attachment } from './attachments.js';

/** The configured IPAM type, or '' for an L2-only network. */
export function ipamType(conf: { ipam?: { type?: string } }): string {
  return conf.ipam?.type ?? '';
}

/**
 * The call that delegates this command to the IPAM plugin: `conf`'s `ipam.type`
 * (or the type itself, as read leniently for DEL), run with the command's stdin
 * and CNI_PATH.
 */
export function ipamDelegate(args: Pick<CmdArgs, 'stdinData' | 'path'>, conf: { ipam?: { type?: string } } | string): DelegateCall {
  return { type: typeof conf === 'string' ? conf : ipamType(conf), stdin: args.stdinData, cniPath: args.path };
}

/** The DNS of a result: the config's when any of its fields is set (even to an empty list), else IPAM's. */
export function chooseDNS(conf: { dns?: DNS }, ipamDNS: DNS | undefined): DNS | undefined {
  const d = conf.dns;
  const set = d && (d.nameservers !== undefined || d.domain !== undefined || d.search !== undefined || d.options !== undefined);
  return set ? d : ipamDNS;
}

/**
 * Failure injection for rollback tests: fails when `step` is named by the
 * hidden config key `debugPostIPAMError` (true means "ipam", as the reference's
 * test hook) or by the environment variable CNI_TS_FAIL_AFTER.
 */
export function failpoint(conf: { debugPostIPAMError?: unknown }, step: string): void {
  const hit = process.env.CNI_TS_FAIL_AFTER === step || (step === 'ipam' && conf.debugPostIPAMError === true);
  if (hit) throw new CniError(ErrCode.Internal, `injected failure after ${step}`);
}

/** True when the IPAM ADD may start before the links are made (see pkg/ipam/kinds.ts). */
export const ipamRunsEarly = (conf: { ipam?: { type?: string } }): boolean => netnsBlind(ipamType(conf));

/**
 * Starts IPAM ADD (see startAdd) with its rollback on
 * `undo`: wait for it, then release what it reserved.
 */
export function startIPAMAdd(undo: Undo, call: DelegateCall, confVersion: string): Pending<Result> {
  // host-local's DEL leaves its round-robin pointer on the released address; a failed ADD must not move it
  const pointers = call.type === 'host-local' ? snapshotPointers(call.stdin) : undefined;
  const pending = startAdd(call, confVersion);
  undo.push('release IPAM reservation', () => releaseIfReserved(pending, call, pointers));
  return pending;
}

async function releaseIfReserved(pending: Pending<Result>, call: DelegateCall, pointers: PointerSnapshot | undefined): Promise<void> {
  let result: Result;
  try {
    result = await pending.wait();
  } catch {
    return; // the ADD failed: nothing was reserved
  }
  await execDel(call);
  if (pointers) restorePointers(pointers, (result.ips ?? []).map((c) => c.address.split('/')[0]));
}

/**
 * CHECK of an interface plugin: the IPAM plugin's CHECK (none for L2-only)
 * runs on a thread of its own while `own` checks what the plugin set up. The
 * IPAM plugin's verdict comes first, as the reference asks it first.
 */
export async function checkAlongsideIPAM(call: DelegateCall | undefined, own: () => Promise<void>): Promise<void> {
  const ipam = call ? startCommand('CHECK', call) : undefined;
  try {
    await own();
  } catch (e) {
    await ipam?.wait();
    throw e;
  }
  await ipam?.wait();
}
