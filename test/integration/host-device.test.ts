// bin/host-device run as a runtime runs it, inside a test netns playing the
// host (the "host device" is a veth there), side by side with Debian's
// /usr/lib/cni/host-device: results per spec version, kernel state, CHECK,
// DEL giving the device back (name, MTU, up state, alias), DEL after a rename
// inside the container, ADD by one binary and DEL by the other, selectors,
// bad inputs and rollback leaving nothing behind.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { execPlugin, ipJSON, isRoot, REF_BIN, SPEC_VERSIONS, type TestNetns } from '../helpers/index.js';
import { netnsPairPerTest } from '../helpers/netns-pair.js';
import { addrs, cniPath, fakeReservations, fakeScript, haveOurHostLocal, haveRefHostLocal, hostLocalReservations, ipamDirsPerSuite, link, ping, routes } from '../helpers/bridge-env.js';

const skip = !isRoot && 'needs root';
const REF = `${REF_BIN}/host-device`;
const haveRef = fs.existsSync(REF);
const STATE_DIR = '/run/cni/host-device';
const hasCheck = (v: string) => !['0.1.0', '0.2.0', '0.3.0', '0.3.1'].includes(v);
const legacy = (v: string) => v === '0.1.0' || v === '0.2.0';

/** Links of a netns other than lo. */
const nonLo = (ns: TestNetns) => ipJSON(ns, 'link', 'show').filter((l: any) => l.ifname !== 'lo').map((l: any) => l.ifname);

/** What DEL must give back and ADD must keep: name, MTU, up state, alias, MAC. */
function deviceState(ns: TestNetns, name: string) {
  const l = link(ns, name);
  if (!l) return undefined;
  return { name: l.ifname, mtu: l.mtu, up: l.flags.includes('UP'), alias: l.ifalias ?? '', mac: l.address };
}

