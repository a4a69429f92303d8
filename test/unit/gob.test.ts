// pkg/gob and pkg/dhcp/rpc: gob primitives and messages byte for byte (Go's documented
// examples and captures of Debian's Go dhcp plugin and daemon, test/fixtures/gob), every
// wire kind round-tripped, malformed input refused, and net/rpc over a unix socket in process.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { callDHCP, cmdArgsFromGob, cmdArgsGobType, cmdArgsToGob, resultFromGob, resultToGob, RPCClient, RPCError, serveDHCP } from '../../pkg/dhcp/rpc.js';
import { Decoder, GobFramingError, type Decoded } from '../../pkg/gob/decoder.js';
import { Encoder } from '../../pkg/gob/encoder.js';
import { emptyStructType, requestType, responseType } from '../../pkg/gob/netrpc.js';
import { gobBool, gobBytes, gobComplex, gobFloat, gobInt, gobInterface, gobString, gobUint, type GobType, type StructType } from '../../pkg/gob/types.js';
import { GobError, Reader, Writer } from '../../pkg/gob/wire.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import type { Result } from '../../pkg/types/result.js';
import { ROOT } from '../helpers/index.js';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');
const fixture = (name: string) => hex(readFileSync(join(ROOT, 'test', 'fixtures', 'gob', `${name}.hex`), 'utf8'));

function decodeAll(bytes: Buffer): Decoded[] {
  const d = new Decoder();
  d.push(bytes);
  const out: Decoded[] = [];
  for (let v = d.next(); v; v = d.next()) out.push(v);
  assert.equal(d.buffered, 0);
  return out;
}

function roundTrip(type: GobType, value: unknown): unknown {
  const [d] = decodeAll(new Encoder().encode(type, value));
  return d.value;
}

const point: StructType = {
  kind: 'struct',
  name: 'Point',
  fields: [
    { name: 'X', type: gobInt },
    { name: 'Y', type: gobInt },
  ],
};

describe('gob primitives', () => {
  const uintBytes = (x: number | bigint) => {
    const w = new Writer();
    w.uint(x);
    return w.finish().toString('hex');
  };
  const intBytes = (x: number | bigint) => {
    const w = new Writer();
    w.int(x);
    return w.finish().toString('hex');
  };

  it('unsigned integers as the gob documentation shows them', () => {
    assert.equal(uintBytes(0), '00');
    assert.equal(uintBytes(7), '07');
    assert.equal(uintBytes(127), '7f');
    assert.equal(uintBytes(128), 'ff80');
    assert.equal(uintBytes(256), 'fe0100');
    assert.equal(uintBytes(2n ** 64n - 1n), 'f8ffffffffffffffff');
    assert.throws(() => uintBytes(2n ** 64n), GobError);
    assert.throws(() => uintBytes(-1), GobError);
  });

  it('signed integers: bit 0 complements (-129 is fe 01 01)', () => {
    assert.equal(intBytes(0), '00');
    assert.equal(intBytes(-1), '01');
    assert.equal(intBytes(3), '06');
    assert.equal(intBytes(-65), 'ff81');
    assert.equal(intBytes(65), 'ff82');
    assert.equal(intBytes(-129), 'fe0101');
    assert.equal(intBytes(-(2n ** 63n)), 'f8ffffffffffffffff');
    assert.throws(() => intBytes(2n ** 63n), GobError);
  });

  it('floats byte-reversed (17.0 is fe 31 40)', () => {
    const w = new Writer();
    w.float(17);
    assert.equal(w.finish().toString('hex'), 'fe3140');
  });

  it('reads back every value it writes', () => {
    const ints = [0, 1, -1, 63, -64, 127, 128, 255, 256, 65535, -65536, 2 ** 31, -(2 ** 31), Number.MAX_SAFE_INTEGER, -Number.MAX_SAFE_INTEGER];
    const bigs = [2n ** 53n, -(2n ** 53n), 2n ** 63n - 1n, -(2n ** 63n)];
    const floats = [0, -0, 1.5, -2.25, 17, 1e300, -1e-300, Infinity, -Infinity, Number.MIN_VALUE];
    const w = new Writer();
    for (const i of [...ints, ...bigs]) w.int(i);
    for (const u of [0, 1, 200, 2 ** 40]) w.uint(u);
    w.uint(2n ** 64n - 1n);
    for (const f of [...floats, NaN]) w.float(f);
    w.string('héllo, wörld');
    w.bytes(Buffer.from([0, 1, 2, 255]));
    const r = new Reader(w.finish());
    for (const i of ints) assert.equal(r.intValue(), i);
    for (const b of bigs) assert.equal(r.intValue(), b);
    for (const u of [0, 1, 200, 2 ** 40]) assert.equal(r.uintValue(), u);
    assert.equal(r.uintValue(), 2n ** 64n - 1n);
    for (const f of floats) assert.ok(Object.is(r.float(), f));
    assert.ok(Number.isNaN(r.float()));
    assert.equal(r.string(), 'héllo, wörld');
    assert.deepEqual(r.bytes(), Buffer.from([0, 1, 2, 255]));
    assert.equal(r.remaining, 0);
  });

  it('refuses truncated and impossible integers', () => {
    assert.throws(() => new Reader(hex('fe01')).uint(), /truncated/);
    assert.throws(() => new Reader(hex('')).uint(), /truncated/);
    assert.throws(() => new Reader(hex('f7 010203040506070809')).uint(), /invalid uint data length 9/);
    assert.throws(() => new Reader(hex('f8 ffffffffffffffff')).uint(), /out of range/);
    assert.throws(() => new Reader(hex('05 6162')).string(), /truncated/);
  });
});

