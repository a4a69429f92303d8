// bin/firewall run as a runtime runs it, inside throw-away "host" namespaces
// (iptables state is per namespace, so no rule ever reaches this machine's
// tables): rules and the attachment record after ADD, CHECK, DEL twice and
// without CNI_NETNS, GC; bad configs (code 7, nothing left); the firewalld
// backend without firewalld and against a stand-in firewalld on a private D-Bus
// bus (test/fixtures/fake-firewalld.py); rollback; side by side with Debian's Go firewall
// (same tables, each DELetes and CHECKs the other's ADD); and real traffic
// through our bridge with FORWARD policy DROP: the rules let containers talk,
// ingressPolicy same-bridge/isolated block what they should.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, createNetns, execPlugin, isRoot, REF_BIN, SPEC_VERSIONS, type ExecResult, type TestNetns } from '../helpers/index.js';

const haveIptables = spawnSync('sh', ['-c', 'command -v iptables-save && command -v ip6tables-restore']).status === 0;
const skip = (!isRoot && 'needs root') || (!haveIptables && 'needs iptables and ip6tables');
const haveRefFirewall = fs.existsSync(path.join(REF_BIN, 'firewall'));
const haveDbusDaemon = spawnSync('sh', ['-c', 'command -v dbus-daemon']).status === 0;
const NET = 'cnits-fw-net';
const ID = 'cnits-fw-1';

let tmp: string;
let C: TestNetns; // the "container" every fabricated prevResult points at (CNI_NETNS must differ from the host's)
const hosts: TestNetns[] = [];

/** A fresh host namespace: its own, empty, iptables tables. */
function newHost(tag: string): TestNetns {
  const h = createNetns(`fw-${tag}`);
  hosts.push(h);
  return h;
}

function prev(ips: string[], version = '1.0.0', bridge = 'cfwbr9'): object {
  if (version === '0.1.0' || version === '0.2.0') {
    const legacy: Record<string, unknown> = { cniVersion: version };
    for (const a of ips) legacy[a.includes(':') ? 'ip6' : 'ip4'] = { ip: a };
    return legacy;
  }
  return {
    cniVersion: version,
    interfaces: [{ name: bridge }, { name: 'cfwv0' }, { name: 'eth0', sandbox: C.path }],
    ips: ips.map((address) => ({ ...(version.startsWith('0.3') || version === '0.4.0' ? { version: address.includes(':') ? '6' : '4' } : {}), address, interface: 2 })),
  };
}

function conf(extra: Record<string, unknown> = {}, ips = ['10.201.9.2/24', 'fd00:201::2/64'], version = '1.0.0'): Record<string, unknown> {
  return { cniVersion: version, name: NET, type: 'firewall', backend: 'iptables', dataDir: path.join(tmp, 'data'), prevResult: prev(ips, version), ...extra };
}

function fw(h: TestNetns, command: string, stdin: object, o: { id?: string; plugin?: string; netns?: string | null; env?: Record<string, string | undefined> } = {}): ExecResult {
  return execPlugin(o.plugin ?? 'firewall', {
    command,
    containerID: o.id ?? ID,
    netns: o.netns === null ? undefined : (o.netns ?? C.path),
    ifName: 'eth0',
    stdin,
    env: o.env,
    hostNetns: h.name,
  });
}

/** Chains and rules of the filter table, as iptables-save prints them (no counters, no comments lines). */
function filterRules(h: TestNetns, family: 4 | 6 = 4): string[] {
  const out = h.exec(family === 4 ? 'iptables-save' : 'ip6tables-save', '-t', 'filter');
  return out.split('\n').filter((l) => l.startsWith('-A ') || (l.startsWith(':') && !/^:(INPUT|FORWARD|OUTPUT) /.test(l)));
}

const ipRules = (host: string) => [
  `-A CNI-FORWARD -d ${host} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`,
  `-A CNI-FORWARD -s ${host} -j ACCEPT`,
];
const SHARED = [
  ':CNI-ADMIN - [0:0]',
  ':CNI-FORWARD - [0:0]',
  '-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD',
  '-A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN',
];
const recordFile = (id = ID) => path.join(tmp, 'data', NET, `${id}_eth0.json`);

/** A suite's temp dir and container namespace, and removal of every host namespace it made. */
function scratch(): void {
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-fw-'));
    C = createNetns('fw-c');
  });
  after(() => {
    for (const h of hosts.splice(0)) h.remove();
    C?.remove();
    fs.rmSync(tmp, { recursive: true, force: true });
  });
}

