// The single executable's main: picks the program by the name the binary was
// invoked as (bin/bridge, /opt/cni/bin/host-local, ...) and runs that program's
// bundle with the V8 code cache build.ts trained on its real command paths.
// Every program of the executable is offered to the running one under
// Symbol.for('cni-ts.programs'), so a plugin can run a delegate that is this
// same file in its own process (pkg/exec/inproc.ts).
'use strict';
const sea = require('node:sea');
const vm = require('node:vm');
const path = require('node:path');

const loaded = new Map();
/** The exports ({ main, embedded }) of program `name`'s bundle, evaluated once; undefined when there is no such program. */
function load(name) {
  if (loaded.has(name)) return loaded.get(name);
  let source;
  try {
    source = sea.getAsset(`${name}.js`, 'utf8');
  } catch {
    return undefined;
  }
  const script = new vm.Script(source, { filename: `${name}.js`, cachedData: Buffer.from(sea.getRawAsset(`${name}.cache`)) });
  if (process.env.CNI_TS_CACHE_REPORT) process.stderr.write(`cachedDataRejected=${script.cachedDataRejected}\n`);
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, require, mod, process.execPath, path.dirname(process.execPath));
  loaded.set(name, mod.exports);
  return mod.exports;
}
/** A file the executable carries (the addon), as bytes; undefined when there is none. */
function asset(name) {
  try {
    return Buffer.from(sea.getRawAsset(name));
  } catch {
    return undefined;
  }
}
Object.defineProperty(globalThis, Symbol.for('cni-ts.programs'), { value: Object.freeze({ load, asset }) });

const name = path.basename(process.argv0);
const program = load(name);
if (!program) {
  const names = JSON.parse(sea.getAsset('programs.json', 'utf8'));
  process.stderr.write(`cni-ts: unknown program "${name}"; link or copy this binary as one of: ${names.join(', ')}\n`);
  process.exit(name === 'cni-ts' ? 0 : 1);
}
program.main();
