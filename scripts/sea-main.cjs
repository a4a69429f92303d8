// The single executable's main: picks the program by the name the binary was
// invoked as (bin/bridge, /opt/cni/bin/host-local, ...) and runs that program's
// bundle with the V8 code cache build.ts trained on its real command paths.
'use strict';
const sea = require('node:sea');
const vm = require('node:vm');
const path = require('node:path');

const name = path.basename(process.argv0);
let source;
try {
  source = sea.getAsset(`${name}.js`, 'utf8');
} catch {
  const names = JSON.parse(sea.getAsset('programs.json', 'utf8'));
  process.stderr.write(`cni-ts: unknown program "${name}"; link or copy this binary as one of: ${names.join(', ')}\n`);
  process.exit(name === 'cni-ts' ? 0 : 1);
}
const script = new vm.Script(source, { filename: `${name}.js`, cachedData: Buffer.from(sea.getRawAsset(`${name}.cache`)) });
if (process.env.CNI_TS_CACHE_REPORT) process.stderr.write(`cachedDataRejected=${script.cachedDataRejected}\n`);
const mod = { exports: {} };
script.runInThisContext()(mod.exports, require, mod, process.execPath, path.dirname(process.execPath));
mod.exports.main();
