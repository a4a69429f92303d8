// bin/macvlan run as a runtime runs it, inside a test netns playing the host
// (its master is a veth there), side by side with Debian's /usr/lib/cni/macvlan:
// results per spec version, kernel state, CHECK, DEL, MAC precedence, default
// route master, bad inputs and rollback leaving nothing behind.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { createNetns, execPlugin, ipJSON, isRoot, REF_BIN, SPEC_VERSIONS, type TestNetns } from '../helpers/index.js';
import { netnsPairPerTest } from '../helpers/netns-pair.js';
import { addrs, cniPath, fakeReservations, fakeScript, haveOurHostLocal, haveRefHostLocal, hostLocalReservations, ipamDirsPerSuite, link, ping, routes } from '../helpers/bridge-env.js';

const skip = !isRoot && 'needs root';
const REF = `${REF_BIN}/macvlan`;
const hasCheck = (v: string) => !['0.1.0', '0.2.0', '0.3.0', '0.3.1'].includes(v);
const legacy = (v: string) => v === '0.1.0' || v === '0.2.0';

/** Links of a netns other than lo. */
const nonLo = (ns: TestNetns) => ipJSON(ns, 'link', 'show').filter((l: any) => l.ifname !== 'lo').map((l: any) => l.ifname);

/** The kernel state of a container macvlan, with the values that differ per container masked. */
function kernelState(ns: TestNetns, ifName: string) {
  const l = link(ns, ifName);
  const mask = (a: string) => a.replace(/\.\d+\//, '.X/').replace(/\.\d+$/, '.X');
  return {
    kind: l.linkinfo.info_kind,
    mode: l.linkinfo.info_data.mode,
    mtu: l.mtu,
    txqlen: l.txqlen ?? 0,
    up: l.flags.includes('UP'),
    addrs: addrs(ns, ifName, 4).map(mask),
    routes: routes(ns, 4).map((r) => ({ ...r, prefsrc: r.prefsrc && mask(r.prefsrc) })),
  };
}

/** A result with per-container values (MACs, sandboxes, addresses' last part) masked. */
function shape(r: any): any {
  return JSON.parse(JSON.stringify(r), (k, v) => (k === 'mac' ? '<mac>' : k === 'sandbox' ? '<ns>' : (k === 'address' || k === 'ip') && typeof v === 'string' ? v.replace(/\.\d+\//, '.X/') : v));
}

describe('macvlan', { skip }, () => {
  const dirs = ipamDirsPerSuite();
  let n = 0;
  beforeEach(() => {
    n++;
  });
  // the master: one end of a veth pair, up, with an address and the default route
  const { host, ctr, ctr2 } = netnsPairPerTest(() => ({
    tag: 'mv',
    ctr2: true,
    veths: [{ name: 'mst0', peer: 'mst1', addrs: [`10.231.${n}.250/24`] }],
    setup: (p) => p.host.ip('route', 'add', 'default', 'via', `10.231.${n}.254`, 'dev', 'mst0'),
  }));

  const hostLocal = (extra: object = {}) => ({
    type: 'host-local',
    dataDir: dirs.dataDir,
    ranges: [[{ subnet: `10.231.${n}.0/24`, rangeStart: `10.231.${n}.10`, rangeEnd: `10.231.${n}.100` }]],
    routes: [{ dst: '0.0.0.0/0' }],
    ...extra,
  });
  const run = (command: string, stdin: object, o: { bin?: string; cid?: string; ns?: TestNetns | null; ifName?: string; args?: string; env?: Record<string, string> } = {}) =>
    execPlugin(o.bin ?? 'macvlan', {
      command,
      containerID: o.cid ?? 'ctr1',
      netns: o.ns === null ? undefined : (o.ns ?? ctr).path,
      ifName: o.ifName ?? 'eth0',
      args: o.args,
      cniPath: cniPath(dirs.refIPAM),
      stdin,
      env: o.env,
      hostNetns: host.name,
    });

  for (const v of SPEC_VERSIONS) {
    const withRef = v !== '1.1.0';
    it(`[${v}] ADD with host-local: same result shape and kernel state as Debian's macvlan; CHECK, DEL, DEL again`, { skip: (withRef ? !haveRefHostLocal && 'Debian plugins missing' : !haveOurHostLocal && 'bin/host-local not built') }, () => {
      const net = `mvv${n}`;
      const conf = { cniVersion: v, name: net, type: 'macvlan', master: 'mst0', mtu: 1400, dns: { nameservers: ['10.231.0.53'] }, ipam: hostLocal() };
      const add = run('ADD', conf);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.equal(add.json.cniVersion, v);
      if (legacy(v)) {
        assert.match(add.json.ip4.ip, new RegExp(`^10\\.231\\.${n}\\.\\d+/24$`));
        assert.equal(add.json.ip4.gateway, `10.231.${n}.1`);
        assert.deepEqual(add.json.dns, { nameservers: ['10.231.0.53'] });
      } else {
        const [eth0] = add.json.interfaces;
        assert.deepEqual({ n: add.json.interfaces.length, name: eth0.name, sandbox: eth0.sandbox }, { n: 1, name: 'eth0', sandbox: ctr.path });
        assert.equal(eth0.mac, link(ctr, 'eth0').address, 'the result has the real MAC');
        assert.equal(add.json.ips[0].interface, 0);
        assert.deepEqual(add.json.dns, { nameservers: ['10.231.0.53'] }, 'dns is the config\'s');
      }
      const mine = kernelState(ctr, 'eth0');
      assert.deepEqual({ kind: mine.kind, mode: mine.mode, mtu: mine.mtu, up: mine.up }, { kind: 'macvlan', mode: 'bridge', mtu: 1400, up: true });
      assert.equal(link(ctr, 'eth0').link_netnsid !== undefined, true, 'parent lives in another netns');
      assert.equal(ctr.exec('cat', '/proc/sys/net/ipv4/conf/eth0/arp_notify').trim(), '1');
      assert.equal(ctr.exec('cat', '/proc/sys/net/ipv6/conf/eth0/ndisc_notify').trim(), '1');
      assert.equal(routes(ctr, 4).find((r) => r.dst === 'default')?.gateway, `10.231.${n}.1`);
      if (withRef) {
        const ref = run('ADD', conf, { bin: REF, cid: 'ctr2', ns: ctr2 });
        assert.equal(ref.code, 0, ref.stdout + ref.stderr);
        assert.deepEqual(shape(add.json), shape(ref.json));
        assert.deepEqual(mine, kernelState(ctr2, 'eth0'));
        assert.ok(ping(ctr, addrs(ctr2, 'eth0', 4)[0].split('/')[0]), 'bridge mode: our container reaches Debian\'s on the same master');
        assert.equal(run('DEL', conf, { bin: REF, cid: 'ctr2', ns: ctr2 }).code, 0);
      }
      if (hasCheck(v)) {
        const chk = run('CHECK', { ...conf, prevResult: add.json });
        assert.equal(chk.code, 0, chk.stdout + chk.stderr);
        if (withRef) {
          const refChk = run('CHECK', { ...conf, prevResult: add.json }, { bin: REF });
          assert.equal(refChk.code, 0, `Debian's CHECK accepts our ADD: ${refChk.stdout}`);
        }
        const bad = run('CHECK', { ...conf, mode: 'private', prevResult: add.json });
        assert.equal(bad.code, 1);
        assert.match(bad.json.msg, /mode bridge, expected private/);
      }
      const del = run('DEL', conf);
      assert.equal(del.code, 0, del.stdout + del.stderr);
      assert.equal(del.stdout, '');
      assert.deepEqual(nonLo(ctr), []);
      assert.deepEqual(hostLocalReservations(dirs.dataDir, net), []);
      assert.equal(run('DEL', conf).code, 0, 'a second DEL succeeds');
    });
  }

  for (const v of ['0.3.1', '1.0.0', '1.1.0']) {
    it(`[${v}] L2 only (no ipam): the link is up without addresses, as Debian's`, () => {
      const conf = { cniVersion: v, name: `mvl${n}`, type: 'macvlan', master: 'mst0', mode: 'private', ipam: {} };
      const add = run('ADD', conf);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.deepEqual(Object.keys(add.json).sort(), ['cniVersion', 'dns', 'interfaces']);
      const st = kernelState(ctr, 'eth0');
      assert.deepEqual({ mode: st.mode, up: st.up, addrs: st.addrs, routes: st.routes }, { mode: 'private', up: true, addrs: [], routes: [] });
      if (v !== '1.1.0') {
        const ref = run('ADD', conf, { bin: REF, cid: 'ctr2', ns: ctr2 });
        assert.equal(ref.code, 0, ref.stdout);
        assert.deepEqual(shape(add.json), shape(ref.json));
        assert.deepEqual(st, kernelState(ctr2, 'eth0'));
      }
      if (hasCheck(v)) assert.equal(run('CHECK', { ...conf, prevResult: add.json }).code, 0, 'CHECK of an L2-only network');
      assert.equal(run('DEL', conf).code, 0);
      assert.deepEqual(nonLo(ctr), []);
    });
  }

  it('[0.2.0] L2 only cannot be expressed: code 7 on cniVersion before anything is created (Debian leaks the link)', () => {
    const conf = { cniVersion: '0.2.0', name: 'mvl', type: 'macvlan', master: 'mst0' };
    const r = run('ADD', conf);
    assert.equal(r.code, 1);
    assert.equal(r.json.code, 7);
    assert.match(r.json.msg, /^cniVersion: cannot convert: no valid IP addresses/);
    assert.deepEqual(nonLo(ctr), []);
    const ref = run('ADD', conf, { bin: REF, ns: ctr2 });
    assert.equal(ref.json.msg, 'cannot convert: no valid IP addresses');
    assert.deepEqual(nonLo(ctr2), ['eth0'], 'the reference leaves its link behind');
  });

  it('MAC precedence: mac < CNI_ARGS MAC < args.cni.mac < runtimeConfig.mac; CNI_ARGS beats mac in Debian\'s too', () => {
    const base = { cniVersion: '1.0.0', name: 'mvm', type: 'macvlan', master: 'mst0', mac: '02:31:00:00:00:01' };
    const cases: Array<[object, string | undefined, string]> = [
      [base, undefined, '02:31:00:00:00:01'],
      [base, 'IgnoreUnknown=1;MAC=02:31:00:00:00:02', '02:31:00:00:00:02'],
      [{ ...base, args: { cni: { mac: '02:31:00:00:00:03' } } }, 'MAC=02:31:00:00:00:02', '02:31:00:00:00:03'],
      [{ ...base, args: { cni: { mac: '02:31:00:00:00:03' } }, runtimeConfig: { mac: '02:31:00:00:00:04' } }, 'MAC=02:31:00:00:00:02', '02:31:00:00:00:04'],
    ];
    for (const [conf, cniArgs, want] of cases) {
      const add = run('ADD', conf, { args: cniArgs });
      assert.equal(add.code, 0, add.stdout);
      assert.equal(add.json.interfaces[0].mac, want);
      assert.equal(link(ctr, 'eth0').address, want);
      assert.equal(run('CHECK', { ...conf, prevResult: add.json }, { args: cniArgs }).code, 0);
      assert.equal(run('DEL', conf, { args: cniArgs }).code, 0);
    }
    const ref = run('ADD', { ...base, runtimeConfig: { mac: '02:31:00:00:00:04' } }, { bin: REF, ns: ctr2, args: 'MAC=02:31:00:00:00:02' });
    assert.equal(ref.json.interfaces[0].mac, '02:31:00:00:00:04');
  });

  it('no master: the interface of the default route, as Debian\'s', () => {
    const conf = { cniVersion: '1.0.0', name: 'mvd', type: 'macvlan', ipam: {} };
    for (const [bin, ns] of [['macvlan', ctr], [REF, ctr2]] as const) {
      const add = run('ADD', conf, { bin, ns });
      assert.equal(add.code, 0, add.stdout);
      assert.equal(link(ns, 'eth0').link_index, link(host, 'mst0').ifindex, `${bin}: parent is mst0`);
    }
    host.ip('route', 'del', 'default');
    const r = run('ADD', conf, { ifName: 'eth1' });
    assert.equal(r.json.code, 7);
    assert.match(r.json.msg, /^master: not set and no default route interface found/);
    assert.deepEqual(nonLo(ctr), ['eth0']);
  });

  it('modes, bcqueuelen and MTU reach the kernel; CHECK compares mode and MAC', () => {
    for (const mode of ['bridge', 'private', 'vepa', 'passthru'] as const) {
      const conf = { cniVersion: '1.1.0', name: 'mvmode', type: 'macvlan', master: 'mst0', mode, mtu: 1300, bcqueuelen: 333 };
      const add = run('ADD', conf);
      assert.equal(add.code, 0, add.stdout);
      const l = link(ctr, 'eth0');
      assert.deepEqual([l.linkinfo.info_data.mode, l.mtu], [mode, 1300]);
      if (mode !== 'passthru') assert.equal(l.linkinfo.info_data.bcqueuelen, 333);
      assert.equal(run('CHECK', { ...conf, prevResult: add.json }).code, 0);
      const wrongMAC = structuredClone(add.json);
      wrongMAC.interfaces[0].mac = '02:31:ff:ff:ff:ff';
      assert.match(run('CHECK', { ...conf, prevResult: wrongMAC }).json.msg, /has MAC .* expected 02:31:ff:ff:ff:ff/);
      assert.equal(run('DEL', conf).code, 0);
    }
  });

  it('linkInContainer: the master lives in the container netns', () => {
    ctr.ip('link', 'add', 'cm0', 'type', 'veth', 'peer', 'name', 'cm1');
    ctr.ip('link', 'set', 'cm0', 'up');
    const conf = { cniVersion: '1.1.0', name: 'mvin', type: 'macvlan', master: 'cm0', linkInContainer: true };
    const add = run('ADD', conf, { ifName: 'net1' });
    assert.equal(add.code, 0, add.stdout);
    const l = link(ctr, 'net1');
    assert.equal(l.link, 'cm0');
    assert.equal(run('CHECK', { ...conf, prevResult: add.json }, { ifName: 'net1' }).code, 0);
    assert.equal(run('DEL', conf, { ifName: 'net1' }).code, 0);
    assert.deepEqual(nonLo(ctr).sort(), ['cm0', 'cm1']);
  });

  it('bad inputs: code 7 naming the key, nothing left behind', () => {
    const base = { cniVersion: '1.1.0', name: 'mvbad', type: 'macvlan', master: 'mst0' };
    const cases: Array<[object, RegExp, string?]> = [
      [{ mode: 'bridged' }, /^mode: "bridged" must be one of/],
      [{ mtu: 9000 }, /^mtu: invalid MTU 9000, must be \[0, master MTU\(1500\)\]/],
      [{ mtu: -1 }, /^mtu: invalid MTU -1/],
      [{ mtu: '1400' }, /^mtu: "1400" must be an integer/],
      [{ master: 'nope0' }, /^master: failed to lookup master "nope0": link not found/],
      [{ mac: '02:31:zz:00:00:01' }, /^mac: "02:31:zz:00:00:01" is not a MAC address/],
      [{ runtimeConfig: { mac: 'x' } }, /^runtimeConfig\.mac: "x" is not a MAC address/],
      [{ bcqueuelen: -5 }, /^bcqueuelen: -5 must be at least 0/],
      [{ linkInContainer: 'yes' }, /^linkInContainer: "yes" must be a boolean/],
      [{}, /^CNI_ARGS\.MAC: "zz" is not a MAC address/, 'MAC=zz'],
    ];
    for (const [extra, msg, cniArgs] of cases) {
      const r = run('ADD', { ...base, ...extra }, { args: cniArgs });
      assert.equal(r.code, 1, JSON.stringify(extra));
      assert.equal(r.json.code, 7, r.stdout);
      assert.match(r.json.msg, msg);
    }
    ctr.ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth9');
    const clash = run('ADD', base);
    assert.equal(clash.json.code, 999);
    assert.match(clash.json.msg, /\(eth0\) already exists/);
    assert.deepEqual(nonLo(ctr).sort(), ['eth0', 'eth9']);
    assert.deepEqual(nonLo(host).sort(), ['mst0', 'mst1'], 'nothing new on the host');
    const gone = run('ADD', base, { ns: null, env: { CNI_NETNS: '/run/netns/cnits-none-0' } });
    assert.equal(gone.code, 1);
  });

  it('rollback: a failure after IPAM or while configuring removes the link and releases the reservation (the reference leaks on the second)', () => {
    const script = fakeScript(dirs.tmp, { result: { cniVersion: '1.0.0', ips: [{ address: `10.231.${n}.7/24` }], routes: [{ dst: '10.231.240.0/24', gw: '10.231.239.1' }] } });
    const conf = { cniVersion: '1.0.0', name: 'mvrb', type: 'macvlan', master: 'mst0', ipam: { type: 'fake-ipam', script } };
    // the route's gateway is not on-link: configuring fails after the address was added
    const r = run('ADD', conf);
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.json.msg, /failed to add route/);
    assert.deepEqual(nonLo(ctr), []);
    assert.deepEqual(fakeReservations(script), []);
    const ref = run('ADD', conf, { bin: REF, ns: ctr2 });
    assert.equal(ref.code, 1);
    assert.deepEqual(nonLo(ctr2), ['eth0'], 'Debian\'s macvlan leaves its link (shadowed err)');
    const ok = fakeScript(dirs.tmp, { result: { cniVersion: '1.0.0', ips: [{ address: `10.231.${n}.8/24` }] } });
    for (const step of ['link', 'ipam', 'configure']) {
      const f = run('ADD', { ...conf, ipam: { type: 'fake-ipam', script: ok } }, { env: { CNI_TS_FAIL_AFTER: step } });
      assert.equal(f.json.msg, `injected failure after ${step}`);
      assert.deepEqual(nonLo(ctr), [], step);
      assert.deepEqual(fakeReservations(ok), [], step);
    }
    const failing = fakeScript(dirs.tmp, { failOn: ['ADD'], error: { code: 11, msg: 'no addresses left' } });
    const e = run('ADD', { ...conf, ipam: { type: 'fake-ipam', script: failing } });
    assert.deepEqual([e.json.code, e.json.msg], [11, 'no addresses left'], 'the IPAM error passes through with its code');
    assert.deepEqual(nonLo(ctr), []);
  });

  it('DEL: works when the master is gone, without CNI_NETNS, and when the netns is gone', () => {
    const script = fakeScript(dirs.tmp, { result: { cniVersion: '1.0.0', ips: [{ address: `10.231.${n}.9/24` }] } });
    const conf = { cniVersion: '1.0.0', name: 'mvdel', type: 'macvlan', master: 'mst0', ipam: { type: 'fake-ipam', script } };
    assert.equal(run('ADD', conf).code, 0);
    host.ip('link', 'del', 'mst0');
    const del = run('DEL', conf);
    assert.equal(del.code, 0, del.stdout);
    assert.deepEqual(fakeReservations(script), []);
    assert.equal(run('DEL', conf, { ns: null }).code, 0);
    const gone = createNetns('mvg');
    gone.remove();
    assert.equal(run('DEL', conf, { ns: gone }).code, 0);
  });

  it('STATUS and GC go to IPAM when there is one, succeed without', () => {
    const script = fakeScript(dirs.tmp, { failOn: ['STATUS'], error: { code: 50, msg: 'ipam down' } });
    const conf = { cniVersion: '1.1.0', name: 'mvst', type: 'macvlan', master: 'mst0', ipam: { type: 'fake-ipam', script } };
    const st = run('STATUS', conf, { ns: null });
    assert.deepEqual([st.json?.code, st.json?.msg], [50, 'ipam down']);
    assert.equal(run('STATUS', { ...conf, ipam: {} }, { ns: null }).code, 0);
    assert.equal(run('GC', { ...conf, 'cni.dev/valid-attachments': [] }, { ns: null }).code, 0);
  });
});
