// bin/cnitool as a runtime: ADD, CHECK, DEL, GC and STATUS of conflists in real
// namespaces, run inside a test netns that plays the host (so bridges and
// iptables rules stay private), against our plugins and Debian's Go plugins.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, createNetns, haveRef, ipJSON, isRoot, REF_BIN, spawnJSON, uniq, type TestNetns } from '../helpers/index.js';

const skip = !isRoot && 'needs root';
const CNITOOL = path.join(BIN, 'cnitool');

interface ToolRun {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
}

/** A private runtime: its own config dir, cache dir, host-local data dir and "host" netns. */
class Runtime {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-cnitool-'));
  readonly netDir = path.join(this.dir, 'net.d');
  readonly cacheDir = path.join(this.dir, 'cache');
  readonly dataDir = path.join(this.dir, 'ipam');
  constructor(
    readonly host: TestNetns,
    readonly cniPath: string,
  ) {
    fs.mkdirSync(this.netDir);
  }

  writeList(file: string, list: object): void {
    fs.writeFileSync(path.join(this.netDir, file), JSON.stringify(list));
  }

  run(args: string[], env: Record<string, string> = {}): ToolRun {
    return spawnJSON('ip', ['netns', 'exec', this.host.name, CNITOOL, ...args], {
      env: { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', NETCONFPATH: this.netDir, CNI_PATH: this.cniPath, CNI_CACHE_DIR: this.cacheDir, ...env },
    });
  }

  cacheFile(net: string, cid: string, ifName = 'eth0'): string {
    return path.join(this.cacheDir, 'results', `${net}-${cid}-${ifName}`);
  }

  reservations(net: string): Record<string, string> {
    const d = path.join(this.dataDir, net);
    if (!fs.existsSync(d)) return {};
    const out: Record<string, string> = {};
    for (const f of fs.readdirSync(d)) if (/^\d+\.\d+\.\d+\.\d+$/.test(f)) out[f] = fs.readFileSync(path.join(d, f), 'utf8');
    return out;
  }

  remove(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function ok(r: ToolRun, what: string): void {
  assert.equal(r.code, 0, `${what}: ${r.stderr}${r.stdout}`);
}

function addrsOf(ns: TestNetns, ifName: string): string[] {
  const l = ipJSON(ns, 'addr', 'show', 'dev', ifName)[0];
  return (l?.addr_info ?? []).filter((a: any) => a.family === 'inet').map((a: any) => `${a.local}/${a.prefixlen}`);
}

function hasLink(ns: TestNetns, name: string): boolean {
  return spawnSync('ip', ['-n', ns.name, 'link', 'show', name]).status === 0;
}

/** Our bridge and host-local when both are built, else Debian's (spec ≤ 1.0.0) next to our loopback. */
function pluginSet(dir: string): { cniPath: string; version: string; ours: boolean } {
  if (fs.existsSync(path.join(BIN, 'bridge')) && fs.existsSync(path.join(BIN, 'host-local'))) return { cniPath: BIN, version: '1.1.0', ours: true };
  const d = path.join(dir, 'cni-bin');
  fs.mkdirSync(d, { recursive: true });
  fs.symlinkSync(path.join(BIN, 'loopback'), path.join(d, 'loopback'));
  for (const p of ['bridge', 'host-local']) fs.symlinkSync(path.join(REF_BIN, p), path.join(d, p));
  return { cniPath: d, version: '1.0.0', ours: false };
}

describe('cnitool lifecycle: bridge + host-local + loopback', { skip: skip || (!haveRef && !fs.existsSync(path.join(BIN, 'host-local')) && 'no bridge/host-local plugins') }, () => {
  let host: TestNetns;
  let rt: Runtime;
  let version: string;
  let tmp: string;
  const ctrs: TestNetns[] = [];
  const net = 'cnitool-it';
  const bridge = `cnt${uniq()}`;

  before(() => {
    host = createNetns('cnitool-host');
    host.ip('link', 'set', 'lo', 'up');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-cnitool-bin-'));
    const set = pluginSet(tmp);
    version = set.version;
    rt = new Runtime(host, set.cniPath);
    rt.writeList('10-it.conflist', {
      cniVersion: version,
      name: net,
      plugins: [
        { type: 'bridge', bridge, isGateway: true, ipMasq: false, ipam: { type: 'host-local', subnet: '10.240.0.0/24', dataDir: rt.dataDir, routes: [{ dst: '0.0.0.0/0' }] } },
        { type: 'loopback' },
      ],
    });
  });
  after(() => {
    for (const c of ctrs) c.remove();
    host?.remove();
    rt?.remove();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  });

  const ctr = (tag: string) => {
    const c = createNetns(tag);
    ctrs.push(c);
    return c;
  };

  it('ADD prints the final result, configures the namespace, caches the result in libcni format', () => {
    const c = ctr('cnitool-a');
    const add = rt.run(['add', net, c.path], { CNI_CONTAINERID: 'ctr-a' });
    ok(add, 'add');
    assert.equal(add.json.cniVersion, version);
    const ip = add.json.ips[0].address;
    assert.match(ip, /^10\.240\.0\.\d+\/24$/);
    assert.ok(add.json.interfaces.some((i: any) => i.name === 'eth0' && i.sandbox === c.path));
    assert.deepEqual(addrsOf(c, 'eth0'), [ip]);
    assert.ok(ipJSON(c, 'link', 'show', 'lo')[0].flags.includes('UP'), 'the loopback plugin ran after bridge');
    assert.deepEqual(addrsOf(host, bridge), ['10.240.0.1/24']);
    const file = rt.cacheFile(net, 'ctr-a');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
    const cached = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(cached.kind, 'cniCacheV1');
    assert.equal(cached.containerId, 'ctr-a');
    assert.equal(cached.netns, c.path);
    assert.equal(cached.networkName, net);
    assert.equal(Buffer.from(cached.config, 'base64').toString(), fs.readFileSync(path.join(rt.netDir, '10-it.conflist'), 'utf8'));
    assert.deepEqual(cached.result, add.json);
    assert.equal(rt.reservations(net)[ip.split('/')[0]], 'ctr-a\r\neth0');

    ok(rt.run(['check', net, c.path], { CNI_CONTAINERID: 'ctr-a' }), 'check');
    c.ip('addr', 'del', ip, 'dev', 'eth0');
    const bad = rt.run(['check', net, c.path], { CNI_CONTAINERID: 'ctr-a' });
    assert.notEqual(bad.code, 0, 'CHECK notices the missing address');
    assert.ok(bad.stderr.trim().length > 0, 'the error is on stderr');
    c.ip('addr', 'add', ip, 'dev', 'eth0');

    ok(rt.run(['status', net]), 'status');

    ok(rt.run(['del', net, c.path], { CNI_CONTAINERID: 'ctr-a' }), 'del');
    assert.ok(!hasLink(c, 'eth0'));
    assert.ok(!fs.existsSync(file), 'cache entry removed');
    assert.deepEqual(rt.reservations(net), {}, 'reservation released');
    ok(rt.run(['del', net, c.path], { CNI_CONTAINERID: 'ctr-a' }), 'second del');
  });

  it('GC removes an attachment that was never deleted (cache entry, link and host-local reservation) and keeps valid ones', () => {
    const keep = ctr('cnitool-keep');
    const stale = ctr('cnitool-stale');
    const a = rt.run(['add', net, keep.path]);
    ok(a, 'add keep');
    const s = rt.run(['add', net, stale.path]);
    ok(s, 'add stale');
    const files = fs.readdirSync(path.join(rt.cacheDir, 'results')).sort();
    assert.equal(files.length, 2);
    const keepID = JSON.parse(fs.readFileSync(path.join(rt.cacheDir, 'results', files.find((f) => JSON.parse(fs.readFileSync(path.join(rt.cacheDir, 'results', f), 'utf8')).netns === keep.path)!), 'utf8')).containerId;
    assert.match(keepID, /^cnitool-[0-9a-f]{20}$/, 'container ID derived from the netns path as the CNI cnitool does');
    const staleIP = s.json.ips[0].address.split('/')[0];
    assert.ok(rt.reservations(net)[staleIP]);

    ok(rt.run(['gc', net], { CNI_VALID_ATTACHMENTS: JSON.stringify([{ containerID: keepID, ifname: 'eth0' }]) }), 'gc');
    assert.deepEqual(Object.keys(rt.reservations(net)), [a.json.ips[0].address.split('/')[0]], 'only the valid reservation is left');
    assert.deepEqual(fs.readdirSync(path.join(rt.cacheDir, 'results')), [`${net}-${keepID}-eth0`]);
    assert.ok(!hasLink(stale, 'eth0'), 'the stale attachment was deleted');
    assert.ok(hasLink(keep, 'eth0'), 'the valid attachment is untouched');

    ok(rt.run(['gc', net]), 'gc with no valid attachments');
    assert.deepEqual(rt.reservations(net), {});
    assert.deepEqual(fs.readdirSync(path.join(rt.cacheDir, 'results')), []);
    assert.ok(!hasLink(keep, 'eth0'));
  });

  it('errors: unknown network, missing plugin, bad CNI_ARGS, CHECK below 0.4.0', () => {
    const c = ctr('cnitool-err');
    const unknown = rt.run(['add', 'nope', c.path]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no net configuration with name "nope"/);
    rt.writeList('20-missing.conflist', { cniVersion: '1.0.0', name: 'missing', plugins: [{ type: 'no-such-plugin' }] });
    const missing = rt.run(['add', 'missing', c.path]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /plugin type="no-such-plugin" failed \(add\): failed to find plugin "no-such-plugin" in path/);
    const args = rt.run(['add', net, c.path], { CNI_ARGS: 'novalue' });
    assert.match(args.stderr, /invalid CNI_ARGS pair "novalue"/);
    rt.writeList('30-old.conflist', { cniVersion: '0.3.1', name: 'old', plugins: [{ type: 'loopback' }] });
    ok(rt.run(['add', 'old', c.path]), 'add 0.3.1');
    const chk = rt.run(['check', 'old', c.path]);
    assert.equal(chk.code, 1);
    assert.match(chk.stderr, /configuration version "0.3.1" does not support the CHECK command/);
    ok(rt.run(['del', 'old', c.path]), 'del 0.3.1');
    assert.ok(!fs.existsSync(path.join(rt.cacheDir, 'results')) || fs.readdirSync(path.join(rt.cacheDir, 'results')).length === 0);
  });
});

/** Reads `iptables-save -t nat` inside a namespace. */
function natRules(ns: TestNetns): string {
  return ns.exec('iptables-save', '-t', 'nat');
}

/** Starts `socat` answering one line on a TCP port inside `ns`. */
function serve(ns: TestNetns, port: number, reply: string): ChildProcess {
  return spawn('ip', ['netns', 'exec', ns.name, 'socat', `TCP-LISTEN:${port},reuseaddr,fork`, `SYSTEM:echo ${reply}`], { stdio: 'ignore' });
}

/** Connects from `ns` to addr:port and returns what the server said (retrying while it starts). */
function fetchLine(ns: TestNetns, addr: string, port: number): string {
  for (let i = 0; i < 50; i++) {
    const r = spawnSync('ip', ['netns', 'exec', ns.name, 'socat', '-T', '2', '-', `TCP:${addr}:${port}`], { input: '', encoding: 'utf8', timeout: 5000 });
    if (r.status === 0 && r.stdout.trim()) return r.stdout.trim();
    spawnSync('sleep', ['0.1']);
  }
  return '';
}

describe('cnitool drives Debian /usr/lib/cni plugins: bridge + host-local + portmap', { skip: skip || (!haveRef && 'containernetworking-plugins not installed') }, () => {
  let host: TestNetns;
  let rt: Runtime;
  const ctrs: TestNetns[] = [];
  const bridge = `cnd${uniq()}`;

  before(() => {
    host = createNetns('cnitool-ref-host');
    host.ip('link', 'set', 'lo', 'up');
    rt = new Runtime(host, REF_BIN);
  });
  after(() => {
    for (const c of ctrs) c.remove();
    host?.remove();
    rt?.remove();
  });

  for (const [i, version] of ['0.3.1', '0.4.0', '1.0.0'].entries()) {
    it(`[${version}] ADD wires a host port to the container, CHECK, DEL removes every rule, the cache and the reservation`, async () => {
      const net = `ref-${version.replace(/\./g, '')}`;
      const hostPort = 18080 + i;
      rt.writeList(`${net}.conflist`, {
        cniVersion: version,
        name: net,
        plugins: [
          { type: 'bridge', bridge, isGateway: true, ipMasq: false, ipam: { type: 'host-local', subnet: '10.241.0.0/24', dataDir: rt.dataDir } },
          { type: 'portmap', capabilities: { portMappings: true } },
        ],
      });
      const c = createNetns('cnitool-ref');
      ctrs.push(c);
      c.ip('link', 'set', 'lo', 'up');
      const env = { CAP_ARGS: JSON.stringify({ portMappings: [{ hostPort, containerPort: 80, protocol: 'tcp' }], bandwidth: { ingressRate: 1 } }) };
      const add = rt.run(['add', net, c.path], env);
      ok(add, 'add');
      assert.equal(add.json.cniVersion, version);
      const ip = (add.json.ips[0].address as string).split('/')[0];
      assert.match(ip, /^10\.241\.0\.\d+$/);
      assert.deepEqual(addrsOf(c, 'eth0'), [add.json.ips[0].address]);
      const rules = natRules(host);
      assert.match(rules, new RegExp(`-p tcp -m tcp --dport ${hostPort} -j DNAT --to-destination ${ip.replace(/\./g, '\\.')}:80`), rules);
      const cached = JSON.parse(fs.readFileSync(rt.cacheFile(net, JSON.parse(fs.readFileSync(path.join(rt.cacheDir, 'results', fs.readdirSync(path.join(rt.cacheDir, 'results'))[0]), 'utf8')).containerId), 'utf8'));
      assert.deepEqual(cached.capabilityArgs, JSON.parse(env.CAP_ARGS), 'the cache keeps every capability arg, as libcni');

      const server = serve(c, 80, `hello-${version}`);
      try {
        assert.equal(fetchLine(host, '10.241.0.1', hostPort), `hello-${version}`, 'the host port reaches the container');
      } finally {
        server.kill();
      }

      const chk = rt.run(['check', net, c.path]);
      if (version === '0.3.1') assert.match(chk.stderr, /does not support the CHECK command/);
      else ok(chk, 'check');

      ok(rt.run(['del', net, c.path], env), 'del');
      assert.doesNotMatch(natRules(host), new RegExp(`--dport ${hostPort} `), 'the DNAT rule is gone');
      assert.doesNotMatch(natRules(host), /CNI-DN-/, 'the per-container chain is gone');
      assert.ok(!hasLink(c, 'eth0'));
      assert.deepEqual(rt.reservations(net), {});
      assert.deepEqual(fs.readdirSync(path.join(rt.cacheDir, 'results')), []);
    });
  }

  it('a 1.1.0 list is refused by the 1.1.1 plugins with their version error', () => {
    rt.writeList('new.conflist', { cniVersion: '1.1.0', name: 'new', plugins: [{ type: 'bridge', bridge, ipam: { type: 'host-local', subnet: '10.241.1.0/24', dataDir: rt.dataDir } }] });
    const c = createNetns('cnitool-ref-new');
    ctrs.push(c);
    const r = rt.run(['add', 'new', c.path]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /plugin type="bridge" failed \(add\): incompatible CNI versions; config is "1.1.0"/);
    assert.ok(!fs.existsSync(path.join(rt.cacheDir, 'results')) || fs.readdirSync(path.join(rt.cacheDir, 'results')).length === 0);
  });
});
