// IPAM: delegating to an IPAM plugin, applying its result to an interface, and
// the small rules interface plugins share around it.
import { CniError, ErrCode } from '../types/error.js';
import type { DNS } from '../types/result.js';

export { execAdd, execCheck, execDel, execGC, execStatus, findInPath, type DelegateCall } from './exec.js';
export { configureIface, enableIPv6, settleAddresses } from './configure.js';

/** The configured IPAM type, or '' for an L2-only network. */
export function ipamType(conf: { ipam?: { type?: string } }): string {
  return conf.ipam?.type ?? '';
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

/** An attachment named in `cni.dev/valid-attachments` (GC). */
export interface Attachment {
  containerID: string;
  ifname: string;
}

/** The valid attachments of a GC request; code 7 when malformed. */
export function validAttachments(conf: Record<string, unknown>): Attachment[] {
  const raw = conf['cni.dev/valid-attachments'] ?? conf['cni.dev/attachments'] ?? [];
  if (!Array.isArray(raw)) throw new CniError(ErrCode.InvalidNetworkConfig, 'cni.dev/valid-attachments: must be a list');
  return raw.map((a, i) => {
    const o = a as Record<string, unknown>;
    if (typeof o?.containerID !== 'string' || typeof o?.ifname !== 'string') {
      throw new CniError(ErrCode.InvalidNetworkConfig, `cni.dev/valid-attachments[${i}]: needs string containerID and ifname`);
    }
    return { containerID: o.containerID, ifname: o.ifname };
  });
}