describe('firewall (iptables)', { skip }, () => {
  scratch();

  for (const v of SPEC_VERSIONS) {
    it(`[${v}] ADD writes the reference's rules and a record, returns prevResult; CHECK; DEL twice and without CNI_NETNS leave only the shared chains`, () => {
      const h = newHost('v');
      const c = conf({}, ['10.201.9.2/24', 'fd00:201::2/64'], v);
      const add = fw(h, 'ADD', c);
      assert.equal(add.code, 0, add.stdout);
      assert.deepEqual(add.json, { ...(c.prevResult as object), dns: {} }, 'prevResult unchanged (Go prints dns {})');
      assert.deepEqual(filterRules(h, 4), [...SHARED.slice(0, 3), SHARED[3], ...ipRules('10.201.9.2/32')]);
      assert.deepEqual(filterRules(h, 6), [...SHARED.slice(0, 3), SHARED[3], ...ipRules('fd00:201::2/128')]);
      assert.deepEqual(JSON.parse(fs.readFileSync(recordFile(), 'utf8')), { containerID: ID, ifName: 'eth0', backend: 'iptables', ips: ['10.201.9.2/32', 'fd00:201::2/128'] });
      const check = fw(h, 'CHECK', c);
      if (v < '0.4.0') assert.equal(check.json?.code, 1, 'CHECK needs 0.4.0');
      else assert.equal(check.code, 0, check.stdout);
      assert.equal(fw(h, 'ADD', c).code, 0, 'a second ADD');
      assert.equal(filterRules(h, 4).length, 6, 'adds nothing twice');
      assert.equal(fw(h, 'DEL', c).code, 0);
      assert.deepEqual(filterRules(h, 4), SHARED);
      assert.deepEqual(filterRules(h, 6), SHARED);
      assert.ok(!fs.existsSync(recordFile()));
      assert.equal(fw(h, 'DEL', c).code, 0, 'DEL twice');
      assert.equal(fw(h, 'DEL', c, { netns: null }).code, 0, 'DEL without CNI_NETNS');
      assert.deepEqual(filterRules(h, 4), SHARED);
    });
  }

  it('DEL without prevResult removes the rules through ADD\'s record (the reference leaks them: plugins#390); without either it succeeds', () => {
    const h = newHost('np');
    assert.equal(fw(h, 'ADD', conf()).code, 0);
    const { prevResult: _, ...bare } = conf();
    const del = fw(h, 'DEL', bare, { netns: null });
    assert.equal(del.code, 0, del.stdout);
    assert.deepEqual(filterRules(h, 4), SHARED);
    assert.deepEqual(filterRules(h, 6), SHARED);
    assert.equal(fw(h, 'DEL', bare).code, 0);
  });

  it('DEL is lenient: an unknown ingressPolicy, a bad admin chain, nulls and a broken prevResult do not block it', () => {
    const h = newHost('ld');
    assert.equal(fw(h, 'ADD', conf()).code, 0);
    const del = fw(h, 'DEL', conf({ ingressPolicy: 'nope', iptablesAdminChainName: 'bad name', firewalldZone: null, prevResult: { ips: [{ address: '10.201.9.2/24' }, { address: 7 }], interfaces: 'x' } }));
    assert.equal(del.code, 0, del.stdout);
    assert.deepEqual(filterRules(h, 4), SHARED);
    assert.deepEqual(filterRules(h, 6), SHARED, 'the record supplies the IPv6 address');
  });

  it('DEL keeps the rules of an IP that the network\'s record gives to another attachment (an address handed out again)', () => {
    const h = newHost('re');
    assert.equal(fw(h, 'ADD', conf(), { id: 'cnits-fw-old' }).code, 0);
    fs.rmSync(path.join(tmp, 'data', NET, 'cnits-fw-old_eth0.json')); // the old attachment's record is gone, its late DEL comes after the new ADD
    assert.equal(fw(h, 'ADD', conf(), { id: 'cnits-fw-new' }).code, 0);
    assert.equal(fw(h, 'DEL', conf(), { id: 'cnits-fw-old' }).code, 0);
    assert.deepEqual(filterRules(h, 4), [...SHARED, ...ipRules('10.201.9.2/32')]);
    assert.equal(fw(h, 'DEL', conf(), { id: 'cnits-fw-new' }).code, 0);
    assert.deepEqual(filterRules(h, 4), SHARED);
  });

  it('GC removes the rules and records of attachments not in cni.dev/valid-attachments and keeps the valid ones', () => {
    const h = newHost('gc');
    assert.equal(fw(h, 'ADD', conf({}, ['10.201.9.2/24']), { id: 'cnits-fw-keep' }).code, 0);
    assert.equal(fw(h, 'ADD', conf({}, ['10.201.9.3/24']), { id: 'cnits-fw-gone' }).code, 0);
    const { prevResult: _, ...gcConf } = conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'cnits-fw-keep', ifname: 'eth0' }] });
    const gc = fw(h, 'GC', gcConf, { netns: null });
    assert.equal(gc.code, 0, gc.stdout);
    assert.deepEqual(filterRules(h, 4), [...SHARED, ...ipRules('10.201.9.2/32')]);
    assert.ok(fs.existsSync(recordFile('cnits-fw-keep')) && !fs.existsSync(recordFile('cnits-fw-gone')));
    assert.equal(fw(h, 'GC', { ...gcConf, 'cni.dev/valid-attachments': [] }, { netns: null }).code, 0);
    assert.deepEqual(filterRules(h, 4), SHARED);
    assert.equal(fw(h, 'GC', { ...gcConf, cniVersion: '1.0.0' }, { netns: null }).json?.code, 1, 'GC needs 1.1.0');
  });

  it('GC removes the isolation rules of a bridge that is gone and that no remaining record isolates (the reference never does)', () => {
    const h = newHost('gci');
    h.ip('link', 'add', 'cfwbr7', 'type', 'bridge');
    const add = (id: string, bridge: string, policy: string, addr: string) =>
      assert.equal(fw(h, 'ADD', conf({ ingressPolicy: policy, prevResult: prev([addr], '1.0.0', bridge) }), { id }).code, 0);
    add('cnits-fw-a', 'cfwbr9', 'same-bridge', '10.201.9.2/24'); // gone bridge, collected: its rules go
    add('cnits-fw-b', 'cfwbr7', 'isolated', '10.201.7.2/24'); // collected, but the bridge exists: kept
    add('cnits-fw-c', 'cfwbr6', 'same-bridge', '10.201.6.2/24'); // valid: kept
    const { prevResult: _, ...gcConf } = conf({ cniVersion: '1.1.0', 'cni.dev/valid-attachments': [{ containerID: 'cnits-fw-c', ifname: 'eth0' }] });
    assert.equal(fw(h, 'GC', gcConf, { netns: null }).code, 0);
    const left = filterRules(h, 4);
    assert.deepEqual(left.filter((l) => l.includes('cfwbr9')), []);
    assert.equal(left.filter((l) => l.includes('cfwbr7')).length, 3);
    assert.equal(left.filter((l) => l.includes('cfwbr6')).length, 2);
    assert.equal(left.filter((l) => l.endsWith('-j RETURN') || l.includes('-j CNI-ISOLATION-STAGE-1')).length, 3, 'the RETURNs and the FORWARD jump stay');
    assert.deepEqual(left.filter((l) => /10\.201\.[79]\.2/.test(l)), [], 'the collected attachments\' own rules');
  });

  it('CHECK reports a missing rule in the reference\'s words', () => {
    const h = newHost('ck');
    assert.equal(fw(h, 'ADD', conf()).code, 0);
    h.exec('iptables', '-D', 'CNI-FORWARD', '-s', '10.201.9.2/32', '-j', 'ACCEPT');
    const check = fw(h, 'CHECK', conf());
    assert.equal(check.code, 1);
    assert.equal(check.json.msg, 'expected rule [-s 10.201.9.2/32 -j ACCEPT] not found');
    h.exec('iptables', '-D', 'FORWARD', '1');
    assert.equal(fw(h, 'CHECK', conf()).json.msg, 'expected FORWARD rule [-m comment --comment CNI firewall plugin rules -j CNI-FORWARD] not found');
  });

  it('iptablesAdminChainName names the admin chain; ingressPolicy same-bridge and isolated add v1.9.1\'s isolation chains, kept by DEL', () => {
    const h = newHost('ip');
    assert.equal(fw(h, 'ADD', conf({ iptablesAdminChainName: 'CFW-ADMIN', ingressPolicy: 'same-bridge' }, ['10.201.9.2/24'])).code, 0);
    assert.equal(fw(h, 'ADD', conf({ ingressPolicy: 'isolated', prevResult: prev(['10.201.8.2/24'], '1.0.0', 'cfwbr8') }), { id: 'cnits-fw-2' }).code, 0);
    const shared = '"CNI firewall plugin rules (ingressPolicy: same-bridge|isolated)"';
    assert.deepEqual(filterRules(h, 4), [
      ':CFW-ADMIN - [0:0]',
      ':CNI-ADMIN - [0:0]',
      ':CNI-FORWARD - [0:0]',
      ':CNI-ISOLATION-STAGE-1 - [0:0]',
      ':CNI-ISOLATION-STAGE-2 - [0:0]',
      `-A FORWARD -m comment --comment ${shared} -j CNI-ISOLATION-STAGE-1`,
      '-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD',
      '-A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN',
      '-A CNI-FORWARD -m comment --comment "CNI firewall plugin admin overrides" -j CFW-ADMIN',
      ...ipRules('10.201.9.2/32'),
      ...ipRules('10.201.8.2/32'),
      '-A CNI-ISOLATION-STAGE-1 -i cfwbr8 -o cfwbr8 -m comment --comment "CNI firewall plugin rules (ingressPolicy: isolated)" -j DROP',
      '-A CNI-ISOLATION-STAGE-1 -i cfwbr8 ! -o cfwbr8 -m comment --comment "CNI firewall plugin rules (ingressPolicy: isolated)" -j CNI-ISOLATION-STAGE-2',
      '-A CNI-ISOLATION-STAGE-1 -i cfwbr9 ! -o cfwbr9 -m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge)" -j CNI-ISOLATION-STAGE-2',
      `-A CNI-ISOLATION-STAGE-1 -m comment --comment ${shared} -j RETURN`,
      `-A CNI-ISOLATION-STAGE-2 -o cfwbr8 -m comment --comment ${shared} -j DROP`,
      `-A CNI-ISOLATION-STAGE-2 -o cfwbr9 -m comment --comment ${shared} -j DROP`,
      `-A CNI-ISOLATION-STAGE-2 -m comment --comment ${shared} -j RETURN`,
    ]);
    assert.deepEqual(filterRules(h, 6), [], 'no IPv6 address: no IPv6 rules');
    assert.equal(fw(h, 'CHECK', conf({ iptablesAdminChainName: 'CFW-ADMIN', ingressPolicy: 'same-bridge' }, ['10.201.9.2/24'])).code, 0);
    assert.equal(fw(h, 'DEL', conf({ ingressPolicy: 'same-bridge' }, ['10.201.9.2/24'])).code, 0);
    const left = filterRules(h, 4);
    assert.ok(!left.some((l) => l.includes('10.201.9.2')) && left.some((l) => l.includes('-i cfwbr9 ! -o cfwbr9')), 'the per-bridge rules stay (other containers use them)');
  });

  const bad: Array<[string, Record<string, unknown>, RegExp]> = [
    ['an unknown ingressPolicy', { ingressPolicy: 'closed' }, /^ingressPolicy: "closed" must be one of/],
    ['a non-string backend', { backend: 5 }, /^backend: 5 must be a string/],
    ['an unusable admin chain name', { iptablesAdminChainName: 'has space' }, /^iptablesAdminChainName: "has space" is not a usable iptables chain name/],
    ['an admin chain name too long for iptables', { iptablesAdminChainName: 'C'.repeat(29) }, /^iptablesAdminChainName: /],
    ['no prevResult', { prevResult: undefined }, /^prevResult: missing prevResult from earlier plugin$/],
    ['ingressPolicy without interfaces', { ingressPolicy: 'same-bridge', prevResult: { cniVersion: '1.0.0', ips: [{ address: '10.201.9.2/24' }] } }, /^prevResult\.interfaces: interface needs to be set for ingress policy "same-bridge"/],
    ['ingressPolicy with an empty bridge name', { ingressPolicy: 'isolated', prevResult: { cniVersion: '1.0.0', interfaces: [{ name: '' }], ips: [{ address: '10.201.9.2/24' }] } }, /^prevResult\.interfaces\[0\]\.name: got empty bridge name$/],
  ];
  for (const [what, extra, msg] of bad) {
    it(`ADD refuses ${what} with code 7 and leaves nothing`, () => {
      const h = newHost('bad');
      const r = fw(h, 'ADD', conf(extra));
      assert.equal(r.code, 1);
      assert.equal(r.json?.code, 7, r.stdout);
      assert.match(r.json.msg, msg);
      assert.deepEqual(filterRules(h, 4), []);
      assert.ok(!fs.existsSync(recordFile()));
    });
  }

  it('null on an optional key means unset', () => {
    const h = newHost('nul');
    const r = fw(h, 'ADD', conf({ iptablesAdminChainName: null, ingressPolicy: null, firewalldZone: null, backend: null }));
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(filterRules(h, 4), [...SHARED, ...ipRules('10.201.9.2/32')]);
    assert.equal(fw(h, 'DEL', conf()).code, 0);
  });

  it('a failure in the second family rolls back the first family\'s rules and the record', () => {
    const h = newHost('rb');
    const fake = path.join(tmp, 'fakebin');
    fs.mkdirSync(fake, { recursive: true });
    fs.writeFileSync(path.join(fake, 'ip6tables-restore'), '#!/bin/sh\necho "injected failure" >&2\nexit 2\n', { mode: 0o755 });
    const r = fw(h, 'ADD', conf(), { env: { PATH: `${fake}:${process.env.PATH}` } });
    assert.equal(r.code, 1);
    assert.match(r.json.msg, /\(IPv6\): ip6tables-restore failed .*injected failure/);
    assert.deepEqual(filterRules(h, 4), SHARED, 'only the shared chains and jumps stay, as after a DEL');
    assert.ok(!fs.existsSync(recordFile()));
  });

  it('STATUS succeeds with iptables and answers 50 without it (spec 1.1.0)', () => {
    const h = newHost('st');
    const { prevResult: _, ...c } = conf({ cniVersion: '1.1.0' });
    const r = fw(h, 'STATUS', c, { netns: null });
    assert.equal(r.code, 0, r.stdout);
    const onlyIp = path.join(tmp, 'only-ip');
    fs.mkdirSync(onlyIp, { recursive: true });
    fs.symlinkSync(spawnSync('sh', ['-c', 'command -v ip'], { encoding: 'utf8' }).stdout.trim(), path.join(onlyIp, 'ip'));
    const none = fw(h, 'STATUS', c, { netns: null, env: { PATH: onlyIp } });
    assert.equal(none.json?.code, 50, none.stdout);
    assert.equal(fw(h, 'STATUS', { ...c, cniVersion: '1.0.0' }, { netns: null }).json?.code, 1, 'STATUS needs 1.1.0');
  });
});

