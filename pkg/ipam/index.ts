// IPAM: delegating to an IPAM plugin, applying its result to an interface, and
// the small rules interface plugins share around it.
import { CniError, ErrCode } from '../types/error.js';
import type { DNS } from '../types/result.js';

export { execAdd, execCheck, execDel, execGC, execStatus, findInPath, type DelegateCall } from './exec.js';
export { configureIface, enableIPv6, settleAddresses } from './configure.js';
export { validAttachments, type Attachment } from './attachments.js';

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
