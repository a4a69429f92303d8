// make release: the tarball users install from, laid out as the Go project's
// cni-plugins-linux-amd64-<version>.tgz (every program at the top, ready to unpack
// into /opt/cni/bin) with a .sha256 and .sha512 beside it, plus share/cni-ts/
// holding each plugin's configuration as JSON Schema and its README.
//
// It consumes what the current build left in bin/ (whatever build produced it:
// names that are hard links of one file stay hard links in the tarball, so it
// holds one binary's bytes) and discovers the plugins from plugins/<name>/, so a
// new plugin needs no change here. Reproducible: entries sorted by name, every
// mtime the commit's time (SOURCE_DATE_EPOCH), owner 0:0, no atime/ctime, gzip
// without a name or time stamp; the binary itself is reproducible (build.ts).
//   tsx scripts/release.ts [--out <dir>]    default: release-<version>/
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build } from 'esbuild';
import { buildInfo, type BuildInfo } from './buildinfo.js';
import { schemaExports } from './schema-json.js';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const bin = path.join(root, 'bin');
const ARCH = 'amd64';

function step(msg: string): void {
  process.stderr.write(`release: ${msg}\n`);
}

/** The plugins: every plugins/<name>/main.ts, by name. */
function pluginNames(): string[] {
  const dir = path.join(root, 'plugins');
  return fs
    .readdirSync(dir)
    .filter((n) => fs.existsSync(path.join(dir, n, 'main.ts')))
    .sort();
}

/** bin/'s programs, grouped by inode: each group is one file under several names. */
function binPrograms(): string[][] {
  const groups = new Map<string, string[]>();
  for (const name of fs.readdirSync(bin).sort()) {
    if (name.endsWith('.tmp')) continue; // a build in progress
    const st = fs.lstatSync(path.join(bin, name));
    if (!st.isFile()) continue;
    const key = `${st.dev}:${st.ino}`;
    groups.set(key, [...(groups.get(key) ?? []), name]);
  }
  return [...groups.values()];
}

/** Fails unless every plugin in bin/ reports this checkout's version and commit (bin/ from an older build would ship under a wrong name). */
function checkStamp(stamp: BuildInfo, names: string[]): void {
  const want = `plugin ${stamp.version} (commit ${stamp.commit})`;
  for (const name of names) {
    const r = spawnSync(path.join(bin, name), ['--version'], { env: {}, encoding: 'utf8', timeout: 30_000 });
    const line = r.stderr.split('\n')[0];
    if (r.status !== 0 || line !== `CNI ${name} ${want}`) {
      throw new Error(`bin/${name} --version says "${line}", not "CNI ${name} ${want}": run make build first`);
    }
  }
}

/** The schema.ts modules in a plugin's module graph (the whole graph, lazily imported parts too), relative to root. */
async function schemaModules(plugin: string): Promise<string[]> {
  const { metafile } = await build({
    entryPoints: [path.join(root, 'plugins', plugin, 'main.ts')],
    absWorkingDir: root,
    bundle: true,
    write: false,
    metafile: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    logLevel: 'silent',
  });
  return Object.keys(metafile.inputs)
    .filter((f) => /(^|\/)schema\.ts$/.test(f) && !f.includes('node_modules/'))
    .sort();
}

/**
 * A plugin's configuration as one JSON Schema document: the schema in its module
 * graph that describes a whole network configuration (it has cniVersion, name and
 * type), taken from plugins/<name>/schema.ts first, then other modules, the
 * generic pkg/types/schema.ts last; the other schemas of the same module under $defs.
 */
async function pluginSchema(plugin: string): Promise<object> {
  const modules = await schemaModules(plugin);
  const tier = (m: string) => (m === `plugins/${plugin}/schema.ts` ? 0 : m === 'pkg/types/schema.ts' ? 2 : 1);
  const candidates: Array<{ module: string; name: string; value: Record<string, unknown>; tier: number }> = [];
  const exportsOf = new Map<string, Awaited<ReturnType<typeof schemaExports>>>();
  for (const module of modules) {
    const exported = await schemaExports(root, path.join(root, module));
    exportsOf.set(module, exported);
    for (const e of exported) {
      const props = (e.value.properties ?? {}) as Record<string, unknown>;
      if (e.isSchema && 'cniVersion' in props && 'name' in props && 'type' in props) candidates.push({ module, name: e.name, value: e.value, tier: tier(module) });
    }
  }
  const main = candidates.sort((a, b) => a.tier - b.tier)[0];
  if (!main) throw new Error(`${plugin}: no schema with cniVersion, name and type in ${modules.join(', ') || 'its modules (it has no schema.ts)'}`);
  const defs = main.tier === 2 ? [] : exportsOf.get(main.module)!.filter((e) => e.isSchema && e.name !== main.name);
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    title: `cni-ts ${plugin} network configuration`,
    $comment: `${main.module} ${main.name}; x-format names a string format pkg/types/conf.ts checks (cidr, ip, mac...); keys match case-insensitively, as Go's encoding/json`,
    ...main.value,
    ...(defs.length ? { $defs: Object.fromEntries(defs.map((e) => [e.name, e.value])) } : {}),
  };
}

