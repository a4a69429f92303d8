// dummy configuration: the common keys; an IPAM type is required, except by
// DEL, which reads only what it needs and never refuses to tear down.
import type { Static } from '@sinclair/typebox';
import { invalidConfig } from '../../pkg/types/error.js';
import { loadConf } from '../../pkg/types/conf.js';
import { lenientField } from '../../pkg/types/lenient.js';
import { DummyConfSchema } from './schema.js';

export type DummyConf = Static<typeof DummyConfSchema> & { ipam: { type: string } };

/** Loads the configuration of ADD, CHECK, STATUS and GC: `ipam.type` must be set. */
export function loadDummyConf(stdin: Buffer): DummyConf {
  const conf = loadConf(DummyConfSchema, stdin);
  if (!conf.ipam?.type) throw invalidConfig('ipam.type', 'is required: dummy interface requires an IPAM configuration');
  return conf as DummyConf;
}

/** DEL's view: the IPAM type when the configuration names one as a string, else none. */
export function delIPAMType(stdin: Buffer): string {
  const type = lenientField(stdin, 'ipam', 'type');
  return typeof type === 'string' ? type : '';
}