describe('gob messages', () => {
  it("encodes Go's documented Point{22, 33} byte for byte, and the type only once", () => {
    const e = new Encoder();
    assert.equal(
      e.encode(point, { X: 22, Y: 33 }).toString('hex'),
      '1fff810301010550' + '6f696e7401ff8200' + '0102010158010400' + '0101590104000000' + '07ff82012c014200',
    );
    assert.equal(e.encode(point, { X: 22, Y: 33 }).toString('hex'), '07ff82012c014200');
    // a new stream defines it again
    assert.equal(new Encoder().encode(point, { X: 0, Y: 0 }).length, 32 + 4);
  });

  it('a top-level non-struct value is a singleton: delta 0, then the value (int 3 is 03 04 00 06)', () => {
    assert.equal(new Encoder().encode(gobInt, 3).toString('hex'), '03040006');
    assert.equal(roundTrip(gobInt, 3), 3);
    assert.equal(roundTrip(gobString, ''), '');
  });

  it('round-trips every wire kind', () => {
    const inner: StructType = { kind: 'struct', name: 'Inner', fields: [{ name: 'S', type: gobString }] };
    const all: StructType = {
      kind: 'struct',
      name: 'All',
      fields: [
        { name: 'B', type: gobBool },
        { name: 'I', type: gobInt },
        { name: 'U', type: gobUint },
        { name: 'F', type: gobFloat },
        { name: 'C', type: gobComplex },
        { name: 'S', type: gobString },
        { name: 'Raw', type: gobBytes },
        { name: 'Big', type: gobUint },
        { name: 'Nested', type: inner },
        { name: 'List', type: { kind: 'slice', name: '[]*Inner', elem: inner } },
        { name: 'Arr', type: { kind: 'array', name: '[3]int', elem: gobInt, len: 3 } },
        { name: 'Map', type: { kind: 'map', name: 'map[string]int', key: gobString, elem: gobInt } },
        { name: 'Text', type: { kind: 'textMarshaler', name: 'Stamp' } },
        { name: 'Bin', type: { kind: 'binaryMarshaler', name: 'Blob' } },
        { name: 'Gob', type: { kind: 'gobEncoder', name: 'Thing' } },
        { name: 'Any', type: gobInterface },
      ],
    };
    const value = {
      B: true,
      I: -42,
      U: 42,
      F: 3.25,
      C: [1.5, -2],
      S: 'string',
      Raw: Buffer.from('raw'),
      Big: 2n ** 64n - 1n,
      Nested: { S: 'in' },
      List: [{ S: 'a' }, { S: '' }],
      Arr: [0, 0, 7],
      Map: new Map([
        ['one', 1],
        ['zero', 0],
      ]),
      Text: Buffer.from('2024-01-01T00:00:00Z'),
      Bin: Buffer.from([1, 2]),
      Gob: Buffer.from([3]),
      Any: null,
    };
    const bytes = new Encoder().encode(all, value);
    const [d] = decodeAll(bytes);
    // the nil interface, like any zero value, is not sent
    const { Any: _any, ...sent } = value;
    assert.deepEqual(d.value, { ...sent, List: [{ S: 'a' }, {}] });
    const d2 = new Decoder();
    d2.push(bytes);
    d2.next();
    const kinds = Object.fromEntries((d2.typeOf(65) as { fields: { name: string; id: number }[] }).fields.map((f) => [f.name, d2.typeOf(f.id)?.kind ?? f.id]));
    assert.deepEqual(kinds, { B: 1, I: 2, U: 3, F: 4, C: 7, S: 6, Raw: 5, Big: 3, Nested: 'struct', List: 'slice', Arr: 'array', Map: 'map', Text: 'textMarshaler', Bin: 'binaryMarshaler', Gob: 'gobEncoder', Any: 8 });
  });

  it('omits zero fields, always sends nested structs and pointer fields that are set', () => {
    const t: StructType = {
      kind: 'struct',
      name: 'Z',
      fields: [
        { name: 'I', type: gobInt },
        { name: 'S', type: gobString },
        { name: 'L', type: { kind: 'slice', name: '[]string', elem: gobString } },
        { name: 'P', type: gobInt, pointer: true },
        { name: 'Q', type: gobInt, pointer: true },
        { name: 'N', type: point },
      ],
    };
    assert.deepEqual(roundTrip(t, { I: 0, S: '', L: [], P: 0 }), { P: 0, N: {} });
    // the message: type id, P (delta 4) = 0, N (delta 2) = empty struct, end
    const e = new Encoder();
    e.encode(t, {});
    assert.equal(e.encode(t, { P: 0 }).toString('hex'), '07ff820400020000');
  });

  it('decodes whatever field order and extra fields the sender has, by name', () => {
    const sender: StructType = {
      kind: 'struct',
      name: 'Point',
      fields: [
        { name: 'Z', type: gobString },
        { name: 'Y', type: gobInt },
        { name: 'X', type: gobInt },
      ],
    };
    assert.deepEqual(roundTrip(sender, { X: 1, Y: 2, Z: 'extra' }), { Z: 'extra', Y: 2, X: 1 });
  });

  it('decodes a stream fed one byte at a time', () => {
    const bytes = fixture('daemon-allocate-reply');
    const d = new Decoder();
    const out: Decoded[] = [];
    for (const b of bytes) {
      d.push(Buffer.from([b]));
      for (let v = d.next(); v; v = d.next()) out.push(v);
    }
    assert.deepEqual(
      out.map((v) => v.value),
      decodeAll(bytes).map((v) => v.value),
    );
  });

  it('keeps a field named __proto__ as an own property', () => {
    const t: StructType = { kind: 'struct', name: 'X', fields: [{ name: '__proto__', type: gobString }] };
    const v = roundTrip(t, JSON.parse('{"__proto__":"p"}')) as Record<string, unknown>;
    assert.equal(Object.getPrototypeOf(v), Object.prototype);
    assert.deepEqual(Object.getOwnPropertyDescriptor(v, '__proto__')?.value, 'p');
  });

  it('does not mark types as sent when a value fails to encode', () => {
    const e = new Encoder();
    assert.throws(() => e.encode(point, { X: 'no' }), /Point\.X: expected an integer/);
    assert.deepEqual(decodeAll(e.encode(point, { X: 1 }))[0].value, { X: 1 });
  });

  it('names the path of a value that does not fit its type', () => {
    const list: StructType = { kind: 'struct', name: 'L', fields: [{ name: 'Items', type: { kind: 'slice', name: '[]*Point', elem: point } }] };
    assert.throws(() => new Encoder().encode(list, { Items: [{ X: 1 }, null] }), /L\.Items\[1\]: nil element/);
    assert.throws(() => new Encoder().encode(list, { Items: [{ Y: 1.5 }] }), /L\.Items\[0\]\.Y: expected an integer/);
    assert.throws(() => new Encoder().encode({ kind: 'array', name: '[2]int', elem: gobInt, len: 2 }, [1]), /expected 2 elements/);
    assert.throws(() => new Encoder().encode(gobUint, -1), /expected an unsigned integer/);
    assert.throws(() => new Encoder().encode(gobInterface, 'x'), /non-nil interface/);
  });
});

