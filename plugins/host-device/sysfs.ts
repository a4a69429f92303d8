// Where sysfs says a device's network interface is (more-plugins.md §1.1):
// under `<kernelpath>/net/`, `/sys/bus/pci/devices/<addr>/net/` (or a virtio
// child's `net/`), or an auxiliary device's `net/`; and whether a PCI device is
// bound to a DPDK driver. Every function takes the sysfs root, so the unit
// tests run it over a fake tree.
import { readdirSync, readlinkSync, statSync } from '../../pkg/native/fs.js';
import { basename, join } from 'node:path';
import { invalidConfig } from '../../pkg/types/error.js';

export const SYSFS = '/sys';
/** Drivers that hand a PCI device to user space: no netdev to move (the reference's list). */
const DPDK_DRIVERS = new Set(['vfio-pci', 'uio_pci_generic', 'igb_uio']);

const exists = (p: string) => {
  try {
    statSync(p);
    return true;
  } catch {
    return false;
  }
};

/** Sorted entries of a directory, or undefined when it cannot be read. */
function entries(dir: string): string[] | undefined {
  try {
    return readdirSync(dir).sort();
  } catch {
    return undefined;
  }
}

/** A device the PCI or auxiliary bus names. */
export interface BusDevice {
  /** PCI address (`pciBusID`, or a PCI `runtimeConfig.deviceID`). */
  pci?: string;
  /** Auxiliary device name (a non-PCI `runtimeConfig.deviceID`: a sub-function). */
  aux?: string;
  /** The configuration key it came from, for errors. */
  key: string;
}

/**
 * The bus device of a configuration: `runtimeConfig.deviceID` overrides
 * `pciBusID` when the PCI bus has it, else it must be an auxiliary device.
 */
export function busDevice(conf: { pciBusID: string; runtimeConfig?: { deviceID?: string } }, root = SYSFS): BusDevice | undefined {
  const id = conf.runtimeConfig?.deviceID;
  if (id) {
    if (exists(join(root, 'bus/pci/devices', id))) return { pci: id, key: 'runtimeConfig.deviceID' };
    if (exists(join(root, 'bus/auxiliary/devices', id))) return { aux: id, key: 'runtimeConfig.deviceID' };
    throw invalidConfig('runtimeConfig.deviceID', `runtime config DeviceID ${id} not found or unsupported`);
  }
  return conf.pciBusID ? { pci: conf.pciBusID, key: 'pciBusID' } : undefined;
}

/** True when PCI device `addr` is bound to a DPDK driver; code 7 when its driver link cannot be read. */
export function isDPDK(addr: string, key: string, root = SYSFS): boolean {
  let target: string;
  try {
    target = readlinkSync(join(root, 'bus/pci/devices', addr, 'driver'));
  } catch (e) {
    throw invalidConfig(key, `error with host device: ${(e as Error).message}`);
  }
  return DPDK_DRIVERS.has(basename(target));
}

/**
 * The interface names sysfs lists for a kernel device path, a PCI address or an
 * auxiliary device, in directory order (the reference takes the first that is
 * a link); code 7 naming `key` when there is no `net/` directory.
 */
export function netdevNames(where: { kernelpath?: string; pci?: string; aux?: string }, key: string, root = SYSFS): string[] {
  let dir: string;
  if (where.kernelpath) dir = join(root, where.kernelpath.slice('/sys/'.length), 'net');
  else if (where.aux) dir = join(root, 'bus/auxiliary/devices', where.aux, 'net');
  else {
    const dev = join(root, 'bus/pci/devices', where.pci ?? '');
    dir = join(dev, 'net');
    if (!exists(dir)) {
      // a virtio-net function has its netdev one level down, under virtioN/
      const virtio = (entries(dev) ?? []).find((e) => e.startsWith('virtio') && exists(join(dev, e, 'net')));
      if (!virtio) throw invalidConfig(key, `no net directory under pci device ${where.pci}`);
      dir = join(dev, virtio, 'net');
    }
  }
  const names = entries(dir);
  if (!names?.length) throw invalidConfig(key, `failed to find network devices at "${dir.startsWith(root) ? SYSFS + dir.slice(root.length) : dir}"`);
  return names;
}