/** A result with per-container values masked. */
function shape(r: any): any {
  return JSON.parse(JSON.stringify(r), (k, v) => (k === 'mac' ? '<mac>' : k === 'sandbox' ? '<ns>' : (k === 'address' || k === 'ip') && typeof v === 'string' ? v.replace(/\.\d+\//, '.X/') : v));
}

describe('host-device', { skip }, () => {
  const dirs = ipamDirsPerSuite();
  let n = 0;
  let net = '';
  beforeEach(() => {
    n++;
    net = `cnits-hd-${process.pid}-${n}`;
  });
  // two host devices: veths whose peers stay on the host, both up with MTU 1400, chd0 with an alias
  const { host, ctr, ctr2 } = netnsPairPerTest({
    tag: 'hd',
    ctr2: true,
    veths: ['chd0', 'chd1'].map((d) => ({ name: d, peer: `${d}p`, mtu: 1400 })),
    setup: (p) => p.host.ip('link', 'set', 'chd0', 'alias', 'uplink-a'),
  });
  afterEach(() => fs.rmSync(`${STATE_DIR}/${net}`, { recursive: true, force: true }));

  const hostLocal = () => ({
    type: 'host-local',
    dataDir: dirs.dataDir,
    ranges: [[{ subnet: `10.206.${n}.0/24`, rangeStart: `10.206.${n}.10`, rangeEnd: `10.206.${n}.100` }]],
    routes: [{ dst: '10.207.0.0/16' }],
  });
  const run = (command: string, stdin: object, o: { bin?: string; cid?: string; ns?: TestNetns | null; ifName?: string; env?: Record<string, string> } = {}) =>
    execPlugin(o.bin ?? 'host-device', {
      command,
      containerID: o.cid ?? 'cnits-hd-1',
      netns: o.ns === null ? undefined : (o.ns ?? ctr).path,
      ifName: o.ifName ?? 'eth0',
      cniPath: cniPath(dirs.refIPAM),
      stdin,
      env: o.env,
      hostNetns: host.name,
    });

  for (const v of SPEC_VERSIONS) {
    const withRef = v !== '1.1.0' && haveRef;
    it(`[${v}] ADD with host-local: same result and kernel state as Debian's; CHECK; DEL restores name, MTU, up and alias; DEL again and without netns`, { skip: (withRef ? !haveRefHostLocal && 'Debian plugins missing' : !haveOurHostLocal && 'bin/host-local not built') }, () => {
      const conf = { cniVersion: v, name: net, type: 'host-device', device: 'chd0', dns: { nameservers: ['10.206.0.53'] }, ipam: hostLocal() };
      const before = deviceState(host, 'chd0');
      const add = run('ADD', conf);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.equal(add.json.cniVersion, v);
      if (legacy(v)) {
        assert.match(add.json.ip4.ip, new RegExp(`^10\\.206\\.${n}\\.\\d+/24$`));
      } else {
        assert.deepEqual(add.json.interfaces, [{ name: 'eth0', mac: before!.mac, sandbox: ctr.path }]);
        assert.equal(add.json.ips[0].interface, 0);
        assert.deepEqual(add.json.dns, { nameservers: ['10.206.0.53'] });
      }
      assert.equal(link(host, 'chd0'), undefined, 'gone from the host');
      const mine = deviceState(ctr, 'eth0');
      assert.deepEqual(mine, { name: 'eth0', mtu: 1400, up: true, alias: 'chd0', mac: before!.mac });
      assert.match(addrs(ctr, 'eth0', 4)[0], new RegExp(`^10\\.206\\.${n}\\.\\d+/24$`));
      assert.ok(routes(ctr, 4).some((r) => r.dst === '10.207.0.0/16' && r.dev === 'eth0'));
      // the peer left on the host reaches the container through the moved device
      host.ip('addr', 'add', `10.206.${n}.250/24`, 'dev', 'chd0p');
      assert.ok(ping(ctr, `10.206.${n}.250`), 'traffic through the moved device');
      if (withRef) {
        const ref = run('ADD', { ...conf, device: 'chd1' }, { bin: REF, cid: 'cnits-hd-2', ns: ctr2 });
        assert.equal(ref.code, 0, ref.stdout + ref.stderr);
        assert.deepEqual(shape(add.json), shape(ref.json));
        const theirs = deviceState(ctr2, 'eth0')!;
        assert.deepEqual({ ...mine, alias: 'x', mac: 'x' }, { ...theirs, alias: 'x', mac: 'x' });
        assert.equal(theirs.alias, 'chd1', 'both keep the host name in the alias');
        assert.deepEqual(routes(ctr, 4).map((r) => ({ ...r, prefsrc: 'x' })), routes(ctr2, 4).map((r) => ({ ...r, prefsrc: 'x' })));
        if (hasCheck(v)) {
          // Debian 1.1.1's CHECK looks for a gateway-less route where ConfigureIface added one via the gateway:
          // it fails on its own ADD as on ours, with the same message
          const own = run('CHECK', { ...conf, device: 'chd1', prevResult: ref.json }, { bin: REF, cid: 'cnits-hd-2', ns: ctr2 });
          const ofOurs = run('CHECK', { ...conf, prevResult: add.json }, { bin: REF });
          assert.deepEqual([ofOurs.code, ofOurs.json?.msg], [own.code, own.json?.msg]);
        }
        assert.equal(run('DEL', { ...conf, device: 'chd1' }, { bin: REF, cid: 'cnits-hd-2', ns: ctr2 }).code, 0);
      }
      if (hasCheck(v)) {
        const chk = run('CHECK', { ...conf, prevResult: add.json });
        assert.equal(chk.code, 0, chk.stdout + chk.stderr);
        const other = run('CHECK', { ...conf, device: 'chd1', prevResult: add.json });
        assert.equal(other.code, 1);
        assert.match(other.json.msg, /is not host device "chd1"/);
      }
      const del = run('DEL', conf);
      assert.equal(del.code, 0, del.stdout + del.stderr);
      assert.equal(del.stdout, '');
      assert.deepEqual(nonLo(ctr), []);
      assert.deepEqual(deviceState(host, 'chd0'), before, 'back under its name with its MTU, up state and alias');
      assert.deepEqual(addrs(host, 'chd0'), [], 'no container address comes back with it');
      assert.deepEqual(hostLocalReservations(dirs.dataDir, net), []);
      assert.equal(fs.existsSync(`${STATE_DIR}/${net}`), false, 'the state and its directory are gone');
      assert.equal(run('DEL', conf).code, 0, 'a second DEL succeeds');
      assert.equal(run('DEL', conf, { ns: null }).code, 0, 'DEL without CNI_NETNS succeeds');
    });
  }

  for (const v of ['0.3.1', '1.0.0', '1.1.0']) {
    it(`[${v}] no IPAM: the device is moved and up, no addresses; the result as Debian's`, () => {
      const conf = { cniVersion: v, name: net, type: 'host-device', device: 'chd0' };
      const add = run('ADD', conf);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.deepEqual(Object.keys(add.json).sort(), ['cniVersion', 'dns', 'interfaces']);
      assert.deepEqual(addrs(ctr, 'eth0'), []);
      if (v !== '1.1.0' && haveRef) {
        const ref = run('ADD', { ...conf, device: 'chd1' }, { bin: REF, cid: 'cnits-hd-2', ns: ctr2 });
        assert.deepEqual(shape(add.json), shape(ref.json));
      }
      if (hasCheck(v)) assert.equal(run('CHECK', { ...conf, prevResult: add.json }).code, 0);
      assert.equal(run('DEL', conf).code, 0);
      assert.equal(deviceState(host, 'chd0')?.up, true);
    });
  }

  it('[0.2.0] no IPAM cannot be expressed: code 7 on cniVersion before the device moves (Debian moves it and leaves it inside)', { skip: !haveRef && 'Debian plugins missing' }, () => {
    const conf = { cniVersion: '0.2.0', name: net, type: 'host-device', device: 'chd0' };
    const r = run('ADD', conf);
    assert.deepEqual([r.code, r.json.code], [1, 7]);
    assert.match(r.json.msg, /^cniVersion: cannot convert/);
    assert.ok(link(host, 'chd0'));
    const ref = run('ADD', { ...conf, device: 'chd1' }, { bin: REF, ns: ctr2 });
    assert.equal(ref.code, 1);
    assert.deepEqual(nonLo(ctr2), ['eth0'], 'the reference leaves the device in the container');
  });

  it('DEL after the device was renamed inside the container gives it back (Debian fails: plugins#773)', { skip: !haveRef && 'Debian plugins missing' }, () => {
    const conf = { cniVersion: '1.0.0', name: net, type: 'host-device', device: 'chd0' };
    const before = deviceState(host, 'chd0');
    assert.equal(run('ADD', conf).code, 0);
    ctr.ip('link', 'set', 'eth0', 'down');
    ctr.ip('link', 'set', 'eth0', 'name', 'renamed0');
    ctr.ip('link', 'set', 'renamed0', 'mtu', '1300', 'up');
    const del = run('DEL', conf);
    assert.equal(del.code, 0, del.stdout + del.stderr);
    assert.deepEqual(deviceState(host, 'chd0'), before);
    assert.deepEqual(nonLo(ctr), []);
    // Debian's: ADD, rename, DEL fails with the link not found
    const refConf = { ...conf, device: 'chd1' };
    assert.equal(run('ADD', refConf, { bin: REF, ns: ctr2, cid: 'cnits-hd-2' }).code, 0);
    ctr2.ip('link', 'set', 'eth0', 'name', 'renamed0');
    const ref = run('DEL', refConf, { bin: REF, ns: ctr2, cid: 'cnits-hd-2' });
    assert.equal(ref.code, 1);
    assert.match(ref.json.msg, /failed to find "eth0"/);
    // ours finds Debian's renamed device by its alias (the configured device)
    assert.equal(run('DEL', refConf, { ns: ctr2, cid: 'cnits-hd-2' }).code, 0);
    assert.equal(link(host, 'chd1')?.ifname, 'chd1');
    assert.deepEqual(nonLo(ctr2), []);
  });

  it("ADD by Debian's binary, DEL by ours, and the other way round", { skip: !haveRef && 'Debian plugins missing' }, () => {
    const conf = { cniVersion: '1.0.0', name: net, type: 'host-device', device: 'chd0', ipam: hostLocal() };
    const add = run('ADD', conf, { bin: REF });
    assert.equal(add.code, 0, add.stdout);
    const del = run('DEL', conf);
    assert.equal(del.code, 0, del.stdout + del.stderr);
    assert.deepEqual(nonLo(ctr), []);
    const back = deviceState(host, 'chd0');
    // no record of the original up state: down, as Debian's DEL leaves it
    assert.deepEqual({ mtu: back?.mtu, up: back?.up }, { mtu: 1400, up: false });
    assert.deepEqual(hostLocalReservations(dirs.dataDir, net), []);
    host.ip('link', 'set', 'chd0', 'up');
    const ours = run('ADD', conf);
    assert.equal(ours.code, 0, ours.stdout);
    const refDel = run('DEL', conf, { bin: REF });
    assert.equal(refDel.code, 0, refDel.stdout);
    assert.equal(link(host, 'chd0')?.ifname, 'chd0', "Debian's DEL finds our device by its alias");
    assert.deepEqual(hostLocalReservations(dirs.dataDir, net), []);
    assert.equal(run('DEL', conf).code, 0, 'our DEL after theirs: nothing left to do');
    assert.equal(fs.existsSync(`${STATE_DIR}/${net}/cnits-hd-1_eth0.json`), false);
  });

  it('DEL without CNI_NETNS releases the IPAM reservation (Debian leaks it)', { skip: !haveRef && 'Debian plugins missing' }, () => {
    const conf = { cniVersion: '1.0.0', name: net, type: 'host-device', device: 'chd0', ipam: hostLocal() };
    assert.equal(run('ADD', conf).code, 0);
    assert.equal(run('ADD', { ...conf, device: 'chd1' }, { bin: REF, ns: ctr2, cid: 'cnits-hd-2' }).code, 0);
    assert.equal(hostLocalReservations(dirs.dataDir, net).length, 2);
    ctr.remove();
    assert.equal(run('DEL', conf, { ns: null }).code, 0);
    assert.equal(run('DEL', { ...conf, device: 'chd1' }, { bin: REF, ns: null, cid: 'cnits-hd-2' }).code, 0);
    assert.equal(hostLocalReservations(dirs.dataDir, net).length, 1, "ours released, Debian's kept its reservation");
  });

  it('hwaddr selects the link with that MAC (a macvlan on a veth here)', () => {
    host.ip('link', 'add', 'chdm0', 'link', 'chd1', 'type', 'macvlan', 'mode', 'bridge');
    host.ip('link', 'set', 'chdm0', 'address', '02:06:00:00:00:0a', 'up');
    const conf = { cniVersion: '1.0.0', name: net, type: 'host-device', hwaddr: '02-06-00-00-00-0A' };
    const add = run('ADD', conf, { ifName: 'net1' });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.equal(link(ctr, 'net1')?.ifalias, 'chdm0');
    assert.equal(link(ctr, 'net1')?.linkinfo?.info_kind, 'macvlan');
    assert.equal(run('CHECK', { ...conf, prevResult: add.json }, { ifName: 'net1' }).code, 0);
    assert.equal(run('DEL', conf, { ifName: 'net1' }).code, 0);
    assert.equal(deviceState(host, 'chdm0')?.mac, '02:06:00:00:00:0a');
    assert.equal(deviceState(host, 'chdm0')?.up, true);
  });

  it('kernelpath: the first entry of <kernelpath>/net that is a link (here /sys/devices/virtual: the virtual netdevs), as Debian\'s picks', { skip: !haveRef && 'Debian plugins missing' }, () => {
    const conf = { cniVersion: '1.0.0', name: net, type: 'host-device', kernelpath: '/sys/devices/virtual' };
    const add = run('ADD', conf);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.equal(link(ctr, 'eth0')?.ifalias, 'chd0', 'chd0 sorts first');
    const ref = run('ADD', conf, { bin: REF, ns: ctr2, cid: 'cnits-hd-2' });
    assert.equal(ref.code, 0, ref.stdout);
    assert.equal(link(ctr2, 'eth0')?.ifalias, 'chd0p', 'Debian\'s takes the next one, chd0 being gone');
    assert.equal(run('DEL', conf, { bin: REF, ns: ctr2, cid: 'cnits-hd-2' }).code, 0);
    assert.equal(run('CHECK', { ...conf, prevResult: add.json }).code, 0);
    assert.equal(run('DEL', conf).code, 0);
    assert.equal(deviceState(host, 'chd0')?.alias, 'uplink-a');
  });

  it('bad selectors: code 7 naming the key, nothing moved; Debian fails on the same inputs', () => {
    const base = { cniVersion: '1.0.0', name: net, type: 'host-device' };
    const cases: Array<[object, RegExp]> = [
      [{}, /^device: specify either "device", "hwaddr", "kernelpath" or "pciBusID"$/],
      [{ device: 'chd9' }, /^device: failed to find host device "chd9"/],
      [{ hwaddr: '02:06:00:00:99:99' }, /^hwaddr: failed to find host device/],
      [{ hwaddr: 'zz' }, /^hwaddr: "zz" is not a MAC address$/],
      [{ kernelpath: 'devices/virtual/net/chd0' }, /^kernelpath: kernel device path .* must be absolute and begin with \/sys\/devices\/$/],
      // a veth has no bus device: its sysfs directory has no net/ below it
      [{ kernelpath: '/sys/devices/virtual/net/chd0' }, /^kernelpath: failed to find network devices at "\/sys\/devices\/virtual\/net\/chd0\/net"$/],
      [{ pciBusID: '0000:ee:1f.7' }, /^pciBusID: error with host device/],
      [{ runtimeConfig: { deviceID: '0000:ee:1f.7' } }, /^runtimeConfig\.deviceID: runtime config DeviceID 0000:ee:1f\.7 not found or unsupported$/],
    ];
    for (const [extra, msg] of cases) {
      const r = run('ADD', { ...base, ...extra });
      assert.equal(r.code, 1, JSON.stringify(extra));
      assert.equal(r.json.code, 7, `${JSON.stringify(extra)}: ${r.stdout}`);
      assert.match(r.json.msg, msg);
      if (haveRef) assert.equal(run('ADD', { ...base, ...extra }, { bin: REF }).code, 1, `Debian fails too: ${JSON.stringify(extra)}`);
    }
    assert.deepEqual(nonLo(ctr), []);
    assert.deepEqual(deviceState(host, 'chd0')?.alias, 'uplink-a');
    const taken = run('ADD', { ...base, device: 'chd0' }, { ifName: 'lo' });
    assert.equal(taken.code, 1);
    assert.match(taken.json.msg, /already exists/);
    assert.ok(link(host, 'chd0'), 'an interface name taken in the container: nothing moved');
  });

  for (const step of ['link', 'ipam', 'configure']) {
    it(`a failure after ${step}: the device is back as it was, no reservation, no state`, { skip: !haveOurHostLocal && 'bin/host-local not built' }, () => {
      const conf = { cniVersion: '1.0.0', name: net, type: 'host-device', device: 'chd0', ipam: hostLocal() };
      const before = deviceState(host, 'chd0');
      const r = run('ADD', conf, { env: { CNI_TS_FAIL_AFTER: step } });
      assert.equal(r.code, 1);
      assert.match(r.json.msg, new RegExp(`injected failure after ${step}`));
      assert.deepEqual(deviceState(host, 'chd0'), before);
      assert.deepEqual(addrs(host, 'chd0'), []);
      assert.deepEqual(nonLo(ctr), []);
      assert.deepEqual(hostLocalReservations(dirs.dataDir, net), []);
      assert.equal(fs.existsSync(`${STATE_DIR}/${net}/cnits-hd-1_eth0.json`), false);
    });
  }

  it('IPAM returning no address: the reference\'s error, the device back on the host, the reservation released', () => {
    const dir = fs.mkdtempSync('/tmp/cnits-hd-');
    try {
      const script = fakeScript(dir, { result: { cniVersion: '1.0.0', ips: [] } });
      const r = run('ADD', { cniVersion: '1.0.0', name: net, type: 'host-device', device: 'chd0', ipam: { type: 'fake-ipam', script } });
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.json.msg, /IPAM plugin returned missing IP config/);
      assert.ok(link(host, 'chd0'));
      assert.deepEqual(fakeReservations(script), []);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('DEL when the host name is taken again: the reference\'s error, the device stays in the container', () => {
    const conf = { cniVersion: '1.0.0', name: net, type: 'host-device', device: 'chd0' };
    assert.equal(run('ADD', conf).code, 0);
    host.ip('link', 'add', 'chd0', 'type', 'veth', 'peer', 'name', 'chd0q');
    const del = run('DEL', conf);
    assert.equal(del.code, 1);
    assert.equal(del.json.msg, 'failed to rename device "eth0" to "chd0": file exists');
    assert.deepEqual(nonLo(ctr), ['eth0']);
    host.ip('link', 'del', 'chd0');
    assert.equal(run('DEL', conf).code, 0, 'a retry once the name is free');
    assert.equal(deviceState(host, 'chd0')?.alias, 'uplink-a');
  });

  it('GC removes the state of attachments not valid any more and forwards to IPAM; STATUS', { skip: !haveOurHostLocal && 'bin/host-local not built' }, () => {
    const conf = { cniVersion: '1.1.0', name: net, type: 'host-device', device: 'chd0', ipam: hostLocal() };
    assert.equal(run('ADD', conf).code, 0);
    fs.writeFileSync(`${STATE_DIR}/${net}/cnits-hd-gone_eth0.json`, '{}');
    const gc = run('GC', { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'cnits-hd-1', ifname: 'eth0' }] });
    assert.equal(gc.code, 0, gc.stdout);
    assert.deepEqual(fs.readdirSync(`${STATE_DIR}/${net}`), ['cnits-hd-1_eth0.json']);
    assert.equal(hostLocalReservations(dirs.dataDir, net).length, 1);
    assert.equal(run('STATUS', conf).code, 0);
    assert.equal(run('DEL', conf).code, 0);
  });
});
