// bin/portmap with real traffic. Three throw-away netns: a "host" (H) that runs
// the plugins (so every rule stays inside it), containers (C1, C2) joined to H by
// veths, and an outside client (X) routed through H. TCP and UDP servers (socat)
// run in the containers and are reached through the host port from X (PREROUTING),
// from H itself (OUTPUT), via 127.0.0.1 (localhost mapping) and from the container
// itself (hairpin). Both backends; a Debian portmap ADD torn down by ours.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { createNetns, execPlugin, haveRef, isRoot, REF_BIN, type TestNetns } from '../helpers/index.js';

const skip = !isRoot && 'needs root';
const haveTools = ['socat', 'iptables', 'nft', 'conntrack'].every((t) => spawnSync('sh', ['-c', `command -v ${t}`]).status === 0);
const NET = 'pm-net';

interface Ctr {
  ns: TestNetns;
  id: string;
  ip4: string;
  ip6: string;
  gw4: string;
  gw6: string;
  servers: ChildProcess[];
}

function sleep(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

function waitFor(what: string, f: () => boolean): void {
  for (let i = 0; i < 200; i++) {
    if (f()) return;
    sleep(25);
  }
  assert.fail(`timed out waiting for ${what}`);
}

/** A container netns with eth0 peered to `vethN` in the host, addresses on both sides. */
function addContainer(host: TestNetns, n: number, tag: string): Ctr {
  const ns = createNetns(`${tag}-c${n}`);
  const gw4 = `10.230.${n}.1`;
  const gw6 = `fd00:230::${n}:1`;
  host.ip('link', 'add', `veth${n}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.name);
  host.ip('addr', 'add', `${gw4}/24`, 'dev', `veth${n}`);
  host.ip('addr', 'add', `${gw6}/112`, 'dev', `veth${n}`, 'nodad');
  host.ip('link', 'set', `veth${n}`, 'up');
  ns.ip('addr', 'add', `10.230.${n}.2/24`, 'dev', 'eth0');
  ns.ip('addr', 'add', `fd00:230::${n}:2/112`, 'dev', 'eth0', 'nodad');
  ns.ip('link', 'set', 'eth0', 'up');
  ns.ip('link', 'set', 'lo', 'up');
  ns.ip('route', 'add', 'default', 'via', gw4);
  ns.ip('-6', 'route', 'add', 'default', 'via', gw6);
  return { ns, id: `ctr-${tag}-${n}`, ip4: `10.230.${n}.2`, ip6: `fd00:230::${n}:2`, gw4, gw6, servers: [] };
}

/** TCP :80 and UDP :81 servers in the container answering `c<n>`. */
function startServers(c: Ctr, reply: string): void {
  // own process group: socat's forked children (a UDP-RECVFROM child keeps the socket) die with it
  const sp = (...args: string[]) => spawn('ip', ['netns', 'exec', c.ns.name, 'socat', ...args], { stdio: 'ignore', detached: true });
  c.servers.push(sp('TCP6-LISTEN:80,fork,reuseaddr,ipv6only=0', `SYSTEM:echo ${reply}`));
  // UDP: a plain echo server (socat's UDP4-RECVFROM,fork shares one socket between parent and children)
  const udpServer = `const s=require('dgram').createSocket('udp4');s.on('message',(m,r)=>s.send('${reply}-udp\\n',r.port,r.address));s.bind(81)`;
  c.servers.push(spawn('ip', ['netns', 'exec', c.ns.name, process.execPath, '-e', udpServer], { stdio: 'ignore', detached: true, env: { PATH: process.env.PATH } }));
  waitFor('servers', () => {
    const out = c.ns.exec('ss', '-lntu');
    return /:80\b/.test(out) && /:81\b/.test(out);
  });
}

function stopServers(c: Ctr): void {
  for (const s of c.servers) {
    try {
      process.kill(-s.pid!, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  c.servers = [];
  waitFor('servers to stop', () => !/:8[01]\b/.test(c.ns.exec('ss', '-lntu')));
}

function tcp(ns: TestNetns, addr: string, port: number): string {
  const target = addr.includes(':') ? `TCP6:[${addr}]:${port}` : `TCP4:${addr}:${port}`;
  const r = spawnSync('ip', ['netns', 'exec', ns.name, 'socat', '-T3', '-', target], { input: '', encoding: 'utf8', timeout: 15_000 });
  return r.stdout.trim();
}

/**
 * Sends a datagram from `sourcePort` and returns the reply, empty after 2 s.
 * Lost datagrams are resent, as real UDP clients do, each time from a new source
 * port (a new conntrack flow, so one flow in a bad state cannot answer for all)
 * unless `sameFlow` asks for the same 5-tuple.
 */
function udp(ns: TestNetns, addr: string, port: number, sourcePort: number, opts: { sameFlow?: boolean } = {}): string {
  for (let attempt = 0; attempt < 3; attempt++) {
    const from = opts.sameFlow ? sourcePort : sourcePort + attempt * 1000;
    const js = `const s=require('dgram').createSocket({type:'udp4',reuseAddr:true});s.on('message',(m)=>{process.stdout.write(m.toString());process.exit(0)});` +
      `s.bind(${from},()=>s.send('ping',${port},'${addr}'));setTimeout(()=>process.exit(1),2000)`;
    const r = spawnSync('ip', ['netns', 'exec', ns.name, process.execPath, '-e', js], { encoding: 'utf8', timeout: 15_000, env: { PATH: process.env.PATH } });
    if (r.stdout.trim()) return r.stdout.trim();
  }
  return '';
}

/** Firewall and conntrack state of the host, for a failure message. */
function udpState(t: Topo): string {
  return `\n--- nft ---\n${t.host.exec('nft', 'list', 'ruleset')}\n--- conntrack ---\n${spawnSync('ip', ['netns', 'exec', t.host.name, 'conntrack', '-L', '-p', 'udp'], { encoding: 'utf8' }).stdout}`;
}

function conf(c: Ctr, backend: string, extra: object = {}, network = NET) {
  return {
    cniVersion: '1.0.0',
    name: network,
    type: 'portmap',
    backend,
    capabilities: { portMappings: true },
    runtimeConfig: {
      portMappings: [
        { HostPort: 8080, ContainerPort: 80, Protocol: 'tcp' },
        { hostPort: 8081, containerPort: 81, protocol: 'udp' },
      ],
    },
    ...extra,
    prevResult: {
      cniVersion: '1.0.0',
      interfaces: [{ name: 'eth0', sandbox: c.ns.path }],
      ips: [
        { address: `${c.ip4}/24`, gateway: c.gw4, interface: 0 },
        { address: `${c.ip6}/112`, gateway: c.gw6, interface: 0 },
      ],
    },
  };
}

interface Topo {
  host: TestNetns;
  out: TestNetns;
  c1: Ctr;
  c2: Ctr;
}

function makeTopo(tag: string): Topo {
  const host = createNetns(`${tag}-h`);
  const out = createNetns(`${tag}-x`);
  host.ip('link', 'set', 'lo', 'up');
  host.exec('sysctl', '-q', '-w', 'net.ipv4.ip_forward=1', 'net.ipv6.conf.all.forwarding=1');
  host.ip('link', 'add', 'vx', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', out.name);
  host.ip('addr', 'add', '10.231.0.1/24', 'dev', 'vx');
  host.ip('link', 'set', 'vx', 'up');
  out.ip('addr', 'add', '10.231.0.2/24', 'dev', 'eth0');
  out.ip('link', 'set', 'eth0', 'up');
  out.ip('route', 'add', 'default', 'via', '10.231.0.1');
  return { host, out, c1: addContainer(host, 1, tag), c2: addContainer(host, 2, tag) };
}

function removeTopo(t: Topo): void {
  for (const c of [t.c1, t.c2]) {
    stopServers(c);
    c.ns.remove();
  }
  t.host.remove();
  t.out.remove();
}

const run = (t: Topo, command: string, c: Ctr, stdin: object, plugin = 'portmap') =>
  execPlugin(plugin, { command, containerID: c.id, netns: c.ns.path, ifName: 'eth0', stdin, hostNetns: t.host.name });

function firewall(t: Topo): string {
  return t.host.exec('iptables-save') + t.host.exec('ip6tables-save') + t.host.exec('nft', 'list', 'ruleset');
}

/** The rules of attachment `c` still present, in either backend. */
function leftovers(t: Topo, c: Ctr): string[] {
  return firewall(t).split('\n').filter((l) => l.includes(c.id) || /CNI-DN-/.test(l));
}

for (const backend of ['iptables', 'nftables'] as const) {
  describe(`portmap (${backend}) with real traffic`, { skip: skip || (!haveTools && 'needs socat, iptables, nft, conntrack') }, () => {
    let t: Topo;
    before(() => {
      t = makeTopo(backend === 'iptables' ? 'pmi' : 'pmn');
    });
    after(() => removeTopo(t));
    afterEach(() => {
      stopServers(t.c1);
      stopServers(t.c2);
      // a failed test must not leave mappings that shadow the next test's
      for (const c of [t.c1, t.c2]) for (const n of [NET, 'pm-other']) run(t, 'DEL', c, conf(c, backend, {}, n));
    });

    it('ADD forwards TCP and UDP from outside, from the host, via 127.0.0.1 and hairpin; CHECK; DEL leaves nothing', () => {
      startServers(t.c1, 'c1');
      const add = run(t, 'ADD', t.c1, conf(t.c1, backend));
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.deepEqual(add.json, { ...conf(t.c1, backend).prevResult, dns: {} }, 'prevResult passes through (with Go\'s empty dns {})');
      assert.equal(tcp(t.out, '10.231.0.1', 8080), 'c1', 'outside → host port');
      assert.equal(tcp(t.host, t.c1.gw4, 8080), 'c1', 'host → host-side address');
      assert.equal(tcp(t.host, '127.0.0.1', 8080), 'c1', 'host → 127.0.0.1');
      assert.equal(tcp(t.c1.ns, t.c1.gw4, 8080), 'c1', 'hairpin');
      assert.equal(tcp(t.host, t.c1.gw6, 8080), 'c1', 'IPv6 host → host-side address');
      const got = udp(t.out, '10.231.0.1', 8081, 40001);
      assert.equal(got, 'c1-udp', got === 'c1-udp' ? '' : `UDP outside → host port${udpState(t)}`);
      assert.equal(t.host.exec('sysctl', '-n', 'net.ipv4.conf.veth1.route_localnet').trim(), '1');
      assert.equal(run(t, 'CHECK', t.c1, conf(t.c1, backend)).code, 0);

      const del = run(t, 'DEL', t.c1, conf(t.c1, backend));
      assert.equal(del.code, 0, del.stdout);
      assert.deepEqual(leftovers(t, t.c1), []);
      assert.equal(tcp(t.out, '10.231.0.1', 8080), '', 'no forwarding after DEL');
      assert.equal(run(t, 'DEL', t.c1, conf(t.c1, backend)).code, 0, 'a second DEL succeeds');
    });

    it('a second container reusing the host ports gets TCP and UDP (stale UDP conntrack entries flushed)', () => {
      startServers(t.c1, 'c1');
      startServers(t.c2, 'c2');
      assert.equal(run(t, 'ADD', t.c1, conf(t.c1, backend)).code, 0);
      assert.equal(udp(t.out, '10.231.0.1', 8081, 40002, { sameFlow: true }), 'c1-udp');
      assert.equal(run(t, 'DEL', t.c1, conf(t.c1, backend)).code, 0);
      const add2 = run(t, 'ADD', t.c2, conf(t.c2, backend));
      assert.equal(add2.code, 0, add2.stdout);
      assert.equal(tcp(t.out, '10.231.0.1', 8080), 'c2');
      assert.equal(udp(t.out, '10.231.0.1', 8081, 40002, { sameFlow: true }), 'c2-udp', 'same UDP flow now reaches the new container');
      assert.equal(tcp(t.host, '127.0.0.1', 8080), 'c2');
      assert.equal(run(t, 'DEL', t.c2, conf(t.c2, backend)).code, 0);
      assert.deepEqual(leftovers(t, t.c2), []);
    });

    it('hostIP restricts the mapping to that destination', () => {
      startServers(t.c1, 'c1');
      const c = conf(t.c1, backend, { runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp', hostIP: '10.231.0.1' }] } });
      assert.equal(run(t, 'ADD', t.c1, c).code, 0);
      assert.equal(tcp(t.out, '10.231.0.1', 8080), 'c1');
      assert.equal(tcp(t.host, t.c1.gw4, 8080), '', 'another local address is not mapped');
      assert.equal(run(t, 'DEL', t.c1, c).code, 0);
      assert.deepEqual(leftovers(t, t.c1), []);
    });

    it('CHECK fails when a rule was removed', () => {
      assert.equal(run(t, 'ADD', t.c1, conf(t.c1, backend)).code, 0);
      if (backend === 'iptables') {
        const dn = t.host.exec('iptables-save', '-t', 'nat').split('\n').find((l) => l.startsWith('-A CNI-DN-') && l.includes('DNAT'))!;
        t.host.exec('iptables', '-t', 'nat', ...dn.replace(/^-A/, '-D').split(' ').filter(Boolean));
      } else {
        const h = JSON.parse(t.host.exec('nft', '-j', 'list', 'chain', 'ip', 'cni_hostport', 'hostports')).nftables.find((o: any) => o.rule)!.rule.handle;
        t.host.exec('nft', 'delete', 'rule', 'ip', 'cni_hostport', 'hostports', 'handle', String(h));
      }
      const chk = run(t, 'CHECK', t.c1, conf(t.c1, backend));
      assert.equal(chk.code, 1);
      assert.equal(run(t, 'DEL', t.c1, conf(t.c1, backend)).code, 0);
      assert.deepEqual(leftovers(t, t.c1), []);
    });

    it('GC removes only this network\'s attachments that are not valid', () => {
      assert.equal(run(t, 'ADD', t.c1, conf(t.c1, backend)).code, 0);
      assert.equal(run(t, 'ADD', t.c2, conf(t.c2, backend)).code, 0);
      assert.equal(run(t, 'ADD', t.c1, conf(t.c1, backend, { runtimeConfig: { portMappings: [{ hostPort: 9090, containerPort: 80 }] } }, 'pm-other')).code, 0);
      const gc = execPlugin('portmap', {
        command: 'GC',
        stdin: { cniVersion: '1.1.0', name: NET, type: 'portmap', backend, 'cni.dev/valid-attachments': [{ containerID: t.c2.id, ifname: 'eth0' }] },
        hostNetns: t.host.name,
      });
      assert.equal(gc.code, 0, gc.stdout);
      const fw = firewall(t);
      if (backend === 'iptables') {
        assert.doesNotMatch(fw, new RegExp(`name: \\\\"${NET}\\\\" id: \\\\"${t.c1.id}`));
        assert.match(fw, new RegExp(`name: \\\\"${NET}\\\\" id: \\\\"${t.c2.id}`));
        assert.match(fw, new RegExp(`name: \\\\"pm-other\\\\" id: \\\\"${t.c1.id}`));
      } else {
        assert.doesNotMatch(fw, new RegExp(`"${t.c1.id} ${NET}"`));
        assert.match(fw, new RegExp(`"${t.c2.id} ${NET}"`));
        assert.match(fw, new RegExp(`"${t.c1.id} pm-other"`));
      }
      assert.equal(run(t, 'DEL', t.c2, conf(t.c2, backend)).code, 0);
      assert.equal(run(t, 'DEL', t.c1, conf(t.c1, backend, {}, 'pm-other')).code, 0);
      assert.deepEqual(leftovers(t, t.c1), []);
      assert.deepEqual(leftovers(t, t.c2), []);
    });

    it('one firewall write per family per ADD and DEL; DEL without mappings runs no firewall program', () => {
      const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-pmwrap-'));
      const log = path.join(dir, 'log');
      for (const p of ['iptables', 'ip6tables', 'iptables-save', 'ip6tables-save', 'iptables-restore', 'ip6tables-restore', 'nft', 'conntrack']) {
        fs.writeFileSync(path.join(dir, p), `#!/bin/sh\necho "${p} $*" >> ${log}\nexec /usr/sbin/${p} "$@"\n`, { mode: 0o755 });
      }
      const env = { PATH: `${dir}:/usr/sbin:/usr/bin:/sbin:/bin` };
      const calls = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').trim().split('\n') : []);
      const writes = () => calls().filter((l) => /restore|^nft -f/.test(l));
      try {
        const r = execPlugin('portmap', { command: 'ADD', containerID: t.c1.id, netns: t.c1.ns.path, ifName: 'eth0', stdin: conf(t.c1, backend), hostNetns: t.host.name, env });
        assert.equal(r.code, 0, r.stdout);
        assert.deepEqual(writes(), backend === 'iptables' ? ['iptables-restore -w --noflush', 'ip6tables-restore -w --noflush'] : ['nft -f -']);
        fs.rmSync(log);
        const noMap = { ...conf(t.c1, backend), runtimeConfig: {} };
        assert.equal(execPlugin('portmap', { command: 'DEL', containerID: t.c1.id, netns: t.c1.ns.path, ifName: 'eth0', stdin: noMap, hostNetns: t.host.name, env }).code, 0);
        assert.deepEqual(calls(), [], 'DEL without mappings touches no firewall');
        const d = execPlugin('portmap', { command: 'DEL', containerID: t.c1.id, netns: t.c1.ns.path, ifName: 'eth0', stdin: conf(t.c1, backend), hostNetns: t.host.name, env });
        assert.equal(d.code, 0, d.stdout);
        assert.equal(writes().length, backend === 'iptables' ? 2 : 1);
        assert.deepEqual(leftovers(t, t.c1), []);
      } finally {
        fs.rmSync(dir, { recursive: true, force: true });
      }
    });

    if (backend === 'iptables') {
      it('the localnet guard drops packets for 127.0.0.0/8 arriving from a container', () => {
        assert.equal(run(t, 'ADD', t.c1, conf(t.c1, backend)).code, 0);
        const save = t.host.exec('iptables-save', '-t', 'filter');
        assert.match(save, /-A CNI-HOSTPORT-LOCALNET -d 127\.0\.0\.0\/8 ! -i lo .* -j DROP/);
        assert.match(save, /-A INPUT .* -j CNI-HOSTPORT-LOCALNET/);
        // a host-only service on 127.0.0.1 must not be reachable from the container even with route_localnet=1
        const srv = spawn('ip', ['netns', 'exec', t.host.name, 'socat', 'TCP4-LISTEN:7070,bind=127.0.0.1,fork,reuseaddr', 'SYSTEM:echo host-secret'], { stdio: 'ignore', detached: true });
        try {
          waitFor('host server', () => /127\.0\.0\.1:7070/.test(t.host.exec('ss', '-lnt')));
          assert.equal(tcp(t.host, '127.0.0.1', 7070), 'host-secret');
          t.c1.ns.ip('route', 'add', '127.0.0.0/8', 'via', t.c1.gw4, 'dev', 'eth0', 'onlink');
          assert.equal(tcp(t.c1.ns, '127.0.0.1', 7070), '', 'martian blocked');
        } finally {
          process.kill(-srv.pid!, 'SIGKILL');
          spawnSync('ip', ['-n', t.c1.ns.name, 'route', 'del', '127.0.0.0/8']);
        }
        assert.equal(run(t, 'DEL', t.c1, conf(t.c1, backend)).code, 0);
      });
    }
  });
}

