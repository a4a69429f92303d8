// host-device's sysfs look-ups over a fake /sys tree (no root, no PCI device
// needed): kernelpath, PCI and virtio-net functions, auxiliary devices,
// runtimeConfig.deviceID resolution, DPDK drivers; and the config checks.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CniError } from '../../pkg/types/error.js';
import { loadHostDeviceConf } from '../../plugins/host-device/conf.js';
import { busDevice, isDPDK, netdevNames } from '../../plugins/host-device/sysfs.js';

const code7 = (fn: () => unknown, msg: RegExp) => assert.throws(fn, (e: unknown) => e instanceof CniError && e.code === 7 && msg.test(e.message));

describe('host-device sysfs look-ups', () => {
  let root = '';
  const mk = (rel: string) => fs.mkdirSync(path.join(root, rel), { recursive: true });
  before(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-hd-sysfs-'));
    // a NIC with two ports' netdevs listed out of order, bound to a kernel driver
    mk('devices/pci0000:00/0000:00:1f.6/net/enp0s31f6b');
    mk('devices/pci0000:00/0000:00:1f.6/net/enp0s31f6a');
    mk('drivers/e1000e');
    mk('bus/pci/devices');
    fs.symlinkSync('../../../devices/pci0000:00/0000:00:1f.6', path.join(root, 'bus/pci/devices/0000:00:1f.6'));
    fs.symlinkSync('../../../../drivers/e1000e', path.join(root, 'devices/pci0000:00/0000:00:1f.6/driver'));
    // a virtio-net function: its netdev sits under virtio3/
    mk('devices/pci0000:00/0000:00:03.0/virtio3/net/ens3');
    fs.symlinkSync('../../../devices/pci0000:00/0000:00:03.0', path.join(root, 'bus/pci/devices/0000:00:03.0'));
    // a VF handed to DPDK: no netdev
    mk('devices/pci0000:00/0000:00:04.1');
    mk('drivers/vfio-pci');
    fs.symlinkSync('../../../devices/pci0000:00/0000:00:04.1', path.join(root, 'bus/pci/devices/0000:00:04.1'));
    fs.symlinkSync('../../../../drivers/vfio-pci', path.join(root, 'devices/pci0000:00/0000:00:04.1/driver'));
    // a sub-function on the auxiliary bus
    mk('bus/auxiliary/devices/mlx5_core.sf.4/net/enp3s0f0s4');
  });
  after(() => fs.rmSync(root, { recursive: true, force: true }));

  it('kernelpath: the entries of <kernelpath>/net, sorted', () => {
    assert.deepEqual(netdevNames({ kernelpath: '/sys/devices/pci0000:00/0000:00:1f.6' }, 'kernelpath', root), ['enp0s31f6a', 'enp0s31f6b']);
    code7(() => netdevNames({ kernelpath: '/sys/devices/virtual/net/chd0' }, 'kernelpath', root), /^kernelpath: failed to find network devices at "\/sys\/devices\/virtual\/net\/chd0\/net"$/);
  });

  it('pciBusID: net/ of the function, else of its virtio child', () => {
    assert.deepEqual(netdevNames({ pci: '0000:00:1f.6' }, 'pciBusID', root), ['enp0s31f6a', 'enp0s31f6b']);
    assert.deepEqual(netdevNames({ pci: '0000:00:03.0' }, 'pciBusID', root), ['ens3']);
    code7(() => netdevNames({ pci: '0000:00:04.1' }, 'pciBusID', root), /^pciBusID: no net directory under pci device 0000:00:04\.1$/);
    code7(() => netdevNames({ pci: '0000:99:00.0' }, 'pciBusID', root), /no net directory/);
  });

  it('runtimeConfig.deviceID: a PCI address overrides pciBusID, else an auxiliary device, else code 7', () => {
    assert.deepEqual(busDevice({ pciBusID: '0000:00:03.0', runtimeConfig: { deviceID: '0000:00:1f.6' } }, root), { pci: '0000:00:1f.6', key: 'runtimeConfig.deviceID' });
    const aux = busDevice({ pciBusID: '0000:00:03.0', runtimeConfig: { deviceID: 'mlx5_core.sf.4' } }, root);
    assert.deepEqual(aux, { aux: 'mlx5_core.sf.4', key: 'runtimeConfig.deviceID' });
    assert.deepEqual(netdevNames(aux!, aux!.key, root), ['enp3s0f0s4']);
    code7(() => busDevice({ pciBusID: '', runtimeConfig: { deviceID: 'nope' } }, root), /^runtimeConfig\.deviceID: runtime config DeviceID nope not found or unsupported$/);
    assert.deepEqual(busDevice({ pciBusID: '0000:00:03.0' }, root), { pci: '0000:00:03.0', key: 'pciBusID' });
    assert.equal(busDevice({ pciBusID: '' }, root), undefined);
  });

  it('DPDK mode: the driver link names vfio-pci, uio_pci_generic or igb_uio', () => {
    assert.equal(isDPDK('0000:00:04.1', 'pciBusID', root), true);
    assert.equal(isDPDK('0000:00:1f.6', 'pciBusID', root), false);
    code7(() => isDPDK('0000:00:03.0', 'pciBusID', root), /^pciBusID: error with host device: /);
  });
});

describe('host-device configuration', () => {
  const buf = (o: object) => Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'host-device', ...o }));
  it('needs a selector on ADD, not on DEL; keys in any case, as Go reads them', () => {
    code7(() => loadHostDeviceConf(buf({})), /^device: specify either/);
    assert.equal(loadHostDeviceConf(buf({}), true).device, '');
    assert.equal(loadHostDeviceConf(buf({ pciBusId: '0000:00:1f.6' })).pciBusID, '0000:00:1f.6');
    assert.equal(loadHostDeviceConf(buf({ dpdkmode: true, device: 'x' })).DPDKMode, true);
    assert.equal(loadHostDeviceConf(buf({ runtimeConfig: { deviceID: 'x' } })).runtimeConfig?.deviceID, 'x');
  });
  it('kernelpath must be under /sys/devices/; hwaddr must be a MAC; a wrong type is refused by ADD and dropped by DEL', () => {
    code7(() => loadHostDeviceConf(buf({ kernelpath: '/sys/class/net/x' })), /^kernelpath: kernel device path "\/sys\/class\/net\/x" must be absolute/);
    code7(() => loadHostDeviceConf(buf({ hwaddr: '00:11' })), /^hwaddr: "00:11" is not a MAC address$/);
    code7(() => loadHostDeviceConf(buf({ device: 7 })), /^device: 7 must be a string$/);
    // DEL never blocks teardown: it reads what it can and finds the device through its record or alias
    assert.ok(!loadHostDeviceConf(buf({ device: 7, hwaddr: 65536 }), true).device);
  });
});
