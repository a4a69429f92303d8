// Build-time trainer for the V8 code caches (see build.ts). Runs each program's
// wrapped bundle (<dir>/<name>.js) once per command with stdin and process.exit
// stubbed, each time in a fresh module instance of that program's vm.Script, and
// writes <dir>/<name>.cache, which then holds every function those paths
// compiled: a function the training never ran is compiled lazily on every call
// of the shipped binary. Programs never share a Script, so a cache holds only
// its own program's code (the bridge run that gives the chained plugins a
// prevResult compiles into bridge's Script, not theirs).
//
// Run it inside `unshare -n` (build.ts does): the "host" is then a throw-away
// network namespace, the "container" is another one (`/proc/<pid>/ns/net` of an
// `unshare -n sleep`), and the real ADD/CHECK/DEL paths run end to end, bridge,
// veth, sysctls, iptables and all, without touching the machine. With
// CNI_TS_TRAIN_VERSION_ONLY (no root), only VERSION is trained.
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const vm = require('node:vm');

const [dir, ...names] = process.argv.slice(2);
const scripts = new Map(names.map((n) => [n, new vm.Script(fs.readFileSync(path.join(dir, `${n}.js`), 'utf8'), { filename: `${n}.js` })]));
const scratch = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-ts-train-'));
// gone on every way out, a failed training's too
process.on('exit', () => fs.rmSync(scratch, { recursive: true, force: true }));
const versionOnly = !!process.env.CNI_TS_TRAIN_VERSION_ONLY;

let stdin = Buffer.alloc(0);
let lastOut = '';
// The plugins read stdin and write stdout through the addon (readFd(0),
// fsWrite(1, ...)): its exports are wrapped as they are loaded, so fd 0 reads
// the scripted config and what goes to fd 1 is kept as the result.
const realDlopen = process.dlopen;
process.dlopen = function (mod, ...rest) {
  realDlopen.call(this, mod, ...rest);
  const real = mod.exports;
  mod.exports = {
    ...real,
    readFd: (fd) => (fd === 0 ? stdin : real.readFd(fd)),
    fsWrite: (fd, data, pos) => {
      if (fd === 1) lastOut += Buffer.from(data).toString();
      return real.fsWrite(fd, data, pos);
    },
  };
};
let onExit = () => {};
const exitProcess = process.exit.bind(process);
process.exit = (code) => onExit(code);
// (node:fs's writeSync too: what a plugin writes when the addon cannot load)
const realWrite = fs.writeSync;
fs.writeSync = function (fd, data, ...rest) {
  if (fd === 1) lastOut += Buffer.isBuffer(data) ? data.toString() : String(data);
  return realWrite.call(fs, fd, data, ...rest);
};

// A scripted IPAM plugin for the interface plugins' paths.
const ipamDir = path.join(scratch, 'bin');
fs.mkdirSync(ipamDir);
fs.writeFileSync(
  path.join(ipamDir, 'train-ipam'),
  `#!/bin/sh\n[ "$CNI_COMMAND" = ADD ] && echo '{"cniVersion":"1.0.0","ips":[{"address":"10.254.0.2/24","gateway":"10.254.0.1"}],"routes":[{"dst":"10.253.0.0/16"}]}'\nexit 0\n`,
  { mode: 0o755 },
);

/** Plugins chained after bridge in training: they get its ADD result as prevResult. */
const CHAINED = ['tuning', 'portmap', 'firewall', 'bandwidth', 'sbr'];

/** The parent link the sub-link plugins train on: a veth in the trainer's own (throw-away) namespace. */
const MASTER = 'train-m0';
/** The link host-device trains on: another veth of that namespace. */
const HOST_DEVICE = 'train-hd0';

async function runOnce(name, env, conf) {
  for (const k of Object.keys(process.env)) if (k.startsWith('CNI_') && k !== 'CNI_TS_NATIVE') delete process.env[k];
  Object.assign(process.env, env);
  stdin = Buffer.from(typeof conf === 'string' ? conf : JSON.stringify(conf));
  lastOut = '';
  const done = new Promise((resolve) => {
    onExit = resolve;
    setTimeout(resolve, 10000).unref();
  });
  const mod = { exports: {} };
  const file = path.join(dir, `${name}.js`);
  scripts.get(name).runInThisContext()(mod.exports, require, mod, file, dir);
  await Promise.resolve(mod.exports.main()).catch(() => {});
  await done;
  try {
    return JSON.parse(lastOut);
  } catch {
    return undefined;
  }
}