describe('portmap: Debian /usr/lib/cni/portmap ADD torn down by ours (iptables)', { skip: skip || (!haveTools && 'needs tools') || (!haveRef && 'containernetworking-plugins not installed') }, () => {
  let t: Topo;
  before(() => {
    t = makeTopo('pmr');
  });
  after(() => removeTopo(t));

  it('our DEL removes every per-attachment rule the Go plugin added; our CHECK accepts them', () => {
    startServers(t.c1, 'c1');
    const c = conf(t.c1, 'iptables');
    delete (c as { backend?: string }).backend; // Debian 1.1.1 has no backend key
    const add = run(t, 'ADD', t.c1, c, `${REF_BIN}/portmap`);
    assert.equal(add.code, 0, add.stdout);
    assert.equal(tcp(t.out, '10.231.0.1', 8080), 'c1');
    assert.match(t.host.exec('iptables-save', '-t', 'nat'), /CNI-DN-/);
    assert.equal(run(t, 'CHECK', t.c1, c).code, 0, 'ours accepts the reference rules');
    const del = run(t, 'DEL', t.c1, c);
    assert.equal(del.code, 0, del.stdout);
    assert.deepEqual(leftovers(t, t.c1), []);
    assert.equal(tcp(t.out, '10.231.0.1', 8080), '');
    // and the reference can tear down ours
    assert.equal(run(t, 'ADD', t.c1, c).code, 0);
    assert.equal(run(t, 'DEL', t.c1, c, `${REF_BIN}/portmap`).code, 0);
    assert.deepEqual(leftovers(t, t.c1).filter((l) => !l.includes('CNI-HOSTPORT-LOCALNET')), []);
  });
});

