// pkg/ipam/hostlocal/config: range sets, their order and every validation error
// with its JSON path (code 7), requested addresses from their three sources.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatIP } from '../../pkg/ipaddr/index.js';
import { loadHostLocalConf, rangeSetString } from '../../pkg/ipam/hostlocal/index.js';
import { CniError, ErrCode } from '../../pkg/types/error.js';

const load = (conf: object, cniArgs = '') => loadHostLocalConf(JSON.stringify({ cniVersion: '1.0.0', name: 'n', ...conf }), cniArgs);
const ipam = (x: object) => ({ ipam: { type: 'host-local', ...x } });

function rejects(conf: object, msg: string, code: number = ErrCode.InvalidNetworkConfig, cniArgs = ''): void {
  assert.throws(
    () => load(conf, cniArgs),
    (e: unknown) => {
      assert.ok(e instanceof CniError, String(e));
      assert.equal(e.message, msg);
      assert.equal(e.code, code);
      return true;
    },
  );
}

describe('host-local config', () => {
  it('defaults: start = network+1, end = broadcast-1 (IPv4) or last (IPv6), gateway = network+1', () => {
    const c = load(ipam({ ranges: [[{ subnet: '10.210.0.0/24' }], [{ subnet: 'fd00:210::/64' }]] }));
    assert.equal(rangeSetString(c.ranges[0]), '10.210.0.1-10.210.0.254');
    assert.equal(rangeSetString(c.ranges[1]), 'fd00:210::1-fd00:210::ffff:ffff:ffff:ffff');
    assert.equal(c.ranges[0][0].gateway, (10n << 24n) + (210n << 16n) + 1n);
    assert.equal(c.dataDir, '/var/lib/cni/networks');
  });

  it('orders range sets runtimeConfig.ipRanges, legacy shorthand, ranges', () => {
    const c = load({
      ...ipam({ subnet: '10.210.1.0/24', rangeStart: '10.210.1.10', rangeEnd: '10.210.1.20', gateway: '10.210.1.254', ranges: [[{ subnet: '10.210.2.0/24' }]] }),
      runtimeConfig: { ipRanges: [[{ subnet: '10.210.3.0/24' }]] },
    });
    assert.deepEqual(c.ranges.map(rangeSetString), ['10.210.3.1-10.210.3.254', '10.210.1.10-10.210.1.20', '10.210.2.1-10.210.2.254']);
    assert.equal(c.ranges[1][0].gateway, (10n << 24n) + (210n << 16n) + (1n << 8n) + 254n);
  });

  it('folds key case as Go does', () => {
    const c = load({ IPAM: { Type: 'host-local', Ranges: [[{ Subnet: '10.210.0.0/24', RangeStart: '10.210.0.100' }]], DataDir: '/tmp/x' } });
    assert.equal(rangeSetString(c.ranges[0]), '10.210.0.100-10.210.0.254');
    assert.equal(c.dataDir, '/tmp/x');
  });

  const bad: Array<[string, object, string]> = [
    ['missing ipam', {}, "ipam: IPAM config missing 'ipam' key"],
    ['no ranges', ipam({}), 'ipam.ranges: no IP ranges specified'],
    ['not a CIDR', ipam({ ranges: [[{ subnet: '10.0.300.0/24' }]] }), 'ipam.ranges[0][0].subnet: "10.0.300.0/24" is not a CIDR'],
    ['legacy not a CIDR', ipam({ subnet: '10.210.0.0' }), 'ipam.subnet: "10.210.0.0" is not a CIDR'],
    ['host bits', ipam({ ranges: [[{ subnet: '10.210.0.5/24' }]] }), 'ipam.ranges[0][0].subnet: network 10.210.0.5/24 has host bits set (the network address is 10.210.0.0/24)'],
    ['legacy host bits', ipam({ subnet: '10.210.0.5/24' }), 'ipam.subnet: network 10.210.0.5/24 has host bits set (the network address is 10.210.0.0/24)'],
    ['IPv4 /31', ipam({ ranges: [[{ subnet: '10.210.0.0/31' }]] }), 'ipam.ranges[0][0].subnet: network 10.210.0.0/31 is too small to allocate from'],
    ['IPv6 /127', ipam({ ranges: [[{ subnet: 'fd00:210::/127' }]] }), 'ipam.ranges[0][0].subnet: network fd00:210::/127 is too small to allocate from'],
    ['rangeStart outside', ipam({ ranges: [[{ subnet: '10.210.0.0/24', rangeStart: '10.210.1.5' }]] }), 'ipam.ranges[0][0].rangeStart: 10.210.1.5 is not in network 10.210.0.0/24'],
    ['rangeEnd family', ipam({ ranges: [[{ subnet: '10.210.0.0/24', rangeEnd: 'fd00::1' }]] }), 'ipam.ranges[0][0].rangeEnd: fd00::1 is not an IPv4 address like its subnet 10.210.0.0/24'],
    ['end before start', ipam({ ranges: [[{ subnet: '10.210.0.0/24', rangeStart: '10.210.0.50', rangeEnd: '10.210.0.40' }]] }), 'ipam.ranges[0][0].rangeEnd: 10.210.0.40 is before rangeStart 10.210.0.50'],
    ['bad gateway', ipam({ ranges: [[{ subnet: '10.210.0.0/24', gateway: 'nope' }]] }), 'ipam.ranges[0][0].gateway: "nope" is not an IP address'],
    ['empty set', ipam({ ranges: [[{ subnet: '10.210.0.0/24' }], []] }), 'ipam.ranges[1]: empty range set'],
    ['mixed families', ipam({ ranges: [[{ subnet: '10.210.0.0/24' }, { subnet: 'fd00:210::/64' }]] }), 'ipam.ranges[0][1].subnet: mixed address families in one range set (fd00:210::/64 and 10.210.0.0/24)'],
    ['overlap within a set', ipam({ ranges: [[{ subnet: '10.210.0.0/24' }, { subnet: '10.210.0.0/25' }]] }), 'ipam.ranges[0][1]: range 10.210.0.1-10.210.0.126 overlaps with range 10.210.0.1-10.210.0.254 of the same set'],
    ['overlapping sets', ipam({ ranges: [[{ subnet: '10.210.0.0/24' }], [{ subnet: '10.210.0.128/25' }]] }), 'ipam.ranges[1]: range set overlaps with ipam.ranges[0]'],
    ['runtime set overlapping config', { ...ipam({ ranges: [[{ subnet: '10.210.0.0/24' }]] }), runtimeConfig: { ipRanges: [[{ subnet: '10.210.0.0/16' }]] } }, 'ipam.ranges[0]: range set overlaps with runtimeConfig.ipRanges[0]'],
    ['runtime bad subnet', { ...ipam({}), runtimeConfig: { ipRanges: [[{ subnet: 'x' }]] } }, 'runtimeConfig.ipRanges[0][0].subnet: "x" is not a CIDR'],
    ['subnet not a string', ipam({ ranges: [[{ subnet: 24 }]] }), 'ipam.ranges[0][0].subnet: 24 must be a string'],
    ['bad route', ipam({ subnet: '10.210.0.0/24', routes: [{ dst: '0.0.0.0' }] }), 'ipam.routes[0].dst: "0.0.0.0" is not a CIDR'],
    ['bad args.cni.ips', { ...ipam({ subnet: '10.210.0.0/24' }), args: { cni: { ips: ['10.210.0.300'] } } }, 'args.cni.ips[0]: "10.210.0.300" is not an IP address'],
    ['bad runtimeConfig.ips', { ...ipam({ subnet: '10.210.0.0/24' }), runtimeConfig: { ips: ['nope/24'] } }, 'runtimeConfig.ips[0]: "nope/24" is not an IP address'],
  ];
  for (const [what, conf, msg] of bad) it(`rejects ${what} with code 7 naming the path`, () => rejects(conf, msg));

  it('two range sets of one family need cniVersion 0.3.0 or later; one per family is fine', () => {
    const two = { cniVersion: '0.2.0', ...ipam({ ranges: [[{ subnet: '10.210.0.0/24' }], [{ subnet: '10.210.1.0/24' }]] }) };
    rejects(two, 'ipam.ranges: CNI version 0.2.0 does not support more than 1 address per family');
    assert.equal(load({ ...two, cniVersion: '0.3.0' }).ranges.length, 2);
    assert.equal(load({ cniVersion: '0.1.0', ...ipam({ ranges: [[{ subnet: '10.210.0.0/24' }], [{ subnet: 'fd00:210::/64' }]] }) }).ranges.length, 2);
  });

  it('requested addresses: args.cni.ips and runtimeConfig.ips (prefix ignored); CNI_ARGS IP only without args.cni.ips', () => {
    const base = ipam({ subnet: '10.210.0.0/24' });
    const c = load({ ...base, args: { cni: { ips: ['10.210.0.5'] } }, runtimeConfig: { ips: ['10.210.0.6/24', '10.210.0.5'] } }, 'IP=10.210.0.7');
    assert.deepEqual(c.requested.map(formatIP), ['10.210.0.5', '10.210.0.6']);
    assert.deepEqual(load(base, 'IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.210.0.7').requested.map(formatIP), ['10.210.0.7']);
    rejects(base, 'CNI_ARGS: unknown args ["K8S_POD_NAME=x"]', ErrCode.InvalidEnvironmentVariables, 'K8S_POD_NAME=x');
    rejects(base, 'CNI_ARGS IP: "10.210.0" is not an IP address', ErrCode.InvalidEnvironmentVariables, 'IP=10.210.0');
  });
});
