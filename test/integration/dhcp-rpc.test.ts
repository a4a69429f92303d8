// The dhcp plugin <-> daemon protocol (pkg/dhcp/rpc.ts) against Debian's Go binary
// /usr/lib/cni/dhcp 1.1.1 in both directions: the Go plugin calling our serveDHCP, and
// our callDHCP/RPCClient calling the Go daemon (failing fast on a missing link, and with
// a real lease when dnsmasq is installed). No DHCP server is needed except for that last one.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { callDHCP, cmdArgsGobType, cmdArgsToGob, resultFromGob, RPCClient, RPCError, serveDHCP } from '../../pkg/dhcp/rpc.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import type { Result } from '../../pkg/types/result.js';
import { BIN, createNetns, execPlugin, isRoot, REF_BIN, REF_VERSIONS, type TestNetns } from '../helpers/index.js';

const GO_DHCP = join(REF_BIN, 'dhcp');
const haveGo = existsSync(GO_DHCP);

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
  json: any;
}

/** Runs the Go plugin without blocking our event loop (our server answers it from this process). */
function runGo(env: Record<string, string>, stdin: string, cwd = '/'): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(GO_DHCP, [], { env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env }, cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b) => (stdout += b));
    child.stderr.on('data', (b) => (stderr += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      let json: any;
      try {
        json = JSON.parse(stdout);
      } catch {
        json = undefined;
      }
      resolve({ code, stdout, stderr, json });
    });
    child.stdin.end(stdin);
  });
}

async function waitFor(what: string, ok: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 2000).unref();
  });
}

