// The packet exchanges of a lease, each on a Transport (an AF_PACKET socket on
// the container's interface, opened inside its namespace) that is closed
// afterwards: DORA for a new lease, renew / rebind / INIT-REBOOT of a held one
// (or DORA again after a NAK), each retried with backoffRetry; and DHCPRELEASE.
import { DHCPNakError, EARLY_RESEND_MS, extend, newXID, obtain, reboot, release, Transport, waitOperational, type ClientConfig, type Lease } from '../../pkg/dhcp/client.js';
import { formatMAC } from '../../pkg/ip/link.js';
import { backoffRetry } from './backoff.js';

/** How long a link we set up may take to become operational before DORA starts anyway. */
const LINK_UP_WAIT = 2000;

/** Where an exchange happens and how long it retries. */
export interface ExchangeTarget {
  netnsPath: string;
  ifName: string;
  client: ClientConfig;
  /** Longest pause between retries (-resendmax). */
  resendMax: number;
  /** Give up retrying after this long (-resendtimeout). */
  resendTimeout: number;
  signal: AbortSignal;
  log(m: string): void;
}

/**
 * A new lease by DORA, with the interface's MAC. The link is set up first when
 * it is down (reference: LinkSetUp before DORA) and given a moment to become
 * operational.
 */
export async function acquireLease(o: ExchangeTarget): Promise<{ lease: Lease; mac: string }> {
  const t = Transport.open(o.netnsPath, o.ifName);
  const xid = newXID();
  let attempts = 0;
  try {
    // also when the interface plugin set the link up just before calling us: its queue may not run yet
    await waitOperational(o.netnsPath, o.ifName, LINK_UP_WAIT);
    // the link (ours, or the plugin's) has just come up: its far end may not forward the first DISCOVER yet
    const once = (signal: AbortSignal) => obtain(t, o.client, signal, xid, attempts++ === 0 ? EARLY_RESEND_MS : undefined);
    const lease = await backoffRetry(once, { resendMax: o.resendMax, deadline: Date.now() + o.resendTimeout, signal: o.signal, log: o.log });
    return { lease, mac: formatMAC(t.mac) };
  } finally {
    t.close();
  }
}

/** What a held lease's maintenance asks of the server: RENEW, REBIND, INIT-REBOOT, or a new DORA. */
export type ExchangeMode = 'renew' | 'rebind' | 'reboot' | 'obtain';

/** One `mode` exchange for the held `lease`, retried until `until` (ms since the epoch) at the latest; the link is not set up. */
export async function exchangeLease(mode: ExchangeMode, lease: Lease, until: number, o: ExchangeTarget): Promise<Lease> {
  const t = Transport.open(o.netnsPath, o.ifName, { setUp: false });
  const xid = newXID();
  const once = (signal: AbortSignal) => {
    if (mode === 'obtain') return obtain(t, o.client, signal, xid);
    if (mode === 'reboot') return reboot(t, o.client, lease.address, signal, xid);
    return extend(t, o.client, lease, mode, signal, xid);
  };
  try {
    return await backoffRetry(once, {
      resendMax: o.resendMax,
      deadline: Math.min(Date.now() + o.resendTimeout, until),
      signal: o.signal,
      log: o.log,
      // RFC 2131 §4.4.5: a NAK to a renewal, rebinding or INIT-REBOOT is an answer, not a loss to retry (a DORA
      // retries: it starts again from DISCOVER)
      final: (e) => mode !== 'obtain' && e instanceof DHCPNakError,
    });
  } finally {
    t.close();
  }
}

/** Sends DHCPRELEASE for `lease` (once: the server does not answer); the link is not set up. */
export function releaseLease(netnsPath: string, ifName: string, client: ClientConfig, lease: Lease): void {
  const t = Transport.open(netnsPath, ifName, { setUp: false });
  try {
    release(t, client, lease);
  } finally {
    t.close();
  }
}