describe('gob decoder refuses malformed input', () => {
  const pointDef = new Encoder().encode(point, { X: 1, Y: 2 }).subarray(0, 32);
  const bad = (bytes: Buffer, re: RegExp, cls: typeof GobError = GobError) =>
    assert.throws(() => {
      const d = new Decoder({ maxMessage: 1024 });
      d.push(bytes);
      while (d.next());
    }, (e: unknown) => e instanceof cls && re.test((e as Error).message));

  it('waits for the rest of a message that is not complete yet', () => {
    const d = new Decoder();
    d.push(hex('07ff82012c01'));
    assert.equal(d.next(), undefined);
    d.push(hex('fe'));
    assert.equal(d.next(), undefined);
  });

  it('errors', () => {
    const msg = (body: string) => {
      const b = hex(body);
      return Buffer.concat([Buffer.from([b.length]), b]);
    };
    bad(msg('ff82 01'), /unknown type id 65/);
    bad(msg('0c 00'), /truncated/);
    bad(msg('0c 01 00'), /non-zero delta for singleton/);
    bad(msg('0c 00 05 61'), /truncated/);
    bad(msg('0c 00 01 61 62'), /left over/);
    bad(Buffer.concat([pointDef, pointDef]), /duplicate type/);
    bad(Buffer.concat([pointDef, msg('ff82 05 02 00')]), /field number 4 out of range for Point/);
    bad(msg('01 00'), /reserved id 1/);
    bad(msg('ff81 03 01 02 ff84 00 00 00'), /type definition for id 65 names id 66/);
    bad(msg('ff81 02 01 02 ff82 00 01 04 00 01 01 02 ff82 00 00 00'), /more than one variant/);
    bad(msg('ff81 03 01 02 ff82 00 01 01 01 01 58 01 00 00 00 00'), /invalid type id/);
    bad(msg('ff81'), /truncated/);
    bad(hex('80'), /invalid message length prefix/, GobFramingError);
    bad(hex('fe 1000'), /exceeds the limit/, GobFramingError);
    // a slice claiming more elements than bytes left
    const s = new Encoder().encode({ kind: 'slice', name: '[]int', elem: gobInt }, [1, 2]);
    s[s.length - 3] = 0x7f;
    bad(s, /element count 127/);
  });

  it('a value nested deeper than 100 levels', () => {
    const node: StructType = { kind: 'struct', name: 'Node', fields: [] };
    node.fields.push({ name: 'Kids', type: { kind: 'slice', name: '[]Node', elem: node } });
    let v: Record<string, unknown> = {};
    for (let i = 0; i < 60; i++) v = { Kids: [v] };
    bad(new Encoder().encode(node, v), /nested too deeply/);
    let w: Record<string, unknown> = {};
    for (let i = 0; i < 10; i++) w = { Kids: [w] };
    assert.ok(roundTrip(node, w));
  });
});