function confFor(name) {
  const base = { cniVersion: '1.1.0', name: 'train', type: name };
  const ipam = { type: 'train-ipam' };
  switch (name) {
    case 'bridge':
      return { ...base, bridge: 'train0', isGateway: true, isDefaultGateway: true, ipMasq: true, hairpinMode: true, ipam };
    case 'ptp':
      return { ...base, ipMasq: true, ipam };
    case 'host-local':
      return { ...base, ipam: { type: 'host-local', subnet: '10.254.1.0/24', dataDir: path.join(scratch, 'ipam') } };
    case 'static':
      return { ...base, ipam: { type: 'static', addresses: [{ address: '10.254.2.5/24', gateway: '10.254.2.1' }], routes: [{ dst: '0.0.0.0/0' }], dns: { nameservers: ['10.254.2.1'] } } };
    case 'tuning':
      return { ...base, sysctl: { 'net.ipv4.conf.eth0.arp_notify': '1' }, mtu: 1400, promisc: true, dataDir: path.join(scratch, 'tuning') };
    case 'portmap':
      return { ...base, runtimeConfig: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }] } };
    case 'firewall':
      return { ...base, ingressPolicy: 'same-bridge', dataDir: path.join(scratch, 'firewall') };
    case 'bandwidth':
      return { ...base, ingressRate: 8000000, ingressBurst: 80000, egressRate: 8000000, egressBurst: 80000 };
    // on the veth MASTER (a kernel without ipvlan or 8021q trains up to the link creation)
    case 'macvlan':
      return { ...base, master: MASTER, mode: 'bridge', ipam };
    case 'ipvlan':
      return { ...base, master: MASTER, ipam };
    case 'vlan':
      return { ...base, master: MASTER, vlanId: 100, ipam };
    // a kernel without dummy trains up to the link creation
    case 'dummy':
      return { ...base, ipam };
    // chained: its own prevResult (a kernel without vrf trains up to the VRF creation)
    case 'vrf':
      return { ...base, vrfname: 'train-vrf', prevResult: { cniVersion: '1.1.0', interfaces: [{ name: 'eth0' }], ips: [{ address: '10.254.3.5/24', interface: 0 }] } };
    // moves HOST_DEVICE into the container and back
    case 'host-device':
      return { ...base, device: HOST_DEVICE, ipam };
    case 'tap':
      return { ...base, mac: '02:54:00:00:00:01', mtu: 1400, multiQueue: true, owner: 0, group: 0, ipam };
    default:
      return base;
  }
}

/** Every command of one plugin, ADD first, so later commands see ADD's result as prevResult. */
async function trainPlugin(name, env, prevResult) {
  const conf = confFor(name);
  const chained = CHAINED.includes(name);
  const withPrev = (c, prev) => (prev ? { ...c, prevResult: prev } : c);
  const added = await runOnce(name, { ...env, CNI_COMMAND: 'ADD' }, withPrev(conf, chained ? prevResult : undefined));
  const prev = added ?? prevResult;
  await runOnce(name, { ...env, CNI_COMMAND: 'CHECK' }, withPrev(conf, prev));
  await runOnce(name, { ...env, CNI_COMMAND: 'STATUS' }, conf);
  await runOnce(name, { ...env, CNI_COMMAND: 'GC' }, { ...conf, 'cni.dev/valid-attachments': [] });
  return { conf, prev };
}

async function del(name, env, conf, prev) {
  await runOnce(name, { ...env, CNI_COMMAND: 'DEL' }, prev ? { ...conf, prevResult: prev } : conf);
}

/**
 * dhcp: its daemon runs in this process (so the daemon's code lands in dhcp's
 * cache too) on a scratch socket with short timeouts, and the plugin's ADD
 * (no DHCP server answers: the acquire times out), CHECK, DEL, STATUS and GC
 * go to it over the real RPC. The daemon's log is kept out of the build output.
 */