/** A private D-Bus daemon playing the system bus (any client may own any name). */
async function startBus(dir: string): Promise<{ proc: ChildProcess; address: string }> {
  const sock = path.join(dir, 'bus');
  const cfg = path.join(dir, 'bus.conf');
  fs.writeFileSync(cfg, `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>system</type><listen>unix:path=${sock}</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/><allow user="*"/></policy></busconfig>\n`);
  const proc = spawn('dbus-daemon', ['--config-file', cfg, '--nofork', '--nopidfile'], { stdio: 'ignore' });
  for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
  return { proc, address: `unix:path=${sock}` };
}

/** test/fixtures/fake-firewalld.py on `address`; resolves once it owns its name. */
async function startFakeFirewalld(address: string, state: string, failing: string[]): Promise<ChildProcess> {
  const proc = spawn(PYTHON, [path.join(FIXTURES, 'fake-firewalld.py'), address, state, ...failing], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    proc.stdout!.on('data', (d) => String(d).includes('ready') && resolve());
    proc.on('exit', (code) => reject(new Error(`fake firewalld exited ${code}`)));
  });
  return proc;
}

const PYTHON = '/usr/bin/python3';
const FIXTURES = path.join(path.dirname(new URL(import.meta.url).pathname), '..', 'fixtures');
const haveFakeFirewalld =
  haveDbusDaemon && spawnSync(PYTHON, ['-c', 'import dbus.service, dbus.mainloop.glib; from gi.repository import GLib']).status === 0;

