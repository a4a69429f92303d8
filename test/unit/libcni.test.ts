// pkg/libcni and cnitool without root: configuration loading and version
// negotiation, runtimeConfig injection, the cache format, and the lifecycle
// driven against a recording fake plugin (a tiny executable script).
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { containerIDFor, cnitool, parseCNIArgs } from '../../cmd/cnitool/cnitool.js';
import {
  buildOneConfig,
  CNIConfig,
  confListFromBytes,
  getCachedAttachments,
  listNetworks,
  loadConfList,
  negotiateVersion,
  NotFoundError,
  type RuntimeConf,
} from '../../pkg/libcni/index.js';
import { CniError } from '../../pkg/types/error.js';

let tmp: string;
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-libcni-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

function dir(tag: string): string {
  return fs.mkdtempSync(path.join(tmp, `${tag}-`));
}

function write(d: string, name: string, obj: unknown): string {
  const f = path.join(d, name);
  fs.mkdirSync(path.dirname(f), { recursive: true });
  fs.writeFileSync(f, typeof obj === 'string' ? obj : JSON.stringify(obj));
  return f;
}

function throwsMsg(fn: () => unknown, re: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof Error && re.test(e.message));
}

describe('libcni configuration loading', () => {
  it('negotiates the highest of cniVersion and cniVersions not above 1.1.0', () => {
    assert.equal(negotiateVersion('0.4.0', ['1.0.0', '1.1.0', '2.0.0']), '1.1.0');
    assert.equal(negotiateVersion('1.0.0', ['0.3.1']), '1.0.0');
    assert.equal(negotiateVersion('9.9.9', ['0.4.0']), '0.4.0', 'a cniVersion above 1.1.0 is ignored when cniVersions is set');
    assert.equal(negotiateVersion('0.3.1', undefined), '0.3.1');
    assert.equal(negotiateVersion('', ['5.0.0']), '', 'nothing usable: the empty version (0.1.0)');
    throwsMsg(() => negotiateVersion('1.0.0', ['1.x']), /invalid cniVersions entry 1\.x at index 0/);
  });

  it('parses a list with libcni errors for every malformed key', () => {
    const l = confListFromBytes(JSON.stringify({ cniVersion: '1.0.0', name: 'n', disableCheck: 'TRUE', plugins: [{ type: 'a', capabilities: { portMappings: true } }, { type: 'b' }] }));
    assert.equal(l.name, 'n');
    assert.equal(l.cniVersion, '1.0.0');
    assert.equal(l.disableCheck, true);
    assert.equal(l.disableGC, false);
    assert.deepEqual(l.plugins.map((p) => p.type), ['a', 'b']);
    assert.deepEqual(l.plugins[0].capabilities, { portMappings: true });
    const bad: Array<[unknown, RegExp]> = [
      ['{', /error parsing configuration list/],
      [{ cniVersion: '1.0.0', plugins: [{ type: 'a' }] }, /error parsing configuration list: no name/],
      [{ name: 5, plugins: [] }, /invalid name type float64/],
      [{ name: 'n', cniVersion: 1 }, /invalid cniVersion type float64/],
      [{ name: 'n', cniVersions: '1.0.0' }, /invalid type for cniVersions: string/],
      [{ name: 'n', cniVersions: [1] }, /invalid type for cniVersions index 0: float64/],
      [{ name: 'n', disableCheck: 'maybe', plugins: [{ type: 'a' }] }, /invalid value "maybe" for disableCheck/],
      [{ name: 'n', disableGC: 1, plugins: [{ type: 'a' }] }, /invalid type float64 for disableGC/],
      [{ name: 'n', plugins: {} }, /invalid 'plugins' type map/],
      [{ name: 'n', plugins: [] }, /no plugins in list/],
      [{ name: 'n', plugins: [{ type: 'a' }, { foo: 1 }] }, /failed to parse plugin config 1: error parsing configuration: missing 'type'/],
      [{ name: 'n', plugins: [{ type: '../evil' }] }, /must not contain \//],
      [{ name: 'n', loadOnlyInlinedPlugins: true }, /`loadOnlyInlinedPlugins` is true, and no 'plugins' key/],
    ];
    for (const [conf, re] of bad) {
      assert.throws(
        () => confListFromBytes(typeof conf === 'string' ? conf : JSON.stringify(conf)),
        (e: unknown) => e instanceof CniError && e.code === 7 && re.test(e.message),
        JSON.stringify(conf),
      );
    }
  });

  it('finds networks: .conflist first in lexical order, then up-converted .conf/.json', () => {
    const d = dir('load');
    write(d, '20-b.conflist', { cniVersion: '1.0.0', name: 'dup', plugins: [{ type: 'second' }] });
    write(d, '10-a.conflist', { cniVersion: '1.0.0', name: 'dup', plugins: [{ type: 'first' }] });
    write(d, '05-dup.conf', { cniVersion: '0.4.0', name: 'dup', type: 'single' });
    write(d, '30-single.json', { cniVersion: '0.3.1', name: 'single', type: 'bridge', bridge: 'x' });
    write(d, 'ignored.txt', { name: 'single', type: 'nope' });
    assert.equal(loadConfList(d, 'dup').plugins[0].type, 'first');
    const s = loadConfList(d, 'single');
    assert.equal(s.cniVersion, '0.3.1');
    assert.deepEqual(JSON.parse(s.bytes.toString()), { cniVersion: '0.3.1', name: 'single', plugins: [{ cniVersion: '0.3.1', name: 'single', type: 'bridge', bridge: 'x' }] });
    assert.deepEqual(listNetworks(d), ['dup', 'single']);
    assert.throws(() => loadConfList(d, 'other'), (e: unknown) => e instanceof NotFoundError && e.message === `no net configuration with name "other" in ${d}`);
    const onlyLists = dir('lists');
    write(onlyLists, 'a.conflist', { name: 'x', plugins: [{ type: 'a' }] });
    throwsMsg(() => loadConfList(onlyLists, 'y'), /no net configuration with name "y"/);
    throwsMsg(() => loadConfList(dir('empty'), 'y'), /no net configurations found in/);
  });

  it('appends <dir>/<network>/*.conf plugins unless loadOnlyInlinedPlugins (spec 1.1.0)', () => {
    const d = dir('sibling');
    write(d, 'n.conflist', { cniVersion: '1.1.0', name: 'n', plugins: [{ type: 'inline' }] });
    write(d, 'n/20-b.conf', { type: 'two' });
    write(d, 'n/10-a.conf', { type: 'one' });
    write(d, 'n/skip.json', { type: 'not-a-conf' });
    assert.deepEqual(loadConfList(d, 'n').plugins.map((p) => p.type), ['inline', 'one', 'two']);
    write(d, 'm.conflist', { cniVersion: '1.1.0', name: 'm' });
    write(d, 'm/a.conf', { type: 'only' });
    assert.deepEqual(loadConfList(d, 'm').plugins.map((p) => p.type), ['only']);
    const e = dir('inlined');
    write(e, 'n.conflist', { cniVersion: '1.1.0', name: 'n', loadOnlyInlinedPlugins: true, plugins: [{ type: 'inline' }] });
    write(e, 'n/a.conf', { type: 'one' });
    assert.deepEqual(loadConfList(e, 'n').plugins.map((p) => p.type), ['inline']);
    const f = dir('none');
    write(f, 'n.conflist', { cniVersion: '1.1.0', name: 'n' });
    throwsMsg(() => loadConfList(f, 'n'), /no plugin configs found/);
  });
});

describe('libcni request configuration', () => {
  const rt: RuntimeConf = { containerID: 'c', netns: '/n', ifName: 'eth0', args: [], capabilityArgs: { portMappings: [{ hostPort: 8080 }], mac: 'c2:11:22:33:44:55', ips: ['10.240.0.9/24'] } };
  it('injects name, cniVersion, prevResult and the enabled capabilities only', () => {
    const list = confListFromBytes(
      JSON.stringify({
        cniVersion: '1.0.0',
        name: 'net',
        plugins: [{ type: 'p', name: 'ignored', cniVersion: '0.1.0', capabilities: { portMappings: true, mac: false, bandwidth: true }, extra: { keep: 1 } }],
      }),
    );
    const prev = { version: '1.0.0', result: { cniVersion: '1.1.0', ips: [{ address: '10.240.0.2/24' }] } };
    const conf = buildOneConfig(list, list.plugins[0], prev, rt);
    assert.equal(conf.name, 'net');
    assert.equal(conf.cniVersion, '1.0.0');
    assert.deepEqual(conf.extra, { keep: 1 });
    assert.deepEqual(conf.capabilities, { portMappings: true, mac: false, bandwidth: true }, 'libcni keeps capabilities');
    assert.deepEqual(conf.runtimeConfig, { portMappings: [{ hostPort: 8080 }] });
    assert.deepEqual(conf.prevResult, { cniVersion: '1.0.0', ips: [{ address: '10.240.0.2/24' }], dns: {} });
    const plain = buildOneConfig(list, { ...list.plugins[0], capabilities: {} }, undefined, rt);
    assert.ok(!('runtimeConfig' in plain) && !('prevResult' in plain));
    assert.equal(list.plugins[0].raw.name, 'ignored', 'the loaded plugin object is not mutated');
  });
});

/** A recording fake plugin: logs each call, answers as its config says. */
function fakePlugin(binDir: string, name: string): void {
  const src = `#!${process.execPath}
const fs = require('fs');
const stdin = fs.readFileSync(0, 'utf8');
const conf = JSON.parse(stdin);
const env = {};
for (const k of Object.keys(process.env)) if (k.startsWith('CNI_')) env[k] = process.env[k];
fs.appendFileSync(conf.log, JSON.stringify({ plugin: ${JSON.stringify(name)}, env, conf }) + '\\n');
const cmd = process.env.CNI_COMMAND;
const fail = conf.failOn && conf.failOn[${JSON.stringify(name)}];
if (fail && fail.command === cmd) {
  if (fail.stderr) { process.stderr.write(fail.stderr); process.exit(1); }
  process.stdout.write(JSON.stringify({ code: fail.code, msg: fail.msg, details: fail.details }));
  process.exit(1);
}
if (cmd === 'ADD') {
  const prev = conf.prevResult || { cniVersion: conf.cniVersion, ips: [] };
  const ips = prev.ips || [];
  ips.push({ address: conf.addresses[${JSON.stringify(name)}] });
  const out = { ...prev, cniVersion: conf.cniVersion, ips };
  if (conf.omitVersion) delete out.cniVersion;
  process.stdout.write(JSON.stringify(out));
}
`;
  fs.writeFileSync(path.join(binDir, name), src, { mode: 0o755 });
}

interface Call {
  plugin: string;
  env: Record<string, string>;
  conf: any;
}

describe('libcni lifecycle against fake plugins', () => {
  let bin: string;
  let log: string;
  let cacheDir: string;
  let cni: CNIConfig;
  const calls = (): Call[] =>
    fs.existsSync(log)
      ? fs
          .readFileSync(log, 'utf8')
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l))
      : [];
  const list = (extra: Record<string, unknown> = {}, version = '1.1.0') =>
    confListFromBytes(
      JSON.stringify({
        cniVersion: version,
        name: 'fakenet',
        ...extra,
        plugins: ['one', 'two'].map((type) => ({
          type,
          log,
          addresses: { one: '10.240.1.2/24', two: '10.240.2.2/24' },
          capabilities: { portMappings: type === 'two' },
          ...((extra.plugin as object) ?? {}),
        })),
      }),
    );
  const rt = (containerID: string, ifName = 'eth0'): RuntimeConf => ({
    containerID,
    netns: `/var/run/netns/${containerID}`,
    ifName,
    args: [['IgnoreUnknown', '1']],
    capabilityArgs: { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }] },
  });

  before(() => {
    bin = dir('bin');
    fakePlugin(bin, 'one');
    fakePlugin(bin, 'two');
  });
  beforeEach(() => {
    log = path.join(dir('log'), 'calls.jsonl');
    cacheDir = dir('cache');
    cni = new CNIConfig({ path: ['/nonexistent', bin], cacheDir });
  });

  it('ADD runs the chain forward with prevResult, the CNI_* environment and runtimeConfig, then caches the result', async () => {
    const l = list();
    const r = await cni.addNetworkList(l, rt('ctr1'));
    assert.equal(r.version, '1.1.0');
    assert.deepEqual(r.result.ips?.map((i) => i.address), ['10.240.1.2/24', '10.240.2.2/24']);
    const [one, two] = calls();
    assert.equal(one.plugin, 'one');
    assert.deepEqual(one.env, {
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'ctr1',
      CNI_NETNS: '/var/run/netns/ctr1',
      CNI_IFNAME: 'eth0',
      CNI_ARGS: 'IgnoreUnknown=1',
      CNI_PATH: `/nonexistent:${bin}`,
    });
    assert.equal(one.conf.prevResult, undefined);
    assert.equal(one.conf.runtimeConfig, undefined, 'one has no enabled capability');
    assert.deepEqual(two.conf.prevResult, { cniVersion: '1.1.0', ips: [{ address: '10.240.1.2/24' }], dns: {} });
    assert.deepEqual(two.conf.runtimeConfig, { portMappings: [{ hostPort: 80, containerPort: 8080, protocol: 'tcp' }] });
    assert.equal(two.conf.name, 'fakenet');

    const file = path.join(cacheDir, 'results', 'fakenet-ctr1-eth0');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(path.dirname(file)).mode & 0o777, 0o700);
    const text = fs.readFileSync(file, 'utf8');
    const cached = JSON.parse(text);
    assert.deepEqual(Object.keys(cached), ['kind', 'containerId', 'config', 'ifName', 'networkName', 'netns', 'cniArgs', 'capabilityArgs', 'result'], 'Go cachedInfo field order');
    assert.equal(cached.kind, 'cniCacheV1');
    assert.equal(cached.containerId, 'ctr1');
    assert.equal(Buffer.from(cached.config, 'base64').toString(), l.bytes.toString());
    assert.equal(cached.ifName, 'eth0');
    assert.equal(cached.networkName, 'fakenet');
    assert.equal(cached.netns, '/var/run/netns/ctr1');
    assert.deepEqual(cached.cniArgs, [['IgnoreUnknown', '1']]);
    assert.deepEqual(cached.capabilityArgs, rt('x').capabilityArgs);
    assert.deepEqual(cached.result, { cniVersion: '1.1.0', ips: [{ address: '10.240.1.2/24' }, { address: '10.240.2.2/24' }], dns: {} });
    assert.ok(!text.includes('\n'), 'compact JSON as Go json.Marshal');
  });

  it('a result without cniVersion is read in the config version', async () => {
    const r = await cni.addNetworkList(list({ plugin: { omitVersion: true } }, '0.4.0'), rt('ctr-nov'));
    assert.equal(r.version, '0.4.0');
  });

  it('CHECK passes the cached result to every plugin in order; refused below 0.4.0; skipped with disableCheck', async () => {
    await cni.addNetworkList(list(), rt('ctr2'));
    fs.rmSync(log);
    await cni.checkNetworkList(list(), rt('ctr2'));
    const cs = calls();
    assert.deepEqual(cs.map((c) => [c.plugin, c.env.CNI_COMMAND]), [['one', 'CHECK'], ['two', 'CHECK']]);
    for (const c of cs) assert.deepEqual(c.conf.prevResult.ips.map((i: any) => i.address), ['10.240.1.2/24', '10.240.2.2/24']);
    await assert.rejects(cni.checkNetworkList(list({}, '0.3.1'), rt('ctr2')), (e: unknown) => e instanceof CniError && e.code === 1 && /configuration version "0.3.1" does not support the CHECK command/.test(e.message));
    fs.rmSync(log);
    await cni.checkNetworkList(list({ disableCheck: true }), rt('ctr2'));
    assert.equal(calls().length, 0);
  });

  it('DEL runs in reverse with the cached result, then removes the cache entry; twice is fine', async () => {
    await cni.addNetworkList(list(), rt('ctr3'));
    fs.rmSync(log);
    await cni.delNetworkList(list(), rt('ctr3'));
    const cs = calls();
    assert.deepEqual(cs.map((c) => [c.plugin, c.env.CNI_COMMAND]), [['two', 'DEL'], ['one', 'DEL']]);
    assert.equal(cs[0].conf.prevResult.ips.length, 2);
    assert.ok(!fs.existsSync(path.join(cacheDir, 'results', 'fakenet-ctr3-eth0')));
    fs.rmSync(log);
    await cni.delNetworkList(list(), rt('ctr3'));
    assert.ok(calls().every((c) => c.conf.prevResult === undefined), 'no cache: no prevResult');
  });

  it('DEL below 0.4.0 sends no prevResult; a corrupt cache is dropped and DEL proceeds', async () => {
    await cni.addNetworkList(list({}, '0.3.1'), rt('ctr4'));
    fs.rmSync(log);
    await cni.delNetworkList(list({}, '0.3.1'), rt('ctr4'));
    assert.ok(calls().every((c) => c.conf.prevResult === undefined));
    const file = path.join(cacheDir, 'results', 'fakenet-ctr5-eth0');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, '{not json');
    await cni.delNetworkList(list(), rt('ctr5'));
    assert.ok(!fs.existsSync(file));
  });

  it('reads a legacy cache file holding a bare result', async () => {
    const file = path.join(cacheDir, 'results', 'fakenet-ctr6-eth0');
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, JSON.stringify({ cniVersion: '0.4.0', ips: [{ version: '4', address: '10.240.3.3/24' }] }));
    assert.deepEqual(cni.getNetworkListCachedResult(list(), rt('ctr6'))?.result.ips, [{ address: '10.240.3.3/24' }]);
  });

  it('plugin errors: the error JSON keeps its code; an empty stdout reports stderr; a missing plugin is named', async () => {
    await assert.rejects(
      cni.addNetworkList(list({ plugin: { failOn: { two: { command: 'ADD', code: 11, msg: 'busy', details: 'try later' } } } }), rt('ctr7')),
      (e: unknown) => e instanceof CniError && e.code === 11 && e.message === 'plugin type="two" failed (add): busy' && e.details === 'try later',
    );
    assert.ok(!fs.existsSync(path.join(cacheDir, 'results', 'fakenet-ctr7-eth0')), 'no cache after a failed ADD');
    await assert.rejects(
      cni.delNetworkList(list({ plugin: { failOn: { one: { command: 'DEL', stderr: 'boom\n' } } } }), rt('ctr7')),
      (e: unknown) => e instanceof CniError && e.message === 'plugin type="one" failed (delete): netplugin failed: "boom\\n"',
    );
    const missing = confListFromBytes(JSON.stringify({ cniVersion: '1.0.0', name: 'm', plugins: [{ type: 'absent' }] }));
    await assert.rejects(cni.addNetworkList(missing, rt('ctr7')), /failed to find plugin "absent" in path \[\/nonexistent /);
    await assert.rejects(cni.addNetworkList(list(), rt('bad/id')), (e: unknown) => e instanceof CniError && e.code === 4);
    await assert.rejects(cni.addNetworkList(list(), { ...rt('ok'), ifName: 'x'.repeat(16) }), /interface name is too long/);
  });

  it('GC deletes stale cached attachments of this network only, then sends GC with the valid attachments', async () => {
    await cni.addNetworkList(list(), rt('keep'));
    await cni.addNetworkList(list(), rt('stale'));
    await cni.addNetworkList(list(), rt('stale', 'net1'));
    const other = confListFromBytes(JSON.stringify({ cniVersion: '1.1.0', name: 'othernet', plugins: [{ type: 'one', log, addresses: { one: '10.241.0.2/24' } }] }));
    await cni.addNetworkList(other, rt('stale'));
    fs.rmSync(log);
    await cni.gcNetworkList(list(), [{ containerID: 'keep', ifname: 'eth0' }]);
    const cs = calls();
    const dels = cs.filter((c) => c.env.CNI_COMMAND === 'DEL');
    assert.deepEqual(dels.map((c) => [c.plugin, c.env.CNI_CONTAINERID, c.env.CNI_IFNAME, c.env.CNI_NETNS]), [
      ['two', 'stale', 'eth0', '/var/run/netns/stale'],
      ['one', 'stale', 'eth0', '/var/run/netns/stale'],
      ['two', 'stale', 'net1', '/var/run/netns/stale'],
      ['one', 'stale', 'net1', '/var/run/netns/stale'],
    ]);
    assert.deepEqual(dels[0].conf.runtimeConfig, rt('x').capabilityArgs, 'cached capability args are reused');
    assert.equal(dels[0].env.CNI_ARGS, 'IgnoreUnknown=1', 'cached CNI_ARGS are reused');
    const gcs = cs.filter((c) => c.env.CNI_COMMAND === 'GC');
    assert.deepEqual(gcs.map((c) => c.plugin), ['one', 'two']);
    for (const g of gcs) {
      assert.deepEqual(g.conf['cni.dev/valid-attachments'], [{ containerID: 'keep', ifname: 'eth0' }]);
      assert.deepEqual(g.conf['cni.dev/attachments'], [{ containerID: 'keep', ifname: 'eth0' }]);
      assert.equal(g.env.CNI_CONTAINERID, '');
      assert.equal(g.conf.name, 'fakenet');
    }
    assert.deepEqual(getCachedAttachments(cacheDir).map((a) => `${a.network}/${a.containerID}/${a.ifName}`), ['fakenet/keep/eth0', 'othernet/stale/eth0']);
  });

  it('GC below 1.1.0 only deletes stale attachments; disableGC does nothing; GC errors are collected', async () => {
    await cni.addNetworkList(list({}, '1.0.0'), rt('old'));
    fs.rmSync(log);
    await cni.gcNetworkList(list({}, '1.0.0'));
    assert.deepEqual(calls().map((c) => c.env.CNI_COMMAND), ['DEL', 'DEL']);
    await cni.addNetworkList(list(), rt('a'));
    fs.rmSync(log);
    await cni.gcNetworkList(list({ disableGC: true }));
    assert.equal(calls().length, 0);
    await assert.rejects(cni.gcNetworkList(list({ plugin: { failOn: { one: { command: 'GC', code: 999, msg: 'gc one failed' } } } })), (e: unknown) => {
      return e instanceof CniError && /failed to GC plugin one: gc one failed/.test(e.message);
    });
    assert.ok(calls().some((c) => c.plugin === 'two' && c.env.CNI_COMMAND === 'GC'), 'GC continues after a failing plugin');
    assert.equal(getCachedAttachments(cacheDir).length, 0);
  });

  it('STATUS calls every plugin at 1.1.0, stops at the first error, and is a no-op below 1.1.0', async () => {
    await cni.getStatusNetworkList(list());
    assert.deepEqual(calls().map((c) => [c.plugin, c.env.CNI_COMMAND]), [['one', 'STATUS'], ['two', 'STATUS']]);
    fs.rmSync(log);
    await assert.rejects(cni.getStatusNetworkList(list({ plugin: { failOn: { one: { command: 'STATUS', code: 50, msg: 'not ready' } } } })), (e: unknown) => e instanceof CniError && e.code === 50);
    assert.deepEqual(calls().map((c) => c.plugin), ['one']);
    fs.rmSync(log);
    await cni.getStatusNetworkList(list({}, '1.0.0'));
    assert.equal(calls().length, 0);
  });

  it('cnitool drives the same lifecycle from its environment', async () => {
    const confDir = dir('netconf');
    write(confDir, '10-fake.conflist', JSON.parse(list().bytes.toString()));
    const out: string[] = [];
    const err: string[] = [];
    const io = { stdout: (t: string) => out.push(t), stderr: (t: string) => err.push(t) };
    const env = { NETCONFPATH: confDir, CNI_PATH: bin, CNI_CACHE_DIR: cacheDir, CAP_ARGS: '{"portMappings":[]}', CNI_ARGS: 'A=b' };
    assert.equal(await cnitool(['add', 'fakenet', '/var/run/netns/x', '-i', 'net7'], env, io), 0, err.join(''));
    assert.deepEqual(JSON.parse(out.join('')).ips.length, 2);
    assert.match(out.join(''), /^\{\n {4}"cniVersion": "1\.1\.0"/, '4-space indented like Go');
    const id = containerIDFor('/var/run/netns/x');
    assert.match(id, /^cnitool-[0-9a-f]{20}$/);
    assert.ok(fs.existsSync(path.join(cacheDir, 'results', `fakenet-${id}-net7`)));
    const add = calls()[1];
    assert.equal(add.env.CNI_ARGS, 'A=b');
    assert.deepEqual(add.conf.runtimeConfig, { portMappings: [] });
    assert.equal(await cnitool(['check', 'fakenet', '/var/run/netns/x'], { ...env, CNI_IFNAME: 'net7' }, io), 0, err.join(''));
    assert.equal(await cnitool(['status', 'fakenet'], env, io), 0);
    assert.equal(await cnitool(['gc', 'fakenet'], { ...env, CNI_VALID_ATTACHMENTS: JSON.stringify([{ containerID: id, ifname: 'net7' }]) }, io), 0);
    assert.ok(fs.existsSync(path.join(cacheDir, 'results', `fakenet-${id}-net7`)), 'a valid attachment survives GC');
    assert.equal(await cnitool(['del', 'fakenet', '/var/run/netns/x'], { ...env, CNI_IFNAME: 'net7', CNI_CONTAINERID: 'other' }, io), 0);
    assert.ok(fs.existsSync(path.join(cacheDir, 'results', `fakenet-${id}-net7`)), 'CNI_CONTAINERID overrides the derived ID');
    assert.equal(await cnitool(['gc', 'fakenet'], env, io), 0);
    assert.deepEqual(fs.readdirSync(path.join(cacheDir, 'results')), []);
    err.length = 0;
    assert.equal(await cnitool(['add', 'nonet', '/x'], env, io), 1);
    assert.match(err.join(''), /no net configuration with name "nonet"/);
    assert.equal(await cnitool(['add', 'fakenet'], env, io), 1, 'add needs a netns');
    assert.equal(await cnitool(['frob', 'fakenet', '/x'], env, io), 1);
    err.length = 0;
    assert.equal(await cnitool(['add', 'fakenet', '/x'], { ...env, CAP_ARGS: '[1]' }, io), 1);
    assert.match(err.join(''), /CAP_ARGS/);
    out.length = 0;
    assert.equal(await cnitool(['list'], env, io), 0);
    assert.equal(out.join(''), 'fakenet\n');
  });

  it('cnitool parses CNI_ARGS strictly', () => {
    assert.deepEqual(parseCNIArgs('A=1;B=2'), [['A', '1'], ['B', '2']]);
    for (const bad of ['A', 'A=', '=1', 'A=1=2', 'A=1;']) throwsMsg(() => parseCNIArgs(bad), /invalid CNI_ARGS pair/);
  });
});
