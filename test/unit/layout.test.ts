// The architecture rules of STYLE.md that a reader can check mechanically:
// a plugin imports pkg/*, never another plugin; only pkg/skel writes stdout;
// pkg/ip is the only code that speaks netlink; pkg/ folders import only folders
// below them (PKG_LAYERS), and no module imports itself through others. And two
// helpers stay the only copy: withNetnsNl (netlink sockets of a command's
// namespaces) and ipamDelegate (the IPAM delegate call). Plugins but dhcp load
// no node:fs.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/index.js';

function sources(dir: string): string[] {
  const base = path.join(ROOT, dir);
  if (!fs.existsSync(base)) return [];
  return fs.readdirSync(base, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts')).map((f) => path.join(base, f));
}

const importRe = /(?:from\s+|import\s*\()\s*['"]([^'"]+)['"]/g;

function imports(file: string): string[] {
  return [...fs.readFileSync(file, 'utf8').matchAll(importRe)].map((m) => m[1]);
}

/**
 * pkg/ folders from the bottom up: a folder imports only folders listed before
 * it (or none). A new folder gets its place here.
 */
const PKG_LAYERS = ['bytes', 'hash', 'time', 'native', 'ipaddr', 'types', 'undo', 'ns', 'skel', 'exec', 'gob', 'ip', 'firewall', 'ipam', 'dhcp', 'libcni'];

/** Resolved relative imports of a file, as repository paths of .ts files. */
function localImports(file: string): string[] {
  return imports(file)
    .filter((s) => s.startsWith('.'))
    .map((s) => path.relative(ROOT, path.resolve(path.dirname(file), s)).replace(/\.js$/, '.ts'));
}

describe('layout', () => {
  it('pkg/ folders import only folders below them (no import back up a floor)', () => {
    for (const file of sources('pkg')) {
      const own = path.relative(path.join(ROOT, 'pkg'), file).split(path.sep)[0];
      assert.ok(PKG_LAYERS.includes(own), `pkg/${own} has no place in PKG_LAYERS`);
      for (const target of localImports(file)) {
        const [, folder] = target.split(path.sep);
        if (folder === own) continue;
        assert.ok(PKG_LAYERS.indexOf(folder) < PKG_LAYERS.indexOf(own), `${path.relative(ROOT, file)} imports ${target}: pkg/${folder} is not below pkg/${own}`);
      }
    }
  });

  it('no module imports itself through others (no import cycle)', () => {
    const files = [...sources('pkg'), ...sources('plugins'), ...sources('cmd')].map((f) => path.relative(ROOT, f));
    const edges = new Map(files.map((f) => [f, localImports(path.join(ROOT, f))]));
    const state = new Map<string, 'open' | 'done'>();
    const visit = (f: string, trail: string[]): void => {
      if (state.get(f) === 'done') return;
      assert.notEqual(state.get(f), 'open', `import cycle: ${[...trail.slice(trail.indexOf(f)), f].join(' -> ')}`);
      state.set(f, 'open');
      for (const t of edges.get(f) ?? []) visit(t, [...trail, f]);
      state.set(f, 'done');
    };
    for (const f of files) visit(f, []);
  });

  it('a plugin imports pkg/* and its own files, never another plugin or cmd/', () => {
    for (const file of sources('plugins')) {
      const own = path.relative(path.join(ROOT, 'plugins'), file).split(path.sep)[0];
      for (const spec of imports(file).filter((s) => s.startsWith('.'))) {
        const target = path.relative(ROOT, path.resolve(path.dirname(file), spec));
        const [top, name] = target.split(path.sep);
        assert.ok(top === 'pkg' || (top === 'plugins' && name === own), `${path.relative(ROOT, file)} imports ${target}`);
      }
    }
  });

  it('pkg/* never imports plugins/ or cmd/', () => {
    for (const file of sources('pkg')) {
      for (const spec of imports(file).filter((s) => s.startsWith('.'))) {
        const top = path.relative(ROOT, path.resolve(path.dirname(file), spec)).split(path.sep)[0];
        assert.equal(top, 'pkg', `${path.relative(ROOT, file)} imports ${spec}`);
      }
    }
  });

  it('only pkg/skel writes to stdout in plugin code', () => {
    for (const file of [...sources('plugins'), ...sources('pkg')]) {
      const rel = path.relative(ROOT, file);
      if (rel.startsWith(path.join('pkg', 'skel')) || rel.startsWith(path.join('pkg', 'libcni'))) continue;
      const text = fs.readFileSync(file, 'utf8');
      assert.ok(!/process\.stdout|console\.log|writeSync\(\s*1\b/.test(text), `${rel} writes to stdout`);
    }
  });

  it('only pkg/ip opens netlink sockets', () => {
    for (const file of [...sources('plugins'), ...sources('pkg'), ...sources('cmd')]) {
      const rel = path.relative(ROOT, file);
      if (rel.startsWith(path.join('pkg', 'ip')) || rel.startsWith(path.join('pkg', 'native'))) continue;
      assert.ok(!/nlOpen|nlSend|nlRecv/.test(fs.readFileSync(file, 'utf8')), `${rel} talks netlink directly`);
    }
  });

  it('plugins open netlink sockets in their namespaces through withNetnsNl (pkg/ip/netns.ts), never by hand', () => {
    for (const file of sources('plugins')) {
      const rel = path.relative(ROOT, file);
      // the dhcp daemon's lease code opens a namespace by path, synchronously, for one look-up; `new Rtnl()` is the plugin's own namespace
      if (rel.startsWith(path.join('plugins', 'dhcp'))) continue;
      assert.ok(!/new Rtnl\(\s*[^)\s]/.test(fs.readFileSync(file, 'utf8')), `${rel} opens an Rtnl on a namespace handle: use withNetnsNl`);
    }
  });

  it('plugins delegate to IPAM with ipamDelegate (pkg/ipam), not a call object of their own', () => {
    for (const file of sources('plugins')) {
      const rel = path.relative(ROOT, file);
      assert.ok(!/stdin:\s*args\.stdinData/.test(fs.readFileSync(file, 'utf8')), `${rel} builds its own IPAM DelegateCall: use ipamDelegate`);
    }
  });

  it('plugins but dhcp never load node:fs (a Bun start pays ~2 ms for it): they use pkg/native/fs.ts', () => {
    // dhcp (its daemon) still imports node:fs
    const fsFree = fs.readdirSync(path.join(ROOT, 'plugins')).filter((p) => p !== 'dhcp');
    for (const name of fsFree) {
      const seen = new Set<string>();
      const stack = [`plugins/${name}/main.ts`];
      while (stack.length) {
        const f = stack.pop()!;
        if (seen.has(f) || !fs.existsSync(path.join(ROOT, f))) continue;
        seen.add(f);
        const text = fs.readFileSync(path.join(ROOT, f), 'utf8');
        assert.ok(!/^import (?!type\b)[^;]*from 'node:fs(\/promises)?';/m.test(text), `${f} (loaded by plugins/${name}) imports node:fs: use pkg/native/fs.ts`);
        stack.push(...localImports(path.join(ROOT, f)));
      }
    }
  });

  it('every plugin has a one-call main.ts', () => {
    for (const name of fs.readdirSync(path.join(ROOT, 'plugins'))) {
      const main = path.join(ROOT, 'plugins', name, 'main.ts');
      assert.ok(fs.existsSync(main), `plugins/${name}/main.ts`);
      const body = fs.readFileSync(main, 'utf8').replace(/^import .*$/gm, '').replace(/\/\/.*$/gm, '').trim();
      assert.match(body, /^pluginMain\(/, `plugins/${name}/main.ts is a single pluginMain call`);
    }
  });
});
