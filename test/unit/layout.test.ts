// The architecture rules of STYLE.md that a reader can check mechanically:
// a plugin imports pkg/*, never another plugin; only pkg/skel writes stdout;
// pkg/ip is the only code that speaks netlink.
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

describe('layout', () => {
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

  it('every plugin has a one-call main.ts', () => {
    for (const name of fs.readdirSync(path.join(ROOT, 'plugins'))) {
      const main = path.join(ROOT, 'plugins', name, 'main.ts');
      assert.ok(fs.existsSync(main), `plugins/${name}/main.ts`);
      const body = fs.readFileSync(main, 'utf8').replace(/^import .*$/gm, '').replace(/\/\/.*$/gm, '').trim();
      assert.match(body, /^pluginMain\(/, `plugins/${name}/main.ts is a single pluginMain call`);
    }
  });
});
