// Builds the suite: the native addon, one esbuild bundle per program (plugin or
// tool), and one single executable holding them all, with a hard link per name:
//   Node (default): a single executable application, each program with a V8
//     code cache trained on its real command paths;
//   Bun (--runtime=bun): `bun build --compile --bytecode` of the same bundles.
//   tsx build.ts [--runtime=node|bun]   everything into bin/
//   tsx build.ts --bundle               stop after build/programs/ (no executable)
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { build, type Plugin } from 'esbuild';
import { buildInfo } from './scripts/buildinfo.js';
import { schemaExports } from './scripts/schema-json.js';

const root = path.dirname(new URL(import.meta.url).pathname);
const out = path.join(root, 'build');
const bin = path.join(root, 'bin');
const stamp = buildInfo(root);
const bundleOnly = process.argv.includes('--bundle');
/** The JIT tier-up scale the Bun executable starts with (bunExe); plugins/dhcp/daemon.ts puts back 1. */
const BUN_JIT_POLICY = 1000;
const runtime = process.argv.find((a) => a.startsWith('--runtime='))?.slice('--runtime='.length) ?? 'node';
if (runtime !== 'node' && runtime !== 'bun') throw new Error(`--runtime=${runtime}: node or bun`);

function step(msg: string): void {
  process.stderr.write(`build: ${msg}\n`);
}

/** Every entry: plugins/<name>/main.ts and cmd/<name>/main.ts. */
function entries(): Array<{ name: string; file: string }> {
  const found: Array<{ name: string; file: string }> = [];
  for (const dir of ['plugins', 'cmd']) {
    const base = path.join(root, dir);
    if (!fs.existsSync(base)) continue;
    for (const name of fs.readdirSync(base).sort()) {
      const file = path.join(base, name, 'main.ts');
      if (fs.existsSync(file)) found.push({ name, file });
    }
  }
  return found;
}

function buildNative(): Buffer {
  // Every C file under native/ goes into the one addon, in a fixed order (reproducible); cninative.c holds init().
  const srcs = fs.readdirSync(path.join(root, 'native')).filter((f) => f.endsWith('.c')).sort().map((f) => path.join(root, 'native', f));
  const dst = path.join(out, 'cninative.node');
  const include = [process.env.NODE_INCLUDE, '/usr/include/node', path.join(path.dirname(process.execPath), '..', 'include', 'node')].find(
    (d) => d && fs.existsSync(path.join(d, 'node_api.h')),
  );
  if (!include) throw new Error('node_api.h not found: install Node headers (set NODE_INCLUDE)');
  const cc = process.env.CC ?? 'cc';
  execFileSync(cc, ['-O2', '-s', '-shared', '-fPIC', '-Wall', '-Werror', '-Wno-unused-parameter', '-DNODE_GYP_MODULE_NAME=cninative', '-DNAPI_VERSION=8', `-I${include}`, '-o', dst, ...srcs], { stdio: 'inherit' });
  return fs.readFileSync(dst);
}

/**
 * Replaces every `schema.ts` module in the bundles by the JSON Schema literals
 * it evaluates to: configurations are checked by pkg/types/conf.ts, which reads
 * plain JSON Schema, so no plugin runs TypeBox (its module initialisation,
 * schema construction and Value functions cost ~2.5 ms per call). A schema
 * module may export only schemas (or records of them) using the keywords that
 * checker knows; anything else fails the build.
 */
function schemasAsJSON(): Plugin {
  const evaluated = new Map<string, Promise<string>>();
  const emit = async (file: string): Promise<string> => {
    let out = `// ${path.relative(root, file)} as JSON Schema (build.ts schemasAsJSON)\n`;
    for (const { name, value } of await schemaExports(root, file)) out += `export const ${name} = ${JSON.stringify(value)};\n`;
    return out;
  };
  return {
    name: 'schemas-as-json',
    setup(b) {
      b.onLoad({ filter: /[\\/]schema\.ts$/ }, async (args) => {
        if (!evaluated.has(args.path)) evaluated.set(args.path, emit(args.path));
        return { contents: await evaluated.get(args.path)!, loader: 'js' };
      });
    },
  };
}

/** Where each program's wrapped bundle and code cache go: build/programs/<name>.{js,cache}. */
const programs = path.join(out, 'programs');

/**
 * One bundle per program: a plugin's binary parses, deserialises and runs only
 * its own code (a shared bundle made every start pay for all plugins' code
 * cache). Each is wrapped as a CommonJS function for vm.Script and exports
 * `main()`, which imports the program lazily (VERSION stays cheap).
 */
