// bandwidth's pure parts: the tbf arithmetic (the reference's, to the bit),
// the configuration's precedence and checks, and the tc message encoding.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadBandwidthConf, networkName } from '../../plugins/bandwidth/conf.js';
import { goUint32, tbfParams, tickInUsec } from '../../plugins/bandwidth/tbf.js';
import { ifbName } from '../../plugins/bandwidth/bandwidth.js';
import { tbfOptions } from '../../pkg/ip/tc.js';
import { encodeAttrs } from '../../pkg/ip/netlink.js';
import { CniError } from '../../pkg/types/error.js';

const PSCHED = '000003e8 00000040 000f4240 3b9aca00\n';
const load = (o: object) => loadBandwidthConf(Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'n', ...o })));

describe('tbf arithmetic', () => {
  it('reads /proc/net/psched as Go netlink does', () => {
    assert.equal(tickInUsec(PSCHED), 15.625);
    // a 1 GHz clock_res: t2us is replaced by us2t
    assert.equal(tickInUsec('000003e8 00000040 3b9aca00 3b9aca00'), 1000);
    assert.throws(() => tickInUsec('garbage'));
  });

  it('gives the measured example: 8 Mbit/s, 80 kbit burst → rate 1000000, buffer 156250, limit 35000', () => {
    assert.deepEqual(tbfParams(8_000_000, 80_000, 15.625), { rate: 1_000_000, buffer: 156_250, limit: 35_000 });
  });

  it('truncates µs and ticks as Go does, and wraps in 32 bits with containerd\'s MaxUint32 burst', () => {
    // 536870911 B at 1.25 MB/s = 429496728.8 µs → 429496728 → ×15.625 = 6710886375 ticks → mod 2^32
    assert.deepEqual(tbfParams(10_000_000, 4294967295, 15.625), { rate: 1_250_000, buffer: 6710886375 - 2 ** 32, limit: 31250 + 536870911 });
    assert.equal(goUint32(2 ** 32 + 5.9), 5);
    assert.equal(goUint32(Infinity), 0);
    assert.equal(goUint32(-1), 2 ** 32 - 1);
  });

  it('encodes rates of 2^32 bytes/s and more with TCA_TBF_RATE64', () => {
    const small = encodeAttrs(tbfOptions({ rate: 1000, limit: 1, buffer: 2 }));
    assert.equal(small.length, 4 + 36);
    const big = encodeAttrs(tbfOptions({ rate: 5e9, limit: 1, buffer: 2 }));
    assert.equal(big.length, 4 + 36 + 4 + 8);
    assert.equal(Buffer.from(big).readBigUInt64LE(44), 5_000_000_000n);
    assert.equal(Buffer.from(big).readUInt32LE(4 + 8), 0xffffffff, 'the 32-bit rate saturates');
  });
});

describe('bandwidth configuration', () => {
  it('takes the top level when any limit key is there, else runtimeConfig.bandwidth', () => {
    const rc = { runtimeConfig: { bandwidth: { egressRate: 800, egressBurst: 80 } } };
    assert.deepEqual(load(rc).egress, { rate: 800, burst: 80 });
    assert.equal(load(rc).ingress, undefined);
    assert.equal(load({ ...rc, ingressBurst: null }).egress, undefined);
    assert.deepEqual(load({ ...rc, IngressRate: 1600, ingressburst: 16 }).ingress, { rate: 1600, burst: 16 });
  });

  it('names the removed shapedSubnets/unshapedSubnets keys (ignored, as v1.6.0+ ignores them)', () => {
    assert.deepEqual(load({ unshapedSubnets: ['10.0.0.0/8'], ShapedSubnets: [] }).removedKeys, ['unshapedSubnets', 'ShapedSubnets']);
    assert.deepEqual(load({}).removedKeys, []);
  });

  const bad: Array<[object, string]> = [
    [{ ingressRate: 8 }, 'ingressBurst: if rate is set, burst must also be set'],
    [{ egressBurst: 8 }, 'egressRate: if burst is set, rate must also be set'],
    [{ egressRate: 8, egressBurst: 8 * 0xffffffff }, 'egressBurst: burst cannot be more than 4GB'],
    [{ ingressRate: 7, ingressBurst: 8 }, 'ingressRate: 7 is below 8 bits per second'],
    [{ ingressRate: 2 ** 60, ingressBurst: 8 }, `ingressRate: ${2 ** 60} is too large`],
    [{ runtimeConfig: { bandwidth: { egressBurst: 8 } } }, 'runtimeConfig.bandwidth.egressRate: if burst is set, rate must also be set'],
  ];
  for (const [conf, msg] of bad) {
    it(`refuses ${JSON.stringify(conf)} with code 7: ${msg}`, () => {
      assert.throws(() => load(conf), (e: unknown) => e instanceof CniError && e.code === 7 && e.message === msg);
    });
  }

  it('DEL needs the network name only, matched as Go matches keys', () => {
    assert.equal(networkName(Buffer.from('{"NAME":"a","ingressRate":-1}')), 'a');
    assert.equal(ifbName('rfnet', 'rfcid1'), 'bwp97d7c9967165', 'the measured reference name');
  });
});