describe('firewall: firewalld backend', { skip }, () => {
  let h: TestNetns;
  let busDir: string;
  const procs: ChildProcess[] = [];
  scratch();
  before(() => {
    h = newHost('fwd');
    busDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-fw-bus-'));
  });
  after(() => {
    for (const p of procs.reverse()) p.kill('SIGTERM');
    fs.rmSync(busDir, { recursive: true, force: true });
  });

  it('no system bus: ADD fails with a clear error and leaves nothing; STATUS answers 50; DEL and auto-detection still work', () => {
    const env = { DBUS_SYSTEM_BUS_ADDRESS: `unix:path=${path.join(busDir, 'none')}` };
    const add = fw(h, 'ADD', conf({ backend: 'firewalld' }), { env });
    assert.equal(add.code, 1);
    assert.match(add.json.msg, /^backend "firewalld": firewalld \(org\.fedoraproject\.FirewallD1\) does not answer on the D-Bus system bus: /);
    assert.deepEqual(filterRules(h, 4), []);
    assert.ok(!fs.existsSync(recordFile()));
    const { prevResult: _, ...st } = conf({ backend: 'firewalld', cniVersion: '1.1.0' });
    assert.equal(fw(h, 'STATUS', st, { netns: null, env }).json?.code, 50);
    assert.equal(fw(h, 'DEL', conf({ backend: 'firewalld' }), { env }).code, 0, 'DEL has nothing to remove from a firewalld that is not there');
    const auto = fw(h, 'ADD', conf({ backend: '' }), { env });
    assert.equal(auto.code, 0, auto.stdout);
    assert.deepEqual(filterRules(h, 4), [...SHARED, ...ipRules('10.201.9.2/32')], 'auto-detection falls back to iptables');
    assert.equal(fw(h, 'DEL', conf({ backend: '' }), { env }).code, 0);
    assert.deepEqual(filterRules(h, 4), SHARED);
  });

  describe('on a private bus', { skip: !haveDbusDaemon && 'needs dbus-daemon' }, () => {
    let env: Record<string, string>;
    let state: string;
    const zones = () => JSON.parse(fs.readFileSync(state, 'utf8'));
    before(async () => {
      const bus = await startBus(busDir);
      procs.push(bus.proc);
      env = { DBUS_SYSTEM_BUS_ADDRESS: bus.address };
      state = path.join(busDir, 'zones.json');
    });

    it('nobody owns org.fedoraproject.FirewallD1: the same clear error, with the bus\'s answer', () => {
      const add = fw(h, 'ADD', conf({ backend: 'firewalld' }), { env });
      assert.equal(add.code, 1);
      assert.match(add.json.msg, /does not answer on the D-Bus system bus: .*org\.fedoraproject\.FirewallD1/);
      assert.ok(!fs.existsSync(recordFile()));
    });

    it('with firewalld (test/fixtures/fake-firewalld.py): ADD adds the sources to the zone, CHECK queries them, DEL removes them; auto-detection picks it', { skip: !haveFakeFirewalld && 'needs python3-dbus and python3-gi' }, async () => {
      procs.push(await startFakeFirewalld(env.DBUS_SYSTEM_BUS_ADDRESS, state, ['10.201.9.66/32']));
      // without busctl (systemd's), the calls go through dbus-send: a PATH with only what the plugin and `ip` need
      const noBusctl = path.join(busDir, 'no-busctl');
      fs.mkdirSync(noBusctl, { recursive: true });
      for (const t of ['ip', 'iptables-save', 'iptables-restore', 'ip6tables-save', 'ip6tables-restore', 'iptables', 'dbus-send']) {
        const where = spawnSync('sh', ['-c', `command -v ${t}`], { encoding: 'utf8' }).stdout.trim();
        if (where && !fs.existsSync(path.join(noBusctl, t))) fs.symlinkSync(where, path.join(noBusctl, t));
      }
      const variants: Array<[string, Record<string, string>]> = [['firewalld', env], ['', env], ['firewalld', { ...env, PATH: noBusctl }]];
      for (const [backend, env] of variants) {
        const add = fw(h, 'ADD', conf({ backend }), { env });
        assert.equal(add.code, 0, add.stdout);
        assert.deepEqual(zones(), { trusted: ['10.201.9.2/32', 'fd00:201::2/128'] });
        assert.deepEqual(filterRules(h, 4).filter((l) => l.includes('10.201.9.2')), [], 'no iptables rules with firewalld');
        assert.equal(JSON.parse(fs.readFileSync(recordFile(), 'utf8')).backend, 'firewalld');
        assert.equal(fw(h, 'ADD', conf({ backend }), { env }).code, 0, 'ZONE_ALREADY_SET is fine');
        assert.equal(fw(h, 'CHECK', conf({ backend }), { env }).code, 0);
        assert.equal(fw(h, 'DEL', conf({ backend }), { env }).code, 0);
        assert.deepEqual(zones(), {});
        assert.equal(fw(h, 'DEL', conf({ backend }), { env }).code, 0, 'DEL twice');
        const check = fw(h, 'CHECK', conf({ backend }), { env });
        assert.equal(check.json?.msg, 'failed to find the address 10.201.9.2/32 in trusted zone');
      }
      // DEL through the record only: no prevResult, firewalldZone from the record
      assert.equal(fw(h, 'ADD', conf({ backend: 'firewalld', firewalldZone: 'cnits' }), { env }).code, 0);
      assert.deepEqual(zones(), { cnits: ['10.201.9.2/32', 'fd00:201::2/128'] });
      const { prevResult: _, ...bare } = conf({ backend: 'firewalld' });
      assert.equal(fw(h, 'DEL', bare, { env, netns: null }).code, 0);
      assert.deepEqual(zones(), {});
      // the ingress policy is iptables whatever the backend
      assert.equal(fw(h, 'ADD', conf({ backend: 'firewalld', ingressPolicy: 'same-bridge' }), { env }).code, 0);
      assert.ok(filterRules(h, 4).some((l) => l.includes('-i cfwbr9 ! -o cfwbr9')));
      assert.equal(fw(h, 'DEL', conf({ backend: 'firewalld' }), { env }).code, 0);
      // a zone error other than ZONE_ALREADY_SET fails ADD and removes the sources added before it
      const bad = fw(h, 'ADD', conf({ backend: 'firewalld' }, ['10.201.9.2/24', '10.201.9.66/24']), { env });
      assert.equal(bad.code, 1);
      assert.match(bad.json.msg, /^failed to add the address 10\.201\.9\.66\/32 to trusted zone: .*INVALID_ADDR/);
      assert.deepEqual(zones(), {});
      assert.ok(!fs.existsSync(recordFile()));
    });

    it('with firewalld: Debian\'s firewall and ours CHECK and DEL each other\'s sources', { skip: (!haveFakeFirewalld && 'needs python3-dbus and python3-gi') || (!haveRefFirewall && 'containernetworking-plugins not installed') }, () => {
      assert.ok(fs.existsSync(state), 'the previous test started the fake firewalld');
      const ref = path.join(REF_BIN, 'firewall');
      const c = conf({ backend: 'firewalld' });
      assert.equal(fw(h, 'ADD', c, { env, plugin: ref }).code, 0);
      assert.deepEqual(zones(), { trusted: ['10.201.9.2/32', 'fd00:201::2/128'] });
      assert.equal(fw(h, 'CHECK', c, { env }).code, 0);
      assert.equal(fw(h, 'DEL', c, { env }).code, 0);
      assert.deepEqual(zones(), {});
      assert.equal(fw(h, 'ADD', c, { env }).code, 0);
      assert.equal(fw(h, 'CHECK', c, { env, plugin: ref }).code, 0);
      assert.equal(fw(h, 'DEL', c, { env, plugin: ref }).code, 0);
      assert.deepEqual(zones(), {});
      assert.equal(fw(h, 'DEL', c, { env }).code, 0, 'and our DEL after it finds nothing to do');
    });
  });
});

