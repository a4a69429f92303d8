// Issue 13: a runtime may kill a plugin at any point (a timeout, a node
// shutting down) and then calls DEL. Here a bridge + host-local + portmap ADD
// chain is SIGKILLed at random points (fixed seed): the whole process group,
// so host-local or iptables may die mid-way too. DEL of the chain (portmap,
// then bridge; then again without CNI_NETNS) must exit 0 and leave nothing:
// no link, address, reservation, masquerade or port-forwarding rule.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BIN, isRoot } from '../helpers/index.js';
import { createWorld, NET, rng, run, snapshot, STACK, withoutPointers, type Snapshot, type World } from '../fixtures/teardown.js';

const SEED = 0x5161;
const TRIALS = 50;

const skip = !isRoot ? 'needs root' : !fs.existsSync(path.join(BIN, 'cni-ts')) && 'bin/ not built';

interface Killable {
  code: number | null;
  stdout: string;
  killed: boolean;
}

/** Runs a plugin in the host netns in a process group of its own; SIGKILLs the group after `ms` unless it finished. Resolves once the group is gone. */
function runKilled(w: World, plugin: string, o: { command: string; containerID: string; ifName: string; stdin: unknown }, ms: number): Promise<Killable> {
  const env = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin', CNI_COMMAND: o.command, CNI_CONTAINERID: o.containerID, CNI_NETNS: w.ctr.path, CNI_IFNAME: o.ifName, CNI_PATH: BIN };
  return new Promise((resolve) => {
    const p = spawn('ip', ['netns', 'exec', w.host.name, path.join(BIN, plugin)], { env, detached: true, stdio: ['pipe', 'pipe', 'ignore'] });
    let stdout = '';
    let killed = false;
    p.stdout.on('data', (d) => (stdout += d));
    const timer = setTimeout(() => {
      killed = true;
      try {
        process.kill(-p.pid!, 'SIGKILL');
      } catch {
        killed = false; // finished meanwhile
      }
    }, ms);
    p.on('close', async (code) => {
      clearTimeout(timer);
      // children outside the leader (host-local, iptables) may outlive it for a moment
      for (let i = 0; i < 400; i++) {
        try {
          process.kill(-p.pid!, 0);
        } catch {
          break;
        }
        await new Promise((r) => setTimeout(r, 5));
      }
      resolve({ code, stdout, killed: killed && code === null });
    });
    p.stdin.end(JSON.stringify(o.stdin));
  });
}

describe('teardown after SIGKILL: bridge + host-local + portmap', { skip }, () => {
  let w: World;
  let baseline: Snapshot;
  const bridgeConf = (w: World) => ({ cniVersion: '1.0.0', name: 'cnits-dl-kill', type: 'bridge', bridge: 'cdlbr1', isGateway: true, ipMasq: true, ipam: { type: 'host-local', dataDir: w.dataDir, ranges: [[{ subnet: `${NET.kill}.0/24` }]] } });
  const portmapConf = (prevResult?: unknown) => ({
    cniVersion: '1.0.0',
    name: 'cnits-dl-kill',
    type: 'portmap',
    capabilities: { portMappings: true },
    runtimeConfig: { portMappings: [{ hostPort: 28310, containerPort: 80, protocol: 'tcp' }, { hostPort: 28311, containerPort: 53, protocol: 'udp' }] },
    ...(prevResult ? { prevResult } : {}),
  });
  // how long each step takes here, measured in the warm-up: kill points are spread over it
  const took = { bridge: 0, portmap: 0 };

  before(() => {
    w = createWorld('dlk');
    for (let i = 0; i < 3; i++) {
      const id = `cnits-dl-kwarm-${i}`;
      let t = performance.now();
      const add = run(w, 'bridge', { command: 'ADD', containerID: id, ifName: 'eth0', stdin: bridgeConf(w) });
      took.bridge = Math.max(took.bridge, performance.now() - t);
      assert.equal(add.code, 0, add.stdout);
      t = performance.now();
      const pm = run(w, 'portmap', { command: 'ADD', containerID: id, ifName: 'eth0', stdin: portmapConf(add.json) });
      took.portmap = Math.max(took.portmap, performance.now() - t);
      assert.equal(pm.code, 0, pm.stdout);
      assert.equal(run(w, 'portmap', { command: 'DEL', containerID: id, ifName: 'eth0', stdin: portmapConf(add.json) }).code, 0);
      assert.equal(run(w, 'bridge', { command: 'DEL', containerID: id, ifName: 'eth0', stdin: bridgeConf(w) }).code, 0);
    }
    baseline = withoutPointers(snapshot(w));
  });
  after(() => w?.close());

  it(`${TRIALS} ADDs killed at random points (seed ${SEED}); DEL exits 0 and leaves nothing`, async () => {
    const r = rng(SEED);
    const tally = { bridgeKilled: 0, portmapKilled: 0, finished: 0 };
    for (let t = 0; t < TRIALS; t++) {
      const id = `cnits-dl-kill-${t}`;
      const victim = r() < 0.6 ? 'bridge' : 'portmap';
      const at = r() * took[victim] * 1.1;
      const label = `trial ${t}: ${victim} killed after ${at.toFixed(1)} ms`;
      let prevResult: unknown;
      const b = await runKilled(w, 'bridge', { command: 'ADD', containerID: id, ifName: 'eth0', stdin: bridgeConf(w) }, victim === 'bridge' ? at : 60_000);
      if (b.killed) tally.bridgeKilled++;
      else {
        assert.equal(b.code, 0, `${label}: bridge ADD ${b.stdout}`);
        prevResult = JSON.parse(b.stdout);
        const p = await runKilled(w, 'portmap', { command: 'ADD', containerID: id, ifName: 'eth0', stdin: portmapConf(prevResult) }, victim === 'portmap' ? at : 60_000);
        if (p.killed) tally.portmapKilled++;
        else {
          assert.equal(p.code, 0, `${label}: portmap ADD ${p.stdout}`);
          tally.finished++;
        }
      }
      // the runtime's DEL: the chain in reverse, without a cached result (the ADD never completed); then once more without CNI_NETNS
      for (const netns of [true, false]) {
        for (const [plugin, stdin] of [['portmap', portmapConf()], ['bridge', bridgeConf(w)]] as const) {
          const d = run(w, plugin, { command: 'DEL', containerID: id, ifName: 'eth0', stdin, netns });
          assert.equal(d.code, 0, `${label}: ${plugin} DEL${netns ? '' : ' without CNI_NETNS'}: ${d.stdout}${d.stderr}`);
          assert.doesNotMatch(d.stdout + d.stderr, STACK, `${label}: ${plugin} DEL printed a stack trace`);
        }
      }
      assert.deepEqual(withoutPointers(snapshot(w)), baseline, `${label}: DEL left something`);
    }
    process.stderr.write(`teardown sigkill: ${JSON.stringify(tally)}\n`);
    // the kill points reach both plugins
    assert.ok(tally.bridgeKilled >= 10 && tally.portmapKilled >= 5, JSON.stringify(tally));
  });
});