async function bundle(nativeHash: string): Promise<void> {
  fs.rmSync(programs, { recursive: true, force: true });
  fs.mkdirSync(path.join(programs, 'entries'), { recursive: true });
  const schemas = schemasAsJSON();
  await Promise.all(
    entries().map(async (e) => {
      const entry = path.join(programs, 'entries', `${e.name}.ts`);
      const target = path.relative(path.dirname(entry), e.file).replace(/\.ts$/, '.js');
      const skel = path.relative(path.dirname(entry), path.join(root, 'pkg', 'skel', 'index.js'));
      // main() runs the program; embedded() hands a plugin to another program of this executable (pkg/exec/inproc.ts)
      fs.writeFileSync(
        entry,
        `// generated by build.ts\nimport { embed } from ${JSON.stringify(skel)};\n` +
          `export function main(): Promise<unknown> {\n  return import(${JSON.stringify(target)});\n}\n` +
          `export function embedded() {\n  return embed(() => import(${JSON.stringify(target)}));\n}\n`,
      );
      const file = path.join(programs, `${e.name}.bundle.js`);
      const { metafile } = await build({
        entryPoints: [entry],
        metafile: true,
        outfile: file,
        bundle: true,
        platform: 'node',
        format: 'cjs',
        target: 'node20',
        minify: true,
        legalComments: 'none',
        logLevel: 'warning',
        plugins: [schemas],
        define: { __NATIVE_HASH__: JSON.stringify(nativeHash), __SUITE_VERSION__: JSON.stringify(stamp.version), __SUITE_COMMIT__: JSON.stringify(stamp.commit) },
      });
      const code = fs.readFileSync(file, 'utf8');
      // A real import() fails inside vm.Script without a dynamic-import callback.
      if (/\bimport\(/.test(code) || code.includes('import.meta')) throw new Error(`${e.name}: bundle still contains import() or import.meta`);
      fs.writeFileSync(path.join(programs, `${e.name}.js`), `(function (exports, require, module, __filename, __dirname) {${code}\n})`);
      // the plain CommonJS module, for the Bun executable
      fs.renameSync(file, path.join(programs, `${e.name}.cjs`));
      // what went into it, for tests and size questions
      fs.writeFileSync(path.join(programs, `${e.name}.inputs.json`), JSON.stringify(Object.keys(metafile.inputs).sort(), null, 1));
    }),
  );
  fs.rmSync(path.join(programs, 'entries'), { recursive: true });
}

/** Runs each program's bundle on its command paths in a throw-away network namespace and saves V8's cache of it. */
function train(): void {
  const names = entries().map((e) => e.name);
  const trainer = path.join(root, 'scripts', 'train-cache.cjs');
  // A fixed --random-seed fixes V8's string hash seed, which is otherwise random per process and
  // makes every code cache differ from build to build (the release must be reproducible). It is
  // outside V8's flag hash, so the shipped binary (no such flag) still accepts the caches. A function
  // that only a timing-dependent path calls (a retry after a clock tick) is in the cache of some
  // builds only: call it on every path (pkg/ipam/hostlocal/store.ts's sleepSync(0)); make release-check.
  const args = ['--random-seed=20250101', trainer, programs, ...names];
  const env: NodeJS.ProcessEnv = { ...process.env, CNI_TS_NATIVE: path.join(out, 'cninative.node') };
  delete env.NODE_OPTIONS;
  // unshare -n keeps anything a trained path touches out of the real host.
  const isolated = spawnSync('unshare', ['-n', process.execPath, ...args], { env, stdio: ['ignore', 'ignore', 'inherit'] });
  if (isolated.status === 2) throw new Error('code cache training failed on a real command path (see above)');
  if (isolated.status !== 0) {
    step('unshare -n unavailable; training the code caches on VERSION only');
    execFileSync(process.execPath, args, { env: { ...env, CNI_TS_TRAIN_VERSION_ONLY: '1' }, stdio: ['ignore', 'ignore', 'inherit'] });
  }
}

function sea(): void {
  const seaConfig = path.join(out, 'sea.json');
  fs.writeFileSync(
    seaConfig,
    JSON.stringify({
      // relative (resolved from cwd = root): the blob records this path, and an absolute one made
      // two checkouts of one commit build different binaries
      main: path.join('scripts', 'sea-main.cjs'),
      output: path.join(out, 'sea.blob'),
      disableExperimentalSEAWarning: true,
      useCodeCache: false,
      useSnapshot: false,
      assets: {
        'programs.json': path.join(programs, 'programs.json'),
        'cninative.node': path.join(out, 'cninative.node'),
        ...Object.fromEntries(entries().flatMap((e) => [`${e.name}.js`, `${e.name}.cache`].map((a) => [a, path.join(programs, a)]))),
      },
    }),
  );
  execFileSync(process.execPath, ['--experimental-sea-config', seaConfig], { cwd: root, stdio: ['ignore', 'ignore', 'inherit'] });
  fs.mkdirSync(bin, { recursive: true });
  const exe = path.join(bin, 'cni-ts');
  const tmp = `${exe}.tmp`;
  fs.copyFileSync(process.execPath, tmp);
  fs.chmodSync(tmp, 0o755);
  const postject = path.join(root, 'node_modules', '.bin', 'postject');
  const r = spawnSync(postject, [tmp, 'NODE_SEA_BLOB', path.join(out, 'sea.blob'), '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`postject failed: ${r.stderr}`);
  fs.renameSync(tmp, exe);
  linkPrograms(exe);
}

/** A hard link to `exe` under each program's name in bin/. */
function linkPrograms(exe: string): void {
  for (const e of entries()) {
    const link = path.join(bin, e.name);
    fs.rmSync(link, { force: true });
    fs.linkSync(exe, link);
  }
}

/**
 * The Bun executable: scripts/bun-main.js with every program's bundle, each
 * required lazily (build/programs/bun-programs.js), compiled to bytecode. Bun
 * reads no .env or bunfig.toml at run time (the flags below): a plugin's
 * working directory is the runtime's, and nothing there may change a plugin.
 */
function bunExe(): void {
  const table = entries().map((e) => `  ${JSON.stringify(e.name)}: () => require(${JSON.stringify(`./${e.name}.cjs`)}),`);
  fs.writeFileSync(path.join(programs, 'bun-programs.js'), `// generated by build.ts\nexport const programs = {\n${table.join('\n')}\n};\n`);
  fs.mkdirSync(bin, { recursive: true });
  const exe = path.join(bin, 'cni-ts');
  const tmp = `${exe}.tmp`;
  const bun = path.join(root, 'node_modules', '.bin', 'bun');
  const args = ['build', '--compile', '--bytecode', '--minify', '--no-compile-autoload-dotenv', '--no-compile-autoload-bunfig', '--no-compile-autoload-tsconfig', '--no-compile-autoload-package-json'];
  // A plugin call is one short burst of run-once code: JavaScriptCore's JIT
  // compiled functions that ran a handful of times and were never called again
  // (measured on a bridge ADD: 15 % less CPU, 3.5 MB less peak RSS, 4-6 ms less
  // wall time with the tier-up thresholds scaled up this far). The dhcp daemon,
  // the one long-running program, puts the normal policy back when it starts.
  args.push(`--compile-jit-policy=${BUN_JIT_POLICY}`);
  const r = spawnSync(bun, [...args, path.join(root, 'scripts', 'bun-main.js'), '--outfile', tmp], { encoding: 'utf8', env: { ...process.env, BUN_INSTALL_CACHE_DIR: path.join(out, 'bun-cache') } });
  if (r.status !== 0) throw new Error(`bun build failed: ${r.stderr}${r.stdout}`);
  fs.renameSync(tmp, exe);
  linkPrograms(exe);
}

async function mainBuild(): Promise<void> {
  fs.mkdirSync(out, { recursive: true });
  step('native addon');
  const nativeBytes = buildNative();
  const nativeHash = createHash('sha256').update(nativeBytes).digest('hex').slice(0, 16);
  step('bundles');
  await bundle(nativeHash);
  fs.writeFileSync(path.join(programs, 'programs.json'), JSON.stringify(entries().map((e) => e.name)));
  if (runtime === 'bun') {
    if (bundleOnly) return;
    step('single executable (Bun, bytecode)');
    bunExe();
    step(`bin/: cni-ts + ${entries().map((e) => e.name).join(' ')}`);
    return;
  }
  step('train code caches');
  train();
  const kb = (f: string) => Math.round(fs.statSync(path.join(programs, f)).size / 1024);
  step(`bundle/code cache KB: ${entries().map((e) => `${e.name} ${kb(`${e.name}.js`)}/${kb(`${e.name}.cache`)}`).join(', ')}`);
  if (bundleOnly) return;
  step('single executable (Node SEA)');
  sea();
  step(`bin/: cni-ts + ${entries().map((e) => e.name).join(' ')}`);
}

mainBuild().catch((e) => {
  process.stderr.write(`build failed: ${e instanceof Error ? e.message : e}\n`);
  process.exit(1);
});