describe('captures of the Go dhcp plugin and daemon (test/fixtures/gob)', () => {
  const args: CmdArgs = {
    containerID: 'abc123',
    netns: '/var/run/netns/cnits-gob-cap',
    ifName: 'cnits-g0',
    args: '',
    path: '/usr/lib/cni',
    netnsOverride: false,
    stdinData: Buffer.from('{"cniVersion":"1.0.0","name":"capnet","type":"macvlan","ipam":{"type":"dhcp","daemonSocketPath":"/tmp/gobcap/px.sock"}}\n'),
  };
  const goResult: Result = {
    cniVersion: '1.1.0',
    ips: [{ address: '10.231.0.56/24', gateway: '10.231.0.1' }],
    routes: [{ dst: '0.0.0.0/0', gw: '10.231.0.1' }],
  };

  it('the Go plugin request decodes to its CmdArgs; ours is byte-identical', () => {
    for (const [name, method] of [
      ['plugin-allocate-request', 'DHCP.Allocate'],
      ['plugin-release-request', 'DHCP.Release'],
    ]) {
      const bytes = fixture(name);
      const [h, body] = decodeAll(bytes);
      assert.deepEqual(h.value, { ServiceMethod: method });
      assert.equal(h.typeId, 65);
      assert.deepEqual(cmdArgsFromGob(body), args);
      const e = new Encoder();
      const ours = Buffer.concat([e.encode(requestType, { ServiceMethod: method, Seq: 0 }), e.encode(cmdArgsGobType(args), cmdArgsToGob(args))]);
      assert.equal(ours.toString('hex'), bytes.toString('hex'));
    }
  });

  it('the Go daemon reply decodes to its Result; ours is byte-identical', () => {
    const bytes = fixture('daemon-allocate-reply');
    const [h, body] = decodeAll(bytes);
    assert.deepEqual(h.value, { ServiceMethod: 'DHCP.Allocate' });
    assert.deepEqual(resultFromGob(body.value), goResult);
    // net.IP as a plain 4-byte []byte (type id 5), IPNet a struct {IP, Mask}
    assert.deepEqual((body.value as { IPs: unknown[] }).IPs[0], {
      Address: { IP: hex('0ae70038'), Mask: hex('ffffff00') },
      Gateway: hex('0ae70001'),
    });
    const e = new Encoder();
    const reply = resultToGob(goResult);
    const ours = Buffer.concat([e.encode(responseType, { ServiceMethod: 'DHCP.Allocate', Seq: 0 }), e.encode(reply.type, reply.value)]);
    assert.equal(ours.toString('hex'), bytes.toString('hex'));
  });

  it('release and error replies carry an empty anonymous struct', () => {
    const [h, body] = decodeAll(fixture('daemon-release-reply'));
    assert.deepEqual(h.value, { ServiceMethod: 'DHCP.Release' });
    assert.deepEqual(body.type, { kind: 'struct', name: '', id: 76, fields: [] });
    assert.deepEqual(body.value, {});
    const [eh, ebody] = decodeAll(fixture('daemon-error-reply'));
    assert.deepEqual(eh.value, { ServiceMethod: 'DHCP.Allocate', Error: 'error looking up "nosuch0": Link not found' });
    assert.deepEqual(ebody.value, {});
    // ours, on a fresh stream, differs from the capture only by the type id (66 here, 76 there)
    const e = new Encoder();
    e.encode(responseType, { ServiceMethod: 'DHCP.Release' });
    assert.equal(e.encode(emptyStructType, {}).toString('hex'), '0aff83030102ff8400000003ff8400');
  });
});

