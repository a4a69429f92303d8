// pkg/native/fs.ts against node:fs: the same results, errors and files for the
// subset plugins use in place of node:fs (so a Bun executable never loads it).
import assert from 'node:assert/strict';
import * as nodeFs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import * as fs from '../../pkg/native/fs.js';

let dir: string;
const p = (...parts: string[]) => path.join(dir, ...parts);

/** The error's code and Node-shaped message, from either implementation. */
function failure(fn: () => unknown): { code?: string; message: string; syscall?: string; path?: string } {
  try {
    fn();
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    return { code: err.code, message: err.message, syscall: err.syscall, path: err.path };
  }
  assert.fail('did not throw');
}

describe('pkg/native/fs (node:fs on the addon)', () => {
  beforeEach(() => {
    dir = nodeFs.mkdtempSync(path.join(os.tmpdir(), 'cnits-nfs-'));
  });
  afterEach(() => nodeFs.rmSync(dir, { recursive: true, force: true }));

  it('writeFileSync / readFileSync: content, mode, flags; wx refuses an existing file with EEXIST', () => {
    fs.writeFileSync(p('a'), 'one\r\ntwo', { mode: 0o600 });
    assert.equal(nodeFs.readFileSync(p('a'), 'utf8'), 'one\r\ntwo');
    assert.equal(nodeFs.statSync(p('a')).mode & 0o777, 0o600);
    assert.equal(fs.readFileSync(p('a'), 'utf8'), 'one\r\ntwo');
    assert.ok(fs.readFileSync(p('a')).equals(Buffer.from('one\r\ntwo')));
    fs.writeFileSync(p('a'), 'x'); // truncates
    assert.equal(nodeFs.readFileSync(p('a'), 'utf8'), 'x');
    const big = 'y'.repeat(300_000);
    fs.writeFileSync(p('big'), big);
    assert.equal(fs.readFileSync(p('big'), 'utf8'), big);
    assert.equal(failure(() => fs.writeFileSync(p('a'), 'z', { flag: 'wx' })).code, 'EEXIST');
    assert.equal(nodeFs.readFileSync(p('a'), 'utf8'), 'x');
  });

  it('errors carry code, syscall, path and the message node:fs gives', () => {
    const missing = p('nope', 'file');
    const ours = failure(() => fs.readFileSync(missing));
    const node = failure(() => nodeFs.readFileSync(missing));
    assert.deepEqual(ours, node);
    assert.equal(failure(() => fs.statSync(missing)).message, failure(() => nodeFs.statSync(missing)).message);
    assert.equal(failure(() => fs.rmdirSync(missing)).message, failure(() => nodeFs.rmdirSync(missing)).message);
    assert.equal(failure(() => fs.unlinkSync(missing)).code, 'ENOENT');
  });

  it('statSync / fstatSync / lstatSync: the identity and nanosecond mtime node:fs gives with bigint', () => {
    fs.writeFileSync(p('f'), 'abc');
    nodeFs.symlinkSync('f', p('l'));
    const big = nodeFs.statSync(p('f'), { bigint: true });
    const st = fs.statSync(p('f'));
    assert.deepEqual([st.dev, st.ino, st.mtimeNs], [String(big.dev), String(big.ino), String(big.mtimeNs)]);
    assert.equal(st.size, 3);
    assert.equal(st.nlink, 1);
    assert.ok(fs.isFile(st) && !fs.isDirectory(st));
    assert.ok(fs.isDirectory(fs.statSync(dir)));
    assert.ok(!fs.isFile(fs.lstatSync(p('l'))));
    assert.equal(fs.readlinkSync(p('l')), 'f');
    assert.equal(failure(() => fs.readlinkSync(p('f'))).code, 'EINVAL');
    assert.equal(fs.statSync(p('l')).ino, st.ino);
    const fd = fs.openSync(p('f'), fs.constants.O_RDONLY);
    try {
      assert.equal(fs.fstatSync(fd).mtimeNs, st.mtimeNs);
    } finally {
      fs.closeSync(fd);
    }
  });

  it('openSync / writeSync (at a position) / ftruncateSync / closeSync', () => {
    const fd = fs.openSync(p('h'), fs.constants.O_RDWR | fs.constants.O_CREAT, 0o600);
    try {
      assert.equal(fs.writeSync(fd, 'hello world'), 11);
      fs.ftruncateSync(fd, 0);
      assert.equal(fs.writeSync(fd, 'abc', 0), 3);
      assert.equal(fs.writeSync(fd, Buffer.from('Z'), 1), 1);
    } finally {
      fs.closeSync(fd);
    }
    assert.equal(nodeFs.readFileSync(p('h'), 'utf8'), 'aZc');
    assert.equal(failure(() => fs.closeSync(fd)).code, 'EBADF');
    assert.equal(failure(() => fs.openSync(p('h'), fs.constants.O_WRONLY | fs.constants.O_CREAT | fs.constants.O_EXCL)).code, 'EEXIST');
  });

  it('linkSync (EEXIST on a taken name), renameSync, existsSync, accessSync', () => {
    fs.writeFileSync(p('src'), 'content');
    fs.linkSync(p('src'), p('dst'));
    assert.equal(nodeFs.statSync(p('dst')).nlink, 2);
    assert.equal(failure(() => fs.linkSync(p('src'), p('dst'))).code, 'EEXIST');
    fs.renameSync(p('dst'), p('moved'));
    assert.equal(fs.existsSync(p('dst')), false);
    assert.equal(fs.existsSync(p('moved')), true);
    assert.equal(fs.existsSync(''), false);
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
    assert.equal(failure(() => fs.accessSync(p('none'))).code, 'ENOENT');
  });

  it('mkdirSync (recursive, mode, an existing directory) and readdirEntries', () => {
    fs.mkdirSync(p('a', 'b', 'c'), { recursive: true, mode: 0o700 });
    assert.ok(nodeFs.statSync(p('a', 'b', 'c')).isDirectory());
    assert.equal(nodeFs.statSync(p('a', 'b', 'c')).mode & 0o777, 0o700);
    fs.mkdirSync(p('a', 'b'), { recursive: true }); // exists: fine
    assert.equal(failure(() => fs.mkdirSync(p('a'))).code, 'EEXIST');
    fs.writeFileSync(p('a', 'file'), '');
    assert.equal(failure(() => fs.mkdirSync(p('a', 'file'), { recursive: true })).code, 'EEXIST');
    nodeFs.symlinkSync('file', p('a', 'link'));
    const ents = fs.readdirEntries(p('a')).map((e) => `${e.name}:${e.isFile() ? 'f' : e.isDirectory() ? 'd' : e.isSymbolicLink() ? 'l' : 'o'}`);
    assert.deepEqual(ents.sort(), ['b:d', 'file:f', 'link:l']);
    assert.deepEqual(fs.readdirSync(p('a')).sort(), nodeFs.readdirSync(p('a')).sort());
  });

  it('rmSync: force ignores a missing path, recursive removes a tree without following links, a directory needs recursive', () => {
    fs.rmSync(p('missing'), { force: true });
    assert.equal(failure(() => fs.rmSync(p('missing'))).code, 'ENOENT');
    nodeFs.mkdirSync(p('keep'));
    nodeFs.writeFileSync(p('keep', 'x'), '1');
    nodeFs.mkdirSync(p('t', 'u'), { recursive: true });
    nodeFs.writeFileSync(p('t', 'u', 'f'), '1');
    nodeFs.symlinkSync(p('keep'), p('t', 'ln'));
    assert.ok(failure(() => fs.rmSync(p('t'))).code);
    assert.ok(nodeFs.existsSync(p('t')));
    fs.rmSync(p('t'), { recursive: true, force: true });
    assert.equal(nodeFs.existsSync(p('t')), false);
    assert.equal(nodeFs.readFileSync(p('keep', 'x'), 'utf8'), '1');
    nodeFs.writeFileSync(p('file'), '');
    fs.rmSync(p('file'));
    assert.equal(nodeFs.existsSync(p('file')), false);
  });
});
