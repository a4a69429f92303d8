// bin/loopback run as a runtime runs it, side by side with Debian's Go plugin.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createNetns, execPlugin, haveRef, ipJSON, isRoot, REF_BIN, SPEC_VERSIONS, type TestNetns } from '../helpers/index.js';

const skip = !isRoot && 'needs root';

function loUp(ns: TestNetns): boolean {
  return ipJSON(ns, 'link', 'show', 'lo')[0].flags.includes('UP');
}

describe('loopback', { skip }, () => {
  let ns: TestNetns;
  before(() => {
    ns = createNetns('lo');
  });
  after(() => ns.remove());

  for (const v of SPEC_VERSIONS) {
    it(`[${v}] ADD brings lo up and reports its addresses, CHECK passes, DEL brings it down`, () => {
      const conf = { cniVersion: v, name: 'lo-test', type: 'loopback' };
      const base = { containerID: 'ctr-lo', netns: ns.path, ifName: 'eth0', stdin: conf };
      const add = execPlugin('loopback', { ...base, command: 'ADD' });
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.equal(add.json.cniVersion, v);
      if (v === '0.1.0' || v === '0.2.0') {
        assert.deepEqual(add.json.ip4, { ip: '127.0.0.1/8' });
        assert.deepEqual(add.json.ip6, { ip: '::1/128' });
      } else {
        assert.deepEqual(add.json.interfaces, [{ name: 'lo', mac: '00:00:00:00:00:00', sandbox: ns.path }]);
        const legacy = v !== '1.0.0' && v !== '1.1.0';
        assert.deepEqual(add.json.ips, [
          { ...(legacy ? { version: '4' } : {}), interface: 0, address: '127.0.0.1/8' },
          { ...(legacy ? { version: '6' } : {}), interface: 0, address: '::1/128' },
        ]);
      }
      assert.ok(loUp(ns));
      const chk = execPlugin('loopback', { ...base, command: 'CHECK' });
      if (v === '0.4.0' || v === '1.0.0' || v === '1.1.0') assert.equal(chk.code, 0, chk.stdout);
      else assert.equal(chk.json.code, 1, 'CHECK is refused below 0.4.0');
      const del = execPlugin('loopback', { ...base, command: 'DEL' });
      assert.equal(del.code, 0, del.stdout);
      assert.equal(del.stdout, '');
      assert.ok(!loUp(ns));
      const again = execPlugin('loopback', { ...base, command: 'DEL' });
      assert.equal(again.code, 0, 'a second DEL succeeds');
    });
  }

  it('CHECK fails when lo is down', () => {
    ns.ip('link', 'set', 'lo', 'down');
    const r = execPlugin('loopback', { command: 'CHECK', containerID: 'c', netns: ns.path, ifName: 'eth0', stdin: { cniVersion: '1.0.0', name: 'n' } });
    assert.equal(r.code, 1);
    assert.equal(r.json.code, 999);
    assert.match(r.json.msg, /loopback interface is down/);
  });

  it('passes a prevResult through unchanged', () => {
    const prev = { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: ns.path }], ips: [{ interface: 0, address: '10.250.0.2/24', gateway: '10.250.0.1' }] };
    const r = execPlugin('loopback', { command: 'ADD', containerID: 'c', netns: ns.path, ifName: 'eth0', stdin: { cniVersion: '1.0.0', name: 'n', prevResult: prev } });
    assert.equal(r.code, 0, r.stdout);
    // as Go prints it: the empty DNS struct comes out as {}
    assert.deepEqual(r.json, { ...prev, dns: {} });
  });

  it('DEL tolerates a missing or empty CNI_NETNS', () => {
    const conf = { cniVersion: '1.0.0', name: 'n' };
    assert.equal(execPlugin('loopback', { command: 'DEL', containerID: 'c', netns: '/var/run/netns/cnits-gone', ifName: 'eth0', stdin: conf }).code, 0);
    assert.equal(execPlugin('loopback', { command: 'DEL', containerID: 'c', ifName: 'eth0', stdin: conf }).code, 0);
  });

  it('ADD into a namespace that does not exist fails with an error JSON', () => {
    const r = execPlugin('loopback', { command: 'ADD', containerID: 'c', netns: '/var/run/netns/cnits-gone', ifName: 'eth0', stdin: { cniVersion: '1.0.0', name: 'n' } });
    assert.equal(r.code, 1);
    assert.equal(r.json.code, 999);
    assert.match(r.json.msg, /cnits-gone/);
  });

  it('STATUS and GC succeed at 1.1.0 and are refused below it', () => {
    for (const command of ['STATUS', 'GC']) {
      assert.equal(execPlugin('loopback', { command, stdin: { cniVersion: '1.1.0', name: 'n' } }).code, 0);
      assert.equal(execPlugin('loopback', { command, stdin: { cniVersion: '1.0.0', name: 'n' } }).json.code, 1);
    }
  });
});