describe('firewall side by side with Debian /usr/lib/cni/firewall', { skip: skip || (!haveRefFirewall && 'containernetworking-plugins not installed') }, () => {
  scratch();
  const ref = path.join(REF_BIN, 'firewall');
  // Debian's 1.1.1 writes every isolation rule with the policy's own comment; v1.9.1 (and we) mark the shared ones
  const as111 = (rules: string[]) => rules.map((l) => l.replace('(ingressPolicy: same-bridge|isolated)', '(ingressPolicy: same-bridge)'));

  for (const v of ['0.4.0', '1.0.0']) {
    for (const policy of ['', 'same-bridge']) {
      it(`[${v}]${policy ? ` ${policy}:` : ''} the same result and tables; each DELetes and CHECKs the other's ADD`, () => {
        const ours = newHost('so');
        const theirs = newHost('sr');
        const c = conf({ ingressPolicy: policy }, ['10.201.9.2/24', 'fd00:201::2/64'], v);
        const a = fw(ours, 'ADD', c);
        const b = fw(theirs, 'ADD', c, { plugin: ref });
        assert.equal(a.code, 0, a.stdout);
        assert.equal(b.code, 0, b.stdout);
        assert.deepEqual(a.json, b.json);
        for (const f of [4, 6] as const) assert.deepEqual(as111(filterRules(ours, f)), filterRules(theirs, f), `IPv${f}`);
        assert.equal(fw(ours, 'CHECK', c, { plugin: ref }).code, 0, 'Go CHECKs our ADD');
        assert.equal(fw(theirs, 'CHECK', c).code, 0, 'we CHECK Go\'s ADD');
        assert.equal(fw(ours, 'DEL', c, { plugin: ref }).code, 0);
        assert.equal(fw(theirs, 'DEL', c).code, 0);
        for (const f of [4, 6] as const) assert.deepEqual(as111(filterRules(ours, f)), filterRules(theirs, f), `IPv${f} after DEL`);
        assert.ok(!filterRules(ours, 4).some((l) => l.includes('10.201.9.2')));
      });
    }
  }
});

