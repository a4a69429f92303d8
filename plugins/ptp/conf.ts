// ptp configuration (§2.2): IPAM is required.
import type { Static } from '@sinclair/typebox';
import { loadConf } from '../../pkg/types/conf.js';
import { invalidConfig } from '../../pkg/types/error.js';
import { PtpConfSchema } from './schema.js';

export type PtpConf = Static<typeof PtpConfSchema>;

/** Loads and checks a ptp configuration; DEL (`forDel`) drops bad values and requires nothing. */
export function loadPtpConf(stdin: Buffer, forDel = false): PtpConf {
  if (forDel) return loadConf(PtpConfSchema, stdin, { lenient: true });
  const c = loadConf(PtpConfSchema, stdin);
  if (!c.ipam?.type) throw invalidConfig('ipam.type', 'is required: ptp needs an IPAM plugin');
  return c;
}
