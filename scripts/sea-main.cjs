// The single executable's main: runs the bundled suite from its asset with the
// V8 code cache that build.ts trained on real command paths, then dispatches on
// the name the binary was invoked as (bin/bridge, /opt/cni/bin/host-local, ...).
'use strict';
const sea = require('node:sea');
const vm = require('node:vm');
const path = require('node:path');

const script = new vm.Script(sea.getAsset('app.js', 'utf8'), {
  filename: 'cni-ts.js',
  cachedData: Buffer.from(sea.getRawAsset('app.cache')),
});
if (process.env.CNI_TS_CACHE_REPORT) process.stderr.write(`cachedDataRejected=${script.cachedDataRejected}\n`);
const mod = { exports: {} };
script.runInThisContext()(mod.exports, require, mod, process.execPath, path.dirname(process.execPath));
mod.exports.main(path.basename(process.argv0));