describe('dhcp Result and CmdArgs mapping', () => {
  it('round-trips a full result through the newer layout (v4, v6, interface 0, route extras, DNS)', () => {
    const r: Result = {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', mac: '0a:58:0a:e7:00:02', mtu: 1400, sandbox: '/run/netns/x', socketPath: '/s', pciID: '0000:01:00.0' }],
      ips: [
        { interface: 0, address: '10.231.0.2/24', gateway: '10.231.0.1' },
        { address: 'fd00:231::2/64' },
      ],
      routes: [
        { dst: '0.0.0.0/0', gw: '10.231.0.1', mtu: 1300, advmss: 1260, priority: 10, table: 0, scope: 253 },
        { dst: '10.231.5.0/24' },
        { dst: '::/0', gw: 'fd00:231::1' },
      ],
      dns: { nameservers: ['10.231.0.53'], domain: 'example.test', search: ['a.test', 'b.test'], options: ['ndots:2'] },
    };
    const reply = resultToGob(r);
    assert.ok(reply.type.kind === 'struct' && JSON.stringify(reply.type).includes('PciID'));
    assert.deepEqual(resultFromGob(roundTrip(reply.type, reply.value)), r);
  });

  it('keeps the 1.1.1 layout when nothing newer is set, and omits an empty DNS', () => {
    const r: Result = { cniVersion: '1.1.0', interfaces: [{ name: 'eth0', sandbox: '/x' }], ips: [{ address: '10.231.0.2/24' }] };
    const reply = resultToGob(r);
    assert.ok(!JSON.stringify(reply.type).includes('PciID'));
    assert.deepEqual(resultFromGob(roundTrip(reply.type, reply.value)), r);
  });

  it('reads 16-byte IPv4-mapped addresses and masks as Go prints them', () => {
    const v = {
      IPs: [{ Address: { IP: hex('00000000000000000000ffff0ae70002'), Mask: hex('ffffffffffffffffffffffffffffff00') }, Gateway: hex('00000000000000000000ffff0ae70001') }],
      Routes: [{ Dst: { IP: hex('fd000231000000000000000000000000'), Mask: hex('ffffffffffffffff0000000000000000') } }],
    };
    assert.deepEqual(resultFromGob(v), {
      cniVersion: '1.1.0',
      ips: [{ address: '10.231.0.2/24', gateway: '10.231.0.1' }],
      routes: [{ dst: 'fd00:231::/64' }],
    });
    assert.throws(() => resultFromGob({ IPs: [{ Address: { IP: hex('0a000001'), Mask: hex('ff00ff00') } }] }), /Result\.IPs\[0\]\.Address: mask ff00ff00 is not a prefix/);
    assert.throws(() => resultFromGob({ IPs: [{ Address: { IP: hex('0a00'), Mask: hex('ff00') } }] }), /IP of 2 bytes/);
    assert.throws(() => resultFromGob({ Routes: [{ Dst: 'x' }] }), /Result\.Routes\[0\]\.Dst: expected a struct/);
    assert.throws(() => resultFromGob({ DNS: { Nameservers: [1] } }), /Result\.DNS\.Nameservers\[0\]: expected a string/);
  });

  it('CmdArgs: NetnsOverride only in the newer layout; wrong types name the field', () => {
    const a: CmdArgs = { containerID: 'c', netns: '/n', ifName: 'eth0', args: 'A=1', path: '/p', netnsOverride: true, stdinData: Buffer.from('{}') };
    const bytes = new Encoder().encode(cmdArgsGobType(a), cmdArgsToGob(a));
    assert.match(bytes.toString('latin1'), /NetnsOverride/);
    assert.deepEqual(cmdArgsFromGob(decodeAll(bytes)[0]), a);
    const plain = { ...a, netnsOverride: false };
    assert.doesNotMatch(new Encoder().encode(cmdArgsGobType(plain), cmdArgsToGob(plain)).toString('latin1'), /NetnsOverride/);
    const wrong: StructType = { kind: 'struct', name: 'CmdArgs', fields: [{ name: 'ContainerID', type: gobInt }] };
    assert.throws(() => cmdArgsFromGob(decodeAll(new Encoder().encode(wrong, { ContainerID: 5 }))[0]), /CmdArgs\.ContainerID: expected a string, got number/);
  });

  it('absolutises Netns as filepath.Abs does', () => {
    const rel = cmdArgsToGob({ containerID: 'c', netns: 'run/../ns/x/', ifName: 'e', args: '', path: '', netnsOverride: false, stdinData: Buffer.alloc(0) });
    assert.equal(rel.Netns, join(process.cwd(), 'ns/x'));
    assert.equal(cmdArgsToGob({ ...(rel as unknown as CmdArgs), netns: '' }).Netns, process.cwd());
  });
});

