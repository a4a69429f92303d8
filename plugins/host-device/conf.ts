// host-device configuration (more-plugins.md §1.1): one of the selectors is
// required on ADD, CHECK and STATUS; DEL reads only what finds the device again.
import type { Static } from '@sinclair/typebox';
import { parseMAC } from '../../pkg/ip/link.js';
import { loadConf } from '../../pkg/types/conf.js';
import { invalidConfig } from '../../pkg/types/error.js';
import { HostDeviceConfSchema } from './schema.js';

export type HostDeviceConf = Static<typeof HostDeviceConfSchema>;

/**
 * Loads a host-device configuration. DEL (`forDel`) asks for nothing beyond
 * valid JSON types: it finds the device by CNI_IFNAME and its alias, whatever
 * selector the configuration had.
 */
export function loadHostDeviceConf(stdin: Buffer, forDel = false): HostDeviceConf {
  const c = loadConf(HostDeviceConfSchema, stdin, { lenient: forDel });
  if (forDel) return c;
  if (!c.device && !c.hwaddr && !c.kernelpath && !c.pciBusID && !c.runtimeConfig?.deviceID) {
    throw invalidConfig('device', 'specify either "device", "hwaddr", "kernelpath" or "pciBusID"');
  }
  if (c.hwaddr && !parseMAC(c.hwaddr)) throw invalidConfig('hwaddr', `"${c.hwaddr}" is not a MAC address`);
  if (c.kernelpath && !c.kernelpath.startsWith('/sys/devices/')) {
    throw invalidConfig('kernelpath', `kernel device path "${c.kernelpath}" must be absolute and begin with /sys/devices/`);
  }
  return c;
}
