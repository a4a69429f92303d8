// What each dependency the design card names would cost every plugin start,
// measured here rather than assumed: `hyperfine -N` medians of a process that
// only loads the module (and, for netlink, one whole-process link dump against
// our own rtnetlink). NODE_EXTRA_CA_CERTS is unset (it adds ~50 ms to any Node start).
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { build } from 'esbuild';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-ts-bench-deps-'));
const env = { ...process.env };
delete env.NODE_EXTRA_CA_CERTS;
delete env.NODE_OPTIONS;

async function bundle(name: string, source: string): Promise<string> {
  const entry = path.join(dir, `${name}.ts`);
  fs.writeFileSync(entry, source);
  const out = path.join(dir, `${name}.cjs`);
  await build({ entryPoints: [entry], outfile: out, bundle: true, platform: 'node', format: 'cjs', target: 'node20', minify: true, logLevel: 'error', nodePaths: [path.join(root, 'node_modules')] });
  return out;
}

function plain(name: string, source: string): string {
  const out = path.join(dir, `${name}.cjs`);
  fs.writeFileSync(out, source);
  return out;
}

interface Row {
  what: string;
  median: number;
}

function hyperfine(cmds: Array<[string, string]>): Row[] {
  const json = path.join(dir, 'h.json');
  const args = ['-N', '-w', '3', '-r', '30', '--export-json', json];
  for (const [name, cmd] of cmds) args.push('-n', name, cmd);
  execFileSync('hyperfine', args, { env, stdio: ['ignore', 'ignore', 'inherit'] });
  return JSON.parse(fs.readFileSync(json, 'utf8')).results.map((r: { command: string; median: number }) => ({ what: r.command, median: r.median * 1000 }));
}

async function main(): Promise<void> {
  const native = path.join(root, 'build', 'cninative.node');
  const files = {
    empty: await bundle('empty', 'export {};'),
    typebox: await bundle('typebox', "import { Type } from '@sinclair/typebox'; import { Value } from '@sinclair/typebox/value'; Value.Check(Type.Object({ a: Type.String() }), { a: 'x' });"),
    ipaddress: await bundle('ipaddress', "import { Address6 } from 'ip-address'; if (!new Address6('fd00::1').correctForm()) process.exit(1);"),
    execa: await bundle('execa', "import { execa } from 'execa'; if (process.env.CNI_TS_NEVER) execa('true');"),
    // netlink finds its .node relative to its own package, so it runs unbundled from node_modules
    netlinkDump: plain('netlinkDump', `const { createRtNetlink } = require(${JSON.stringify(path.join(root, 'node_modules', 'netlink'))}); const s = createRtNetlink(); s.getLinks().then((l) => { if (!l.length) process.exit(1); process.exit(0); });`),
    ownDump: await bundle('ownDump', `import { Rtnl } from '${root}/pkg/ip/netlink.ts'; import { linkList } from '${root}/pkg/ip/link.ts'; const nl = new Rtnl(); if (!linkList(nl).length) process.exit(1); nl.close();`),
  };
  // netlink's native binding is found relative to its package; run bundles from node_modules' parent.
  const node = process.execPath;
  const rows = hyperfine([
    ['node empty bundle', `${node} ${files.empty}`],
    ['+ @sinclair/typebox (Value.Check)', `${node} ${files.typebox}`],
    ['+ ip-address', `${node} ${files.ipaddress}`],
    ['+ execa 9', `${node} ${files.execa}`],
    ['+ netlink 0.3.0 (load)', `${node} ${path.join(root, 'node_modules', 'netlink', 'dist', 'index.js')}`],
    ['netlink 0.3.0: link dump', `${node} ${files.netlinkDump}`],
    ['own rtnetlink: link dump', `env CNI_TS_NATIVE=${native} ${node} ${files.ownDump}`],
  ]);
  const base = rows[0].median;
  process.stdout.write('\nDependency start-up cost (hyperfine -N median, NODE_EXTRA_CA_CERTS unset)\n');
  process.stdout.write('| what | median ms | over empty |\n|---|---|---|\n');
  for (const r of rows) process.stdout.write(`| ${r.what} | ${r.median.toFixed(1)} | ${r === rows[0] ? '' : `+${(r.median - base).toFixed(1)}`} |\n`);
  for (const [k, f] of Object.entries(files)) process.stdout.write(k === 'empty' ? '' : `bundle ${k}: ${(fs.statSync(f).size / 1024).toFixed(0)} KB\n`);
  fs.rmSync(dir, { recursive: true, force: true });
}

main().catch((e) => {
  process.stderr.write(`bench deps: ${e instanceof Error ? e.message : e}\n`);
  process.exit(1);
});
