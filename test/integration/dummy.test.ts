// bin/dummy run as a runtime runs it. Debian's 1.1.1 has no dummy plugin, so
// these tests hold ours to the reference v1.9.1's documented behaviour. This
// host's kernel lacks the dummy link type: the tests named `kernel dummy` skip
// here and run in the qemu guest (make test-vm, CNI_TS_VM=1), where a missing
// dummy type is a failure; the others (config errors, the clean failure on a
// kernel without dummy, DEL leniency) run everywhere.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { execPlugin, kernelCanAddLink, ipJSON, isRoot, SPEC_VERSIONS, type TestNetns } from '../helpers/index.js';
import { netnsPairPerTest } from '../helpers/netns-pair.js';
import { addrs, cniPath, hostLocalReservations, ipamDirsPerSuite, link, routes } from '../helpers/bridge-env.js';

const hasDummy = isRoot && kernelCanAddLink('sdvprobe', ['type', 'dummy']);
// Inside the test VM (CNI_TS_VM=1) these must run: a missing dummy fails them there.
const noKernel = (!isRoot && 'needs root') || (!process.env.CNI_TS_VM && !hasDummy && 'kernel lacks dummy (CONFIG_DUMMY): run make test-vm');
const nonLo = (ns: TestNetns) => ipJSON(ns, 'link', 'show').filter((l: any) => l.ifname !== 'lo').map((l: any) => l.ifname);

