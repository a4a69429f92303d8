// podman 4.3 (Debian's `podman`, CNI backend) on its default conflist
// (87-podman-bridge.conflist: bridge, portmap, firewall, tuning) with ONLY our
// binaries in its plugin directory: run with a published port, fetch from the
// host, `network create` + connect/disconnect, rm -f, and nothing left (rules,
// veths, reservations, firewall records). Skipped when podman or runc is missing.
//
// Every setting below is private to this test (a temp dir), and each is needed:
// - CONTAINERS_CONF / CONTAINERS_STORAGE_CONF and --root/--runroot: podman reads
//   nothing of the machine's configuration or image store, and leaves nothing there.
// - network_backend = "cni": podman 4 otherwise prefers netavark (not installed).
// - cni_plugin_dirs = [a dir holding only hard links of bin/*]: podman's libcni
//   finds every plugin there or fails (`failed to find plugin "firewall" in path`).
// - network_config_dir: our copy of the default conflist (bridge `cfwbr0`,
//   10.201.100.0/24 instead of cni-podman0 and 10.88.0.0/16, host-local's
//   dataDir in the temp dir) and the second network podman writes.
// - runtime = "runc": Debian's podman depends on runc or crun; setup installs runc.
// - cgroup_manager = "cgroupfs": there is no systemd (no D-Bus) to ask for a scope.
// - events_logger = "file": the default, journald, needs systemd's journal.
// - default_ulimits = nofile and nproc at most the current limits: podman 4.3
//   raises both to 1048576 for rootful containers unless told, and this machine
//   withholds CAP_SYS_RESOURCE, so runc fails with `error setting rlimits for
//   ready process: error setting rlimit type 7: operation not permitted`
//   (type 6, NPROC, fails the same way even at the current hard limit).
// - storage driver "vfs": no overlay mount needed; the image is 2 MB.
// - the image is a tarball of busybox-static (`podman import`): no registry here.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, isRoot } from '../helpers/index.js';

const have = (cmd: string) => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
const BUSYBOX = ['/bin/busybox', '/usr/bin/busybox'].find((f) => fs.existsSync(f));
const skip =
  (!isRoot && 'needs root') ||
  (!have('podman') && 'podman is not installed (apt-get install podman runc)') ||
  (!have('runc') && 'runc is not installed') ||
  (!BUSYBOX && 'busybox-static is not installed (the image is made from it)') ||
  (!fs.existsSync(path.join(BIN, 'firewall')) && 'bin/firewall is not built');

const IMAGE = 'localhost/cnits-fw-busybox';
const NAME = 'cnits-fw-web';
const NET2 = 'cnits-fw-net2';
const BRIDGES = ['cfwbr0', 'cfwbr1'];
const SUBNET = '10.201.100';
const SUBNET2 = '10.201.101';
const PORT = 28400 + Math.floor(Math.random() * 100);
const FIREWALL_DATA = '/run/cni/firewall';

/** Debian's /etc/cni/net.d/87-podman-bridge.conflist, used when podman did not install it. */
const DEFAULT_CONFLIST = {
  cniVersion: '0.4.0',
  name: 'podman',
  plugins: [
    {
      type: 'bridge', bridge: 'cni-podman0', isGateway: true, ipMasq: true, hairpinMode: true,
      ipam: { type: 'host-local', routes: [{ dst: '0.0.0.0/0' }], ranges: [[{ subnet: '10.88.0.0/16', gateway: '10.88.0.1' }]] },
    },
    { type: 'portmap', capabilities: { portMappings: true } },
    { type: 'firewall' },
    { type: 'tuning' },
  ],
};

