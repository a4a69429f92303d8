// The addon's JS-facing contract as its callers rely on it: the functions it
// exports, and errors thrown as data (errno, code, syscall) for bad arguments
// and failed system calls, never a crash or a silently wrong value.
import assert from 'node:assert/strict';
import { closeSync } from 'node:fs';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/index.js';

process.env.CNI_TS_NATIVE ??= path.join(ROOT, 'build', 'cninative.node');
const { native } = await import('../../pkg/native/index.js');

/** The errno error `f` throws, as { code, syscall }. */
function thrown(f: () => unknown): { code: unknown; syscall: unknown } {
  try {
    f();
  } catch (e) {
    const { code, syscall, errno } = e as { code: unknown; syscall: unknown; errno: unknown };
    assert.equal(typeof errno, 'number', `${String(e)} carries an errno`);
    return { code, syscall };
  }
  assert.fail('did not throw');
}

// what a wrongly typed argument looks like to the addon, whatever TypeScript says
const bad = (v: unknown) => v as never;

describe('native addon', () => {
  it('exports the functions pkg/native declares', () => {
    const names = Object.keys(native()).sort();
    assert.deepEqual(names, [
      'fileId', 'flock', 'fsAccess', 'fsClose', 'fsExists', 'fsFstat', 'fsFtruncate', 'fsLink', 'fsLstat', 'fsMagic', 'fsMkdir', 'fsOpen', 'fsReaddir', 'fsReadlink', 'fsRename', 'fsRmdir',
      'fsStat', 'fsUnlink', 'fsWrite', 'isExecutableFile', 'nlOpen', 'nlRecv', 'nlSend', 'nlSendStart', 'nlSendWait', 'openNetns', 'packetClose', 'packetOpen', 'packetSend', 'readFd',
      'readFile', 'setns', 'spawnStart', 'spawnSync', 'spawnWait', 'tunCreate', 'unixClose', 'unixConnect', 'unixWrite', 'writeFile',
    ]);
  });

  it('refuses a wrongly typed or oversized argument with EINVAL from the call it names', () => {
    assert.deepEqual(thrown(() => native().setns(bad('x'), 0)), { code: 'EINVAL', syscall: 'setns' });
    assert.deepEqual(thrown(() => native().readFile(bad(12))), { code: 'EINVAL', syscall: 'open' });
    assert.deepEqual(thrown(() => native().fileId('/'.repeat(4096))), { code: 'EINVAL', syscall: 'stat' });
    assert.deepEqual(thrown(() => native().writeFile('/nonexistent/cni-ts', '1'.repeat(4096))), { code: 'EINVAL', syscall: 'write' });
    assert.deepEqual(thrown(() => native().nlSend(0, bad('x'))), { code: 'EINVAL', syscall: 'sendto' });
    assert.deepEqual(thrown(() => native().packetOpen(1, bad(5))), { code: 'EINVAL', syscall: 'packetOpen' });
    assert.deepEqual(thrown(() => native().tunCreate('cnits-'.padEnd(16, 'x'), 2, -1, -1)), { code: 'EINVAL', syscall: 'tunCreate' });
    assert.deepEqual(thrown(() => native().unixConnect('/'.repeat(108), () => {})), { code: 'ENAMETOOLONG', syscall: 'connect' });
    assert.equal(native().isExecutableFile(bad(5)), false);
  });

  it('throws the system call errors with their errno names', () => {
    assert.deepEqual(thrown(() => native().readFile('/nonexistent/cni-ts')), { code: 'ENOENT', syscall: 'open' });
    assert.deepEqual(thrown(() => native().flock(-1, 2)), { code: 'EBADF', syscall: 'flock' });
    assert.deepEqual(thrown(() => native().unixConnect('', () => {})), { code: 'ENOENT', syscall: 'connect' });
  });

  it('nlSendStart/nlSendWait: the request is sent from a thread, its reply read as after nlSend; a handle is waited for once; sendto errors come from the wait', () => {
    const fd = native().nlOpen(0);
    try {
      // RTM_GETLINK for ifindex 1 (lo, in every namespace), with an ack
      const msg = Buffer.alloc(32);
      msg.writeUInt32LE(32, 0);
      msg.writeUInt16LE(18, 4); // RTM_GETLINK
      msg.writeUInt16LE(0x1 | 0x4, 6); // NLM_F_REQUEST | NLM_F_ACK
      msg.writeUInt32LE(4242, 8);
      msg.writeInt32LE(1, 20); // ifi_index
      const h = native().nlSendStart(fd, msg);
      assert.equal(native().nlSendWait(h), 32);
      const reply = native().nlRecv(fd);
      assert.equal(reply.readUInt16LE(4), 16, 'RTM_NEWLINK for lo');
      assert.equal(reply.readUInt32LE(8), 4242);
      assert.deepEqual(thrown(() => native().nlSendWait(h)), { code: 'EINVAL', syscall: 'nlSendWait' });
    } finally {
      closeSync(fd);
    }
    assert.deepEqual(thrown(() => native().nlSendWait(native().nlSendStart(-1, Buffer.alloc(16)))), { code: 'EBADF', syscall: 'sendto' });
    assert.deepEqual(thrown(() => native().nlSendStart(0, bad('x'))), { code: 'EINVAL', syscall: 'sendto' });
  });

  it('spawn: copies its arguments, refuses a non-string one, and waits for a handle once', () => {
    const none = Buffer.alloc(0);
    assert.deepEqual(thrown(() => native().spawnSync('cni-ts-no-such-program', ['x'], null, none, 1000)), { code: 'ENOENT', syscall: 'posix_spawn' });
    assert.deepEqual(thrown(() => native().spawnSync('echo', ['echo', bad(1)], null, none, 1000)), { code: 'EINVAL', syscall: 'posix_spawn' });
    assert.deepEqual(thrown(() => native().spawnSync('echo', ['echo'], null, bad('x'), 1000)), { code: 'EINVAL', syscall: 'posix_spawn' });
    const r = native().spawnSync('sh', ['sh', '-c', 'echo "$CNI_TS_A"'], null, none, 1000, ['CNI_TS_A=b']);
    assert.equal(r.stdout.toString(), 'b\n');
    const h = native().spawnStart('cat', ['cat'], [], Buffer.from('in'), 1000);
    assert.equal(native().spawnWait(h).stdout.toString(), 'in');
    assert.deepEqual(thrown(() => native().spawnWait(h)), { code: 'EINVAL', syscall: 'spawnWait' });
    assert.deepEqual(thrown(() => native().spawnWait(bad({}))), { code: 'EINVAL', syscall: 'spawnWait' });
  });
});
