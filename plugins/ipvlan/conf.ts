// ipvlan configuration (§2.4): the master may come from a chained prevResult's
// single interface, and the addresses from that prevResult when there is no IPAM.
import type { Static } from '@sinclair/typebox';
import type { IpvlanMode } from '../../pkg/ip/sublink.js';
import { loadConf, prevResultOf } from '../../pkg/types/conf.js';
import { invalidConfig } from '../../pkg/types/error.js';
import { IpvlanConfSchema } from './schema.js';
import type { Result } from '../../pkg/types/result.js';


export type IpvlanConf = Omit<Static<typeof IpvlanConfSchema>, 'mode'> & { mode: IpvlanMode; prev?: Result };

/** Loads an ipvlan configuration and its prevResult (1.1.0 shape), if any; DEL (`forDel`) drops bad values and skips prevResult. */
export function loadIpvlanConf(stdin: Buffer, forDel = false): IpvlanConf {
  if (forDel) {
    const d = loadConf(IpvlanConfSchema, stdin, { lenient: true });
    return { ...d, mode: d.mode || 'l2' };
  }
  const c = loadConf(IpvlanConfSchema, stdin);
  return { ...c, mode: c.mode || 'l2', prev: prevResultOf(c) };
}

/**
 * ADD's master: the configured one, else a chained prevResult's only
 * interface, else (no prevResult) '' for the default-route interface.
 */
export function chainedMaster(c: IpvlanConf): string {
  if (c.master || !c.prev) return c.master;
  const ifs = c.prev.interfaces ?? [];
  if (ifs.length !== 1 || !ifs[0].name) throw invalidConfig('master', 'not set, and the chained prevResult lacks a single named interface to use');
  return ifs[0].name;
}

/** ADD needs addresses from IPAM or from a chained prevResult; checked before anything is created. */
export function requireAddresses(c: IpvlanConf): void {
  if (!c.ipam?.type && !c.prev?.ips?.length) throw invalidConfig('ipam.type', 'is required unless chained after a plugin whose prevResult has IPs');
}
