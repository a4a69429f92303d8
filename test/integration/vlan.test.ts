// bin/vlan run as a runtime runs it, inside a test netns playing the host (its
// master is a veth there), side by side with Debian's /usr/lib/cni/vlan.
// This host's kernel may lack 8021q: the tests then skip here and run in the
// qemu guest (make test-vm, CNI_TS_VM=1), where a missing 8021q is a failure.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { execPlugin, ipJSON, isRoot, kernelCanAddSublink, REF_BIN, type TestNetns } from '../helpers/index.js';
import { netnsPairPerTest } from '../helpers/netns-pair.js';
import { addrs, cniPath, fakeReservations, fakeScript, haveRefHostLocal, hostLocalReservations, ipamDirsPerSuite, link, ping } from '../helpers/bridge-env.js';

// Inside the test VM (CNI_TS_VM=1) these tests must run: a missing 8021q fails them there.
const skip = (!isRoot && 'needs root') || (!process.env.CNI_TS_VM && !kernelCanAddSublink('vlprobe', ['type', 'vlan', 'id', '5']) && 'kernel lacks 802.1Q VLAN support (CONFIG_VLAN_8021Q): run make test-vm');
const REF = `${REF_BIN}/vlan`;
const nonLo = (ns: TestNetns) => ipJSON(ns, 'link', 'show').filter((l: any) => l.ifname !== 'lo').map((l: any) => l.ifname);

