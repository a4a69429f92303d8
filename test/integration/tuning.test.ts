// bin/tuning run as a runtime runs it, chained after an interface that the test
// creates in a throw-away container netns; side by side with Debian's plugin.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { execPlugin, haveRef, ipJSON, isRoot, REF_BIN, type TestNetns } from '../helpers/index.js';
import { createNetnsPair, type NetnsPair, type VethSpec } from '../helpers/netns-pair.js';

const skip = !isRoot && 'needs root';
const VERSIONS = ['0.3.1', '0.4.0', '1.0.0', '1.1.0'];
const ORIG_MAC = '0a:58:0a:e6:00:02';

/** The interface tuning changes: a veth, both ends in the container, its peer down. */
const ETH0: VethSpec = { name: 'eth0', in: 'ctr', peer: 'peer0', mac: ORIG_MAC, mtu: 1500, peerUp: false };

interface Env extends NetnsPair {
  dataDir: string;
}

function setupEnv(tag: string): Env {
  return { ...createNetnsPair({ tag, veths: [ETH0] }), dataDir: fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-tuning-')) };
}

function teardownEnv(e: Env): void {
  e.cleanup();
  fs.rmSync(e.dataDir, { recursive: true, force: true });
}

function prevResult(v: string, ns: TestNetns) {
  const legacy = v.startsWith('0.');
  return {
    cniVersion: v,
    interfaces: [{ name: 'eth0', mac: ORIG_MAC, sandbox: ns.path }],
    ips: [{ ...(legacy ? { version: '4' } : {}), address: '10.230.0.2/24', gateway: '10.230.0.1', interface: 0 }],
  };
}

function link(ns: TestNetns) {
  const l = ipJSON(ns, '-d', 'link', 'show', 'eth0')[0];
  return { mac: l.address, mtu: l.mtu, promisc: l.flags.includes('PROMISC'), allmulti: l.flags.includes('ALLMULTI'), txqlen: l.txqlen };
}

const sysctl = (ns: TestNetns, key: string) => ns.exec('cat', `/proc/sys/${key}`).trim();

describe('tuning', { skip }, () => {
  let e: Env;
  before(() => {
    e = setupEnv('tun');
  });
  after(() => teardownEnv(e));
  beforeEach(() => {
    e.ctr.ip('link', 'set', 'eth0', 'address', ORIG_MAC, 'mtu', '1500', 'promisc', 'off', 'allmulticast', 'off', 'txqueuelen', '1000');
    e.ctr.exec('sysctl', '-q', '-w', 'net.ipv4.conf.eth0.arp_notify=0');
  });

  const run = (command: string, stdin: object, extra: { args?: string; netns?: string; containerID?: string } = {}) =>
    execPlugin('tuning', { command, containerID: extra.containerID ?? 'ctr-tun', netns: extra.netns ?? e.ctr.path, ifName: 'eth0', args: extra.args, stdin, hostNetns: e.host.name });

  for (const v of VERSIONS) {
    it(`[${v}] ADD applies every setting and returns prevResult with the new MAC; CHECK passes; DEL restores`, () => {
      const conf = {
        cniVersion: v,
        name: 'tun-net',
        type: 'tuning',
        mac: 'c2:11:22:33:44:55',
        mtu: 1400,
        promisc: true,
        allmulti: true,
        txQLen: 500,
        dataDir: e.dataDir,
        sysctl: { 'net.ipv4.conf.IFNAME.arp_notify': '1' },
        prevResult: prevResult(v, e.ctr),
      };
      const add = run('ADD', conf);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.equal(add.json.cniVersion, v);
      assert.deepEqual(add.json.interfaces, [{ name: 'eth0', mac: 'c2:11:22:33:44:55', sandbox: e.ctr.path }]);
      assert.deepEqual(add.json.ips, conf.prevResult.ips);
      assert.deepEqual(link(e.ctr), { mac: 'c2:11:22:33:44:55', mtu: 1400, promisc: true, allmulti: true, txqlen: 500 });
      assert.equal(sysctl(e.ctr, 'net/ipv4/conf/eth0/arp_notify'), '1');
      const file = path.join(e.dataDir, 'ctr-tun_eth0.json');
      assert.deepEqual(JSON.parse(fs.readFileSync(file, 'utf8')), { mac: ORIG_MAC, promisc: false, mtu: 1500, allmulti: false, txQLen: 1000 });
      assert.equal(fs.statSync(file).mode & 0o777, 0o600);

      const chk = run('CHECK', { ...conf, prevResult: add.json });
      if (v === '0.3.1') assert.equal(chk.json.code, 1, 'CHECK is refused below 0.4.0');
      else assert.equal(chk.code, 0, chk.stdout);

      const del = run('DEL', { ...conf, prevResult: add.json });
      assert.equal(del.code, 0, del.stdout);
      assert.deepEqual(link(e.ctr), { mac: ORIG_MAC, mtu: 1500, promisc: false, allmulti: false, txqlen: 1000 });
      assert.ok(!fs.existsSync(file), 'the backup is removed');
      assert.equal(sysctl(e.ctr, 'net/ipv4/conf/eth0/arp_notify'), '1', 'sysctls are not restored, as in the reference');
      assert.equal(run('DEL', conf).code, 0, 'a second DEL succeeds');
    });
  }

  it('CHECK fails when a tuned attribute or sysctl drifted', () => {
    const conf = { cniVersion: '1.0.0', name: 'n', mtu: 1400, dataDir: e.dataDir, sysctl: { 'net.ipv4.conf.IFNAME.arp_notify': '1' }, prevResult: prevResult('1.0.0', e.ctr) };
    assert.equal(run('ADD', conf).code, 0);
    assert.equal(run('CHECK', conf).code, 0);
    e.ctr.ip('link', 'set', 'eth0', 'mtu', '1450');
    const c1 = run('CHECK', conf);
    assert.equal(c1.code, 1);
    assert.match(c1.json.msg, /MTU is 1450, expected 1400/);
    e.ctr.ip('link', 'set', 'eth0', 'mtu', '1400');
    e.ctr.exec('sysctl', '-q', '-w', 'net.ipv4.conf.eth0.arp_notify=0');
    assert.match(run('CHECK', conf).json.msg, /arp_notify/);
    assert.equal(run('DEL', conf).code, 0);
  });

  it('MAC from CNI_ARGS, runtimeConfig and args.cni, in the reference precedence', () => {
    const base = { cniVersion: '1.0.0', name: 'n', dataDir: e.dataDir, mac: 'c2:00:00:00:00:01', prevResult: prevResult('1.0.0', e.ctr) };
    const cases: Array<[object, string, string]> = [
      [{}, 'IgnoreUnknown=1;K8S_POD_NAME=x;MAC=c2:00:00:00:00:02', 'c2:00:00:00:00:02'],
      [{ runtimeConfig: { mac: 'c2:00:00:00:00:03' } }, 'MAC=c2:00:00:00:00:02', 'c2:00:00:00:00:03'],
      [{ runtimeConfig: { mac: 'c2:00:00:00:00:03' }, args: { cni: { mac: 'c2:00:00:00:00:04' } } }, '', 'c2:00:00:00:00:04'],
    ];
    for (const [extra, args, want] of cases) {
      const r = run('ADD', { ...base, ...extra }, { args });
      assert.equal(r.code, 0, r.stdout);
      assert.equal(link(e.ctr).mac, want);
      assert.equal(r.json.interfaces[0].mac, want);
      assert.equal(run('DEL', { ...base, ...extra }, { args }).code, 0);
      assert.equal(link(e.ctr).mac, ORIG_MAC);
    }
  });

  it('args.cni.sysctl without a config sysctl map works (the reference panics)', () => {
    const conf = { cniVersion: '1.0.0', name: 'n', args: { cni: { sysctl: { 'net.ipv4.conf.IFNAME.arp_notify': '1' } } }, prevResult: prevResult('1.0.0', e.ctr) };
    const r = run('ADD', conf);
    assert.equal(r.code, 0, r.stdout);
    assert.equal(sysctl(e.ctr, 'net/ipv4/conf/eth0/arp_notify'), '1');
    assert.equal(run('DEL', conf).code, 0);
  });

  const refused: Array<[string, object | string, RegExp]> = [
    ['a non-net key', { sysctl: { 'kernel.hostname': 'x' } }, /^sysctl\["kernel.hostname"\]: invalid net sysctl key/],
    ['a ".." escape', { sysctl: { 'net/../kernel/hostname': 'x' } }, /segment/],
    ['a duplicate key', '{"cniVersion":"1.0.0","name":"n","sysctl":{"net.ipv4.ip_forward":"1","net.ipv4.ip_forward":"1"},"prevResult":PREV}', /duplicate sysctl key/],
    ['a bad MAC', { mac: 'nope' }, /^mac: "nope" is not a MAC address/],
  ];
  for (const [what, extra, msg] of refused) {
    it(`refuses ${what} with code 7 and changes nothing`, () => {
      const prev = prevResult('1.0.0', e.ctr);
      const stdin = typeof extra === 'string' ? extra.replace('PREV', JSON.stringify(prev)) : { cniVersion: '1.0.0', name: 'n', mtu: 1300, dataDir: e.dataDir, ...extra, prevResult: prev };
      const r = execPlugin('tuning', { command: 'ADD', containerID: 'ctr-tun', netns: e.ctr.path, ifName: 'eth0', stdin, hostNetns: e.host.name });
      assert.equal(r.code, 1);
      assert.equal(r.json.code, 7, r.stdout);
      assert.match(r.json.msg, msg);
      assert.equal(link(e.ctr).mtu, 1500);
      assert.deepEqual(fs.readdirSync(e.dataDir), []);
    });
  }

  it('a failure after the sysctls were written rolls everything back', () => {
    const conf = { cniVersion: '1.0.0', name: 'n', mtu: 70000, mac: 'c2:00:00:00:00:09', dataDir: e.dataDir, sysctl: { 'net.ipv4.conf.IFNAME.arp_notify': '1' }, prevResult: prevResult('1.0.0', e.ctr) };
    const r = run('ADD', conf);
    assert.equal(r.code, 1, r.stdout);
    assert.equal(sysctl(e.ctr, 'net/ipv4/conf/eth0/arp_notify'), '0');
    assert.deepEqual(link(e.ctr), { mac: ORIG_MAC, mtu: 1500, promisc: false, allmulti: false, txqlen: 1000 });
    assert.deepEqual(fs.readdirSync(e.dataDir), []);
  });

  it('ADD without prevResult is refused; ADD into a missing netns fails before writing anything', () => {
    const r = run('ADD', { cniVersion: '1.0.0', name: 'n', mtu: 1400 });
    assert.equal(r.json.code, 7);
    assert.match(r.json.msg, /Required prevResult missing/);
    const g = run('ADD', { cniVersion: '1.0.0', name: 'n', mtu: 1400, dataDir: e.dataDir, prevResult: prevResult('1.0.0', e.ctr) }, { netns: '/var/run/netns/cnits-gone' });
    assert.equal(g.code, 1);
    assert.deepEqual(fs.readdirSync(e.dataDir), []);
  });

  it('DEL succeeds when the netns or the link is gone, and drops the backup', () => {
    const conf = { cniVersion: '1.0.0', name: 'n', mtu: 1400, dataDir: e.dataDir, prevResult: prevResult('1.0.0', e.ctr) };
    assert.equal(run('ADD', conf).code, 0);
    assert.equal(run('DEL', conf, { netns: '/var/run/netns/cnits-gone' }).code, 0);
    assert.deepEqual(fs.readdirSync(e.dataDir), []);
    assert.equal(run('ADD', conf, { containerID: 'c2' }).code, 0);
    e.ctr.ip('link', 'del', 'eth0');
    try {
      assert.equal(run('DEL', conf, { containerID: 'c2' }).code, 0);
      assert.equal(run('DEL', conf, { containerID: 'c2', netns: '' }).code, 0);
      assert.deepEqual(fs.readdirSync(e.dataDir), []);
    } finally {
      e.addVeth(ETH0);
    }
  });
});

describe('tuning side by side with Debian /usr/lib/cni/tuning', { skip: skip || (!haveRef && 'containernetworking-plugins not installed') }, () => {
  let ours: Env;
  let theirs: Env;
  before(() => {
    ours = setupEnv('tun-o');
    theirs = setupEnv('tun-r');
  });
  after(() => {
    teardownEnv(ours);
    teardownEnv(theirs);
  });

  for (const v of ['0.3.1', '0.4.0', '1.0.0']) {
    it(`[${v}] same result, kernel state and backup file`, () => {
      const mk = (env: Env) => ({
        cniVersion: v, name: 'tun-cmp', type: 'tuning', mac: 'c2:11:22:33:44:66', mtu: 1450, promisc: true, allmulti: true,
        dataDir: env.dataDir, sysctl: { 'net.ipv4.conf.IFNAME.arp_notify': '1' }, prevResult: prevResult(v, env.ctr),
      });
      const o = { command: 'ADD', containerID: 'cmp', ifName: 'eth0' };
      const a = execPlugin('tuning', { ...o, netns: ours.ctr.path, stdin: mk(ours), hostNetns: ours.host.name });
      const b = execPlugin(`${REF_BIN}/tuning`, { ...o, netns: theirs.ctr.path, stdin: mk(theirs), hostNetns: theirs.host.name });
      assert.equal(a.code, 0, a.stdout);
      assert.equal(b.code, 0, b.stdout);
      const norm = (j: any, ns: TestNetns) => {
        const c = structuredClone(j);
        for (const i of c.interfaces) i.sandbox = i.sandbox === ns.path ? 'SANDBOX' : i.sandbox;
        return c;
      };
      assert.deepEqual(norm(a.json, ours.ctr), norm(b.json, theirs.ctr));
      assert.deepEqual(link(ours.ctr), link(theirs.ctr));
      assert.equal(fs.readFileSync(path.join(ours.dataDir, 'cmp_eth0.json'), 'utf8'), fs.readFileSync(path.join(theirs.dataDir, 'cmp_eth0.json'), 'utf8'));
      // our DEL restores what Debian's ADD changed (same backup format), and theirs ours
      const d1 = execPlugin('tuning', { ...o, command: 'DEL', netns: theirs.ctr.path, stdin: mk(theirs), hostNetns: theirs.host.name });
      const d2 = execPlugin(`${REF_BIN}/tuning`, { ...o, command: 'DEL', netns: ours.ctr.path, stdin: mk(ours), hostNetns: ours.host.name });
      assert.equal(d1.code, 0);
      assert.equal(d2.code, 0);
      assert.equal(link(ours.ctr).mac, ORIG_MAC);
      assert.equal(link(theirs.ctr).mac, ORIG_MAC);
      assert.equal(link(theirs.ctr).mtu, 1500);
    });
  }
});
