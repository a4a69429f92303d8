// `make release` as a user meets it: the tarball and its checksums, unpacked into
// a throw-away /opt/cni/bin-like folder; every program answers VERSION and
// --version there; one bridge ADD/CHECK/DEL with host-local IPAM runs from that
// folder alone; and a second build and release of the same commit gives the same
// sha256. Builds twice (about 1-2 min on 2 cores).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validate } from '../../pkg/types/conf.js';
import { CniError } from '../../pkg/types/error.js';
import { buildInfo } from '../../scripts/buildinfo.js';
import { createNetns, execPlugin, ipJSON, isRoot, REF_BIN, ROOT, uniq, type TestNetns } from '../helpers/index.js';
import { addrs, hostLocalReservations, link } from '../helpers/bridge-env.js';

const stamp = buildInfo(ROOT);
const TARBALL = `cni-plugins-linux-amd64-${stamp.version}.tgz`;
const plugins = fs
  .readdirSync(path.join(ROOT, 'plugins'))
  .filter((n) => fs.existsSync(path.join(ROOT, 'plugins', n, 'main.ts')))
  .sort();
const haveTools = ['tar', 'gzip', 'sha256sum', 'sha512sum'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
const skip = (!isRoot && 'needs root (the build trains in a network namespace; bridge ADD)') || (!haveTools && 'needs tar, gzip, sha256sum, sha512sum') || false;

/** make release into `dir` (the build runs first); NODE_EXTRA_CA_CERTS unset as the Makefile does. */
function makeRelease(dir: string): void {
  const env: NodeJS.ProcessEnv = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  const r = spawnSync('make', ['--no-print-directory', 'release', `RELEASE_DIR=${dir}`], { cwd: ROOT, env, encoding: 'utf8', timeout: 600_000 });
  assert.equal(r.status, 0, `make release failed:\n${r.stdout}\n${r.stderr}`);
}

/** `tar -tv` of the tarball: type, mode, owner, size, mtime and name of each entry, in archive order. */
function listing(tgz: string): Array<{ type: string; mode: string; owner: string; size: number; time: string; name: string; target?: string }> {
  const out = execFileSync('tar', ['--numeric-owner', '--full-time', '-tvzf', tgz], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
  return out
    .trim()
    .split('\n')
    .map((line) => {
      const m = /^(\S)(\S{9}) (\S+)\s+(\d+) (\S+ \S+) (.+?)(?: link to (.+))?$/.exec(line);
      assert.ok(m, line);
      return { type: m[1], mode: m[2], owner: m[3], size: Number(m[4]), time: m[5], name: m[6], target: m[7] };
    });
}

const run = (file: string, args: string[], env: Record<string, string>) => spawnSync(file, args, { env, encoding: 'utf8', timeout: 60_000 });

describe('make release', { skip }, () => {
  let tmp: string;
  let out: string;
  let tgz: string;
  let binDir: string;
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-rl-'));
    out = path.join(tmp, 'release');
    makeRelease(out);
    tgz = path.join(out, TARBALL);
    binDir = path.join(tmp, 'opt', 'cni', 'bin');
    fs.mkdirSync(binDir, { recursive: true });
    execFileSync('tar', ['-xzf', tgz, '-C', binDir]);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it('writes the tarball named for this checkout, a .sha256 and a .sha512 that sha256sum -c / sha512sum -c accept', () => {
    assert.deepEqual(fs.readdirSync(out).sort(), [TARBALL, `${TARBALL}.sha256`, `${TARBALL}.sha512`]);
    assert.match(stamp.version, /^v\d+\.\d+\.\d+/);
    const data = fs.readFileSync(tgz);
    for (const algo of ['sha256', 'sha512']) {
      assert.equal(fs.readFileSync(`${tgz}.${algo}`, 'utf8'), `${createHash(algo).update(data).digest('hex')}  ${TARBALL}\n`);
      const r = spawnSync(`${algo}sum`, ['-c', `${TARBALL}.${algo}`], { cwd: out, encoding: 'utf8' });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.equal(r.stdout, `${TARBALL}: OK\n`);
    }
    // a checksum file that does not match fails (the check above can fail)
    fs.writeFileSync(path.join(tmp, 'bad.sha256'), `${'0'.repeat(64)}  ${tgz}\n`);
    assert.notEqual(spawnSync('sha256sum', ['-c', path.join(tmp, 'bad.sha256')]).status, 0);
  });

  it('holds every program at the top as one file and hard links to it, so it weighs one binary', () => {
    const entries = listing(tgz);
    const top = entries.filter((e) => /^\.\/[^/]+$/.test(e.name) && e.name !== './share');
    const names = top.map((e) => e.name.slice(2));
    for (const p of plugins) assert.ok(names.includes(p), `${p} in the tarball`);
    assert.ok(names.includes('cni-ts'));
    const files = top.filter((e) => e.type === '-');
    assert.equal(files.length, 1, `one regular file: ${files.map((f) => f.name).join(' ')}`);
    for (const e of top.filter((x) => x !== files[0])) {
      assert.equal(e.type, 'h', `${e.name} is a hard link`);
      assert.equal(e.target, files[0].name);
    }
    const exe = fs.statSync(path.join(binDir, 'cni-ts'));
    assert.equal(exe.nlink, names.length, 'unpacked, every name is the same inode');
    assert.ok(fs.statSync(tgz).size < exe.size, `the tarball (${fs.statSync(tgz).size} B) is smaller than the one binary (${exe.size} B)`);
    assert.equal(createHash('sha256').update(fs.readFileSync(path.join(binDir, 'bridge'))).digest('hex'), createHash('sha256').update(fs.readFileSync(path.join(ROOT, 'bin', 'cni-ts'))).digest('hex'), "the build's binary, byte for byte");
  });

  it('records every entry sorted, owned by 0:0, dated at the commit, programs 0755 and the rest 0644', () => {
    const entries = listing(tgz);
    const names = entries.map((e) => e.name);
    assert.deepEqual(names, [...names].sort(), 'sorted by name');
    const when = new Date(stamp.epoch * 1000).toISOString().replace('T', ' ').replace('.000Z', '');
    for (const e of entries) {
      assert.equal(e.owner, '0/0', e.name);
      assert.equal(e.time, when, `${e.name} dated at the commit`);
      const dirOrProgram = e.type === 'd' || !e.name.startsWith('./share/');
      assert.equal(e.mode, dirOrProgram ? 'rwxr-xr-x' : 'rw-r--r--', e.name);
    }
    // gzip -n: neither a name nor a time stamp in the gzip header
    const header = fs.readFileSync(tgz).subarray(0, 10);
    assert.equal(header[3] & 0x08, 0, 'no FNAME');
    assert.equal(header.readUInt32LE(4), 0, 'MTIME 0');
  });

  it('ships each plugin\'s configuration as JSON Schema and its README under share/cni-ts/', () => {
    const share = path.join(binDir, 'share', 'cni-ts');
    assert.deepEqual(fs.readdirSync(path.join(share, 'schemas')).sort(), plugins.map((p) => `${p}.json`));
    for (const p of plugins) {
      const schema = JSON.parse(fs.readFileSync(path.join(share, 'schemas', `${p}.json`), 'utf8'));
      assert.equal(schema.$schema, 'https://json-schema.org/draft/2020-12/schema', p);
      assert.equal(schema.type, 'object', p);
      for (const k of ['cniVersion', 'name', 'type']) assert.ok(k in schema.properties, `${p}: ${k}`);
      // the schema is the one the plugin checks configurations with: our checker refuses a bad name with its
      // path, or (plugins with required keys of their own, without a default) names the first such key
      const code7 = (re: RegExp) => (e: unknown) => e instanceof CniError && e.code === 7 && re.test(e.message);
      const required = (schema.required as string[]).filter((k) => k !== 'name' && !('default' in schema.properties[k]));
      if (required.length) assert.throws(() => validate(schema, { cniVersion: '1.0.0', name: 'n', type: p }), code7(new RegExp(`^(${required.join('|')}): is required$`)), p);
      else assert.throws(() => validate(schema, { cniVersion: '1.0.0', name: 5, type: p }), code7(/^name: 5 must be a string$/), p);
      assert.equal(fs.readFileSync(path.join(share, 'doc', `${p}.md`), 'utf8'), fs.readFileSync(path.join(ROOT, 'plugins', p, 'README.md'), 'utf8'));
    }
    const bridge = JSON.parse(fs.readFileSync(path.join(share, 'schemas', 'bridge.json'), 'utf8'));
    assert.throws(() => validate(bridge, { cniVersion: '1.0.0', name: 'n', type: 'bridge', mtu: 'x' }), /mtu/);
    assert.equal((validate(bridge, { cniVersion: '1.0.0', name: 'n', type: 'bridge' }) as { bridge: string }).bridge, 'cni0', 'defaults are in it');
    const hostLocal = JSON.parse(fs.readFileSync(path.join(share, 'schemas', 'host-local.json'), 'utf8'));
    assert.throws(() => validate(hostLocal, { cniVersion: '1.0.0', name: 'n', type: 'host-local', ipam: { subnet: '10.0.300.0/24' } }), /ipam\.subnet/);
    assert.ok(fs.existsSync(path.join(share, 'doc', 'README.md')));
  });

  it('every plugin answers VERSION from the unpacked folder', () => {
    for (const p of plugins) {
      const r = run(path.join(binDir, p), [], { CNI_COMMAND: 'VERSION' });
      assert.equal(r.status, 0, `${p}: ${r.stderr}`);
      const v = JSON.parse(r.stdout);
      assert.equal(v.cniVersion, '1.1.0', p);
      // chained plugins start later (vrf at 0.3.1, as the reference); every one reaches 1.1.0
      assert.ok(v.supportedVersions.includes('1.1.0') && v.supportedVersions.every((x: string) => /^\d+\.\d+\.\d+$/.test(x)), p);
    }
  });

  it('--version and an empty CNI_COMMAND print name, version, commit and spec versions as the reference does', () => {
    const about = (p: string) => new RegExp(`^CNI ${p} plugin ${stamp.version.replace(/[.]/g, '\\.')} \\(commit ${stamp.commit}\\)\\nCNI protocol versions supported: [0-9., ]+\\n$`);
    for (const p of plugins) {
      for (const [args, env] of [[['--version'], {}], [[], {}], [['--version'], { CNI_COMMAND: 'VERSION' }]] as const) {
        const r = run(path.join(binDir, p), [...args], env);
        assert.equal(r.status, 0, `${p} ${args.join(' ')}: ${r.stderr}`);
        assert.equal(r.stdout, '');
        assert.match(r.stderr, about(p), `${p} ${args.join(' ')} ${JSON.stringify(env)}`);
      }
      // Debian's Go plugin prints the same two lines (its version is "version unknown")
      if (fs.existsSync(path.join(REF_BIN, p))) {
        const ref = run(path.join(REF_BIN, p), ['--version'], {});
        assert.match(ref.stderr, new RegExp(`^CNI ${p} plugin [^\\n]+\\nCNI protocol versions supported: [0-9., ]+\\n$`), `Debian's ${p}`);
      }
    }
    const tool = run(path.join(binDir, 'cnitool'), ['--version'], {});
    assert.equal(tool.status, 0);
    assert.equal(tool.stdout, `cnitool ${stamp.version} (commit ${stamp.commit})\n`);
  });

  describe('a bridge network from the unpacked folder', () => {
    let host: TestNetns;
    let ctr: TestNetns;
    let data: string;
    const bridge = `crl${uniq()}`;
    const net = `cnits-rl-${uniq()}`;
    before(() => {
      host = createNetns('rl');
      ctr = createNetns('rl');
      data = path.join(tmp, 'ipam');
    });
    after(() => {
      ctr?.remove();
      host?.remove(); // the bridge goes with it
    });

    it('ADD, CHECK, DEL twice and DEL without CNI_NETNS, with host-local found on CNI_PATH there', () => {
      const conf = { cniVersion: '1.1.0', name: net, type: 'bridge', bridge, isGateway: true, ipam: { type: 'host-local', subnet: '10.214.1.0/24', dataDir: data } };
      const exec = (command: string, extra: { netns?: string; stdin?: object } = {}) =>
        execPlugin(path.join(binDir, 'bridge'), { command, containerID: 'cnits-rl1', netns: ctr.path, ifName: 'eth0', cniPath: binDir, stdin: conf, hostNetns: host.name, ...extra });
      const added = exec('ADD');
      assert.equal(added.code, 0, added.stdout + added.stderr);
      assert.equal(added.json.cniVersion, '1.1.0');
      assert.equal(added.json.ips[0].address, '10.214.1.2/24');
      assert.equal(added.json.ips[0].gateway, '10.214.1.1');
      assert.deepEqual(addrs(ctr, 'eth0', 4), ['10.214.1.2/24']);
      assert.deepEqual(addrs(host, bridge, 4), ['10.214.1.1/24']);
      assert.equal(link(host, bridge)?.linkinfo?.info_kind, 'bridge');
      assert.deepEqual(hostLocalReservations(data, net), ['10.214.1.2']);
      ctr.exec('ping', '-c1', '-W2', '10.214.1.1');

      const checked = exec('CHECK', { stdin: { ...conf, prevResult: added.json } });
      assert.equal(checked.code, 0, checked.stdout + checked.stderr);

      for (const netns of [ctr.path, ctr.path, undefined]) {
        const del = exec('DEL', { netns, stdin: { ...conf, prevResult: added.json } });
        assert.equal(del.code, 0, del.stdout + del.stderr);
        assert.equal(del.stdout, '');
      }
      assert.equal(link(ctr, 'eth0'), undefined, 'the container end is gone');
      assert.deepEqual(ipJSON(host, 'link', 'show', 'master', bridge), [], 'no port left on the bridge');
      assert.deepEqual(hostLocalReservations(data, net), [], 'the address is released');
    });
  });

  it('is reproducible: a second build and release of this commit gives the same sha256', () => {
    const again = path.join(tmp, 'again');
    makeRelease(again);
    assert.equal(fs.readFileSync(path.join(again, `${TARBALL}.sha256`), 'utf8'), fs.readFileSync(`${tgz}.sha256`, 'utf8'));
    assert.equal(fs.readFileSync(path.join(again, `${TARBALL}.sha512`), 'utf8'), fs.readFileSync(`${tgz}.sha512`, 'utf8'));
  });
});
