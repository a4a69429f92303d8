// pkg/bytes: the Buffer-free helpers of the hot paths give exactly what Node's
// Buffer methods give (they replace them to skip their first-call compile cost).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compare, concat, copy, equal, fromHex, hex, i32, put16, put16be, put32, text, u16, u16be, u32, utf8, view } from '../../pkg/bytes/index.js';

describe('pkg/bytes against Buffer', () => {
  it('integers: every width and sign round-trips and matches Buffer read/write', () => {
    for (const v of [0, 1, 0x7f, 0x80, 0xff, 0x1234, 0xffff, 0x12345678, 0x7fffffff, 0x80000000, 0xffffffff]) {
      const a = new Uint8Array(6);
      put32(a, 1, v);
      const b = Buffer.alloc(6);
      b.writeUInt32LE(v >>> 0, 1);
      assert.deepEqual(Buffer.from(a), b);
      assert.equal(u32(a, 1), b.readUInt32LE(1));
      assert.equal(i32(a, 1), b.readInt32LE(1));
      const s = new Uint8Array(3);
      put16(s, 1, v & 0xffff);
      assert.equal(u16(s, 1), v & 0xffff);
      put16be(s, 0, v & 0xffff);
      assert.equal(u16be(s, 0), Buffer.from(s).readUInt16BE(0));
    }
    const neg = new Uint8Array(4);
    put32(neg, 0, -2);
    assert.equal(i32(neg, 0), -2);
    assert.equal(u32(neg, 0), 0xfffffffe);
  });

  it('text and utf8 agree with Buffer for ASCII, multi-byte and astral text, and invalid bytes', () => {
    for (const s of ['', 'eth0', '{"name":"net"}', 'café', 'ネット', '🙂x', 'a\u0000b']) {
      assert.deepEqual(Buffer.from(utf8(s)), Buffer.from(s, 'utf8'), s);
      assert.equal(text(utf8(s)), s);
    }
    const bad = Uint8Array.from([0x61, 0xff, 0x62, 0xc3]);
    assert.equal(text(bad), Buffer.from(bad).toString('utf8'));
    assert.equal(text(utf8('xxeth0yy'), 2, 6), 'eth0');
  });

  it('concat, view (clamped like subarray, shares memory), copy, equal, compare, hex', () => {
    const a = Uint8Array.from([1, 2]);
    const b = Uint8Array.from([3]);
    assert.deepEqual(concat([a, new Uint8Array(0), b]), Uint8Array.from([1, 2, 3]));
    const buf = Buffer.from([0, 1, 2, 3, 4]);
    const v = view(buf, 1, 3);
    assert.ok(!Buffer.isBuffer(v));
    assert.deepEqual([...v], [1, 2]);
    v[0] = 9;
    assert.equal(buf[1], 9, 'a view shares memory');
    assert.equal(view(buf, 4, 99).length, 1);
    assert.equal(view(buf, 9).length, 0);
    const c = copy(v);
    c[0] = 7;
    assert.equal(buf[1], 9, 'a copy does not');
    assert.ok(equal(Uint8Array.from([1, 2]), Buffer.from([1, 2])));
    assert.ok(!equal(Uint8Array.from([1, 2]), Uint8Array.from([1, 2, 3])));
    for (const [x, y] of [[[1, 2], [1, 3]], [[2], [1, 9]], [[1], [1, 0]], [[5], [5]]]) {
      assert.equal(compare(Uint8Array.from(x), Uint8Array.from(y)), Buffer.compare(Buffer.from(x), Buffer.from(y)));
    }
    assert.equal(hex(Uint8Array.from([0, 10, 255])), '000aff');
    assert.deepEqual(fromHex('000aff'), Uint8Array.from([0, 10, 255]));
    assert.equal(fromHex('0g'), undefined);
    assert.equal(fromHex('abc'), undefined);
  });
});