describe('dhcp rpc: the Go plugin against our serveDHCP', { skip: !haveGo && `${GO_DHCP} missing` }, () => {
  let dir: string;
  let sock: string;
  let server: Server;
  const calls: { method: string; args: CmdArgs }[] = [];
  let fail: string | undefined;

  const result: Result = {
    cniVersion: '1.1.0',
    interfaces: [{ name: 'eth0', mac: '0a:58:0a:e7:01:05', sandbox: '/var/run/netns/cnits-gob-x' }],
    ips: [{ interface: 0, address: '10.231.1.5/24', gateway: '10.231.1.1' }, { address: 'fd00:231::5/64' }],
    routes: [{ dst: '0.0.0.0/0', gw: '10.231.1.1' }, { dst: '10.231.7.0/24' }],
    dns: { nameservers: ['10.231.1.53'], domain: 'example.test', search: ['example.test'], options: ['ndots:2'] },
  };
  const dns = { nameservers: ['10.231.1.53'], domain: 'example.test', search: ['example.test'], options: ['ndots:2'] };
  const routes = [{ dst: '0.0.0.0/0', gw: '10.231.1.1' }, { dst: '10.231.7.0/24' }];
  /** What Debian's plugin prints for `result` in each version (its own converters). */
  const expected = (v: string): object => {
    if (v === '0.1.0' || v === '0.2.0') {
      return { cniVersion: v, ip4: { ip: '10.231.1.5/24', gateway: '10.231.1.1', routes }, ip6: { ip: 'fd00:231::5/64' }, dns };
    }
    const mid = v !== '1.0.0';
    return {
      cniVersion: v,
      interfaces: result.interfaces,
      ips: [
        { ...(mid ? { version: '4' } : {}), interface: 0, address: '10.231.1.5/24', gateway: '10.231.1.1' },
        { ...(mid ? { version: '6' } : {}), address: 'fd00:231::5/64' },
      ],
      routes,
      dns,
    };
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cnits-gob-'));
    sock = join(dir, 'dhcp.sock');
    server = createServer();
    serveDHCP(server, {
      async allocate(args) {
        calls.push({ method: 'allocate', args });
        if (fail) throw new Error(fail);
        return result;
      },
      async release(args) {
        calls.push({ method: 'release', args });
        if (fail) throw new Error(fail);
      },
    });
    await new Promise<void>((r) => server.listen(sock, r));
  });
  after(async () => {
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  });

  const conf = (v: string) => `${JSON.stringify({ cniVersion: v, name: 'gobnet', type: 'macvlan', ipam: { type: 'dhcp', daemonSocketPath: sock } })}\n`;
  const env = (command: string, extra: Record<string, string> = {}) => ({
    CNI_COMMAND: command,
    CNI_CONTAINERID: 'cnits-gob-c1',
    CNI_NETNS: '/var/run/netns/cnits-gob-x',
    CNI_IFNAME: 'eth1',
    CNI_ARGS: 'IgnoreUnknown=1;K8S_POD_NAME=pod-a',
    CNI_PATH: '/opt/cni/bin:/usr/lib/cni',
    ...extra,
  });

  for (const v of REF_VERSIONS) {
    it(`[${v}] ADD: ipam.daemonSocketPath is honoured, every CmdArgs field arrives, the result prints as Go converts it`, async () => {
      calls.length = 0;
      fail = undefined;
      const r = await runGo(env('ADD'), conf(v));
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.deepEqual(r.json, expected(v));
      assert.deepEqual(calls, [
        {
          method: 'allocate',
          args: {
            containerID: 'cnits-gob-c1',
            netns: '/var/run/netns/cnits-gob-x',
            ifName: 'eth1',
            args: 'IgnoreUnknown=1;K8S_POD_NAME=pod-a',
            path: '/opt/cni/bin:/usr/lib/cni',
            netnsOverride: false,
            stdinData: Buffer.from(conf(v)),
          },
        },
      ]);
    });
  }

  it('ADD: the Go plugin sends a relative CNI_NETNS made absolute against its working directory', async () => {
    calls.length = 0;
    fail = undefined;
    const r = await runGo(env('ADD', { CNI_NETNS: 'netns/../ns/x' }), conf('1.0.0'), dir);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.equal(calls[0].args.netns, join(dir, 'ns/x'));
  });

  it("ADD: a handler's error is the Go plugin's error message", async () => {
    calls.length = 0;
    fail = 'no lease: DHCP server did not answer';
    const r = await runGo(env('ADD'), conf('1.0.0'));
    assert.equal(r.code, 1);
    assert.deepEqual(r.json, { code: 999, msg: 'error calling DHCP.Allocate: no lease: DHCP server did not answer' });
    assert.equal(calls.length, 1);
  });

  it('DEL calls release (and reports its error); CHECK calls allocate', async () => {
    calls.length = 0;
    fail = undefined;
    const del = await runGo(env('DEL'), conf('1.0.0'));
    assert.equal(del.code, 0, del.stdout + del.stderr);
    assert.equal(del.stdout, '');
    const check = await runGo(env('CHECK'), conf('0.4.0'));
    assert.equal(check.code, 0, check.stdout + check.stderr);
    assert.deepEqual(
      calls.map((c) => [c.method, c.args.containerID]),
      [
        ['release', 'cnits-gob-c1'],
        ['allocate', 'cnits-gob-c1'],
      ],
    );
    fail = 'release failed';
    const bad = await runGo(env('DEL'), conf('1.0.0'));
    assert.equal(bad.code, 1);
    assert.deepEqual(bad.json, { code: 999, msg: 'error calling DHCP.Release: release failed' });
  });

  it('many Go plugins at once', async () => {
    calls.length = 0;
    fail = undefined;
    const runs = await Promise.all(Array.from({ length: 16 }, (_, i) => runGo(env('ADD', { CNI_CONTAINERID: `cnits-gob-p${i}` }), conf('1.0.0'))));
    for (const r of runs) assert.deepEqual(r.json, expected('1.0.0'));
    assert.equal(new Set(calls.map((c) => c.args.containerID)).size, 16);
  });
});

