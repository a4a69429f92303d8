// Sub-interface helpers without a kernel: the IFLA_INFO_DATA each kind sends,
// how a link's info is read back, the MTU rule, and the three plugins' config
// checks (code 7 naming the key).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Attrs, encodeAttrs } from '../../pkg/ip/netlink.js';
import type { Link } from '../../pkg/ip/link.js';
import { ipvlanData, macvlanData, sublinkInfo, validateMTU, vlanData } from '../../pkg/ip/sublink.js';
import { CniError } from '../../pkg/types/error.js';
import { loadMacvlanConf } from '../../plugins/macvlan/conf.js';
import { chainedMaster, loadIpvlanConf, requireAddresses } from '../../plugins/ipvlan/conf.js';
import { loadVlanConf } from '../../plugins/vlan/conf.js';

const asLink = (kind: string, data: ReturnType<typeof vlanData>): Link => ({ index: 5, name: 'x', kind, flags: 0, mtu: 1500, mac: '', operstate: 0, info: new Attrs(encodeAttrs(data)) });
const buf = (s: object) => Buffer.from(JSON.stringify(s));
const code7 = (fn: () => unknown, msg: RegExp) =>
  assert.throws(fn, (e: unknown) => e instanceof CniError && e.code === 7 && msg.test(e.message));

describe('sublink attributes', () => {
  it('macvlan: mode as MACVLAN_MODE_* (u32), bcqueuelen only when set', () => {
    assert.deepEqual(macvlanData('bridge'), [{ type: 1, u32: 4 }]);
    assert.deepEqual(macvlanData('private', 0), [{ type: 1, u32: 1 }]);
    assert.deepEqual(macvlanData('passthru', 100), [{ type: 1, u32: 8 }, { type: 7, u32: 100 }]);
    assert.deepEqual(sublinkInfo(asLink('macvlan', macvlanData('vepa', 42))), { macvlanMode: 'vepa', bcqueuelen: 42 });
  });
  it('ipvlan: mode as IPVLAN_MODE_* (u16); vlan: id (u16)', () => {
    assert.deepEqual(ipvlanData('l3s'), [{ type: 1, u16: 2 }]);
    assert.deepEqual(sublinkInfo(asLink('ipvlan', ipvlanData('l2'))), { ipvlanMode: 'l2' });
    assert.deepEqual(sublinkInfo(asLink('vlan', vlanData(4094))), { vlanId: 4094 });
    assert.deepEqual(sublinkInfo(asLink('veth', [])), {});
  });
  it('MTU must be within [0, master MTU]', () => {
    const master = asLink('veth', []);
    validateMTU(0, master);
    validateMTU(1500, master);
    code7(() => validateMTU(1501, master), /^mtu: invalid MTU 1501, must be \[0, master MTU\(1500\)\]$/);
    code7(() => validateMTU(-1, master), /^mtu: invalid MTU -1/);
  });
});

describe('sublink plugin configs', () => {
  it('macvlan: defaults, "" mode is bridge, MAC precedence mac < CNI_ARGS < args.cni < runtimeConfig', () => {
    const c = loadMacvlanConf(buf({ name: 'n', mode: '' }), '');
    assert.deepEqual([c.master, c.mode, c.mtu, c.linkInContainer, c.bcqueuelen, c.mac], ['', 'bridge', 0, false, 0, undefined]);
    const m = (conf: object, env = '') => loadMacvlanConf(buf({ name: 'n', mac: '02:00:00:00:00:01', ...conf }), env).mac;
    assert.equal(m({}), '02:00:00:00:00:01');
    assert.equal(m({}, 'MAC=02:00:00:00:00:02'), '02:00:00:00:00:02');
    assert.equal(m({ args: { cni: { mac: '02:00:00:00:00:03' } } }, 'MAC=02:00:00:00:00:02'), '02:00:00:00:00:03');
    assert.equal(m({ args: { cni: { mac: '02:00:00:00:00:03' } }, runtimeConfig: { mac: '02:00:00:00:00:04' } }), '02:00:00:00:00:04');
    code7(() => m({ mode: 'source' }), /^mode: "source" must be one of/);
    code7(() => m({ bcqueuelen: 2 ** 32 }), /^bcqueuelen: 4294967296 must be at most 4294967295/);
    assert.throws(() => m({}, 'FOO=1'), (e: unknown) => e instanceof CniError && e.code === 4, 'unknown CNI_ARGS key');
  });
  it('ipvlan: master from a chained prevResult\'s single interface; addresses required from IPAM or prevResult', () => {
    const prevResult = { cniVersion: '1.0.0', interfaces: [{ name: 'eth9' }], ips: [{ address: '10.231.0.2/24' }] };
    const chained = loadIpvlanConf(buf({ cniVersion: '1.0.0', name: 'n', prevResult }));
    assert.equal(chainedMaster(chained), 'eth9');
    requireAddresses(chained);
    assert.equal(chainedMaster(loadIpvlanConf(buf({ cniVersion: '1.0.0', name: 'n', master: 'm0', prevResult }))), 'm0');
    assert.equal(chainedMaster(loadIpvlanConf(buf({ name: 'n' }))), '', 'no prevResult: the default-route interface');
    code7(() => chainedMaster(loadIpvlanConf(buf({ cniVersion: '1.0.0', name: 'n', prevResult: { ...prevResult, interfaces: [] } }))), /^master: not set/);
    code7(() => requireAddresses(loadIpvlanConf(buf({ name: 'n' }))), /^ipam\.type: is required unless chained/);
    assert.equal(loadIpvlanConf(buf({ name: 'n', mode: '' })).mode, 'l2');
  });
  it('vlan: master and ipam required except on DEL; vlanId 0..4094', () => {
    const ok = { name: 'n', master: 'm0', vlanId: 4094, ipam: { type: 'host-local' } };
    assert.equal(loadVlanConf(buf(ok)).vlanId, 4094);
    code7(() => loadVlanConf(buf({ ...ok, vlanId: 4095 })), /^vlanId: 4095 must be at most 4094/);
    code7(() => loadVlanConf(buf({ ...ok, master: '' })), /^master: is required/);
    code7(() => loadVlanConf(buf({ ...ok, ipam: {} })), /^ipam\.type: is required/);
    assert.equal(loadVlanConf(buf({ ...ok, ipam: {} }), true).master, 'm0', 'DEL asks for no IPAM');
  });
});
