// MAC spoof check for bridge ports (`macspoofchk`), with the reference's
// objects (pkg/link/spoofcheck.go): table `bridge nat`, base chain PREROUTING
// (filter, prerouting, priority -300), chains `cni-br-iface-<cid>-<if>` and
// `...-mac`, every rule commented `macspoofchk-<cid>-<if>`. One `nft -f` each way.
import { nftApply, nftListJSON } from './backend.js';

const TABLE = 'bridge nat';
const BASE = 'PREROUTING';

/** The attachment's reference ID, as the reference builds it. */
export const spoofRefID = (containerID: string, ifName: string) => `${containerID}-${ifName}`;
const ifaceChain = (refID: string) => `cni-br-iface-${refID}`;
const comment = (refID: string) => `macspoofchk-${refID}`;

/** Only frames from `mac` may enter the bridge through `hostIface`. */
export async function setupSpoofCheck(hostIface: string, mac: string, refID: string): Promise<void> {
  const iface = ifaceChain(refID);
  const mc = `${iface}-mac`;
  const c = `comment "${comment(refID)}"`;
  await nftApply(
    [
      `add table ${TABLE}`,
      `add chain ${TABLE} ${BASE} { type filter hook prerouting priority -300 ; policy accept ; }`,
      `add chain ${TABLE} ${iface}`,
      `add chain ${TABLE} ${mc}`,
      `flush chain ${TABLE} ${iface}`,
      `flush chain ${TABLE} ${mc}`,
      `add rule ${TABLE} ${BASE} iifname "${hostIface}" jump ${iface} ${c}`,
      `add rule ${TABLE} ${iface} jump ${mc} ${c}`,
      `add rule ${TABLE} ${mc} ether saddr ${mac} return ${c}`,
      `add rule ${TABLE} ${mc} drop ${c}`,
      '',
    ].join('\n'),
  );
}

/** Removes the attachment's jump rule and chains; absent objects are fine. */
export async function teardownSpoofCheck(refID: string): Promise<void> {
  const listed = await nftListJSON('table', 'bridge', 'nat').catch(() => undefined);
  if (!listed) return;
  const items = (listed.nftables ?? []) as Array<{ chain?: { name: string }; rule?: { chain: string; handle: number; comment?: string } }>;
  const iface = ifaceChain(refID);
  const chains = new Set(items.filter((i) => i.chain).map((i) => i.chain!.name));
  const lines: string[] = [];
  for (const i of items) {
    if (i.rule && i.rule.chain === BASE && i.rule.comment === comment(refID)) lines.push(`delete rule ${TABLE} ${BASE} handle ${i.rule.handle}`);
  }
  // the -mac chain is referenced from the iface chain: flush both before deleting
  for (const ch of [iface, `${iface}-mac`]) if (chains.has(ch)) lines.push(`flush chain ${TABLE} ${ch}`);
  for (const ch of [iface, `${iface}-mac`]) if (chains.has(ch)) lines.push(`delete chain ${TABLE} ${ch}`);
  if (lines.length) await nftApply(lines.join('\n') + '\n');
}