describe('podman 4 (CNI backend) with only our plugins', { skip }, () => {
  let T: string;
  let env: NodeJS.ProcessEnv;

  const podman = (...args: string[]) => {
    const r = spawnSync('podman', ['--root', path.join(T, 'root'), '--runroot', path.join(T, 'runroot'), ...args], { env, encoding: 'utf8', timeout: 60_000 });
    return { code: r.status, out: r.stdout.trim(), err: r.stderr.trim() };
  };
  const ok = (...args: string[]) => {
    const r = podman(...args);
    assert.equal(r.code, 0, `podman ${args.join(' ')}: ${r.err}`);
    return r.out;
  };
  const sh = (cmd: string) => spawnSync('sh', ['-c', cmd], { encoding: 'utf8' }).stdout;
  const filterRules = () => sh('iptables-save -t filter; ip6tables-save -t filter').split('\n').filter((l) => l.startsWith('-A '));
  const natRules = () => sh('iptables-save -t nat; ip6tables-save -t nat').split('\n').filter((l) => l.startsWith('-A '));
  const reservations = (net: string) => {
    const d = path.join(T, 'ipam', net);
    return fs.existsSync(d) ? fs.readdirSync(d).filter((f) => /^\d+\.\d+\.\d+\.\d+$/.test(f)) : [];
  };
  const bridgePorts = (br: string) => sh(`ip -o link show master ${br} 2>/dev/null`).trim();
  /** The page at `url`; a refused connection is retried for 3 s (httpd may not listen yet right after `run -d`). */
  const get = async (url: string) => {
    for (let i = 0; ; i++) {
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(5000) });
        return (await r.text()).trim();
      } catch (e) {
        if (i >= 30 || (e as { cause?: { code?: string } }).cause?.code !== 'ECONNREFUSED') throw e;
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  };

  // podman's bridge has isGateway, which turns IP forwarding on in the host namespace (as the
  // reference does); this test runs there, so it puts the machine's setting back afterwards
  const FORWARD_SYSCTLS = ['/proc/sys/net/ipv4/ip_forward', '/proc/sys/net/ipv6/conf/all/forwarding'];
  const forwardBefore = new Map<string, string>();

  // The shared chains podman's plugins make in the host namespace (CNI-FORWARD, CNI-ADMIN, CNI-HOSTPORT-*) outlive
  // every DEL by design, as the reference's; the ones this test brought into being go with it.
  const FAMILIES = ['iptables', 'ip6tables'] as const;
  const cniChains = (family: string) => new Set(sh(`${family}-save`).split('\n').filter((l) => /^:CNI-/.test(l)).map((l) => l.split(' ')[0].slice(1)));
  const chainsBefore = new Map<string, Set<string>>();
  const removeNewChains = () => {
    for (const family of FAMILIES) {
      const had = chainsBefore.get(family) ?? new Set<string>();
      let table = '';
      const script: Record<string, string[]> = {};
      for (const line of sh(`${family}-save`).split('\n')) {
        if (line.startsWith('*')) table = line.slice(1);
        const chain = /^:(CNI-\S+)/.exec(line)?.[1];
        if (chain && !had.has(chain)) (script[table] ??= []).push(`-F ${chain}`, `-X ${chain}`);
        // a jump from a chain that stays into a chain that goes
        const jump = /^-A (\S+) .*-j (CNI-\S+)$/.exec(line);
        const isNew = (c: string) => /^CNI-/.test(c) && !had.has(c);
        if (jump && isNew(jump[2]) && !isNew(jump[1])) (script[table] ??= []).push(`-D ${line.slice(3)}`);
      }
      const text = Object.entries(script).map(([t, cmds]) => `*${t}\n${[...cmds.filter((c) => c.startsWith('-D')), ...cmds.filter((c) => c.startsWith('-F')), ...cmds.filter((c) => c.startsWith('-X'))].join('\n')}\nCOMMIT\n`).join('');
      if (text) spawnSync(`${family}-restore`, ['--noflush'], { input: text });
    }
  };

  before(() => {
    for (const family of FAMILIES) chainsBefore.set(family, cniChains(family));
    for (const f of FORWARD_SYSCTLS) if (fs.existsSync(f)) forwardBefore.set(f, fs.readFileSync(f, 'utf8'));
    T = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-fw-podman-'));
    for (const d of ['cni-bin', 'net.d', 'root', 'runroot', 'tmp', 'ipam']) fs.mkdirSync(path.join(T, d));
    // only our programs, as after replacing a whole /opt/cni/bin
    for (const f of fs.readdirSync(BIN).filter((n) => !n.includes('.'))) {
      try {
        fs.linkSync(path.join(BIN, f), path.join(T, 'cni-bin', f));
      } catch {
        fs.copyFileSync(path.join(BIN, f), path.join(T, 'cni-bin', f));
        fs.chmodSync(path.join(T, 'cni-bin', f), 0o755);
      }
    }
    const rootfs = path.join(T, 'rootfs');
    for (const d of ['bin', 'www', 'tmp', 'proc', 'sys', 'dev', 'etc']) fs.mkdirSync(path.join(rootfs, d), { recursive: true });
    fs.copyFileSync(BUSYBOX!, path.join(rootfs, 'bin', 'busybox'));
    fs.chmodSync(path.join(rootfs, 'bin', 'busybox'), 0o755);
    for (const a of ['sh', 'httpd', 'ip', 'cat', 'sleep']) fs.symlinkSync('busybox', path.join(rootfs, 'bin', a));
    fs.writeFileSync(path.join(rootfs, 'www', 'index.html'), 'cnits-fw-ok\n');
    assert.equal(spawnSync('tar', ['-C', rootfs, '-cf', path.join(T, 'rootfs.tar'), '.']).status, 0);

    const installed = '/etc/cni/net.d/87-podman-bridge.conflist';
    const conflist = fs.existsSync(installed) ? JSON.parse(fs.readFileSync(installed, 'utf8')) : structuredClone(DEFAULT_CONFLIST);
    const bridge = conflist.plugins[0];
    bridge.bridge = BRIDGES[0];
    bridge.ipam.ranges = [[{ subnet: `${SUBNET}.0/24`, gateway: `${SUBNET}.1` }]];
    bridge.ipam.dataDir = path.join(T, 'ipam');
    fs.writeFileSync(path.join(T, 'net.d', '87-podman-bridge.conflist'), JSON.stringify(conflist, null, 1));

    fs.writeFileSync(path.join(T, 'containers.conf'), `[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
log_driver = "k8s-file"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "${T}/events.log"
runtime = "runc"
tmp_dir = "${T}/tmp"
[network]
network_backend = "cni"
cni_plugin_dirs = ["${T}/cni-bin"]
network_config_dir = "${T}/net.d"
default_subnet = "${SUBNET}.0/24"
`);
    fs.writeFileSync(path.join(T, 'storage.conf'), `[storage]\ndriver = "vfs"\ngraphroot = "${T}/root"\nrunroot = "${T}/runroot"\n`);
    env = { ...process.env, CONTAINERS_CONF: path.join(T, 'containers.conf'), CONTAINERS_STORAGE_CONF: path.join(T, 'storage.conf') };
    delete env.NODE_EXTRA_CA_CERTS; // passed on to every plugin: +70 ms each
    ok('import', path.join(T, 'rootfs.tar'), IMAGE);
  });

  after(() => {
    for (const [f, v] of forwardBefore) fs.writeFileSync(f, v);
    if (!T) return;
    podman('rm', '-f', '-t', '0', NAME);
    removeNewChains();
    podman('rm', '-f', '-t', '0', NAME);
    podman('network', 'rm', '-f', NET2);
    podman('rmi', '-f', IMAGE);
    for (const br of BRIDGES) spawnSync('ip', ['link', 'del', br], { stdio: 'ignore' });
    fs.rmSync(T, { recursive: true, force: true });
    // our firewall's record directories of the two networks, when DEL left them empty
    for (const net of ['podman', NET2]) {
      try {
        fs.rmdirSync(path.join(FIREWALL_DATA, net));
      } catch {
        // not empty (someone else's records) or already gone
      }
    }
  });

  it('run -p, fetch through the host port, network connect/disconnect, rm -f; nothing is left', async () => {
    const id = ok('run', '-d', '--name', NAME, '-p', `${PORT}:8080`, IMAGE, '/bin/httpd', '-f', '-p', '8080', '-h', '/www');
    const ip = ok('inspect', '-f', '{{.NetworkSettings.IPAddress}}', NAME);
    assert.match(ip, new RegExp(`^${SUBNET.replace(/\./g, '\\.')}\\.\\d+$`));
    assert.ok(filterRules().includes(`-A CNI-FORWARD -s ${ip}/32 -j ACCEPT`), 'our firewall ran in the chain');
    assert.ok(fs.existsSync(path.join(FIREWALL_DATA, 'podman', `${id}_eth0.json`)));
    assert.equal(await get(`http://${SUBNET}.1:${PORT}/`), 'cnits-fw-ok', 'through the published port');
    assert.equal(await get(`http://127.0.0.1:${PORT}/`), 'cnits-fw-ok', 'through localhost');
    assert.equal(await get(`http://${ip}:8080/`), 'cnits-fw-ok', 'directly');

    // a second network as podman 4 writes it (firewall backend "" = auto-detect), on our bridge name
    ok('network', 'create', '--subnet', `${SUBNET2}.0/24`, NET2);
    const file = path.join(T, 'net.d', `${NET2}.conflist`);
    const net2 = JSON.parse(fs.readFileSync(file, 'utf8'));
    assert.equal(net2.plugins.find((p: any) => p.type === 'firewall')?.backend, '');
    net2.plugins[0].bridge = BRIDGES[1];
    net2.plugins[0].ipam.dataDir = path.join(T, 'ipam');
    fs.writeFileSync(file, JSON.stringify(net2, null, 1));
    ok('network', 'connect', NET2, NAME);
    const ip2 = ok('inspect', '-f', `{{(index .NetworkSettings.Networks "${NET2}").IPAddress}}`, NAME);
    assert.match(ip2, new RegExp(`^${SUBNET2.replace(/\./g, '\\.')}\\.\\d+$`));
    assert.ok(filterRules().includes(`-A CNI-FORWARD -s ${ip2}/32 -j ACCEPT`));
    assert.equal(await get(`http://${ip2}:8080/`), 'cnits-fw-ok', 'through the second network');
    assert.equal(ok('exec', NAME, 'ip', 'route').split('\n').filter((l) => l.startsWith('default ')).length, 2, 'both networks\' default routes (ECMP, as the reference)');
    ok('network', 'disconnect', NET2, NAME);
    assert.ok(!filterRules().some((l) => l.includes(`${ip2}/32`)), 'disconnect removed the second network\'s rules');
    assert.deepEqual(reservations(NET2), []);
    assert.equal(bridgePorts(BRIDGES[1]), '');
    assert.equal(await get(`http://${SUBNET}.1:${PORT}/`), 'cnits-fw-ok', 'the first network still works');

    ok('rm', '-f', '-t', '0', NAME);
    assert.deepEqual(filterRules().filter((l) => l.includes(`${ip}/32`)), [], 'no firewall rule');
    assert.deepEqual(natRules().filter((l) => l.includes(id) || l.includes(`${ip}/32`)), [], 'no portmap or masquerade rule');
    assert.equal(bridgePorts(BRIDGES[0]), '', 'no veth');
    assert.deepEqual(reservations('podman'), [], 'no reservation');
    assert.ok(!fs.existsSync(path.join(FIREWALL_DATA, 'podman', `${id}_eth0.json`)), 'no firewall record');
    assert.ok(!fs.existsSync(`/var/lib/cni/results/podman-${id}-eth0`), 'no cached result');
  });
});
