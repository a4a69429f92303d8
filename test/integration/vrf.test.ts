// bin/vrf run as a runtime runs it in a chain, side by side with Debian's
// /usr/lib/cni/vrf (1.1.1: it predates the reference's route and IPv6 address
// preservation, so only the VRF itself and the enslaving are compared). This
// host's kernel lacks the vrf link type: the tests named `kernel vrf` skip here
// and run in the qemu guest (make test-vm, CNI_TS_VM=1), where a missing vrf
// type is a failure; the others (config errors, the clean failure on a kernel
// without vrf, DEL leniency) run everywhere.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { beforeEach, describe, it } from 'node:test';
import { execPlugin, kernelCanAddLink, ipJSON, isRoot, REF_BIN, type TestNetns } from '../helpers/index.js';
import { addrs, link, ping } from '../helpers/bridge-env.js';
import { netnsPairPerTest } from '../helpers/netns-pair.js';

const REF = `${REF_BIN}/vrf`;
const haveRef = fs.existsSync(REF);
const hasVRF = isRoot && kernelCanAddLink('sdvprobe', ['type', 'vrf', 'table', '10']);
// Inside the test VM (CNI_TS_VM=1) these must run: a missing vrf fails them there.
const noKernel = (!isRoot && 'needs root') || (!process.env.CNI_TS_VM && !hasVRF && 'kernel lacks vrf (CONFIG_NET_VRF): run make test-vm');

const routesIn = (ns: TestNetns, fam: 4 | 6, table: string | number) => ipJSON(ns, `-${fam}`, 'route', 'show', 'table', String(table)).filter((r: any) => !String(r.dst).startsWith('fe80') && r.type !== 'multicast');
const nonLo = (ns: TestNetns) => ipJSON(ns, 'link', 'show').filter((l: any) => l.ifname !== 'lo').map((l: any) => l.ifname);

