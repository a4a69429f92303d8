// tap without a kernel: the TUNSETIFF flags each configuration gets (the
// reference's two creation paths), MAC precedence, ranges checked by ADD only.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { IFF_MULTI_QUEUE, IFF_NO_PI, IFF_VNET_HDR } from '../../pkg/ip/tuntap.js';
import { CniError } from '../../pkg/types/error.js';
import { loadTapConf } from '../../plugins/tap/conf.js';
import { tapFlags } from '../../plugins/tap/tap.js';

const buf = (o: object) => Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'tap', ...o }));
const code = (fn: () => unknown, c: number, msg: RegExp) => assert.throws(fn, (e: unknown) => e instanceof CniError && e.code === c && msg.test(e.message));

describe('tap configuration', () => {
  it('flags: the ip-tool path (an id unset, or an SELinux context) has NO_PI; the netlink path (both ids) VNET_HDR', () => {
    const f = (o: object) => tapFlags({ multiQueue: false, selinuxContext: '', ...o });
    assert.equal(f({}), IFF_NO_PI);
    assert.equal(f({ owner: 0 }), IFF_NO_PI);
    assert.equal(f({ multiQueue: true, group: 5 }), IFF_NO_PI | IFF_MULTI_QUEUE);
    assert.equal(f({ owner: 0, group: 0 }), IFF_VNET_HDR);
    assert.equal(f({ owner: 1, group: 2, multiQueue: true }), IFF_VNET_HDR | IFF_MULTI_QUEUE | IFF_NO_PI);
    assert.equal(f({ owner: 1, group: 2, selinuxContext: 'x' }), IFF_NO_PI);
  });
  it('MAC: runtimeConfig.mac > CNI_ARGS MAC > mac, normalised; the key it came from is kept for errors', () => {
    assert.deepEqual([loadTapConf(buf({ mac: '02-00-00-00-00-0A' }), '').mac, loadTapConf(buf({ mac: '02-00-00-00-00-0A' }), '').macKey], ['02:00:00:00:00:0a', 'mac']);
    const env = loadTapConf(buf({ mac: '02:00:00:00:00:01' }), 'IgnoreUnknown=1;MAC=02:00:00:00:00:02');
    assert.deepEqual([env.mac, env.macKey], ['02:00:00:00:00:02', 'CNI_ARGS.MAC']);
    const rc = loadTapConf(buf({ runtimeConfig: { mac: '02:00:00:00:00:03' } }), 'MAC=02:00:00:00:00:02');
    assert.deepEqual([rc.mac, rc.macKey], ['02:00:00:00:00:03', 'runtimeConfig.mac']);
    code(() => loadTapConf(buf({}), 'MAC=xx'), 7, /^CNI_ARGS\.MAC: "xx" is not a MAC address$/);
    code(() => loadTapConf(buf({}), 'K8S_POD_NAME=a'), 4, /unknown args/);
  });
  it('owner/group: null is unset, 0 is root; ranges and mtu < 0 are refused by ADD, not by DEL', () => {
    const c = loadTapConf(buf({ owner: null, group: 0, selinuxcontext: 'ctx' }), '');
    assert.deepEqual([c.owner, c.group, c.selinuxContext], [undefined, 0, 'ctx']);
    code(() => loadTapConf(buf({ owner: -1 }), ''), 7, /^owner: -1 is not a valid uid/);
    code(() => loadTapConf(buf({ group: 2 ** 32 }), ''), 7, /^group: 4294967296 is not a valid gid/);
    code(() => loadTapConf(buf({ mtu: -1 }), ''), 7, /^mtu: -1 must be at least 0$/);
    assert.equal(loadTapConf(buf({ mtu: -1, owner: -1 }), 'junk', true).mtu, -1);
    code(() => loadTapConf(buf({ multiQueue: 'yes' }), ''), 7, /^multiQueue: "yes" must be a boolean$/);
    // DEL drops a value of the wrong type instead of refusing (DEL never blocks teardown)
    assert.notEqual(loadTapConf(buf({ multiQueue: 'yes', bridge: {} }), '', true).multiQueue, 'yes');
  });
});