describe('dummy', { skip: !isRoot && 'needs root' }, () => {
  const dirs = ipamDirsPerSuite();
  let n = 30;
  beforeEach(() => {
    n++;
  });
  // run() runs the plugin in this process's netns; `host` plays the host for the one test that needs an eth0 there
  const { host, ctr, addVeth } = netnsPairPerTest({ tag: 'sdvd' });

  const hostLocal = () => ({ type: 'host-local', dataDir: dirs.dataDir, ranges: [[{ subnet: `10.204.${n}.0/24`, gateway: `10.204.${n}.1` }]], routes: [{ dst: '10.205.0.0/16' }] });
  const staticIPAM = () => ({
    type: 'static',
    addresses: [{ address: `10.204.${n}.5/24`, gateway: `10.204.${n}.1` }, { address: `2001:db8:204:${n}::5/64` }],
    routes: [{ dst: '10.205.0.0/16' }, { dst: '2001:db8:205::/48', gw: `2001:db8:204:${n}::1` }],
    dns: { nameservers: ['10.204.0.53'] },
  });
  const run = (command: string, stdin: object | string, o: { ns?: TestNetns | null; netns?: string; ifName?: string; env?: Record<string, string> } = {}) =>
    execPlugin('dummy', { command, containerID: 'cnits-sdv-d1', netns: o.netns ?? (o.ns === null ? undefined : (o.ns ?? ctr).path), ifName: o.ifName ?? 'eth0', cniPath: cniPath(dirs.refIPAM), stdin, env: o.env });

  for (const v of ['0.2.0', '1.1.0']) {
    it(`kernel dummy [${v}] ADD with static IPAM: a dummy link, up, with the addresses and routes; the result is IPAM's with the link; CHECK; DEL twice and without CNI_NETNS`, { skip: noKernel }, () => {
      const conf = { cniVersion: v, name: 'sdvdum', type: 'dummy', ipam: staticIPAM() };
      const add = run('ADD', conf);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      const l = link(ctr, 'eth0');
      assert.equal(l.linkinfo.info_kind, 'dummy');
      assert.ok(l.flags.includes('UP'));
      assert.deepEqual(addrs(ctr, 'eth0', 4), [`10.204.${n}.5/24`]);
      assert.deepEqual(addrs(ctr, 'eth0', 6), [`2001:db8:204:${n}::5/64`]);
      assert.ok(routes(ctr, 4).some((r) => r.dst === '10.205.0.0/16' && r.gateway === `10.204.${n}.1` && r.dev === 'eth0'), 'a route without gw takes the gateway of its family');
      assert.ok(routes(ctr, 6).some((r) => r.dst === '2001:db8:205::/48' && r.gateway === `2001:db8:204:${n}::1`));
      if (v === '0.2.0') {
        assert.deepEqual(add.json, {
          cniVersion: v,
          ip4: { ip: `10.204.${n}.5/24`, gateway: `10.204.${n}.1`, routes: [{ dst: '10.205.0.0/16' }] },
          ip6: { ip: `2001:db8:204:${n}::5/64`, routes: [{ dst: '2001:db8:205::/48', gw: `2001:db8:204:${n}::1` }] },
          dns: { nameservers: ['10.204.0.53'] },
        });
      } else {
        assert.deepEqual(add.json, {
          cniVersion: v,
          interfaces: [{ name: 'eth0', mac: l.address, sandbox: ctr.path }],
          ips: [
            { interface: 0, address: `10.204.${n}.5/24`, gateway: `10.204.${n}.1` },
            { interface: 0, address: `2001:db8:204:${n}::5/64` },
          ],
          routes: conf.ipam.routes,
          dns: { nameservers: ['10.204.0.53'] },
        });
        const chk = run('CHECK', { ...conf, prevResult: add.json });
        assert.equal(chk.code, 0, chk.stdout);
      }
      assert.equal(run('DEL', conf).code, 0);
      assert.deepEqual(nonLo(ctr), []);
      assert.equal(run('DEL', conf).code, 0, 'a second DEL');
      assert.equal(run('DEL', conf, { ns: null }).code, 0, 'DEL without CNI_NETNS');
    });
  }

  it('kernel dummy [1.0.0] with host-local: CHECK catches a link that is down, another MAC, a missing address; DEL releases the reservation; GC and STATUS reach host-local', { skip: noKernel }, () => {
    const net = `sdvdhl${n}`;
    const conf = { cniVersion: '1.0.0', name: net, type: 'dummy', ipam: hostLocal() };
    const add = run('ADD', conf);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.deepEqual(hostLocalReservations(dirs.dataDir, net), [`10.204.${n}.2`]);
    const prevResult = add.json;
    assert.equal(run('CHECK', { ...conf, prevResult }).code, 0);
    const badMac = run('CHECK', { ...conf, prevResult: { ...prevResult, interfaces: [{ ...prevResult.interfaces[0], mac: '0a:58:0a:cc:00:99' }] } });
    assert.match(badMac.json.msg, /^Interface eth0 Mac 0a:58:0a:cc:00:99 doesn't match container Mac: /);
    const badIP = run('CHECK', { ...conf, prevResult: { ...prevResult, ips: [{ ...prevResult.ips[0], address: `10.204.${n}.77/24` }] } });
    assert.equal(badIP.code, 1, 'host-local or our check refuses an address the link does not hold');
    ctr.ip('link', 'set', 'eth0', 'down');
    assert.equal(run('CHECK', { ...conf, prevResult }).json.msg, 'Interface eth0 is down');
    ctr.ip('link', 'set', 'eth0', 'up');
    const gc = run('GC', { ...conf, cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'cnits-sdv-d1', ifname: 'eth0' }] });
    assert.equal(gc.code, 0, gc.stdout);
    assert.deepEqual(hostLocalReservations(dirs.dataDir, net), [`10.204.${n}.2`], 'GC keeps a valid attachment');
    assert.equal(run('STATUS', { ...conf, cniVersion: '1.1.0' }).code, 0);
    assert.equal(run('DEL', conf).code, 0);
    assert.deepEqual(nonLo(ctr), []);
    assert.deepEqual(hostLocalReservations(dirs.dataDir, net), []);
  });

  it('kernel dummy: CNI_IFNAME eth0 while the plugin\'s own namespace has an eth0 (the link is made inside the container, as v1.9.0+)', { skip: noKernel }, () => {
    addVeth({ name: 'eth0', peer: 'csdp1', up: false, peerUp: false });
    const conf = { cniVersion: '1.0.0', name: 'sdvdum', type: 'dummy', ipam: staticIPAM() };
    const add = execPlugin('dummy', { command: 'ADD', containerID: 'cnits-sdv-d2', netns: ctr.path, ifName: 'eth0', cniPath: cniPath(dirs.refIPAM), stdin: conf, hostNetns: host.name });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.equal(link(ctr, 'eth0').linkinfo.info_kind, 'dummy');
    assert.equal(link(host, 'eth0').linkinfo.info_kind, 'veth', 'the host\'s eth0 is untouched');
  });

  it('kernel dummy: failures after the link leave no link and no reservation; an existing CNI_IFNAME is refused and kept', { skip: noKernel }, () => {
    const net = `sdvdfail${n}`;
    const conf = { cniVersion: '1.0.0', name: net, type: 'dummy', ipam: hostLocal() };
    for (const step of ['link', 'ipam', 'configure']) {
      const r = run('ADD', conf, { env: { CNI_TS_FAIL_AFTER: step } });
      assert.equal(r.code, 1, `${step}: ${r.stdout}`);
      assert.match(r.json.msg, new RegExp(`injected failure after ${step}`));
      assert.deepEqual(nonLo(ctr), [], `after ${step}`);
      assert.deepEqual(hostLocalReservations(dirs.dataDir, net), [], `after ${step}`);
    }
    const noIPs = run('ADD', { ...conf, ipam: { type: 'static' } });
    assert.equal(noIPs.json.msg, 'IPAM plugin returned missing IP config');
    assert.deepEqual(nonLo(ctr), []);
    ctr.ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'csdp2');
    const clash = run('ADD', conf);
    assert.equal(clash.json.msg, 'failed to create dummy: file exists');
    assert.equal(link(ctr, 'eth0').linkinfo.info_kind, 'veth');
    assert.deepEqual(hostLocalReservations(dirs.dataDir, net), []);
  });

  it('dummy bad configurations: code 7 naming the field, checked before the namespace is opened, nothing created', () => {
    const base = { cniVersion: '1.0.0', name: 'sdvdum', type: 'dummy' };
    const cases: Array<[object, RegExp]> = [
      [base, /^ipam\.type: is required: dummy interface requires an IPAM configuration$/],
      [{ ...base, ipam: null }, /^ipam\.type: is required/],
      [{ ...base, ipam: {} }, /^ipam\.type: is required/],
      [{ ...base, ipam: { type: 7 } }, /^ipam\.type: 7 must be a string$/],
      [{ ...base, ipam: { type: 'static' }, dns: { nameservers: 'x' } }, /^dns\.nameservers: "x" must be a list$/],
    ];
    for (const [conf, msg] of cases) {
      for (const command of ['ADD', 'CHECK']) {
        const r = run(command, conf, { netns: '/var/run/netns/cnits-sdv-missing' });
        assert.equal(r.json?.code, 7, `${command} ${JSON.stringify(conf)}: ${r.stdout}`);
        assert.match(r.json.msg, msg);
      }
    }
    assert.equal(run('STATUS', { ...base, cniVersion: '1.1.0' }).json.code, 7);
    assert.deepEqual(nonLo(ctr), []);
    assert.equal(run('VERSION', '').json.supportedVersions.join(), SPEC_VERSIONS.join());
  });

  it('dummy on a kernel without the dummy type fails cleanly: the error says so, no link, no reservation', { skip: (hasDummy || !!process.env.CNI_TS_VM) && 'this kernel has dummy' }, () => {
    const net = `sdvdnok${n}`;
    const r = run('ADD', { cniVersion: '1.0.0', name: net, type: 'dummy', ipam: hostLocal() });
    assert.equal(r.code, 1);
    assert.equal(r.json.code, 999);
    assert.match(r.json.msg, /^failed to create dummy "eth0": the kernel has no dummy link type \(CONFIG_DUMMY, module dummy\)/);
    assert.deepEqual(nonLo(ctr), []);
    assert.deepEqual(hostLocalReservations(dirs.dataDir, net), []);
  });

  it('dummy DEL never blocks teardown: no ipam, a bad ipam type, a missing or absent netns; it still releases the IPAM reservation', () => {
    const base = { cniVersion: '1.0.0', name: 'sdvdel', type: 'dummy' };
    for (const conf of [base, { ...base, ipam: null }, { ...base, ipam: { type: 42 } }, { ...base, ipam: { type: 'static', addresses: 'x' } }]) {
      for (const o of [{}, { ns: null }, { netns: '/var/run/netns/cnits-sdv-missing' }]) {
        const r = run('DEL', conf, o);
        assert.equal(r.code, 0, `${JSON.stringify(conf)} ${JSON.stringify(o)}: ${r.stdout}`);
      }
    }
    // a reservation held for this attachment (as a dummy ADD makes it) goes with DEL, even without CNI_NETNS
    const net = `sdvdrel${n}`;
    const conf = { ...base, name: net, ipam: hostLocal() };
    const held = execPlugin('host-local', { command: 'ADD', containerID: 'cnits-sdv-d1', netns: ctr.path, ifName: 'eth0', stdin: conf });
    assert.equal(held.code, 0, held.stdout);
    assert.equal(hostLocalReservations(dirs.dataDir, net).length, 1);
    assert.equal(run('DEL', conf, { ns: null }).code, 0);
    assert.deepEqual(hostLocalReservations(dirs.dataDir, net), []);
    // a link that is not there is no error, and an existing one of that name goes
    ctr.ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'csdp3');
    assert.equal(run('DEL', base).code, 0);
    assert.deepEqual(nonLo(ctr), []);
  });
});
