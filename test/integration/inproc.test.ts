// A delegate that is this same executable runs in the caller's process
// (pkg/exec/inproc.ts): bin/bridge with our bin/host-local, side by side with
// the same bridge exec'ing a copy of the executable (another inode, so a child
// process) and Debian's Go host-local. Which happened is read from strace's
// execve log; everything a runtime sees (exit code, result, error JSON,
// stderr) and everything left on disk must be the same.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, createNetns, isRoot, REF_BIN, type ExecResult, type TestNetns } from '../helpers/index.js';
import { addrs, haveRefHostLocal, hostLocalReservations } from '../helpers/bridge-env.js';

const haveStrace = spawnSync('strace', ['-V']).status === 0;
const skip = (!isRoot && 'needs root') || (!fs.existsSync(path.join(BIN, 'host-local')) && 'bin/ not built') || (!haveStrace && 'strace missing');

interface Traced extends ExecResult {
  /** Programs the run exec'ed (strace -f), after the plugin itself. */
  execs: string[];
}

describe('in-process delegation', { skip }, () => {
  let host: TestNetns;
  let ctr: TestNetns;
  let tmp: string;
  let copyDir: string;
  let n = 0;
  before(() => {
    host = createNetns('iph');
    ctr = createNetns('ipc');
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-ip-'));
    // a copy is another inode: the bridge must exec it as a child
    copyDir = path.join(tmp, 'copy');
    fs.mkdirSync(copyDir);
    fs.copyFileSync(path.join(BIN, 'cni-ts'), path.join(copyDir, 'host-local'));
    fs.chmodSync(path.join(copyDir, 'host-local'), 0o755);
  });
  after(() => {
    ctr?.remove();
    host?.remove();
    fs.rmSync(tmp, { recursive: true, force: true });
  });

  const MODES = { inproc: BIN, exec: '' as string, go: REF_BIN };
  const ipamDir = (mode: keyof typeof MODES) => (mode === 'exec' ? copyDir : MODES[mode]);

  /** bin/bridge with `command`, inside the test's host netns, under strace. */
  function bridge(command: string, conf: object, mode: keyof typeof MODES, o: { cid?: string; ifName?: string; env?: Record<string, string>; netns?: string | null } = {}): Traced {
    const log = path.join(tmp, `strace-${n}-${Math.random().toString(16).slice(2)}`);
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin',
      CNI_COMMAND: command,
      CNI_CONTAINERID: o.cid ?? 'cnits-ip1',
      CNI_IFNAME: o.ifName ?? 'eth0',
      CNI_PATH: ipamDir(mode),
      ...o.env,
    };
    if (o.netns !== null) env.CNI_NETNS = o.netns ?? ctr.path;
    const r = spawnSync('ip', ['netns', 'exec', host.name, 'strace', '-f', '-qq', '-e', 'trace=execve', '-e', 'signal=none', '-o', log, path.join(BIN, 'bridge')], { input: JSON.stringify(conf), env, encoding: 'utf8', timeout: 60_000 });
    const execs = fs
      .readFileSync(log, 'utf8')
      .split('\n')
      .map((l) => /execve\("([^"]+)"/.exec(l)?.[1])
      .filter((f): f is string => !!f && f !== path.join(BIN, 'bridge'));
    let json: unknown;
    try {
      json = JSON.parse(r.stdout);
    } catch {
      json = undefined;
    }
    return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json, execs };
  }

  /** What differs between two ADDs by design: MACs, host veth names. */
  const normalise = (s: string) => s.replace(/"mac": "[0-9a-f:]+"/g, '"mac": "M"').replace(/veth[0-9a-f]{8}/g, 'vethX');

  const assertDelegation = (r: Traced, mode: keyof typeof MODES) => {
    const hl = r.execs.filter((f) => path.basename(f) === 'host-local');
    if (mode === 'inproc') assert.deepEqual(hl, [], `our own host-local must not be exec'ed: ${r.execs.join(' ')}`);
    else assert.deepEqual(hl, [path.join(ipamDir(mode), 'host-local')], `host-local must be exec'ed once: ${r.execs.join(' ')}`);
  };

  const confFor = (mode: keyof typeof MODES, ipam: object, cniVersion = '1.0.0') => {
    const dataDir = path.join(tmp, `data-${mode}-${n}`);
    return { conf: { cniVersion, name: `ipnet${n}`, type: 'bridge', bridge: `cipbr${n}`, isGateway: true, ipam: { type: 'host-local', dataDir, ...ipam } }, dataDir };
  };

  it('ADD, CHECK, DEL, DEL again: the same results, errors and state in-process as exec\'ed (and the same as with Go\'s host-local)', () => {
    n++;
    const seen: Record<string, string[]> = {};
    for (const mode of ['inproc', 'exec', ...(haveRefHostLocal ? ['go'] : [])] as Array<keyof typeof MODES>) {
      const { conf, dataDir } = confFor(mode, { ranges: [[{ subnet: `10.211.${n}.0/24` }], [{ subnet: `fd00:211::${n}:0/112` }]], routes: [{ dst: '10.212.0.0/16' }] });
      const add = bridge('ADD', conf, mode);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assertDelegation(add, mode);
      assert.deepEqual(addrs(ctr, 'eth0', 4), [`10.211.${n}.2/24`]);
      assert.deepEqual(hostLocalReservations(dataDir, conf.name).sort(), [`10.211.${n}.2`, `fd00:211::${n}:2`].sort());
      const check = bridge('CHECK', { ...conf, prevResult: add.json }, mode);
      assertDelegation(check, mode);
      const del = bridge('DEL', conf, mode);
      assertDelegation(del, mode);
      assert.deepEqual(hostLocalReservations(dataDir, conf.name), []);
      const again = bridge('DEL', conf, mode, { netns: null });
      assertDelegation(again, mode);
      seen[mode] = [add, check, del, again].map((r) => `${r.code}\n${normalise(r.stdout)}\n${r.stderr}`);
      spawnSync('ip', ['-n', host.name, 'link', 'del', conf.bridge]);
    }
    assert.deepEqual(seen.inproc, seen.exec);
    if (seen.go) assert.deepEqual(seen.inproc.map((s) => s.split('\n')[0]), seen.go.map((s) => s.split('\n')[0]), 'exit codes as with Go host-local');
  });

  for (const [what, ipam, twice] of [
    ['a bad IPAM config (code 7 naming the field)', { subnet: '10.211.300.0/24' }, false],
    ['an exhausted range', { ranges: [[{ subnet: '10.211.77.0/24', rangeStart: '10.211.77.9', rangeEnd: '10.211.77.9' }]] }, true],
    ['an IPAM config without ranges', {}, false],
  ] as const) {
    it(`${what}: the delegate's error JSON, exit code and stderr come out in-process as exec'ed, and nothing is left`, () => {
      n++;
      const out: Record<string, string> = {};
      for (const mode of ['inproc', 'exec'] as const) {
        const { conf, dataDir } = confFor(mode, ipam);
        if (twice) assert.equal(bridge('ADD', conf, mode, { cid: 'cnits-ip-first', ifName: 'eth1' }).code, 0);
        const r = bridge('ADD', conf, mode);
        assertDelegation(r, mode);
        assert.equal(r.code, 1, r.stdout);
        assert.equal(typeof r.json?.code, 'number');
        out[mode] = `${r.code}\n${r.stdout}\n${r.stderr}`;
        assert.deepEqual(ctr.ip('-o', 'link', 'show').split('\n').filter((l) => /\beth0@/.test(l)), [], 'no container link left');
        if (twice) {
          assert.deepEqual(hostLocalReservations(dataDir, conf.name), ['10.211.77.9'], 'only the first container\'s reservation');
          assert.equal(bridge('DEL', conf, mode, { cid: 'cnits-ip-first', ifName: 'eth1' }).code, 0);
        }
        spawnSync('ip', ['-n', host.name, 'link', 'del', conf.bridge]);
      }
      assert.equal(out.inproc, out.exec);
    });
  }

  it("the host-local lock is released before the bridge goes on: a rollback runs the in-process DEL in the same process (a held flock would block it)", () => {
    n++;
    const { conf, dataDir } = confFor('inproc', { subnet: `10.211.${n}.0/24` });
    const r = bridge('ADD', conf, 'inproc', { env: { CNI_TS_FAIL_AFTER: 'ipam' } });
    assert.equal(r.code, 1, r.stdout);
    assert.match(r.json.msg, /injected failure after ipam/);
    assertDelegation(r, 'inproc');
    assert.deepEqual(hostLocalReservations(dataDir, conf.name), [], 'the rollback released the address');
    // and no lock survives the process: a Go host-local ADD on the same directory gets through
    if (haveRefHostLocal) {
      const go = bridge('ADD', conf, 'go');
      assert.equal(go.code, 0, go.stdout);
      assert.equal(bridge('DEL', conf, 'go').code, 0);
    }
    spawnSync('ip', ['-n', host.name, 'link', 'del', conf.bridge]);
  });

  it('GC and STATUS (1.1.0) reach the in-process host-local: GC releases what is not valid, STATUS reports the exhausted range (code 50) as the exec\'ed one', () => {
    n++;
    const out: Record<string, string> = {};
    for (const mode of ['inproc', 'exec'] as const) {
      const { conf, dataDir } = confFor(mode, { ranges: [[{ subnet: `10.211.${n}.0/24`, rangeStart: `10.211.${n}.5`, rangeEnd: `10.211.${n}.5` }]] }, '1.1.0');
      const add = bridge('ADD', conf, mode);
      assert.equal(add.code, 0, add.stdout);
      const status = bridge('STATUS', conf, mode, { netns: null });
      assertDelegation(status, mode);
      assert.equal(status.json?.code, 50, status.stdout);
      const gc = bridge('GC', { ...conf, 'cni.dev/valid-attachments': [] }, mode, { netns: null });
      assertDelegation(gc, mode);
      assert.equal(gc.code, 0, gc.stdout);
      assert.deepEqual(hostLocalReservations(dataDir, conf.name), []);
      out[mode] = [status, gc].map((r) => `${r.code}\n${r.stdout}\n${r.stderr}`).join('\n');
      bridge('DEL', conf, mode);
      spawnSync('ip', ['-n', host.name, 'link', 'del', conf.bridge]);
    }
    assert.equal(out.inproc, out.exec);
  });
});
