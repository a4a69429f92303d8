// Build-time trainer for the V8 code cache (see build.ts). Runs the wrapped
// bundle once per (program, command) with stdin and process.exit stubbed, each
// time in a fresh module instance of the same vm.Script, so the cache it writes
// holds every function those paths compiled. Run it inside `unshare -n`: ADD and
// DEL paths point at a namespace that does not exist and fail early, but nothing
// they might touch belongs to the real host.
'use strict';
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vm = require('node:vm');

const [appFile, cacheFile, ...names] = process.argv.slice(2);
const script = new vm.Script(fs.readFileSync(appFile, 'utf8'), { filename: 'cni-ts.js' });
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-ts-train-'));
const versionOnly = !!process.env.CNI_TS_TRAIN_VERSION_ONLY;

let stdin = Buffer.alloc(0);
const realRead = fs.readFileSync;
fs.readFileSync = function (file, ...rest) {
  return file === 0 ? stdin : realRead.call(fs, file, ...rest);
};
let onExit = () => {};
process.exit = (code) => onExit(code);

function conf(name) {
  return JSON.stringify({
    cniVersion: '1.0.0',
    name: 'train',
    type: name,
    bridge: 'train0',
    master: 'train0',
    ipam: { type: 'host-local', subnet: '10.254.0.0/24', dataDir: scratch },
    runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] },
    prevResult: { cniVersion: '1.0.0', interfaces: [{ name: 'eth0', sandbox: '/run/netns/cni-ts-train-none' }], ips: [{ address: '10.254.0.2/24', interface: 0 }] },
  });
}

async function runOnce(name, env, input) {
  for (const k of Object.keys(process.env)) if (k.startsWith('CNI_')) delete process.env[k];
  Object.assign(process.env, env);
  stdin = Buffer.from(input);
  const done = new Promise((resolve) => {
    onExit = resolve;
    setTimeout(resolve, 5000).unref();
  });
  const mod = { exports: {} };
  script.runInThisContext()(mod.exports, require, mod, appFile, path.dirname(appFile));
  await Promise.resolve(mod.exports.main(name)).catch(() => {});
  await done;
}

(async () => {
  const common = { CNI_CONTAINERID: 'train', CNI_NETNS: '/run/netns/cni-ts-train-none', CNI_IFNAME: 'eth0', CNI_PATH: scratch };
  for (const name of names) {
    if (name === 'cnitool') continue;
    await runOnce(name, { CNI_COMMAND: 'VERSION' }, '');
    if (versionOnly) continue;
    for (const cmd of ['ADD', 'CHECK', 'DEL']) await runOnce(name, { ...common, CNI_COMMAND: cmd }, conf(name));
  }
  fs.writeFileSync(cacheFile, script.createCachedData());
  fs.rmSync(scratch, { recursive: true, force: true });
})();