describe('net/rpc over a unix socket, in process', () => {
  let dir: string;
  let server: Server;
  let sock: string;
  const seen: CmdArgs[] = [];
  const result: Result = { cniVersion: '1.1.0', ips: [{ address: '10.231.9.2/24', gateway: '10.231.9.1' }], routes: [{ dst: '0.0.0.0/0', gw: '10.231.9.1' }] };
  const args: CmdArgs = { containerID: 'cid', netns: '/var/run/netns/x', ifName: 'eth0', args: 'K=V', path: '/opt/cni/bin', netnsOverride: false, stdinData: Buffer.from('{"name":"n"}') };
  const gate: { release?: () => void } = {};

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cnits-gob-'));
    sock = join(dir, 'dhcp.sock');
    server = createServer();
    serveDHCP(server, {
      async allocate(a) {
        seen.push(a);
        if (a.containerID === 'fail') throw new Error('no lease for you');
        if (a.containerID === 'slow') await new Promise<void>((r) => (gate.release = r));
        if (a.containerID === 'bad') return { cniVersion: '1.1.0', ips: [{ address: 'nonsense' }] };
        return { ...result, ips: [{ ...result.ips![0], gateway: a.containerID === 'slow' ? '10.231.9.254' : '10.231.9.1' }] };
      },
      async release(a) {
        seen.push(a);
        if (a.containerID === 'fail') throw 'plain string';
      },
    });
    await new Promise<void>((r) => server.listen(sock, r));
  });
  after(() => {
    server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('Allocate and Release', async () => {
    seen.length = 0;
    assert.deepEqual(await callDHCP(sock, 'DHCP.Allocate', args), result);
    assert.equal(await callDHCP(sock, 'DHCP.Release', args), undefined);
    assert.deepEqual(seen, [args, args]);
  });

  it("a handler's error is the RPCError message; a reply the schema cannot carry is an error too", async () => {
    await assert.rejects(callDHCP(sock, 'DHCP.Allocate', { ...args, containerID: 'fail' }), (e: unknown) => e instanceof RPCError && e.message === 'no lease for you');
    await assert.rejects(callDHCP(sock, 'DHCP.Release', { ...args, containerID: 'fail' }), (e: unknown) => e instanceof RPCError && e.message === 'plain string');
    await assert.rejects(callDHCP(sock, 'DHCP.Allocate', { ...args, containerID: 'bad' }), { name: 'RPCError', message: 'failed to encode the result: ips[0].address: invalid CIDR address "nonsense"' });
  });

  it("unknown methods get Go's error strings, and the connection goes on", async () => {
    const c = await RPCClient.dial(sock);
    const t = cmdArgsGobType(args);
    const v = cmdArgsToGob(args);
    await assert.rejects(c.call('DHCP.Foo', t, v), { message: "rpc: can't find method DHCP.Foo" });
    await assert.rejects(c.call('Nope.Foo', t, v), { message: "rpc: can't find service Nope.Foo" });
    await assert.rejects(c.call('NoDot', t, v), { message: 'rpc: service/method request ill-formed: NoDot' });
    await assert.rejects(c.call('DHCP.Allocate', gobString, 'x'), /CmdArgs: expected a struct/);
    assert.ok(await c.call('DHCP.Allocate', t, v));
    c.close();
    await assert.rejects(c.call('DHCP.Release', t, v), { message: 'connection is shut down' });
  });

  it('concurrent calls on one connection are answered as they finish', async () => {
    const c = await RPCClient.dial(sock);
    const order: string[] = [];
    const slow = c.call('DHCP.Allocate', cmdArgsGobType(args), cmdArgsToGob({ ...args, containerID: 'slow' })).then((v) => {
      order.push('slow');
      return resultFromGob(v);
    });
    const fast = c.call('DHCP.Allocate', cmdArgsGobType(args), cmdArgsToGob(args)).then((v) => {
      order.push('fast');
      return resultFromGob(v);
    });
    assert.equal((await fast).ips![0].gateway, '10.231.9.1');
    gate.release!();
    assert.equal((await slow).ips![0].gateway, '10.231.9.254');
    assert.deepEqual(order, ['fast', 'slow']);
    c.close();
  });

  const raw = (bytes: Buffer | string) =>
    new Promise<Buffer>((resolve) => {
      const s = createConnection(sock);
      const got: Buffer[] = [];
      s.on('data', (b) => got.push(b));
      s.on('close', () => resolve(Buffer.concat(got)));
      s.on('error', () => undefined);
      s.write(bytes);
      setTimeout(() => s.end(), 300);
    });

  it('answers HTTP that is not CONNECT /_goRPC_ as Go does, then closes', async () => {
    assert.match((await raw('GET /_goRPC_ HTTP/1.0\r\n\r\n')).toString(), /^HTTP\/1\.0 405 Method Not Allowed\r\n[^]*\r\n\r\n405 must CONNECT\n$/);
    assert.match((await raw('CONNECT /foo HTTP/1.0\n\n')).toString(), /^HTTP\/1\.0 404 Not Found\r\n[^]*404 page not found\n$/);
    assert.match((await raw('garbage\n\n')).toString(), /^HTTP\/1\.1 400 Bad Request/);
  });

  it('survives malformed gob: drops that connection, serves the next', async () => {
    const hello = `HTTP/1.0 200 Connected to Go RPC\n\n`;
    assert.equal((await raw(Buffer.concat([Buffer.from('CONNECT /_goRPC_ HTTP/1.0\n\n'), hex('05ff81000000')]))).toString(), hello);
    assert.equal((await raw(Buffer.concat([Buffer.from('CONNECT /_goRPC_ HTTP/1.0\n\n'), hex('80')]))).toString(), hello);
    // a header that is not a Request struct
    assert.equal((await raw(Buffer.concat([Buffer.from('CONNECT /_goRPC_ HTTP/1.0\n\n'), new Encoder().encode(gobString, 'hi')]))).toString(), hello);
    assert.deepEqual(await callDHCP(sock, 'DHCP.Allocate', args), result);
  });

  it('a body that is malformed inside intact framing gets an error reply', async () => {
    const e = new Encoder();
    const req = Buffer.concat([Buffer.from('CONNECT /_goRPC_ HTTP/1.0\n\n'), e.encode(requestType, { ServiceMethod: 'DHCP.Release', Seq: 7 }), hex('03 ff98 00')]);
    const got = await raw(req);
    const vals = decodeAll(got.subarray(got.indexOf('\n\n') + 2));
    assert.deepEqual(vals[0].value, { ServiceMethod: 'DHCP.Release', Seq: 7, Error: 'gob: unknown type id 76' });
  });

  it('dial errors keep their errno code; a server that never answers times out', async () => {
    await assert.rejects(callDHCP(join(dir, 'missing.sock'), 'DHCP.Release', args), { code: 'ENOENT' });
    const mute = createServer(() => undefined);
    const muteSock = join(dir, 'mute.sock');
    await new Promise<void>((r) => mute.listen(muteSock, r));
    try {
      const t0 = Date.now();
      await assert.rejects(callDHCP(muteSock, 'DHCP.Allocate', args, 200), { code: 'ETIMEDOUT' });
      assert.ok(Date.now() - t0 < 2000);
    } finally {
      mute.close();
    }
  });
});

