// The built artifact as it ships: one single executable (a Node SEA, or Bun's with
// `make build-bun`), a hard link per program, dispatch by invoked name, a code
// cache V8 accepts (Node), a bundle free of
// real import(), no dependency on an installed node, and the native addon
// materialised only in a root-owned directory (or anonymously).
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, createNetns, isRoot, ROOT, type TestNetns } from '../helpers/index.js';

const EXE = path.join(BIN, 'cni-ts');
const PROGRAMS = path.join(ROOT, 'build', 'programs');
const SEA_FUSE = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';
const skip = (!fs.existsSync(EXE) && 'run make build first') || false;
/** Which runtime bin/cni-ts carries: a Node SEA has its fuse flipped, Bun's --compile leaves its trailer. */
const runtime = skip ? undefined : fs.readFileSync(EXE).includes(`${SEA_FUSE}:1`) ? 'node' : 'bun';

/** Runs `argv` with exactly `env` (nothing inherited), stdin from `input`. */
function run(argv: string[], env: Record<string, string>, input = ''): SpawnSyncReturns<string> {
  return spawnSync(argv[0], argv.slice(1), { env, input, encoding: 'utf8', timeout: 60_000 });
}

/** The program names bin/ holds besides cni-ts itself. */
function programs(): string[] {
  return fs
    .readdirSync(BIN)
    .filter((n) => n !== 'cni-ts' && !n.endsWith('.tmp'))
    .sort();
}

const VERSION_LINE = /^\{"cniVersion":"1\.1\.0","supportedVersions":\[("[0-9.]+",?)+\]\}\n$/;

