// pkg/dhcp/message: DHCPv4 messages and options byte for byte (RFC 2131/2132/3442/3396),
// and the Ethernet/IPv4/UDP frames the daemon's packet socket sends and receives.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  BROADCAST_FLAG,
  BROADCAST_MAC,
  buildFrame,
  classlessRoutes,
  decodeMessage,
  encodeMessage,
  inetChecksum,
  MessageType,
  messageType,
  newRequest,
  Opt,
  optIP,
  optIPs,
  optPrefix,
  optU32,
  parseFrame,
  staticRoutes,
  type Message,
} from '../../pkg/dhcp/message.js';

const MAC = Buffer.from('020000aabbcc', 'hex');

/** A server reply with `options`, as bytes. */
function reply(options: Array<[number, number[] | Buffer]>, extra: Partial<Message> = {}): Buffer {
  const m = newRequest({ xid: 0x11223344, mac: MAC, type: MessageType.ACK });
  m.op = 2;
  m.yiaddr = '10.232.0.57';
  for (const [c, v] of options) m.options.set(c, Buffer.from(v));
  return encodeMessage({ ...m, ...extra });
}

describe('dhcp message', () => {
  it('encodes a DISCOVER as RFC 2131 lays it out', () => {
    const m = newRequest({ xid: 0xdeadbeef, mac: MAC, type: MessageType.DISCOVER, broadcast: true, options: [[Opt.ParameterRequestList, Buffer.from([3, 1])]] });
    const b = encodeMessage(m);
    assert.equal(b.length, 300, 'padded to the BOOTP minimum');
    assert.deepEqual([b[0], b[1], b[2], b[3]], [1, 1, 6, 0]);
    assert.equal(b.readUInt32BE(4), 0xdeadbeef);
    assert.equal(b.readUInt16BE(10), BROADCAST_FLAG);
    assert.deepEqual(b.subarray(28, 34), MAC);
    assert.equal(b.readUInt32BE(236), 0x63825363, 'magic cookie');
    // message type first, then the request list, then end
    assert.deepEqual([...b.subarray(240, 249)], [53, 1, 1, 55, 2, 3, 1, 255, 0]);
  });

  it('round-trips every header field and option', () => {
    const m = newRequest({ xid: 7, mac: MAC, type: MessageType.REQUEST, ciaddr: '10.232.0.9', options: [[Opt.ClientID, Buffer.from('\0abc')]] });
    m.secs = 3;
    m.sname = 'srv';
    const d = decodeMessage(encodeMessage(m));
    assert.equal(d.op, 1);
    assert.equal(d.xid, 7);
    assert.equal(d.secs, 3);
    assert.equal(d.ciaddr, '10.232.0.9');
    assert.equal(d.sname, 'srv');
    assert.deepEqual(d.chaddr, MAC);
    assert.equal(messageType(d), MessageType.REQUEST);
    assert.deepEqual(d.options.get(Opt.ClientID), Buffer.from('\0abc'));
  });

  it('splits values over 255 bytes and joins repeated options (RFC 3396)', () => {
    const long = Buffer.alloc(300, 7);
    const m = newRequest({ xid: 1, mac: MAC, type: MessageType.DISCOVER, options: [[200, long]] });
    const b = encodeMessage(m);
    assert.equal(b[243], 200);
    assert.equal(b[244], 255);
    assert.equal(b[243 + 2 + 255], 200);
    assert.equal(b[243 + 2 + 255 + 1], 45);
    assert.deepEqual(decodeMessage(b).options.get(200), long);
  });

  it('reads options from file and sname when option 52 says so', () => {
    const b = reply([[Opt.Overload, [3]]]);
    // file: subnet mask; sname: router
    Buffer.from([1, 4, 255, 255, 0, 0, 255]).copy(b, 108);
    Buffer.from([3, 4, 10, 0, 0, 1, 255]).copy(b, 44);
    const d = decodeMessage(b);
    assert.equal(optPrefix(d), 16);
    assert.equal(optIP(d, Opt.Router), '10.0.0.1');
    assert.equal(d.file, '');
  });

  it('refuses malformed messages', () => {
    assert.throws(() => decodeMessage(Buffer.alloc(100)), /too short/);
    const b = reply([]);
    b.writeUInt32BE(0, 236);
    assert.throws(() => decodeMessage(b), /magic cookie/);
    const c = reply([]);
    c[243] = 1;
    c[244] = 200;
    assert.throws(() => decodeMessage(c), /runs past the end/);
  });

  it('reads addresses, times and masks', () => {
    const d = decodeMessage(
      reply([
        [Opt.SubnetMask, [255, 255, 255, 0]],
        [Opt.Router, [10, 232, 0, 1, 10, 232, 0, 2]],
        [Opt.LeaseTime, [0, 0, 0, 120]],
        [Opt.ServerID, [10, 232, 0, 1]],
      ]),
    );
    assert.equal(optPrefix(d), 24);
    assert.deepEqual(optIPs(d, Opt.Router), ['10.232.0.1', '10.232.0.2']);
    assert.equal(optU32(d, Opt.LeaseTime), 120);
    assert.equal(optU32(d, Opt.RenewalTime), undefined);
    assert.equal(optIP(d, Opt.ServerID), '10.232.0.1');
    assert.equal(d.yiaddr, '10.232.0.57');
  });

  it('a non-contiguous mask has no prefix', () => {
    assert.equal(optPrefix(decodeMessage(reply([[Opt.SubnetMask, [255, 0, 255, 0]]]))), undefined);
    assert.equal(optPrefix(decodeMessage(reply([[Opt.SubnetMask, [255, 255, 255, 255]]]))), 32);
    assert.equal(optPrefix(decodeMessage(reply([[Opt.SubnetMask, [0, 0, 0, 0]]]))), 0);
  });

  it('decodes classless static routes (RFC 3442)', () => {
    // 10.10.0.0/16 via 10.232.0.1, 0.0.0.0/0 via 10.232.0.1, 192.168.5.0/24 on link, 10.1.2.3/32 via 10.232.0.3
    const v = [16, 10, 10, 10, 232, 0, 1, 0, 10, 232, 0, 1, 24, 192, 168, 5, 0, 0, 0, 0, 32, 10, 1, 2, 3, 10, 232, 0, 3];
    assert.deepEqual(classlessRoutes(decodeMessage(reply([[Opt.ClasslessRoutes, v]]))), [
      { dst: '10.10.0.0/16', gw: '10.232.0.1' },
      { dst: '0.0.0.0/0', gw: '10.232.0.1' },
      { dst: '192.168.5.0/24', gw: '0.0.0.0' },
      { dst: '10.1.2.3/32', gw: '10.232.0.3' },
    ]);
    assert.equal(classlessRoutes(decodeMessage(reply([]))), undefined);
    assert.equal(classlessRoutes(decodeMessage(reply([[Opt.ClasslessRoutes, [33, 1, 2, 3, 4, 5]]]))), undefined, 'width > 32');
    assert.equal(classlessRoutes(decodeMessage(reply([[Opt.ClasslessRoutes, [24, 10, 0, 0, 1]]]))), undefined, 'truncated');
  });

  it('decodes static routes (33) with classful masks', () => {
    const v = [10, 1, 0, 0, 10, 232, 0, 1, 172, 16, 0, 0, 10, 232, 0, 2, 192, 168, 7, 0, 10, 232, 0, 3, 224, 0, 0, 0, 10, 232, 0, 4];
    assert.deepEqual(staticRoutes(decodeMessage(reply([[Opt.StaticRoutes, v]]))), [
      { dst: '10.1.0.0/8', gw: '10.232.0.1' },
      { dst: '172.16.0.0/16', gw: '10.232.0.2' },
      { dst: '192.168.7.0/24', gw: '10.232.0.3' },
    ]);
  });
});

