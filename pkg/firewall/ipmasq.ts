// Masquerading of container traffic leaving its subnet (`ipMasq`), with the
// reference's backend rule: the configured one, else iptables unless only
// nftables works. Teardown always tries both, as the reference does, so rules
// set up by either backend (or by the Go plugin) are removed.
import type { IPNet } from '../ipaddr/index.js';
import { chooseBackend, type Backend } from './backend.js';
import { gcIPMasqIptables, setupIPMasqIptables, teardownIPMasqIptables } from './ipmasq-iptables.js';
import { gcIPMasqNftables, setupIPMasqNftables, teardownIPMasqNftables } from './ipmasq-nftables.js';

/** Who the rules belong to. */
export interface MasqOwner {
  network: string;
  containerID: string;
  ifName: string;
}

/** Sets up masquerading for `ips` (addresses with their subnet prefix); returns the backend used. */
export async function setupIPMasq(owner: MasqOwner, ips: IPNet[], configured?: string): Promise<Backend> {
  const backend = await chooseBackend(configured);
  if (backend === 'nftables') {
    await setupIPMasqNftables(owner.network, owner.ifName, owner.containerID, ips);
  } else {
    for (const fam of [4, 6] as const) {
      await setupIPMasqIptables(fam, owner.network, owner.containerID, ips.filter((i) => i.ip.family === fam));
    }
  }
  return backend;
}

/**
 * Removes the attachment's masquerade rules from both backends. Needs no IPs:
 * the iptables chain and the nftables comment derive from network, container
 * ID and ifname, so it also works when DEL has no netns (plugins#810).
 */
export async function teardownIPMasq(owner: MasqOwner): Promise<void> {
  const errors: string[] = [];
  const attempt = async (fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (e) {
      errors.push((e as Error).message);
    }
  };
  await attempt(() => teardownIPMasqIptables(4, owner.network, owner.containerID));
  await attempt(() => teardownIPMasqIptables(6, owner.network, owner.containerID));
  await attempt(() => teardownIPMasqNftables(owner.network, owner.ifName, owner.containerID));
  if (errors.length) throw new Error(`failed to teardown ip masquerade: ${errors.join('; ')}`);
}

/** Removes masquerade rules of `network` whose attachment is not in `valid` (GC), from both backends. */
export async function gcIPMasq(network: string, valid: Array<{ containerID: string; ifname: string }>): Promise<void> {
  const keep = new Set(valid.map((a) => a.containerID));
  const errors: string[] = [];
  for (const fn of [() => gcIPMasqIptables(4, network, keep), () => gcIPMasqIptables(6, network, keep), () => gcIPMasqNftables(network, valid)]) {
    try {
      await fn();
    } catch (e) {
      errors.push((e as Error).message);
    }
  }
  if (errors.length) throw new Error(`failed to garbage-collect ip masquerade rules: ${errors.join('; ')}`);
}
