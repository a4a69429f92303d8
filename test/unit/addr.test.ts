// pkg/ipaddr: IP text forms as Go's net package reads and writes them (so result
// JSON and host-local file names match the reference byte for byte), and prefix math.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addToIP,
  bigIntToIP,
  compareIP,
  contains,
  familyOf,
  formatCIDR,
  formatIP,
  formatNetwork,
  ipEqual,
  ipToBigInt,
  lastOf,
  networkOf,
  overlaps,
  parseCIDR,
  parseIP,
  prefixFromMask,
  type IP,
} from '../../pkg/ipaddr/index.js';

const ip = (s: string): IP => {
  const v = parseIP(s);
  assert.ok(v, `parseIP(${s})`);
  return v;
};
const net = (s: string) => {
  const v = parseCIDR(s);
  assert.ok(v, `parseCIDR(${s})`);
  return v;
};
/** Go's net.ParseIP(s).String(). */
const canon = (s: string) => formatIP(ip(s));

describe('parseIP', () => {
  it('reads IPv4 dotted quads', () => {
    assert.deepEqual(ip('10.250.0.1'), { family: 4, bytes: Uint8Array.from([10, 250, 0, 1]) });
    for (const s of ['0.0.0.0', '255.255.255.255', '1.2.3.4', '10.0.0.10', '100.64.0.1']) assert.equal(canon(s), s);
  });

  it('rejects what Go rejects: leading zeros (Go ≥ 1.17), short or long forms, ranges, spaces, zones', () => {
    for (const s of ['01.2.3.4', '1.2.3.04', '1.2.3.00', '010.0.0.1', '1.2.3', '1.2.3.4.5', '256.1.1.1', '1.2.3.-1', '', ' 1.2.3.4', '1.2.3.4 ', '1.2.3.4/8', '0x1.2.3.4', '1..3.4']) {
      assert.equal(parseIP(s), undefined, JSON.stringify(s));
    }
    for (const s of ['1::2::3', ':::', '12345::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8::', 'fe80::1%eth0', 'g::1', '::1.2.3', '::ffff:01.2.3.4', '1.2.3.4::', '::1.2.3.4:5', ':1::', '1::2:']) {
      assert.equal(parseIP(s), undefined, JSON.stringify(s));
    }
    assert.equal(parseIP(5 as unknown as string), undefined);
  });

  it('reads IPv6 in every legal spelling', () => {
    assert.equal(ip('::1').family, 6);
    assert.equal(Buffer.from(ip('::1').bytes).toString('hex'), '00000000000000000000000000000001');
    assert.equal(Buffer.from(ip('2001:0db8:0000:0000:0000:0000:0000:0001').bytes).toString('hex'), '20010db8000000000000000000000001');
    assert.ok(ipEqual(ip('1:2:3:4:5:6:7::'), ip('1:2:3:4:5:6:7:0')), 'a :: standing for one group');
    assert.ok(ipEqual(ip('::2:3:4:5:6:7:8'), ip('0:2:3:4:5:6:7:8')));
    assert.ok(ipEqual(ip('FD00:250::A'), ip('fd00:250::a')));
  });

  it('reads an IPv4-mapped IPv6 address as IPv4, as Go does (To4)', () => {
    assert.deepEqual(ip('::ffff:10.250.0.1'), { family: 4, bytes: Uint8Array.from([10, 250, 0, 1]) });
    assert.deepEqual(ip('::ffff:afa:1'), { family: 4, bytes: Uint8Array.from([10, 250, 0, 1]) });
    assert.equal(canon('::FFFF:10.250.0.1'), '10.250.0.1');
    assert.equal(ip('::10.250.0.1').family, 6, 'IPv4-compatible (deprecated) stays IPv6');
  });
});

describe('formatIP: RFC 5952 as Go prints it', () => {
  const cases: Array<[string, string]> = [
    ['0:0:0:0:0:0:0:0', '::'],
    ['0:0:0:0:0:0:0:1', '::1'],
    ['1:0:0:0:0:0:0:0', '1::'],
    ['2001:0db8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'],
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'],
    ['2001:db8:1:1:1:1:1:0', '2001:db8:1:1:1:1:1:0'],
    ['fd00:0250:0000:0000:0000:0000:0000:0000', 'fd00:250::'],
    ['FE80::0A58:0AFF:FEFA:0001', 'fe80::a58:aff:fefa:1'],
    ['::10.250.0.1', '::afa:1'],
    ['0:0:0:0:0:ffff:0:1', '0.0.0.1'],
    ['0:0:0:0:ffff:0:0:1', '::ffff:0:0:1'],
    ['1:0:2:0:0:3:0:0', '1:0:2::3:0:0'],
  ];
  for (const [input, out] of cases) it(`${input} → ${out}`, () => assert.equal(canon(input), out));
});

describe('parseCIDR', () => {
  it('keeps host bits and the prefix', () => {
    assert.deepEqual(net('10.250.3.7/22'), { ip: { family: 4, bytes: Uint8Array.from([10, 250, 3, 7]) }, prefix: 22 });
    assert.equal(formatCIDR(net('10.250.3.7/22')), '10.250.3.7/22');
    assert.equal(formatCIDR(net('FD00:250:0::2/64')), 'fd00:250::2/64');
    for (const s of ['0.0.0.0/0', '10.250.0.1/32', '::/0', 'fd00:250::1/128']) assert.equal(formatCIDR(net(s)), s);
    assert.equal(net('10.250.0.0/024').prefix, 24, 'Go accepts a zero-padded prefix length');
  });

  it('rejects malformed ones', () => {
    for (const s of ['10.250.0.1', '10.250.0.1/', '10.250.0.1/33', '10.250.0.1/-1', '10.250.0.1/ 8', '10.250.0.1/8/8', '10.250.0.256/8', '01.250.0.1/8', 'fd00::/129', '/24', 'fd00::/x', '10.250.0.1/1.0', '']) {
      assert.equal(parseCIDR(s), undefined, JSON.stringify(s));
    }
  });
});

