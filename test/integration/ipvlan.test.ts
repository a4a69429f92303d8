// bin/ipvlan run as a runtime runs it, inside a test netns playing the host (its
// master is a veth there), side by side with Debian's /usr/lib/cni/ipvlan.
// This host's kernel may lack ipvlan: the tests then skip here and run in the
// qemu guest (make test-vm, CNI_TS_VM=1), where a missing ipvlan is a failure.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { execPlugin, ipJSON, isRoot, kernelCanAddSublink, REF_BIN, type TestNetns } from '../helpers/index.js';
import { netnsPairPerTest } from '../helpers/netns-pair.js';
import { addrs, cniPath, fakeReservations, fakeScript, haveOurHostLocal, haveRefHostLocal, hostLocalReservations, ipamDirsPerSuite, link, ping, routes } from '../helpers/bridge-env.js';

// Inside the test VM (CNI_TS_VM=1) these tests must run: a missing ipvlan fails them there.
const skip = (!isRoot && 'needs root') || (!process.env.CNI_TS_VM && !kernelCanAddSublink('ipvprobe', ['type', 'ipvlan', 'mode', 'l2']) && 'kernel lacks ipvlan (CONFIG_IPVLAN): run make test-vm');
const REF = `${REF_BIN}/ipvlan`;
const nonLo = (ns: TestNetns) => ipJSON(ns, 'link', 'show').filter((l: any) => l.ifname !== 'lo').map((l: any) => l.ifname);

