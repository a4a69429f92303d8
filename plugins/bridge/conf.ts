// bridge configuration: every key of the reference v1.9.1 (§2.1), validated
// once; cross-field rules and the MAC precedence CNI_ARGS < args.cni < runtimeConfig.
import type { Static } from '@sinclair/typebox';
import { validateIfName } from '../../pkg/skel/index.js';
import { loadArgs } from '../../pkg/types/args.js';
import { loadConf } from '../../pkg/types/conf.js';
import { CniError, invalidConfig } from '../../pkg/types/error.js';
import { BridgeConfSchema, type VlanTrunk } from './schema.js';


export type BridgeConf = Static<typeof BridgeConfSchema> & {
  /** Tagged VLAN IDs for the host port, expanded from vlanTrunk. */
  trunkIDs: number[];
  /** The container MAC after precedence. */
  mac?: string;
};

function checkVlanID(path: string, id: number): void {
  if (id < 1 || id > 4094) throw invalidConfig(path, `${id} must be between 1 and 4094`);
}

/** Expands vlanTrunk into a sorted list of distinct IDs. */
function trunkIDs(trunk: VlanTrunk[] | undefined): number[] {
  const ids = new Set<number>();
  (trunk ?? []).forEach((t, i) => {
    const p = `vlanTrunk[${i}]`;
    if (t.id !== undefined) {
      checkVlanID(`${p}.id`, t.id);
      ids.add(t.id);
    }
    if (t.minID !== undefined || t.maxID !== undefined) {
      if (t.minID === undefined || t.maxID === undefined) throw invalidConfig(p, 'minID and maxID should be configured simultaneously');
      checkVlanID(`${p}.minID`, t.minID);
      checkVlanID(`${p}.maxID`, t.maxID);
      if (t.maxID < t.minID) throw invalidConfig(`${p}.maxID`, `${t.maxID} must not be smaller than minID ${t.minID}`);
      for (let v = t.minID; v <= t.maxID; v++) ids.add(v);
    }
    if (t.id === undefined && t.minID === undefined) throw invalidConfig(p, 'needs id or minID and maxID');
  });
  return [...ids].sort((a, b) => a - b);
}

/**
 * DEL's reading: only what finds what ADD made (name, IPAM type, ipMasq,
 * macspoofchk), every value ADD would refuse dropped, no CNI_ARGS.
 */
export function loadBridgeDelConf(stdin: Buffer): BridgeConf {
  return { ...loadConf(BridgeConfSchema, stdin, { lenient: true }), trunkIDs: [] };
}

/** Loads and checks a bridge configuration; `cniArgs` is CNI_ARGS. */
export function loadBridgeConf(stdin: Buffer, cniArgs: string): BridgeConf {
  const c = loadConf(BridgeConfSchema, stdin) as BridgeConf;
  try {
    validateIfName(c.bridge);
  } catch (e) {
    throw invalidConfig('bridge', `"${c.bridge}" is not a valid interface name: ${(e as CniError).message}`);
  }
  if (c.vlan < 0 || c.vlan > 4094) throw invalidConfig('vlan', `invalid VLAN ID ${c.vlan} (must be between 0 and 4094)`);
  c.trunkIDs = trunkIDs(c.vlanTrunk);
  if (c.hairpinMode && c.promiscMode) throw invalidConfig('promiscMode', 'cannot set hairpin mode and promiscuous mode at the same time');
  if (c.isDefaultGateway) c.isGateway = true;
  if (c.disableContainerInterface && c.ipam?.type) {
    throw invalidConfig('disableContainerInterface', 'cannot use IPAM when the container interface is disabled');
  }
  if (c.isGateway && c.vlan && Buffer.byteLength(`${c.bridge}.${c.vlan}`) > 15) {
    throw invalidConfig('bridge', `gateway interface name "${c.bridge}.${c.vlan}" would be longer than 15 characters`);
  }
  const envMAC = cniArgs ? loadArgs(cniArgs, ['MAC']).MAC : undefined;
  if (envMAC !== undefined && !/^([0-9a-fA-F]{2}[:-]){5}[0-9a-fA-F]{2}$/.test(envMAC)) throw invalidConfig('CNI_ARGS.MAC', `"${envMAC}" is not a MAC address`);
  c.mac = c.runtimeConfig?.mac ?? c.args?.cni?.mac ?? envMAC;
  return c;
}