describe('prefix math', () => {
  it('networkOf, lastOf, formatNetwork', () => {
    assert.equal(formatIP(networkOf(net('10.250.3.7/22'))), '10.250.0.0');
    assert.equal(formatIP(lastOf(net('10.250.3.7/22'))), '10.250.3.255');
    assert.equal(formatNetwork(net('10.250.3.7/22')), '10.250.0.0/22');
    assert.equal(formatIP(lastOf(net('10.250.0.7/32'))), '10.250.0.7');
    assert.equal(formatIP(lastOf(net('0.0.0.0/0'))), '255.255.255.255');
    assert.equal(formatNetwork(net('fd00:250::1234/64')), 'fd00:250::/64');
    assert.equal(formatIP(lastOf(net('fd00:250::1/64'))), 'fd00:250::ffff:ffff:ffff:ffff');
    assert.equal(formatNetwork(net('fd00:250::1/0')), '::/0');
  });

  it('contains and overlaps, never across families', () => {
    assert.ok(contains(net('10.250.0.0/16'), ip('10.250.255.255')));
    assert.ok(!contains(net('10.250.0.0/16'), ip('10.251.0.0')));
    assert.ok(contains(net('10.250.0.9/16'), ip('10.250.0.1')), 'host bits of the net are ignored');
    assert.ok(contains(net('fd00:250::/64'), ip('fd00:250::ffff')));
    assert.ok(!contains(net('fd00:250::/64'), ip('fd00:251::1')));
    assert.ok(!contains(net('0.0.0.0/0'), ip('::1')));
    assert.ok(!contains(net('::/0'), ip('10.250.0.1')));
    assert.ok(contains(net('0.0.0.0/0'), ip('::ffff:10.250.0.1')), 'a mapped address is IPv4');
    assert.ok(overlaps(net('10.250.0.0/16'), net('10.250.3.0/24')));
    assert.ok(overlaps(net('10.250.3.0/24'), net('10.250.0.0/16')));
    assert.ok(!overlaps(net('10.250.0.0/24'), net('10.250.1.0/24')));
    assert.ok(overlaps(net('fd00:250::/64'), net('fd00:250::/96')));
    assert.ok(!overlaps(net('10.250.0.0/16'), net('::/0')));
  });

  it('addToIP steps and wraps within the family', () => {
    assert.equal(formatIP(addToIP(ip('10.250.0.255'), 1n)), '10.250.1.0');
    assert.equal(formatIP(addToIP(ip('10.250.1.0'), -1n)), '10.250.0.255');
    assert.equal(formatIP(addToIP(ip('255.255.255.255'), 1n)), '0.0.0.0');
    assert.equal(formatIP(addToIP(ip('0.0.0.0'), -1n)), '255.255.255.255');
    assert.equal(formatIP(addToIP(ip('fd00:250::ffff'), 1n)), 'fd00:250::1:0');
    assert.equal(formatIP(addToIP(ip('ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'), 1n)), '::');
    assert.equal(formatIP(addToIP(ip('10.250.0.1'), 1n << 40n)), '10.250.0.1', 'wraps modulo 2^32');
  });

  it('ipToBigInt and bigIntToIP round-trip', () => {
    assert.equal(ipToBigInt(ip('10.250.0.1')), 0x0afa0001n);
    assert.equal(ipToBigInt(ip('::1')), 1n);
    assert.equal(formatIP(bigIntToIP(4, 0x0afa0001n)), '10.250.0.1');
    assert.equal(formatIP(bigIntToIP(6, (0xfd00n << 112n) | 2n)), 'fd00::2');
    for (const s of ['0.0.0.0', '255.255.255.255', '::', 'fd00:250::abcd']) assert.equal(formatIP(bigIntToIP(ip(s).family, ipToBigInt(ip(s)))), s);
  });

  it('compareIP orders IPv4 before IPv6, then by value', () => {
    const sorted = ['fd00:250::2', '10.250.0.10', '::1', '10.250.0.9', '10.250.1.0'].map(ip).sort(compareIP).map(formatIP);
    assert.deepEqual(sorted, ['10.250.0.9', '10.250.0.10', '10.250.1.0', '::1', 'fd00:250::2']);
    assert.equal(compareIP(ip('10.250.0.1'), ip('10.250.0.1')), 0);
  });

  it('prefixFromMask takes contiguous masks only', () => {
    assert.equal(prefixFromMask(Buffer.from([255, 255, 255, 0])), 24);
    assert.equal(prefixFromMask(Buffer.from([255, 255, 252, 0])), 22);
    assert.equal(prefixFromMask(Buffer.from([0, 0, 0, 0])), 0);
    assert.equal(prefixFromMask(Buffer.from([255, 255, 255, 255])), 32);
    assert.equal(prefixFromMask(Buffer.from([255, 0, 255, 0])), undefined);
  });

  it('familyOf reads addresses and CIDRs', () => {
    assert.equal(familyOf('10.250.0.1'), 4);
    assert.equal(familyOf('10.250.0.0/16'), 4);
    assert.equal(familyOf('fd00:250::/64'), 6);
    assert.equal(familyOf('::ffff:10.250.0.1'), 4);
    assert.equal(familyOf('nope'), undefined);
    assert.equal(familyOf('10.250.0.0/40'), undefined);
  });
});