/** Writes `file` with `mode` (the staged tree's modes are what the tarball records). */
function put(file: string, data: string | Buffer, mode = 0o644): void {
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 });
  fs.writeFileSync(file, data);
  fs.chmodSync(file, mode);
}

/** Stages the tarball's tree in `stage`: the programs at the top, share/cni-ts/{schemas,doc}. */
async function stageTree(stage: string, stamp: BuildInfo): Promise<string[]> {
  fs.rmSync(stage, { recursive: true, force: true });
  fs.mkdirSync(stage, { recursive: true });
  const groups = binPrograms();
  const programs = groups.flat().sort();
  const plugins = pluginNames();
  const missing = plugins.filter((p) => !programs.includes(p));
  if (missing.length) throw new Error(`bin/ lacks ${missing.join(', ')}: run make build first`);
  checkStamp(stamp, plugins);
  for (const [first, ...links] of groups) {
    fs.copyFileSync(path.join(bin, first), path.join(stage, first));
    fs.chmodSync(path.join(stage, first), 0o755);
    for (const name of links) fs.linkSync(path.join(stage, first), path.join(stage, name));
  }
  const share = path.join(stage, 'share', 'cni-ts');
  for (const plugin of plugins) {
    put(path.join(share, 'schemas', `${plugin}.json`), `${JSON.stringify(await pluginSchema(plugin), null, 2)}\n`);
  }
  // the README of every program that has one (every plugin must), and the suite's own
  const docs: Array<[string, string]> = [
    ['README.md', 'README.md'],
    ['CHANGELOG.md', 'CHANGELOG.md'],
  ];
  for (const name of programs) {
    const readme = ['plugins', 'cmd'].map((d) => path.join(d, name, 'README.md')).find((f) => fs.existsSync(path.join(root, f)));
    if (readme) docs.push([readme, `${name}.md`]);
    else if (plugins.includes(name)) throw new Error(`plugins/${name}/README.md is missing`);
  }
  for (const [from, to] of docs) if (fs.existsSync(path.join(root, from))) put(path.join(share, 'doc', to), fs.readFileSync(path.join(root, from)));
  for (const dir of [stage, path.join(stage, 'share'), share, path.join(share, 'schemas'), path.join(share, 'doc')]) fs.chmodSync(dir, 0o755);
  return programs;
}

/** tar | gzip with nothing that varies between two builds of one commit. */
function writeTarball(stage: string, file: string, epoch: number): void {
  const tar = [
    'tar', '--sort=name', '--format=gnu', '--owner=0', '--group=0', '--numeric-owner', `--mtime=@${epoch}`,
    '--no-acls', '--no-xattrs', '--no-selinux', '-C', stage, '-cf', '-', '.',
  ];
  const quoted = (argv: string[]) => argv.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  // gzip -n: no file name and no time stamp in the gzip header
  execFileSync('bash', ['-o', 'pipefail', '-c', `${quoted(tar)} | gzip -n > ${quoted([file])}`], { stdio: ['ignore', 'inherit', 'inherit'] });
}

/** `<hex>  <name>` as sha256sum/sha512sum print it, so `sha256sum -c` works beside the tarball. */
function writeChecksums(file: string): Record<string, string> {
  const data = fs.readFileSync(file);
  const sums: Record<string, string> = {};
  for (const algo of ['sha256', 'sha512']) {
    sums[algo] = createHash(algo).update(data).digest('hex');
    fs.writeFileSync(`${file}.${algo}`, `${sums[algo]}  ${path.basename(file)}\n`);
  }
  return sums;
}

async function main(): Promise<void> {
  const stamp = buildInfo(root);
  const at = process.argv.indexOf('--out');
  const outDir = path.resolve(at > 0 ? process.argv[at + 1] : path.join(root, `release-${stamp.version}`));
  if (stamp.version.endsWith('-dirty')) step('the work tree has uncommitted changes: the version says -dirty and the tarball cannot be reproduced from a commit');
  step(`version ${stamp.version}, commit ${stamp.commit}, entries dated ${new Date(stamp.epoch * 1000).toISOString()}`);
  const stage = path.join(root, 'build', 'release-root');
  const programs = await stageTree(stage, stamp);
  fs.mkdirSync(outDir, { recursive: true });
  const tgz = path.join(outDir, `cni-plugins-linux-${ARCH}-${stamp.version}.tgz`);
  writeTarball(stage, tgz, stamp.epoch);
  fs.rmSync(stage, { recursive: true, force: true });
  const sums = writeChecksums(tgz);
  step(`${programs.length} programs (${programs.join(' ')}), share/cni-ts/{schemas,doc}`);
  step(`${path.relative(process.cwd(), tgz)}: ${(fs.statSync(tgz).size / 1e6).toFixed(1)} MB, sha256 ${sums.sha256}`);
}

main().catch((e) => {
  process.stderr.write(`release failed: ${e instanceof Error ? e.message : e}\n`);
  process.exit(1);
});