describe("the client's socket (native/unixsock.c, no node:net)", () => {
  let dir: string;
  const args: CmdArgs = { containerID: 'cid', netns: '/var/run/netns/x', ifName: 'eth0', args: '', path: '/opt/cni/bin', netnsOverride: false, stdinData: Buffer.from('{"name":"n"}') };
  const result: Result = { cniVersion: '1.1.0', ips: [{ address: '10.231.9.2/24', gateway: '10.231.9.1' }] };
  const servers: Server[] = [];

  /** A server on a fresh socket whose connections `onConn` handles (node:net on the server side, as the daemon). */
  async function listen(onConn: (s: import('node:net').Socket) => void): Promise<string> {
    const sock = join(dir, `s${servers.length}.sock`);
    const server = createServer(onConn);
    servers.push(server);
    await new Promise<void>((r) => server.listen(sock, r));
    return sock;
  }

  /** The Go daemon's captured Allocate reply (Seq 0), as a stub server sends it. */
  const reply = () => fixture('daemon-allocate-reply');
  const goResult: Result = { cniVersion: '1.1.0', ips: [{ address: '10.231.0.56/24', gateway: '10.231.0.1' }], routes: [{ dst: '0.0.0.0/0', gw: '10.231.0.1' }] };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'cnits-gob-'));
  });
  after(() => {
    for (const s of servers) s.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('connect errors are thrown with their errno code, nothing left open', async () => {
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    writeFileSync(join(dir, 'file'), '');
    await assert.rejects(RPCClient.dial(join(dir, 'missing.sock')), { code: 'ENOENT', syscall: 'connect' });
    await assert.rejects(RPCClient.dial(join(dir, 'file')), { code: 'ECONNREFUSED' });
    await assert.rejects(RPCClient.dial(join(dir, 'file', 'x.sock')), { code: 'ENOTDIR' });
    await assert.rejects(RPCClient.dial(join(dir, 'x'.repeat(120))), { code: 'ENAMETOOLONG' });
    await assert.rejects(RPCClient.dial(''), { code: 'ENOENT' });
    assert.ok(fds() <= before, `${fds()} fds open, ${before} before`);
  });

  it('a server that hangs up, or answers other than 200 Connected to Go RPC, fails the dial', async () => {
    const hangup = await listen((s) => s.once('data', () => s.end()));
    await assert.rejects(RPCClient.dial(hangup), { message: `dial-http unix ${hangup}: unexpected EOF` });
    // closed with our CONNECT unread: the kernel resets the connection
    const reset = await listen((s) => s.destroy());
    await assert.rejects(RPCClient.dial(reset), { code: 'ECONNRESET' });
    const http = await listen((s) => s.once('data', () => s.end('HTTP/1.0 404 Not Found\r\n\r\n')));
    await assert.rejects(RPCClient.dial(http), { message: `dial-http unix ${http}: unexpected HTTP response: 404 Not Found` });
  });

  it('a handshake in pieces with CRLF is read', async () => {
    const sock = await listen((s) => {
      s.once('data', () => {
        s.write('HTTP/1.0 200 Conn');
        setTimeout(() => s.write('ected to Go RPC\r\n'), 20);
        setTimeout(() => s.write('\r\n'), 40);
        s.on('data', () => s.write(reply()));
      });
    });
    assert.deepEqual(await callDHCP(sock, 'DHCP.Allocate', args), goResult);
  });

  it('bytes after the head in its chunk are read as the stream (a reply nobody waits for is dropped, as Go does)', async () => {
    const e = new Encoder();
    const sock = await listen((s) => {
      s.once('data', () => {
        const stray = Buffer.concat([e.encode(responseType, { ServiceMethod: 'DHCP.Release', Seq: 5 }), e.encode(emptyStructType, {})]);
        s.write(Buffer.concat([Buffer.from('HTTP/1.0 200 Connected to Go RPC\n\n'), stray]));
        // the answer to Seq 0 relies on the definitions sent with the stray one
        s.once('data', () => s.write(Buffer.concat([e.encode(responseType, { ServiceMethod: 'DHCP.Release', Seq: 0 }), e.encode(emptyStructType, {})])));
      });
    });
    assert.equal(await callDHCP(sock, 'DHCP.Release', args), undefined);
  });

  it('a request larger than the socket buffer is queued and sent whole', async () => {
    const big: CmdArgs = { ...args, stdinData: Buffer.alloc(4 << 20, 0x61) };
    let got = 0;
    const server = createServer();
    servers.push(server);
    serveDHCP(server, {
      async allocate(a) {
        got = a.stdinData.length;
        return result;
      },
      async release() {},
    });
    const sock = join(dir, 'big.sock');
    await new Promise<void>((r) => server.listen(sock, r));
    assert.deepEqual(await callDHCP(sock, 'DHCP.Allocate', big), result);
    assert.equal(got, 4 << 20);
  });

  it('a daemon that goes away mid-call fails the call (unexpected EOF), a mute one times out', async () => {
    const dies = await listen((s) => {
      s.once('data', () => {
        s.write('HTTP/1.0 200 Connected to Go RPC\n\n');
        s.once('data', () => s.end());
      });
    });
    await assert.rejects(callDHCP(dies, 'DHCP.Release', args), { message: 'unexpected EOF' });
    // gone before the request: the send fails
    const gone = await listen((s) => s.once('data', () => s.end('HTTP/1.0 200 Connected to Go RPC\n\n', () => s.destroy())));
    await assert.rejects(
      callDHCP(gone, 'DHCP.Release', args),
      (e: NodeJS.ErrnoException) => ['EPIPE', 'ECONNRESET'].includes(e.code ?? '') || e.message === 'unexpected EOF',
    );
    const mute = await listen(() => undefined);
    const t0 = Date.now();
    await assert.rejects(callDHCP(mute, 'DHCP.Release', args, 150), { code: 'ETIMEDOUT' });
    assert.ok(Date.now() - t0 < 2000);
  });

  it('close() with calls in flight rejects them; the fd is closed once', async () => {
    const sock = await listen((s) => s.once('data', () => s.write('HTTP/1.0 200 Connected to Go RPC\n\n')));
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    const c = await RPCClient.dial(sock);
    const pending = c.call('DHCP.Release', cmdArgsGobType(args), cmdArgsToGob(args));
    c.close();
    c.close();
    await assert.rejects(pending, { message: 'connection is shut down' });
    // libuv closes the socket in its close phase; the server's end closes once it sees the EOF
    for (let i = 0; i < 50 && fds() > before; i++) await new Promise((r) => setTimeout(r, 10));
    assert.ok(fds() <= before, `${fds()} fds open, ${before} before the dial`);
  });
});