async function trainDHCP(env, sleeperPid) {
  const sock = path.join(scratch, 'dhcp.sock');
  execFileSync('ip', ['link', 'add', 'train-d0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', String(sleeperPid)]);
  const realStderr = process.stderr.write;
  process.stderr.write = () => true;
  const argv = process.argv;
  process.argv = [argv[0], 'dhcp', 'daemon', '-socketpath', sock, '-timeout', '100ms', '-resendmax', '100ms', '-resendtimeout', '300ms', '-leasefile', path.join(scratch, 'leases.json')];
  try {
    const mod = { exports: {} };
    scripts.get('dhcp').runInThisContext()(mod.exports, require, mod, path.join(dir, 'dhcp.js'), dir);
    mod.exports.main();
    // the program reads argv once its module has loaded: keep it until the daemon listens
    for (let i = 0; i < 100 && !fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
    process.argv = argv;
    if (!fs.existsSync(sock)) {
      realStderr.call(process.stderr, 'train-cache: the dhcp daemon did not start; its cache would miss the real paths\n');
      exitProcess(2);
    }
    const conf = { cniVersion: '1.1.0', name: 'train', type: 'dhcp', ipam: { type: 'dhcp', daemonSocketPath: sock, request: [{ option: 'host-name' }], provide: [{ option: 'host-name', fromArg: 'K8S_POD_NAME' }] } };
    const dhcpEnv = { ...env, CNI_ARGS: 'K8S_POD_NAME=train' };
    for (const command of ['ADD', 'CHECK', 'STATUS', 'DEL', 'DEL', 'GC']) {
      await runOnce('dhcp', { ...dhcpEnv, CNI_COMMAND: command }, command === 'GC' ? { ...conf, 'cni.dev/valid-attachments': [] } : conf);
    }
    process.kill(process.pid, 'SIGTERM');
    for (let i = 0; i < 100 && fs.existsSync(sock); i++) await new Promise((r) => setTimeout(r, 20));
  } finally {
    process.argv = argv;
    process.stderr.write = realStderr;
    spawn('ip', ['link', 'del', 'train-d0'], { stdio: 'ignore' });
  }
}

(async () => {
  const plugins = names.filter((n) => n !== 'cnitool');
  for (const name of plugins) await runOnce(name, { CNI_COMMAND: 'VERSION' }, '');
  if (!versionOnly) {
    const sleeper = spawn('unshare', ['-n', 'sleep', '120'], { stdio: 'ignore' });
    execFileSync('ip', ['link', 'add', MASTER, 'type', 'veth', 'peer', 'name', 'train-m1']);
    execFileSync('ip', ['link', 'set', MASTER, 'up']);
    execFileSync('ip', ['link', 'add', HOST_DEVICE, 'type', 'veth', 'peer', 'name', 'train-hd1']);
    await new Promise((r) => setTimeout(r, 100));
    const env = { CNI_CONTAINERID: 'train', CNI_NETNS: `/proc/${sleeper.pid}/ns/net`, CNI_IFNAME: 'eth0', CNI_PATH: ipamDir };
    try {
      // error paths: a namespace that does not exist, a config that does not parse
      for (const name of plugins) {
        await runOnce(name, { ...env, CNI_COMMAND: 'ADD', CNI_NETNS: '/run/netns/cni-ts-train-none' }, confFor(name));
        // (host-device has no mtu: its bad key is device)
        await runOnce(name, { ...env, CNI_COMMAND: 'ADD' }, { ...confFor(name), mtu: 'x', ...(name === 'host-device' && { device: 7 }) });
      }
      // the real paths: an interface plugin, the chained plugins on top of it, then the rest
      const br = await trainPlugin('bridge', env);
      // a training that only met errors would ship a cache of error paths: fail the build instead
      if (!br.prev?.interfaces) {
        process.stderr.write('train-cache: bridge ADD produced no result; the code caches would miss the real paths\n');
        exitProcess(2);
      }
      for (const chained of CHAINED) {
        if (!plugins.includes(chained)) continue;
        const t = await trainPlugin(chained, env, br.prev);
        await del(chained, env, t.conf, t.prev);
      }
      await del('bridge', env, br.conf, br.prev);
      if (plugins.includes('dhcp')) await trainDHCP(env, sleeper.pid);
      for (const name of plugins.filter((n) => !['bridge', 'dhcp', ...CHAINED].includes(n))) {
        const t = await trainPlugin(name, env);
        await del(name, env, t.conf, t.prev);
        await del(name, env, t.conf, t.prev);
      }
    } finally {
      sleeper.kill('SIGKILL');
    }
  }
  for (const [name, script] of scripts) fs.writeFileSync(path.join(dir, `${name}.cache`), script.createCachedData());
  fs.rmSync(scratch, { recursive: true, force: true });
  // nothing trained may keep this process alive (a daemon's handles, a lease timer)
  exitProcess(0);
})();
