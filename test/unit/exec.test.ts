// pkg/exec over the addon's posix_spawnp: exit codes, stdin, env, timeouts,
// large outputs, and a program that does not read its stdin.
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/index.js';

process.env.CNI_TS_NATIVE ??= path.join(ROOT, 'build', 'cninative.node');
const { ExecError, run, runSync } = await import('../../pkg/exec/index.js');

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
});