describe('firewall with real traffic: our bridge, FORWARD policy DROP', { skip: skip || (!fs.existsSync(path.join(BIN, 'bridge')) && 'needs bin/bridge') }, () => {
  let h: TestNetns;
  const ctrs: TestNetns[] = [];
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-fw-'));
  });
  after(() => {
    for (const c of ctrs.splice(0)) c.remove();
    for (const x of hosts.splice(0)) x.remove();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const bridgeConf = (br: string, subnet: string) => ({
    cniVersion: '1.0.0',
    name: `cnits-fw-${br}`,
    type: 'bridge',
    bridge: br,
    isGateway: true,
    ipam: { type: 'host-local', subnet, dataDir: path.join(tmp, 'ipam'), routes: [{ dst: '0.0.0.0/0' }] },
  });

  /** A container on `br`, its bridge ADD's result, and the firewall ADD over it. */
  function attach(br: string, subnet: string, policy: string): { ns: TestNetns; ip: string } {
    const ns = createNetns('fw-t');
    ctrs.push(ns);
    const id = `cnits-fw-${ns.name.slice(-6)}`;
    const b = execPlugin('bridge', { command: 'ADD', containerID: id, netns: ns.path, ifName: 'eth0', stdin: bridgeConf(br, subnet), hostNetns: h.name });
    assert.equal(b.code, 0, b.stdout);
    const f = fw(h, 'ADD', { ...conf({ ingressPolicy: policy }), prevResult: b.json }, { id, netns: ns.path });
    assert.equal(f.code, 0, f.stdout);
    return { ns, ip: b.json.ips[0].address.split('/')[0] };
  }

  const ping = (from: TestNetns, ip: string) => spawnSync('ip', ['netns', 'exec', from.name, 'ping', '-c1', '-W1', ip], { stdio: 'ignore' }).status === 0;

  function topology(policy: string) {
    h = newHost('tr');
    h.exec('iptables', '-P', 'FORWARD', 'DROP');
    const a1 = attach('cfwbra', '10.201.1.0/24', policy);
    const a2 = attach('cfwbra', '10.201.1.0/24', policy);
    const b1 = attach('cfwbrb', '10.201.2.0/24', policy);
    return { a1, a2, b1 };
  }

  it('open: containers reach each other across bridges and on the same bridge; without the rules they do not', () => {
    const { a1, a2, b1 } = topology('open');
    assert.ok(ping(a1.ns, b1.ip), 'a1 → b1 (other bridge)');
    assert.ok(ping(b1.ns, a1.ip), 'b1 → a1');
    assert.ok(ping(a1.ns, a2.ip), 'a1 → a2 (same bridge)');
    h.exec('iptables', '-F', 'CNI-FORWARD');
    assert.ok(!ping(a1.ns, b1.ip), 'FORWARD policy DROP without our rules');
  });

  it('same-bridge: the other bridge is cut off, the same bridge works', () => {
    const { a1, a2, b1 } = topology('same-bridge');
    assert.ok(!ping(a1.ns, b1.ip), 'a1 → b1 blocked');
    assert.ok(!ping(b1.ns, a1.ip), 'b1 → a1 blocked');
    assert.ok(ping(a1.ns, a2.ip), 'a1 → a2 works');
  });

  it('isolated: the other bridge and (bridged traffic seen by iptables) the same bridge are cut off', () => {
    const { a1, a2, b1 } = topology('isolated');
    assert.ok(!ping(a1.ns, b1.ip), 'a1 → b1 blocked');
    const brNetfilter = h.exec('sh', '-c', 'cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null || echo 0').trim() === '1';
    if (brNetfilter) assert.ok(!ping(a1.ns, a2.ip), 'a1 → a2 blocked too');
  });
});