describe('dhcp rpc: our client against the Go daemon', { skip: (!haveGo && `${GO_DHCP} missing`) || (!isRoot && 'needs root') }, () => {
  let dir: string;
  let sock: string;
  let daemon: ChildProcess;
  let daemonLog = '';
  let ns: TestNetns;

  const args = (over: Partial<CmdArgs> = {}): CmdArgs => ({
    containerID: 'cnits-gob-d1',
    netns: ns.path,
    ifName: 'eth0',
    args: '',
    path: REF_BIN,
    netnsOverride: false,
    stdinData: Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'gobnet', type: 'macvlan', ipam: { type: 'dhcp', daemonSocketPath: sock } })),
    ...over,
  });

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cnits-gob-'));
    sock = join(dir, 'run', 'dhcp.sock');
    ns = createNetns('gob');
    daemon = spawn(GO_DHCP, ['daemon', '-socketpath', sock, '-timeout', '1s', '-resendmax', '2s'], { stdio: ['ignore', 'pipe', 'pipe'] });
    daemon.stdout!.on('data', (b) => (daemonLog += b));
    daemon.stderr!.on('data', (b) => (daemonLog += b));
    await waitFor('the Go daemon socket', () => existsSync(sock));
  });
  after(async () => {
    await stop(daemon);
    ns?.remove();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Release of an unknown container succeeds', async () => {
    assert.equal(await callDHCP(sock, 'DHCP.Release', args({ containerID: 'cnits-gob-unknown' })), undefined);
  });

  it("Allocate on a missing link is an RPCError with the daemon's message", async () => {
    await assert.rejects(callDHCP(sock, 'DHCP.Allocate', args(), 10_000), (e: unknown) => {
      assert.ok(e instanceof RPCError, String(e));
      assert.equal(e.message, 'error looking up "eth0": Link not found');
      return true;
    });
  });

  it("several calls on one connection, Go's error strings, NetnsOverride tolerated by 1.1.1", async () => {
    const c = await RPCClient.dial(sock, { timeoutMs: 10_000 });
    try {
      const a = args({ containerID: 'cnits-gob-d2', ifName: 'nosuch0' });
      const o = { ...a, netnsOverride: true };
      assert.deepEqual(await c.call('DHCP.Release', cmdArgsGobType(a), cmdArgsToGob(a)), {});
      await assert.rejects(c.call('DHCP.Renew', cmdArgsGobType(a), cmdArgsToGob(a)), { name: 'RPCError', message: "rpc: can't find method DHCP.Renew" });
      await assert.rejects(c.call('Lease.Get', cmdArgsGobType(a), cmdArgsToGob(a)), { message: "rpc: can't find service Lease.Get" });
      await assert.rejects(c.call('DHCP.Allocate', cmdArgsGobType(a), cmdArgsToGob(a)), { message: 'error looking up "nosuch0": Link not found' });
      await assert.rejects(c.call('DHCP.Allocate', cmdArgsGobType(o), cmdArgsToGob(o)), { message: 'error looking up "nosuch0": Link not found' });
      // two in flight at once
      const both = await Promise.all([c.call('DHCP.Release', cmdArgsGobType(a), cmdArgsToGob(a)), c.call('DHCP.Release', cmdArgsGobType(o), cmdArgsToGob(o))]);
      assert.deepEqual(both, [{}, {}]);
    } finally {
      c.close();
    }
  });

  it('bin/dhcp reaches the daemon without node:net (the addon\'s socket): DEL and STATUS, NODE_DEBUG=net silent', { skip: !existsSync(join(BIN, 'dhcp')) && 'bin/dhcp not built' }, () => {
    for (const [command, v] of [['DEL', '1.0.0'], ['STATUS', '1.1.0']]) {
      const stdin = { cniVersion: v, name: 'gobnet', type: 'macvlan', ipam: { type: 'dhcp', daemonSocketPath: sock } };
      const r = execPlugin('dhcp', { command, containerID: 'cnits-gob-nonet', netns: ns.path, ifName: 'eth0', stdin, env: { NODE_DEBUG: 'net', NODE_EXTRA_CA_CERTS: undefined } });
      assert.equal(r.code, 0, `${command}: ${r.stdout}${r.stderr}`);
      assert.doesNotMatch(r.stderr, /^NET \d+:/m, command);
    }
  });

  const haveDnsmasq = spawnSync('sh', ['-c', 'command -v dnsmasq']).status === 0;
  it('Allocate and Release of a real lease (dnsmasq in a second namespace)', { skip: !haveDnsmasq && 'dnsmasq not installed' }, async () => {
    const srv = createNetns('gobsrv');
    let dnsmasq: ChildProcess | undefined;
    try {
      spawnSync('ip', ['link', 'add', 'cnits-gv0', 'netns', ns.name, 'type', 'veth', 'peer', 'name', 'cnits-gv1', 'netns', srv.name]);
      srv.ip('addr', 'add', '10.231.2.1/24', 'dev', 'cnits-gv1');
      srv.ip('link', 'set', 'cnits-gv1', 'up');
      ns.ip('link', 'set', 'cnits-gv0', 'up');
      const leases = join(dir, 'leases');
      writeFileSync(leases, '');
      dnsmasq = spawn('ip', ['netns', 'exec', srv.name, 'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--user=root', '--port=0', '--interface=cnits-gv1', '--bind-interfaces',
        '--dhcp-range=10.231.2.50,10.231.2.99,255.255.255.0,1h', '--dhcp-option=3,10.231.2.1', `--dhcp-leasefile=${leases}`, '--log-dhcp'], { stdio: 'ignore' });
      await waitFor('dnsmasq', () => srv.exec('ss', '-lun').includes(':67 '));
      const a = args({ containerID: 'cnits-gob-lease', ifName: 'cnits-gv0' });
      const r = await callDHCP(sock, 'DHCP.Allocate', a, 30_000);
      assert.ok(r, daemonLog);
      const addr = r.ips?.[0]?.address ?? '';
      assert.match(addr, /^10\.231\.2\.(5\d|[6-9]\d)\/24$/);
      assert.deepEqual(r, { cniVersion: '1.1.0', ips: [{ address: addr, gateway: '10.231.2.1' }], routes: [{ dst: '0.0.0.0/0', gw: '10.231.2.1' }] });
      assert.match(readFileSync(leases, 'utf8'), new RegExp(addr.split('/')[0].replace(/\./g, '\\.')));
      // the same lease again, on a kept connection, decodes the same
      const c = await RPCClient.dial(sock, { timeoutMs: 10_000 });
      try {
        assert.deepEqual(resultFromGob(await c.call('DHCP.Allocate', cmdArgsGobType(a), cmdArgsToGob(a))), r);
        assert.deepEqual(await c.call('DHCP.Release', cmdArgsGobType(a), cmdArgsToGob(a)), {});
      } finally {
        c.close();
      }
    } finally {
      await stop(dnsmasq);
      srv.remove();
      spawnSync('ip', ['-n', ns.name, 'link', 'del', 'cnits-gv0']);
    }
  });
});

describe('dhcp rpc: dial errors', () => {
  it('no socket, or not a socket: rejected with the errno code', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cnits-gob-'));
    try {
      const a: CmdArgs = { containerID: 'c', netns: '/x', ifName: 'eth0', args: '', path: '', netnsOverride: false, stdinData: Buffer.from('{}') };
      await assert.rejects(callDHCP(join(dir, 'dhcp.sock'), 'DHCP.Allocate', a), { code: 'ENOENT' });
      writeFileSync(join(dir, 'file'), '');
      await assert.rejects(callDHCP(join(dir, 'file'), 'DHCP.Release', a), { code: 'ECONNREFUSED' });
      await assert.rejects(callDHCP(join(dir, 'nodir', 'dhcp.sock'), 'DHCP.Release', a), { code: 'ENOENT' });
      await assert.rejects(callDHCP(join(dir, 'file', 'dhcp.sock'), 'DHCP.Release', a), { code: 'ENOTDIR' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