describe('vlan', { skip }, () => {
  const dirs = ipamDirsPerSuite();
  let n = 150;
  beforeEach(() => {
    n++;
  });
  // two masters, so that Debian's vlan and ours can both use VLAN 42 (one VLAN ID per master)
  const { host, ctr, ctr2 } = netnsPairPerTest({ tag: 'vl', ctr2: true, veths: ['mst0', 'mst2'].map((m) => ({ name: m, peer: `${m}p` })) });

  const hostLocal = () => ({ type: 'host-local', dataDir: dirs.dataDir, ranges: [[{ subnet: `10.231.${n}.0/24`, rangeStart: `10.231.${n}.10` }]] });
  const run = (command: string, stdin: object, o: { bin?: string; cid?: string; ns?: TestNetns | null; env?: Record<string, string> } = {}) =>
    execPlugin(o.bin ?? 'vlan', {
      command,
      containerID: o.cid ?? 'ctr1',
      netns: o.ns === null ? undefined : (o.ns ?? ctr).path,
      ifName: 'eth0',
      cniPath: cniPath(dirs.refIPAM),
      stdin,
      env: o.env,
      hostNetns: host.name,
    });

  it('vlan [1.0.0] ADD with host-local, as Debian\'s: result, VLAN ID, MTU, address; tagged traffic reaches the master\'s peer; CHECK, DEL, DEL again', { skip: !haveRefHostLocal && 'Debian plugins missing' }, () => {
    const net = `vlv${n}`;
    const conf = { cniVersion: '1.0.0', name: net, type: 'vlan', master: 'mst0', vlanId: 42, mtu: 1400, ipam: hostLocal() };
    const add = run('ADD', conf);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.deepEqual(add.json.interfaces, [{ name: 'eth0', mac: link(ctr, 'eth0').address, sandbox: ctr.path }]);
    const l = link(ctr, 'eth0');
    assert.deepEqual([l.linkinfo.info_kind, l.linkinfo.info_data.id, l.mtu, l.flags.includes('UP')], ['vlan', 42, 1400, true]);
    const ref = run('ADD', { ...conf, master: 'mst2' }, { bin: REF, cid: 'ctr2', ns: ctr2 });
    assert.equal(ref.code, 0, ref.stdout + ref.stderr);
    const mask = (r: any) => JSON.parse(JSON.stringify(r), (k, v) => (k === 'mac' ? '<mac>' : k === 'sandbox' ? '<ns>' : k === 'address' ? v.replace(/\.\d+\//, '.X/') : k === 'dns' && !Object.keys(v).length ? undefined : v));
    assert.deepEqual(mask(add.json), mask(ref.json));
    const r = link(ctr2, 'eth0');
    assert.deepEqual([r.linkinfo.info_kind, r.linkinfo.info_data.id, r.mtu, r.txqlen ?? 0], ['vlan', 42, 1400, l.txqlen ?? 0]);
    // the far end of the master decodes VLAN 42: our container reaches an address there
    host.ip('link', 'add', 'link', 'mst0p', 'name', 'mst0p.42', 'type', 'vlan', 'id', '42');
    host.ip('addr', 'add', `10.231.${n}.200/24`, 'dev', 'mst0p.42');
    host.ip('link', 'set', 'mst0p.42', 'up');
    assert.ok(ping(ctr, `10.231.${n}.200`), 'tagged traffic crosses the master');
    const chk = run('CHECK', { ...conf, prevResult: add.json });
    assert.equal(chk.code, 0, chk.stdout + chk.stderr);
    assert.equal(run('CHECK', { ...conf, prevResult: add.json }, { bin: REF }).code, 0, 'Debian\'s CHECK accepts our ADD');
    assert.match(run('CHECK', { ...conf, vlanId: 43, prevResult: add.json }).json.msg, /VLAN ID 42, expected 43/);
    assert.equal(run('DEL', conf).code, 0);
    assert.deepEqual(nonLo(ctr), []);
    assert.deepEqual(hostLocalReservations(dirs.dataDir, net), [addrs(ctr2, 'eth0', 4)[0].split('/')[0]], 'ours is released, Debian\'s kept');
    assert.equal(run('DEL', conf).code, 0, 'a second DEL succeeds');
  });

  it('vlan DEL works when the master is gone (Debian\'s fails: it reads the master\'s MTU)', () => {
    const script = fakeScript(dirs.tmp, { result: { cniVersion: '1.0.0', ips: [{ address: `10.231.${n}.7/24` }] } });
    const conf = { cniVersion: '1.0.0', name: 'vldel', type: 'vlan', master: 'mst0', vlanId: 7, ipam: { type: 'fake-ipam', script } };
    assert.equal(run('ADD', conf).code, 0);
    assert.equal(run('ADD', { ...conf, master: 'mst2' }, { bin: REF, cid: 'ctr2', ns: ctr2 }).code, 0);
    host.ip('link', 'del', 'mst0');
    host.ip('link', 'del', 'mst2');
    const ref = run('DEL', { ...conf, master: 'mst2' }, { bin: REF, cid: 'ctr2', ns: ctr2 });
    assert.equal(ref.code, 1, 'the reference bug this fixes');
    const del = run('DEL', conf);
    assert.equal(del.code, 0, del.stdout);
    assert.deepEqual(fakeReservations(script), ['ctr2-eth0'], 'ours released its reservation, Debian\'s did not');
  });

  it('vlan bad inputs (code 7 naming the key) and failures after the link leave nothing behind', () => {
    const script = fakeScript(dirs.tmp, { result: { cniVersion: '1.0.0', ips: [{ address: `10.231.${n}.8/24` }] } });
    const base = { cniVersion: '1.0.0', name: 'vlbad', type: 'vlan', master: 'mst0', vlanId: 9, ipam: { type: 'fake-ipam', script } };
    const cases: Array<[object, RegExp]> = [
      [{ vlanId: 4095 }, /^vlanId: 4095 must be at most 4094/],
      [{ vlanId: -1 }, /^vlanId: -1 must be at least 0/],
      [{ mtu: 1501 }, /^mtu: invalid MTU 1501, must be \[0, master MTU\(1500\)\]/],
      [{ mtu: -1 }, /^mtu: invalid MTU -1/],
      [{ master: '' }, /^master: is required/],
      [{ master: 'nope0' }, /^master: failed to lookup master "nope0"/],
      [{ ipam: {} }, /^ipam\.type: is required/],
    ];
    for (const [extra, msg] of cases) {
      const r = run('ADD', { ...base, ...extra });
      assert.deepEqual([r.code, r.json.code], [1, 7], r.stdout);
      assert.match(r.json.msg, msg);
    }
    for (const step of ['link', 'ipam', 'configure']) {
      const r = run('ADD', base, { env: { CNI_TS_FAIL_AFTER: step } });
      assert.equal(r.json.msg, `injected failure after ${step}`);
    }
    // VLAN 9 already exists on the master: the kernel refuses a second one
    host.ip('link', 'add', 'link', 'mst0', 'name', 'mst0.9', 'type', 'vlan', 'id', '9');
    const dup = run('ADD', base);
    assert.equal(dup.code, 1, dup.stdout);
    assert.deepEqual(nonLo(ctr), []);
    assert.deepEqual(fakeReservations(script), []);
  });
});
