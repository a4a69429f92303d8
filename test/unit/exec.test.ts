// pkg/exec over the addon's posix_spawnp: exit codes, stdin, env, timeouts,
// large outputs, and a program that does not read its stdin.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/index.js';

process.env.CNI_TS_NATIVE ??= path.join(ROOT, 'build', 'cninative.node');
const { ExecError, once, run, runSync, start } = await import('../../pkg/exec/index.js');

describe('pkg/exec', () => {
  it('returns stdout, stderr and the exit code', () => {
    const r = runSync('sh', ['-c', 'echo out; echo err >&2; exit 3'], { allowFailure: true });
    assert.deepEqual(r, { code: 3, stdout: 'out\n', stderr: 'err\n' });
  });

  it('throws ExecError naming the program on a non-zero exit', () => {
    assert.throws(() => runSync('sh', ['-c', 'echo boom >&2; exit 2']), (e: unknown) => e instanceof ExecError && /sh failed \(exit 2\): boom/.test(e.message));
  });

  it('feeds stdin and returns outputs larger than a pipe buffer', () => {
    const input = 'x'.repeat(1 << 20);
    assert.equal(runSync('cat', [], { input }).stdout.length, 1 << 20);
  });

  it('survives a program that exits without reading its stdin', () => {
    assert.equal(runSync('true', [], { input: Buffer.alloc(4 << 20) }).code, 0);
  });

  it('passes exactly the given environment', () => {
    assert.equal(runSync('sh', ['-c', 'echo "$A-$HOME"'], { env: { A: 'b', PATH: process.env.PATH } }).stdout, 'b-\n');
  });

  it('kills a program that outlives its timeout', () => {
    const r = runSync('sleep', ['5'], { timeoutMs: 200, allowFailure: true });
    assert.equal(r.code, 124);
  });

  it('reports a program that does not exist', async () => {
    await assert.rejects(run('/nonexistent/prog', []), (e: unknown) => e instanceof ExecError && e.result.code === -1);
  });

  it('resets signal dispositions Node ignores (SIGPIPE) in the child', () => {
    const ign = runSync('sh', ['-c', 'grep SigIgn /proc/self/status']).stdout;
    const mask = BigInt('0x' + ign.split(/\s+/)[1]);
    assert.equal(mask & (1n << 12n), 0n, 'SIGPIPE (13) is not ignored');
  });

  it('start returns while the program runs: the program waits for a file this thread creates after start', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-exec-'));
    try {
      const flag = path.join(dir, 'go');
      // were start synchronous, the program would time out waiting for the flag
      const p = start('sh', ['-c', `while [ ! -e ${flag} ]; do sleep 0.01; done; cat`], { input: 'fed', timeoutMs: 10_000, allowFailure: true });
      fs.writeFileSync(flag, '');
      assert.deepEqual(p.wait(), { code: 0, stdout: 'fed', stderr: '' });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('start: two programs run at once, each wait answers for its own', () => {
    const a = start('sh', ['-c', 'echo a; exit 4'], { allowFailure: true });
    const b = start('sh', ['-c', 'echo b']);
    assert.equal(b.wait().stdout, 'b\n');
    assert.deepEqual(a.wait(), { code: 4, stdout: 'a\n', stderr: '' });
    assert.deepEqual(a.wait(), { code: 4, stdout: 'a\n', stderr: '' }, 'a second wait returns the same outcome');
  });

  it('start: failures surface at wait, as runSync throws them', () => {
    const missing = start('/nonexistent/prog', []);
    assert.throws(() => missing.wait(), (e: unknown) => e instanceof ExecError && e.result.code === -1);
    const failing = start('sh', ['-c', 'echo nope >&2; exit 3']);
    assert.throws(() => failing.wait(), (e: unknown) => e instanceof ExecError && /exit 3\): nope/.test(e.message));
    assert.throws(() => failing.wait(), ExecError, 'the same error again');
  });

  it('envOverrides: our environment with those variables replaced or added', () => {
    process.env.CNITS_EXEC_KEEP = 'kept';
    process.env.CNITS_EXEC_SWAP = 'old';
    try {
      const out = runSync('sh', ['-c', 'echo "$CNITS_EXEC_KEEP $CNITS_EXEC_SWAP $CNITS_EXEC_NEW"; env | grep -c ^CNITS_EXEC_SWAP='], {
        envOverrides: { CNITS_EXEC_SWAP: 'new', CNITS_EXEC_NEW: 'added' },
      }).stdout;
      assert.equal(out, 'kept new added\n1\n');
      assert.equal(start('sh', ['-c', 'echo $CNITS_EXEC_SWAP'], { envOverrides: { CNITS_EXEC_SWAP: 'x' } }).wait().stdout, 'x\n');
    } finally {
      delete process.env.CNITS_EXEC_KEEP;
      delete process.env.CNITS_EXEC_SWAP;
    }
  });

  it('once: runs its function once, replaying the value or the error', () => {
    let calls = 0;
    const v = once(() => ++calls);
    assert.equal(v(), 1);
    assert.equal(v(), 1);
    const e = once(() => {
      calls++;
      throw new Error('boom');
    });
    assert.throws(e, /boom/);
    assert.throws(e, /boom/);
    assert.equal(calls, 2);
  });
});