describe('loopback side by side with Debian /usr/lib/cni/loopback', { skip: skip || (!haveRef && 'containernetworking-plugins not installed') }, () => {
  let ours: TestNetns;
  let theirs: TestNetns;
  before(() => {
    ours = createNetns('lo-ours');
    theirs = createNetns('lo-ref');
  });
  after(() => {
    ours.remove();
    theirs.remove();
  });

  const strip = (j: any) => {
    // Debian 1.1.1, for 0.3.x/0.4.0, omits ips[].version (a 1.0.0 result
    // labelled with the old version); normalised here.
    const c = structuredClone(j);
    for (const ip of c.ips ?? []) delete ip.version;
    delete c.interfaces?.[0]?.sandbox;
    return c;
  };

  for (const v of ['0.3.0', '0.3.1', '0.4.0', '1.0.0']) {
    it(`[${v}] same result and kernel state after ADD and DEL`, () => {
      const conf = { cniVersion: v, name: 'lo-cmp', type: 'loopback' };
      const a = execPlugin('loopback', { command: 'ADD', containerID: 'x', netns: ours.path, ifName: 'eth0', stdin: conf });
      const b = execPlugin(`${REF_BIN}/loopback`, { command: 'ADD', containerID: 'x', netns: theirs.path, ifName: 'eth0', stdin: conf });
      assert.equal(a.code, 0);
      assert.equal(b.code, 0);
      assert.deepEqual(strip(a.json), strip(b.json));
      assert.deepEqual(ipJSON(ours, 'addr', 'show', 'lo')[0].addr_info, ipJSON(theirs, 'addr', 'show', 'lo')[0].addr_info);
      assert.equal(execPlugin('loopback', { command: 'DEL', containerID: 'x', netns: ours.path, ifName: 'eth0', stdin: conf }).code, 0);
      assert.equal(execPlugin(`${REF_BIN}/loopback`, { command: 'DEL', containerID: 'x', netns: theirs.path, ifName: 'eth0', stdin: conf }).code, 0);
      assert.equal(loUp(ours), loUp(theirs));
    });
  }

  it('[0.2.0] ours prints a real 0.2.0 result; Debian 1.1.1 prints a 1.0.0-shaped one labelled 0.2.0', () => {
    const conf = { cniVersion: '0.2.0', name: 'lo-cmp' };
    const a = execPlugin('loopback', { command: 'ADD', containerID: 'x', netns: ours.path, ifName: 'eth0', stdin: conf });
    const b = execPlugin(`${REF_BIN}/loopback`, { command: 'ADD', containerID: 'x', netns: theirs.path, ifName: 'eth0', stdin: conf });
    assert.deepEqual(a.json.ip4, { ip: '127.0.0.1/8' });
    assert.equal(b.json.ip4, undefined);
    assert.deepEqual(b.json.ips.map((i: any) => i.address), [a.json.ip4.ip, a.json.ip6.ip]);
  });

  const errorCases: Array<[string, Record<string, string | undefined>, string | object]> = [
    ['missing env', { CNI_NETNS: undefined, CNI_IFNAME: undefined }, { cniVersion: '1.0.0', name: 'n' }],
    ['bad container id', { CNI_CONTAINERID: '-bad/id' }, { cniVersion: '1.0.0', name: 'n' }],
    ['bad ifname', { CNI_IFNAME: 'a/b' }, { cniVersion: '1.0.0', name: 'n' }],
    ['ifname too long', { CNI_IFNAME: 'abcdefghijklmnop' }, { cniVersion: '1.0.0', name: 'n' }],
    ['unknown command', { CNI_COMMAND: 'FROB' }, { cniVersion: '1.0.0', name: 'n' }],
    ['not JSON', {}, '{nope'],
    ['missing name', {}, { cniVersion: '1.0.0' }],
    ['bad name', {}, { cniVersion: '1.0.0', name: 'bad name' }],
    ['unsupported version', {}, { cniVersion: '9.9.9', name: 'n' }],
    ['CHECK below 0.4.0', { CNI_COMMAND: 'CHECK' }, { cniVersion: '0.3.1', name: 'n' }],
  ];
  for (const [what, env, stdin] of errorCases) {
    it(`same error code for ${what}`, () => {
      const o = { command: 'ADD', containerID: 'x', netns: ours.path, ifName: 'eth0', stdin, env };
      const a = execPlugin('loopback', o);
      const b = execPlugin(`${REF_BIN}/loopback`, { ...o, netns: theirs.path });
      assert.equal(a.code, 1, a.stdout);
      assert.equal(b.code, 1, b.stdout);
      assert.equal(a.json.code, b.json.code, `ours: ${a.stdout} theirs: ${b.stdout}`);
    });
  }
});