describe('dhcp frames', () => {
  const addrs = { srcMAC: MAC, dstMAC: BROADCAST_MAC, srcIP: '0.0.0.0', dstIP: '255.255.255.255', srcPort: 68, dstPort: 67 };

  it('computes the IP header and UDP checksums (both verify to 0)', () => {
    const payload = encodeMessage(newRequest({ xid: 9, mac: MAC, type: MessageType.DISCOVER }));
    const f = buildFrame(addrs, payload, 0x1234);
    assert.equal(f.length, 14 + 20 + 8 + payload.length);
    assert.equal(f.readUInt16BE(12), 0x0800);
    const ip = f.subarray(14, 34);
    assert.equal(inetChecksum(ip), 0);
    const udp = f.subarray(34);
    const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 17]), Buffer.from([udp.length >> 8, udp.length & 0xff])]);
    assert.equal(inetChecksum(Buffer.concat([pseudo, udp])), 0);
  });

  it('an odd-length payload is checksummed with a zero pad byte', () => {
    assert.equal(inetChecksum(Buffer.from([0x01])), ~0x0100 & 0xffff);
    const f = buildFrame(addrs, Buffer.from('abc'));
    const ip = f.subarray(14, 34);
    const udp = f.subarray(34);
    const pseudo = Buffer.concat([ip.subarray(12, 20), Buffer.from([0, 17, 0, udp.length])]);
    assert.equal(inetChecksum(Buffer.concat([pseudo, udp])), 0);
  });

  it('parses what it builds', () => {
    const payload = Buffer.from('hello dhcp');
    const p = parseFrame(buildFrame({ ...addrs, srcIP: '10.232.0.1', dstIP: '10.232.0.57', srcPort: 67, dstPort: 68 }, payload));
    assert.ok(p);
    assert.equal(p.addrs.srcIP, '10.232.0.1');
    assert.equal(p.addrs.dstIP, '10.232.0.57');
    assert.equal(p.addrs.dstPort, 68);
    assert.deepEqual(p.addrs.srcMAC, MAC);
    assert.deepEqual(p.payload, payload);
  });

  it('drops frames that are not whole IPv4/UDP datagrams', () => {
    const good = buildFrame(addrs, Buffer.from('x'));
    const arp = Buffer.from(good);
    arp.writeUInt16BE(0x0806, 12);
    assert.equal(parseFrame(arp), undefined, 'not IPv4');
    const badsum = Buffer.from(good);
    badsum[14 + 8] ^= 1;
    assert.equal(parseFrame(badsum), undefined, 'IP header checksum');
    const frag = Buffer.from(good);
    frag.writeUInt16BE(0x2000, 14 + 6);
    assert.equal(parseFrame(frag), undefined, 'fragment');
    assert.equal(parseFrame(good.subarray(0, 40)), undefined, 'truncated');
    // Ethernet padding after the datagram is ignored
    assert.deepEqual(parseFrame(Buffer.concat([good, Buffer.alloc(10)]))?.payload, Buffer.from('x'));
  });
});
