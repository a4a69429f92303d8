// DEL of a container interface together with its IPAM reservation, overlapped.
// Destroying a veth costs the kernel ~20 ms (an RCU barrier), most of a DEL;
// running the IPAM plugin's DEL meanwhile hides its whole run: an exec'ed one
// runs on a thread of its own, and an in-process one (pkg/exec/inproc.ts) runs
// on the JS thread while the deletion's netlink request waits on another. The interface's
// addresses are removed first, so an address is never released while still
// configured (the reason the reference deletes the link before IPAM DEL,
// plugins#666): whatever order the two finish in, nobody can be handed an
// address this container still answers on. An IPAM plugin that may use the
// interface (dhcp sends its DHCPRELEASE from it) is waited for before the link
// goes: overlapped, the daemon usually found the link gone (0 of 30 releases
// sent), and the server kept the address until the lease ran out.
import { NetlinkError } from '../ip/netlink.js';
import { withNetnsNl } from '../ip/netns.js';
import { linkByName, linkDelStart } from '../ip/link.js';
import { RT_SCOPE_LINK } from '../ip/route.js';
import { addrDel, addrList } from '../ip/addr.js';
import { NetNSNotFoundError } from '../ns/index.js';
import { startCommand, type DelegateCall, type Pending } from './exec.js';
import { netnsBlind } from './kinds.js';

/**
 * Deletes link `ifName` in the namespace at `netnsPath` (an empty path, a
 * namespace that is gone or a missing link count as done, as DEL requires)
 * and runs IPAM DEL for `ipam` (none for L2-only). Both always run; an error
 * of the link deletion is thrown first, then the IPAM plugin's.
 */
export async function deleteIfaceAndRelease(netnsPath: string, ifName: string, ipam: DelegateCall | undefined): Promise<void> {
  let release: Pending<void> | undefined;
  // an IPAM plugin that cannot even start (not in CNI_PATH) must not keep the link from going: reported last
  let startError: unknown;
  // started from the main thread while it is in the plugin's own (host) namespace
  const startRelease = () => {
    if (release || startError !== undefined || !ipam) return;
    try {
      release = startCommand('DEL', ipam);
    } catch (e) {
      startError = e;
    }
  };
  let linkError: unknown;
  try {
    if (netnsPath) {
      await withNetnsNl(netnsPath, async ({ cnl: nl }) => {
        const link = linkByName(nl, ifName);
        if (!link) return;
        for (const a of addrList(nl, { index: link.index })) {
          if (a.scope >= RT_SCOPE_LINK) continue;
          try {
            addrDel(nl, link.index, a);
          } catch (e) {
            // removing a primary IPv4 address takes its secondaries with it
            if (!(e instanceof NetlinkError && e.code === 'EADDRNOTAVAIL')) throw e;
          }
        }
        startRelease();
        if (ipam && !netnsBlind(ipam.type)) {
          try {
            await release?.wait();
          } catch {
            // thrown below, once the link is gone too (wait() keeps its outcome)
          }
        }
        // the kernel destroys the veth on a thread of ours while an in-process IPAM DEL runs here (an exec'ed one
        // runs on a thread of its own already)
        const deletion = linkDelStart(nl, link.index, `failed to delete link "${ifName}"`);
        try {
          await release?.wait();
        } catch {
          // thrown below (wait() keeps its outcome)
        }
        try {
          deletion.wait();
        } catch (e) {
          if (!(e instanceof NetlinkError && e.code === 'ENODEV')) throw e;
        }
      });
    }
  } catch (e) {
    if (!(e instanceof NetNSNotFoundError)) linkError = e;
  }
  startRelease();
  try {
    await release?.wait();
  } finally {
    if (linkError) throw linkError;
  }
  if (startError !== undefined) throw startError;
}