describe('the built artifact', { skip }, () => {
  let scratch: string;
  before(() => {
    scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-build-'));
  });
  after(() => fs.rmSync(scratch, { recursive: true, force: true }));

  it(`bin/cni-ts is a single executable (${runtime === 'bun' ? 'Bun --compile' : 'Node SEA, fuse flipped'})`, () => {
    const bytes = fs.readFileSync(EXE);
    if (runtime === 'node') {
      assert.ok(bytes.includes(`${SEA_FUSE}:1`), 'postject flips the fuse to :1 when it injects the blob');
      assert.ok(!bytes.includes(`${SEA_FUSE}:0`));
    } else {
      assert.ok(bytes.includes('\n---- Bun! ----\n'), "Bun's standalone trailer");
    }
    assert.equal(bytes.subarray(0, 4).toString('latin1'), '\x7fELF');
    assert.ok(fs.statSync(EXE).mode & 0o111, 'executable');
  });

  it('every bin/<name> is a hard link to bin/cni-ts (same inode)', () => {
    const exe = fs.statSync(EXE);
    const names = programs();
    assert.ok(names.includes('loopback'), `bin/ holds ${names.join(', ')}`);
    for (const n of names) {
      const st = fs.lstatSync(path.join(BIN, n));
      assert.ok(st.isFile(), `${n} is a file, not a symlink`);
      assert.equal(st.ino, exe.ino, n);
      assert.equal(st.dev, exe.dev, n);
    }
    assert.equal(exe.nlink, names.length + 1, 'no other links to it: each name in bin/ and nothing else');
  });

  it('run as cni-ts it lists exactly the programs bin/ holds', () => {
    const r = run([EXE], {});
    assert.equal(r.status, 0);
    const m = /link or copy this binary as one of: (.*)\n$/.exec(r.stderr);
    assert.ok(m, r.stderr);
    assert.deepEqual(m[1].split(', ').sort(), programs());
  });

  it('dispatches on the invoked name: hard link, symlink, exec -a (bare and full path)', () => {
    const link = path.join(scratch, 'loopback');
    fs.symlinkSync(EXE, link);
    // plugins print the about text when CNI_COMMAND is unset; cmd/ tools have their own usage
    for (const name of programs().filter((n) => fs.existsSync(path.join(ROOT, 'plugins', n, 'main.ts')))) {
      const r = run([path.join(BIN, name)], {});
      assert.equal(r.status, 0, `${name}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^CNI ${name} plugin v\\S+ \\(commit (?:[0-9a-f]{40}|unknown)\\)\\nCNI protocol versions supported: `), name);
    }
    const viaSymlink = run([link], {});
    assert.match(viaSymlink.stderr, /^CNI loopback plugin /);
    for (const argv0 of ['loopback', '/opt/cni/bin/loopback']) {
      // SHLVL: Node's stdio pipes are socketpairs, which bash at level 1 takes for rshd and then sources ~/.bashrc
      const r = run(['bash', '-c', `exec -a ${argv0} ${EXE}`], { CNI_COMMAND: 'VERSION', SHLVL: '2' });
      assert.equal(r.status, 0, r.stderr);
      assert.match(r.stdout, VERSION_LINE);
      const about = run(['bash', '-c', `exec -a ${argv0} ${EXE}`], { SHLVL: '2' });
      assert.match(about.stderr, /^CNI loopback plugin /, argv0);
    }
    const unknown = path.join(scratch, 'no-such-plugin');
    fs.symlinkSync(EXE, unknown);
    const r = run([unknown], { CNI_COMMAND: 'VERSION' });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /unknown program "no-such-plugin"/);
    assert.equal(r.stdout, '');
  });

  it('VERSION answers through the hard link', () => {
    const r = run([path.join(BIN, 'loopback')], { CNI_COMMAND: 'VERSION' });
    assert.equal(r.status, 0);
    assert.match(r.stdout, VERSION_LINE);
  });

  // The Go plugins run on any x86-64; a runtime built for Haswell and later would die with SIGILL on an older
  // CPU, or in a VM that hides AVX. qemu's user-mode emulator offers a Nehalem: SSE4.2, no AVX, no AVX2.
  const qemuUser = fs.existsSync('/usr/bin/qemu-x86_64') && process.arch === 'x64';
  it('runs on an x86-64 without AVX or AVX2 (qemu-x86_64 -cpu Nehalem): VERSION and a loopback ADD', { skip: (!qemuUser && 'no qemu-x86_64 (qemu-user) on an x86-64 host') || (!isRoot && 'needs root') }, () => {
    const v = run(['/usr/bin/qemu-x86_64', '-cpu', 'Nehalem', path.join(BIN, 'loopback')], { CNI_COMMAND: 'VERSION' });
    assert.equal(v.status, 0, v.stderr);
    assert.match(v.stdout, VERSION_LINE);
    const ns: TestNetns = createNetns('nehalem');
    try {
      const env = { CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'cnits-nehalem', CNI_NETNS: ns.path, CNI_IFNAME: 'lo', CNI_PATH: BIN };
      const r = run(['/usr/bin/qemu-x86_64', '-cpu', 'Nehalem', path.join(BIN, 'loopback')], env, JSON.stringify({ cniVersion: '1.0.0', name: 'cnits-nehalem', type: 'loopback' }));
      assert.equal(r.status, 0, r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).ips.map((i: { address: string }) => i.address), ['127.0.0.1/8', '::1/128']);
      assert.ok(JSON.parse(ns.ip('-j', 'link', 'show', 'lo'))[0].flags.includes('UP'), 'lo is up in the namespace');
    } finally {
      ns.remove();
    }
  });

  it('a working directory with .env, bunfig.toml or package.json changes nothing (the runtime runs plugins in its own cwd)', () => {
    const cwd = path.join(scratch, 'cwd');
    fs.mkdirSync(cwd);
    const marker = path.join(scratch, 'preloaded');
    fs.writeFileSync(path.join(cwd, '.env'), 'CNI_COMMAND=VERSION\nNODE_OPTIONS=--require ./evil.cjs\n');
    fs.writeFileSync(path.join(cwd, 'evil.cjs'), `require('fs').writeFileSync(${JSON.stringify(marker)}, '')\n`);
    fs.writeFileSync(path.join(cwd, 'bunfig.toml'), 'preload = ["./evil.cjs"]\n');
    fs.writeFileSync(path.join(cwd, 'package.json'), '{"type":"module","imports":{"#x":"./evil.cjs"}}\n');
    const r = spawnSync(path.join(BIN, 'loopback'), [], { cwd, env: {}, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, '', 'no CNI_COMMAND from .env: the about text goes to stderr, nothing to stdout');
    assert.match(r.stderr, /^CNI loopback plugin /);
    assert.ok(!fs.existsSync(marker), 'nothing preloaded');
  });

  it("V8 accepts every program's trained code cache (cachedDataRejected=false)", { skip: runtime === 'bun' && 'Bun: bytecode compiled in, no V8 code cache' }, () => {
    for (const name of programs()) {
      const r = run([path.join(BIN, name)], { CNI_COMMAND: 'VERSION', CNI_TS_CACHE_REPORT: '1' });
      assert.match(r.stderr, /^cachedDataRejected=false$/m, name);
    }
  });

  it('one bundle per program, each holding no real import() and no import.meta, and only its own plugin', () => {
    for (const name of programs()) {
      const code = fs.readFileSync(path.join(PROGRAMS, `${name}.js`), 'utf8');
      assert.ok(code.length > 10_000, name);
      assert.equal(/\bimport\s*\(/.exec(code)?.[0], undefined, name);
      assert.ok(!code.includes('import.meta'), name);
      const inputs: string[] = JSON.parse(fs.readFileSync(path.join(PROGRAMS, `${name}.inputs.json`), 'utf8'));
      const plugins = new Set(inputs.map((f) => /(?:^|\/)(?:plugins|cmd)\/([^/]+)\//.exec(f)?.[1]).filter(Boolean));
      assert.deepEqual([...plugins], [name], `${name}'s bundle holds ${[...plugins].join(', ')}`);
    }
  });

  it('no bundle carries TypeBox: every schema.ts arrives as JSON Schema literals', () => {
    for (const name of programs()) {
      const inputs: string[] = JSON.parse(fs.readFileSync(path.join(PROGRAMS, `${name}.inputs.json`), 'utf8'));
      assert.deepEqual(inputs.filter((f) => f.includes('@sinclair/typebox') || f.endsWith('types/typebox.ts')), [], name);
      const code = fs.readFileSync(path.join(PROGRAMS, `${name}.js`), 'utf8');
      assert.ok(!code.includes('TypeBox.Kind'), `${name} bundle has TypeBox code`);
      if (inputs.some((f) => f.endsWith('schema.ts'))) assert.match(code, /"?type"?:"object"/, `${name}: no JSON Schema in the bundle`);
    }
  });

  describe('at run time', { skip: !isRoot && 'needs root' }, () => {
    let ns: TestNetns;
    before(() => {
      ns = createNetns('build');
    });
    after(() => ns.remove());

    const addEnv = (extra: Record<string, string> = {}) => ({
      CNI_COMMAND: 'ADD',
      CNI_CONTAINERID: 'ctr-build',
      CNI_NETNS: ns.path,
      CNI_IFNAME: 'eth0',
      CNI_PATH: BIN,
      ...extra,
    });
    const conf = JSON.stringify({ cniVersion: '1.0.0', name: 'build-test', type: 'loopback' });

    it('needs no node on PATH', () => {
      const nodeDir = path.dirname(fs.realpathSync(process.execPath));
      const r = run([path.join(BIN, 'loopback')], addEnv({ PATH: '/nonexistent' }), conf);
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.deepEqual(JSON.parse(r.stdout).ips.map((x: { address: string }) => x.address), ['127.0.0.1/8', '::1/128']);
      assert.equal(run(['/bin/sh', '-c', 'command -v node'], { PATH: '/nonexistent' }).status, 127, `node is not reachable (it lives in ${nodeDir})`);
    });

    /**
     * The shared objects the process dlopen'ed, from glibc's LD_DEBUG=files; with `attempts`, also those it only
     * tried (the addon's cache file is looked for by loading it, so a missing one is one failed attempt).
     */
    function dlopened(r: SpawnSyncReturns<string>, attempts = false): string[] {
      const re = attempts ? /file=(\S+) \[0\];\s+dynamically loaded by/g : /file=(\S+) \[0\];\s+generating link map/g;
      return [...r.stderr.matchAll(re)].map((m) => m[1]);
    }

    it('materialises the addon in /var/lib/cni-ts/native, content-addressed, 0755 in a 0700 root directory', () => {
      const r = run([path.join(BIN, 'loopback')], addEnv({ LD_DEBUG: 'files' }), conf);
      assert.equal(r.status, 0, r.stdout);
      const loaded = dlopened(r).filter((f) => f.includes('cninative') || f.startsWith('/proc/'));
      assert.equal(loaded.length, 1, loaded.join(' '));
      const m = /^\/var\/lib\/cni-ts\/native\/cninative-([0-9a-f]{16})\.node$/.exec(loaded[0]);
      assert.ok(m, loaded[0]);
      const file = fs.statSync(loaded[0]);
      assert.equal(file.mode & 0o7777, 0o755);
      assert.equal(file.uid, 0);
      assert.equal(createHash('sha256').update(fs.readFileSync(loaded[0])).digest('hex').slice(0, 16), m[1], 'the name is the hash of the content');
      const dir = fs.lstatSync('/var/lib/cni-ts/native');
      assert.ok(dir.isDirectory());
      assert.equal(dir.mode & 0o7777, 0o700);
      assert.equal(dir.uid, 0);
      assert.ok(!dlopened(r, true).some((f) => f.startsWith('/tmp')), 'nothing dlopen()ed from /tmp');
    });

    it('falls back to an anonymous O_TMPFILE when the cache directory is unusable, leaving no file behind', () => {
      const tmpBefore = fs.readdirSync(os.tmpdir()).filter((f) => f.includes('cninative'));
      // A private mount namespace: a read-only empty tmpfs hides the cache from this process only.
      const script = `mount -t tmpfs -o ro,mode=0700 tmpfs /var/lib/cni-ts/native && exec ${path.join(BIN, 'loopback')}`;
      const r = run(['unshare', '-m', 'sh', '-c', script], addEnv({ LD_DEBUG: 'files', PATH: '/usr/sbin:/usr/bin:/sbin:/bin' }), conf);
      assert.equal(r.status, 0, r.stdout + r.stderr.split('\n').filter((l) => !l.includes('\t')).join('\n'));
      const loaded = dlopened(r).filter((f) => f.includes('cninative') || f.startsWith('/proc/'));
      assert.equal(loaded.length, 1, loaded.join(' '));
      assert.match(loaded[0], /^\/proc\/self\/fd\/\d+$/);
      // the cache file was tried first (it is looked for by loading it) and was not there
      assert.deepEqual(dlopened(r, true).filter((f) => f.includes('cninative') || f.startsWith('/proc/')).map((f) => f.replace(/[0-9a-f]{16}/, 'H')), ['/var/lib/cni-ts/native/cninative-H.node', loaded[0]]);
      assert.deepEqual(fs.readdirSync(os.tmpdir()).filter((f) => f.includes('cninative')), tmpBefore);
    });
  });
});