describe('vrf', { skip: !isRoot && 'needs root' }, () => {
  let n = 40;
  beforeEach(() => {
    n++;
  });
  // the far ends of the container's veths (the gateways) are in the pair's host netns
  const { ctr, addVeth } = netnsPairPerTest({ tag: 'sdvv' });

  /** What an interface plugin left: `ifName` in the container (a veth to the host netns), addressed, up, with routes. */
  function iface(ifName: string, host: number) {
    addVeth({ name: ifName, in: 'ctr', peer: `csdp${host}`, peerIn: 'host', addrs: [`10.204.${n}.${host}/24`, `2001:db8:204:${n}::${host}/64`], peerAddrs: [`10.204.${n}.${host + 100}/24`] });
    ctr.ip('route', 'add', `10.205.${host}.0/24`, 'via', `10.204.${n}.${host + 100}`, 'dev', ifName);
    ctr.ip('-6', 'route', 'add', `2001:db8:205:${host}::/64`, 'via', `2001:db8:204:${n}::${host + 100}`, 'dev', ifName);
    return {
      cniVersion: '1.0.0',
      interfaces: [{ name: ifName, mac: link(ctr, ifName).address, sandbox: ctr.path }],
      ips: [{ interface: 0, address: `10.204.${n}.${host}/24`, gateway: `10.204.${n}.${host + 100}` }, { interface: 0, address: `2001:db8:204:${n}::${host}/64` }],
      routes: [{ dst: `10.205.${host}.0/24` }, { dst: `2001:db8:205:${host}::/64`, gw: `2001:db8:204:${n}::${host + 100}` }],
      dns: { nameservers: ['10.204.0.53'] },
    };
  }
  const conf = (prevResult: object | undefined, extra: object = {}, v = '1.0.0') => ({ cniVersion: v, name: 'sdvvrf', type: 'vrf', vrfname: 'cvrf0', prevResult: prevResult && { ...prevResult, cniVersion: v }, ...extra });
  const run = (command: string, stdin: object | string, o: { bin?: string; ifName?: string; ns?: TestNetns | null; netns?: string; env?: Record<string, string> } = {}) =>
    execPlugin(o.bin ?? 'vrf', { command, containerID: 'cnits-sdv-v1', netns: o.netns ?? (o.ns === null ? undefined : (o.ns ?? ctr).path), ifName: o.ifName ?? 'eth0', stdin, env: o.env });
  const vrfOf = (name: string) => {
    const l = link(ctr, name);
    return l && { kind: l.linkinfo?.info_kind, table: l.linkinfo?.info_data?.table, up: l.flags.includes('UP') };
  };

  for (const v of ['0.3.1', '1.1.0']) {
    it(`kernel vrf [${v}] ADD creates the VRF on table 1, enslaves the interface, keeps its IPv6 address, moves its routes into the VRF table; prints the prevResult; traffic goes through the VRF; CHECK; a second interface joins; the last DEL deletes the VRF`, { skip: noKernel }, () => {
      const prev = iface('eth0', 5);
      const c = conf(prev, {}, v);
      const add = run('ADD', c);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      const legacyIps = v === '0.3.1' || v === '0.4.0';
      const printed = { ...prev, cniVersion: v, ips: prev.ips.map((x, i) => (legacyIps ? { version: i === 0 ? '4' : '6', ...x } : x)) };
      assert.deepEqual(add.json, printed, 'the prevResult, unchanged');
      assert.deepEqual(vrfOf('cvrf0'), { kind: 'vrf', table: 1, up: true });
      assert.equal(link(ctr, 'eth0').master, 'cvrf0');
      assert.deepEqual(addrs(ctr, 'eth0', 6), [`2001:db8:204:${n}::5/64`], 'the global IPv6 address survives enslaving');
      assert.deepEqual(addrs(ctr, 'eth0', 4), [`10.204.${n}.5/24`]);
      assert.ok(routesIn(ctr, 4, 1).some((r: any) => r.dst === '10.205.5.0/24' && r.gateway === `10.204.${n}.105`), JSON.stringify(routesIn(ctr, 4, 1)));
      assert.ok(routesIn(ctr, 6, 1).some((r: any) => r.dst === '2001:db8:205:5::/64' && r.gateway === `2001:db8:204:${n}::105`), JSON.stringify(routesIn(ctr, 6, 1)));
      assert.deepEqual(routesIn(ctr, 4, 'main').filter((r: any) => r.dev === 'eth0'), [], 'nothing through eth0 is left in main');
      assert.ok(ping(ctr, `10.204.${n}.105`) === false, 'outside the VRF the peer is unreachable');
      execFileSync('ip', ['netns', 'exec', ctr.name, 'ping', '-c', '1', '-W', '2', '-I', 'cvrf0', `10.204.${n}.105`], { stdio: 'ignore' });
      const hasCheck = v !== '0.3.1';
      assert.equal(run('CHECK', c).code, hasCheck ? 0 : 1, 'CHECK (from 0.4.0)');
      // a second interface joins the same VRF
      const prev2 = iface('eth1', 6);
      const add2 = run('ADD', conf(prev2, {}, v), { ifName: 'eth1' });
      assert.equal(add2.code, 0, add2.stdout);
      assert.equal(link(ctr, 'eth1').master, 'cvrf0');
      assert.equal(vrfOf('cvrf0')!.table, 1);
      assert.equal(run('DEL', c).code, 0);
      assert.equal(link(ctr, 'eth0').master, undefined, 'eth0 leaves the VRF');
      assert.ok(vrfOf('cvrf0'), 'the VRF stays while eth1 is in it');
      if (hasCheck) assert.equal(run('CHECK', c).json.msg, 'failed to find eth0 associated to vrf cvrf0');
      assert.equal(run('DEL', conf(prev2, {}, v), { ifName: 'eth1' }).code, 0);
      assert.equal(vrfOf('cvrf0'), undefined, 'the last DEL deletes the VRF');
      assert.equal(run('DEL', c).code, 0, 'a second DEL');
      assert.equal(run('DEL', c, { ns: null }).code, 0, 'DEL without CNI_NETNS');
    });
  }

  it('kernel vrf: table choice (lowest free, explicit), a VRF with another table, a name taken by a non-VRF, an interface with a master, a missing interface: each refused with nothing new left', { skip: noKernel }, () => {
    const prev = iface('eth0', 5);
    ctr.ip('link', 'add', 'cvrf9', 'type', 'vrf', 'table', '1');
    assert.equal(run('ADD', conf(prev)).code, 0);
    assert.equal(vrfOf('cvrf0')!.table, 2, 'table 1 is taken by cvrf9');
    assert.equal(run('DEL', conf(prev)).code, 0);
    assert.equal(run('ADD', conf(prev, { table: 100 })).code, 0);
    assert.equal(vrfOf('cvrf0')!.table, 100);
    const prev2 = iface('eth1', 6);
    const other = run('ADD', conf(prev2, { table: 7 }), { ifName: 'eth1' });
    assert.equal(other.json.msg, 'cmdAdd failed: VRF cvrf0 already exist with different routing table 100');
    assert.equal(link(ctr, 'eth1').master, undefined);
    assert.equal(run('DEL', conf(prev)).code, 0);
    ctr.ip('link', 'add', 'csdx0', 'type', 'dummy');
    assert.equal(run('ADD', { ...conf(prev2), vrfname: 'csdx0' }, { ifName: 'eth1' }).json.msg, 'cmdAdd failed: Netlink csdx0 is not a VRF');
    ctr.ip('link', 'set', 'eth1', 'master', 'cvrf9');
    assert.equal(run('ADD', conf(prev2), { ifName: 'eth1' }).json.msg, 'cmdAdd failed: interface eth1 has already a master set: cvrf9');
    assert.equal(vrfOf('cvrf0'), undefined, 'the VRF this ADD created is gone again');
    assert.equal(run('ADD', conf(prev2), { ifName: 'eth7' }).json.msg, 'cmdAdd failed: could not get link by name eth7');
    assert.equal(vrfOf('cvrf0'), undefined);
  });

  it('kernel vrf: a failure after enslaving (CNI_TS_FAIL_AFTER=master, routes) puts the interface back: no master, its IPv6 address and main-table routes restored, the VRF deleted', { skip: noKernel }, () => {
    const prev = iface('eth0', 5);
    const before = { v4: addrs(ctr, 'eth0', 4), v6: addrs(ctr, 'eth0', 6), r4: routesIn(ctr, 4, 'main'), r6: routesIn(ctr, 6, 'main') };
    for (const step of ['master', 'routes']) {
      const r = run('ADD', conf(prev), { env: { CNI_TS_FAIL_AFTER: step } });
      assert.match(r.json?.msg ?? '', new RegExp(`injected failure after ${step}`), r.stdout);
      assert.equal(link(ctr, 'eth0').master, undefined);
      assert.equal(vrfOf('cvrf0'), undefined);
      const after = { v4: addrs(ctr, 'eth0', 4), v6: addrs(ctr, 'eth0', 6), r4: routesIn(ctr, 4, 'main'), r6: routesIn(ctr, 6, 'main') };
      assert.deepEqual(after, before, `after ${step}`);
    }
  });

  it('kernel vrf side by side with Debian\'s (1.1.1): the same result, VRF and enslaving; each DELetes what the other ADDed', { skip: noKernel || (!haveRef && 'Debian plugins missing') }, () => {
    for (const v of ['0.4.0', '1.0.0']) {
      const prev = iface('eth0', 5);
      iface('eth1', 6);
      const ours = run('ADD', conf(prev, {}, v));
      assert.equal(ours.code, 0, ours.stdout);
      // Debian's joins eth1 to the VRF ours made, and prints the same prevResult the same way
      const ref = run('ADD', conf(prev, {}, v), { bin: REF, ifName: 'eth1' });
      assert.equal(ref.code, 0, ref.stdout);
      assert.deepEqual(ours.json, ref.json);
      assert.equal(link(ctr, 'eth1').master, 'cvrf0');
      assert.equal(run('CHECK', conf(prev, {}, v), { ifName: 'eth1' }).code, 0, 'our CHECK of Debian\'s ADD');
      // Debian's DELs take down what ours made: the VRF goes with the last
      assert.equal(run('DEL', conf(prev, {}, v), { bin: REF, ifName: 'eth1' }).code, 0);
      assert.ok(vrfOf('cvrf0'));
      assert.equal(run('DEL', conf(prev, {}, v), { bin: REF }).code, 0);
      assert.equal(vrfOf('cvrf0'), undefined);
      // Debian's ADD from scratch: the same VRF as ours makes; our CHECK and DEL
      const refAdd = run('ADD', conf(prev, {}, v), { bin: REF });
      assert.equal(refAdd.code, 0, refAdd.stdout);
      assert.deepEqual(vrfOf('cvrf0'), { kind: 'vrf', table: 1, up: true });
      assert.equal(link(ctr, 'eth0').master, 'cvrf0');
      assert.equal(run('CHECK', conf(prev, {}, v)).code, 0);
      assert.equal(run('DEL', conf(prev, {}, v)).code, 0);
      assert.equal(vrfOf('cvrf0'), undefined);
      assert.equal(link(ctr, 'eth0').master, undefined);
      ctr.ip('link', 'del', 'eth0');
      ctr.ip('link', 'del', 'eth1');
    }
  });

  it('vrf bad inputs: code 7 naming the field, before the namespace is opened; versions below 0.3.1 refused as by Debian\'s', () => {
    const prev = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0' }], ips: [{ address: '10.204.1.5/24', interface: 0 }] };
    const cases: Array<[object, RegExp]> = [
      [{ vrfname: '' }, /^vrfname: is required: configuration is expected to have a valid vrf name$/],
      [{ vrfname: null }, /^vrfname: is required/],
      [{ vrfname: 5 }, /^vrfname: 5 must be a string$/],
      [{ vrfname: 'cvrf-much-too-long' }, /^vrfname: "cvrf-much-too-long" is not a valid link name/],
      [{ table: -1 }, /^table: -1 must be at least 0$/],
      [{ table: 4294967296 }, /^table: 4294967296 must be at most 4294967295$/],
      [{ table: '10' }, /^table: "10" must be an integer$/],
      [{ prevResult: undefined }, /^missing prevResult from earlier plugin$/],
      [{ prevResult: { cniVersion: '1.0.0', ips: [{ address: 'x' }] } }, /^could not parse prevResult: /],
    ];
    for (const [extra, msg] of cases) {
      for (const command of ['ADD', 'CHECK']) {
        const r = run(command, conf(prev, extra), { netns: '/var/run/netns/cnits-sdv-missing' });
        assert.equal(r.json?.code, 7, `${command} ${JSON.stringify(extra)}: ${r.stdout}`);
        assert.match(r.json.msg, msg);
      }
    }
    for (const v of ['0.1.0', '0.2.0', '0.3.0']) {
      const ours = run('ADD', conf(prev, {}, v));
      assert.equal(ours.json.code, 1, ours.stdout);
      if (haveRef) assert.equal(run('ADD', conf(prev, {}, v), { bin: REF }).json.code, 1);
    }
    assert.deepEqual(run('VERSION', '').json.supportedVersions, ['0.3.1', '0.4.0', '1.0.0', '1.1.0']);
    for (const cmd of ['GC', 'STATUS']) assert.equal(run(cmd, conf(undefined, {}, '1.1.0')).code, 0, `${cmd} is a no-op`);
  });

  it('vrf on a kernel without the vrf type fails cleanly: the error says so; the interface keeps its routes and has no master', { skip: (hasVRF || !!process.env.CNI_TS_VM) && 'this kernel has vrf' }, () => {
    const prev = iface('eth0', 5);
    const before = { r4: routesIn(ctr, 4, 'main'), r6: routesIn(ctr, 6, 'main') };
    const r = run('ADD', conf(prev));
    assert.equal(r.json.code, 999);
    assert.match(r.json.msg, /^cmdAdd failed: could not add VRF cvrf0: the kernel has no vrf link type \(CONFIG_NET_VRF, module vrf\)/);
    assert.deepEqual(nonLo(ctr), ['eth0']);
    assert.equal(link(ctr, 'eth0').master, undefined);
    assert.deepEqual({ r4: routesIn(ctr, 4, 'main'), r6: routesIn(ctr, 6, 'main') }, before);
  });

  it('vrf DEL never blocks teardown: no vrfname, a bad table, no CNI_NETNS, a namespace that is gone, no such VRF, the interface already gone', () => {
    const base = { cniVersion: '1.0.0', name: 'sdvvrf', type: 'vrf' };
    for (const c of [base, { ...base, vrfname: null }, { ...base, vrfname: 'cvrf0', table: 'x' }, { ...base, vrfname: 'cvrf0' }]) {
      for (const o of [{}, { ns: null }, { netns: '/var/run/netns/cnits-sdv-missing' }]) {
        const r = run('DEL', c, o);
        assert.equal(r.code, 0, `${JSON.stringify(c)} ${JSON.stringify(o)}: ${r.stdout}`);
      }
    }
    assert.deepEqual(nonLo(ctr), []);
  });
});
