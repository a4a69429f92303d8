// vrf configuration: `vrfname` (required) and `table`; DEL reads only the name.
import type { Static } from '@sinclair/typebox';
import { utf8 } from '../../pkg/bytes/index.js';
import { invalidConfig } from '../../pkg/types/error.js';
import { loadConf } from '../../pkg/types/conf.js';
import { lenientField } from '../../pkg/types/lenient.js';
import { VRFConfSchema } from './schema.js';

export type VRFConf = Static<typeof VRFConfSchema>;

/** Loads the configuration of ADD and CHECK. */
export function loadVRFConf(stdin: Buffer): VRFConf {
  const conf = loadConf(VRFConfSchema, stdin);
  if (!conf.vrfname) throw invalidConfig('vrfname', 'is required: configuration is expected to have a valid vrf name');
  // the kernel's rules for a link name, checked before anything is touched
  if (!isLinkName(conf.vrfname)) {
    throw invalidConfig('vrfname', `${JSON.stringify(conf.vrfname)} is not a valid link name (at most 15 bytes, no "/", ":" or whitespace)`);
  }
  return conf;
}

/** The kernel's rules for a link name. */
function isLinkName(name: string): boolean {
  return utf8(name).length <= 15 && !/[/:\s]/.test(name) && name !== '.' && name !== '..';
}

/** DEL's view: the VRF name when the configuration gives one that can name a link (no ADD made any other), else none. */
export function delVRFName(stdin: Buffer): string {
  const name = lenientField(stdin, 'vrfname');
  return typeof name === 'string' && isLinkName(name) ? name : '';
}