/** Result with per-container values masked; an empty `dns` dropped (Go prints `"dns": {}`). */
function shape(r: any): any {
  const { dns, ...rest } = r;
  if (dns && Object.keys(dns).length) rest.dns = dns;
  return JSON.parse(JSON.stringify(rest), (k, v) => (k === 'mac' ? '<mac>' : k === 'sandbox' ? '<ns>' : k === 'address' && typeof v === 'string' ? v.replace(/\.\d+\//, '.X/') : v));
}

describe('ipvlan', { skip }, () => {
  const dirs = ipamDirsPerSuite();
  let n = 100;
  beforeEach(() => {
    n++;
  });
  const { host, ctr, ctr2 } = netnsPairPerTest({ tag: 'iv', ctr2: true, veths: [{ name: 'mst0', peer: 'mst1' }], setup: (p) => p.host.ip('route', 'add', 'default', 'dev', 'mst0') });

  const hostLocal = () => ({ type: 'host-local', dataDir: dirs.dataDir, ranges: [[{ subnet: `10.231.${n}.0/24`, rangeStart: `10.231.${n}.10` }]], routes: [{ dst: '10.231.0.0/16', gw: `10.231.${n}.1` }] }); // Debian 1.1.1's CHECK wants the gw in the result
  const run = (command: string, stdin: object, o: { bin?: string; cid?: string; ns?: TestNetns | null; ifName?: string } = {}) =>
    execPlugin(o.bin ?? 'ipvlan', {
      command,
      containerID: o.cid ?? 'ctr1',
      netns: o.ns === null ? undefined : (o.ns ?? ctr).path,
      ifName: o.ifName ?? 'eth0',
      cniPath: cniPath(dirs.refIPAM),
      stdin,
      hostNetns: host.name,
    });

  for (const v of ['1.0.0', '1.1.0']) {
    const withRef = v !== '1.1.0';
    it(`ipvlan [${v}] ADD l2 with host-local, as Debian's: result, kind, mode, MTU, addresses, routes; the two containers ping; CHECK, DEL, DEL again`, { skip: withRef ? !haveRefHostLocal && 'Debian plugins missing' : !haveOurHostLocal && 'bin/host-local not built' }, () => {
      const net = `ivv${n}`;
      const conf = { cniVersion: v, name: net, type: 'ipvlan', master: 'mst0', mtu: 1400, ipam: hostLocal() };
      const add = run('ADD', conf);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.deepEqual(add.json.interfaces, [{ name: 'eth0', mac: link(host, 'mst0').address, sandbox: ctr.path }], 'an ipvlan has its master\'s MAC');
      assert.equal(add.json.ips[0].interface, 0);
      const l = link(ctr, 'eth0');
      assert.deepEqual([l.linkinfo.info_kind, l.linkinfo.info_data.mode, l.mtu, l.flags.includes('UP')], ['ipvlan', 'l2', 1400, true]);
      assert.equal(ctr.exec('cat', '/proc/sys/net/ipv4/conf/eth0/arp_notify').trim(), '1');
      assert.ok(routes(ctr, 4).some((r) => r.dst === '10.231.0.0/16' && r.gateway === `10.231.${n}.1`));
      if (withRef) {
        const ref = run('ADD', conf, { bin: REF, cid: 'ctr2', ns: ctr2 });
        assert.equal(ref.code, 0, ref.stdout + ref.stderr);
        assert.deepEqual(shape(add.json), shape(ref.json));
        const r = link(ctr2, 'eth0');
        assert.deepEqual([r.linkinfo.info_kind, r.linkinfo.info_data.mode, r.mtu, r.txqlen ?? 0], [l.linkinfo.info_kind, l.linkinfo.info_data.mode, l.mtu, l.txqlen ?? 0]);
        assert.deepEqual(routes(ctr2, 4).map((x) => x.dst), routes(ctr, 4).map((x) => x.dst));
        assert.ok(ping(ctr, addrs(ctr2, 'eth0', 4)[0].split('/')[0]), 'two ipvlan containers on one master reach each other');
        const refChk = run('CHECK', { ...conf, prevResult: add.json }, { bin: REF });
        assert.equal(refChk.code, 0, `Debian's CHECK accepts our ADD: ${refChk.stdout}`);
        assert.equal(run('DEL', conf, { bin: REF, cid: 'ctr2', ns: ctr2 }).code, 0);
      }
      const chk = run('CHECK', { ...conf, prevResult: add.json });
      assert.equal(chk.code, 0, chk.stdout + chk.stderr);
      assert.match(run('CHECK', { ...conf, mode: 'l3', prevResult: add.json }).json.msg, /mode l2, expected l3/);
      assert.equal(run('DEL', conf).code, 0);
      assert.deepEqual(nonLo(ctr), []);
      assert.deepEqual(hostLocalReservations(dirs.dataDir, net), []);
      assert.equal(run('DEL', conf).code, 0, 'a second DEL succeeds');
    });
  }

  it('ipvlan chained without ipam: master from the prevResult\'s single interface, its IPs and routes reused, interfaces replaced, as Debian\'s', () => {
    const prevResult = { cniVersion: '1.0.0', interfaces: [{ name: 'mst0' }], ips: [{ address: `10.231.${n}.5/24`, gateway: `10.231.${n}.1`, interface: 0 }], routes: [{ dst: '10.231.0.0/16' }], dns: { nameservers: ['10.231.0.53'] } };
    const conf = { cniVersion: '1.0.0', name: 'ivch', type: 'ipvlan', mode: 'l3', prevResult };
    const add = run('ADD', conf);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.deepEqual(add.json.interfaces.map((i: any) => i.name), ['eth0']);
    assert.deepEqual(add.json.ips, [{ address: `10.231.${n}.5/24`, gateway: `10.231.${n}.1`, interface: 0 }]);
    assert.deepEqual(add.json.dns, {}, 'dns is the config\'s, not the prevResult\'s');
    assert.deepEqual(addrs(ctr, 'eth0', 4), [`10.231.${n}.5/24`]);
    assert.equal(link(ctr, 'eth0').linkinfo.info_data.mode, 'l3');
    const ref = run('ADD', { ...conf, prevResult: { ...prevResult, ips: [{ ...prevResult.ips[0], address: `10.231.${n}.6/24` }] } }, { bin: REF, ns: ctr2 });
    assert.equal(ref.code, 0, ref.stdout);
    assert.deepEqual(shape(add.json), shape(ref.json));
    assert.equal(run('CHECK', { ...conf, prevResult: add.json }).code, 0);
    assert.equal(run('DEL', conf).code, 0);
    assert.deepEqual(nonLo(ctr), []);
    const two = run('ADD', { ...conf, prevResult: { ...prevResult, interfaces: [{ name: 'a' }, { name: 'b' }] } });
    assert.equal(two.json.code, 7);
    assert.match(two.json.msg, /^master: not set, and the chained prevResult lacks a single named interface/);
  });

  it('ipvlan bad inputs (code 7 naming the key), rollback and DEL without the master leave nothing behind', () => {
    const script = fakeScript(dirs.tmp, { result: { cniVersion: '1.0.0', ips: [{ address: `10.231.${n}.7/24` }] } });
    const base = { cniVersion: '1.0.0', name: 'ivbad', type: 'ipvlan', master: 'mst0', ipam: { type: 'fake-ipam', script } };
    const cases: Array<[object, RegExp]> = [
      [{ mode: 'l4' }, /^mode: "l4" must be one of/],
      [{ mtu: 9000 }, /^mtu: invalid MTU 9000, must be \[0, master MTU\(1500\)\]/],
      [{ master: 'nope0' }, /^master: failed to lookup master "nope0"/],
      [{ ipam: {} }, /^ipam\.type: is required unless chained/],
    ];
    for (const [extra, msg] of cases) {
      const r = run('ADD', { ...base, ...extra });
      assert.deepEqual([r.code, r.json.code], [1, 7], r.stdout);
      assert.match(r.json.msg, msg);
    }
    for (const step of ['link', 'ipam', 'configure']) {
      const r = execPlugin('ipvlan', { command: 'ADD', containerID: 'c', netns: ctr.path, ifName: 'eth0', cniPath: cniPath(dirs.refIPAM), stdin: base, hostNetns: host.name, env: { CNI_TS_FAIL_AFTER: step } });
      assert.equal(r.json.msg, `injected failure after ${step}`);
    }
    assert.deepEqual(nonLo(ctr), []);
    assert.deepEqual(fakeReservations(script), []);
    assert.equal(run('ADD', base).code, 0);
    host.ip('link', 'del', 'mst0');
    const del = run('DEL', { ...base, master: '' });
    assert.equal(del.code, 0, `DEL needs no master: ${del.stdout}`);
    assert.deepEqual(fakeReservations(script), []);
  });
});
