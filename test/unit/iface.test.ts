// pkg/types/iface: which interface of a (prev)result is the container's, and
// which IPs belong to it, by each plugin's rule (sandbox CNI_NETNS, any, or ignored).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CniError, ErrCode } from '../../pkg/types/error.js';
import { containerIPs, isContainerIface, requireContainerIface } from '../../pkg/types/iface.js';
import type { Result } from '../../pkg/types/result.js';

const NETNS = '/run/netns/cnits-a';

/** A bridge result with a host interface that shares CNI_IFNAME's name, and IPs of every kind of index. */
const PREV: Result = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'cni0', mac: '0a:58:0a:fa:00:01' },
    { name: 'eth0', mac: '0a:58:0a:fa:00:02' },
    { name: 'eth0', mac: '0a:58:0a:fa:00:03', sandbox: '/run/netns/cnits-other' },
    { name: 'eth0', mac: '0a:58:0a:fa:00:04', sandbox: NETNS },
  ],
  ips: [
    { interface: 0, address: '10.250.0.1/24' },
    { interface: 1, address: '10.250.1.2/24' },
    { interface: 2, address: '10.250.2.2/24' },
    { interface: 3, address: '10.250.3.2/24' },
    { address: '10.250.4.2/24' },
    { interface: 9, address: '10.250.5.2/24' },
    { interface: -1, address: '10.250.6.2/24' },
  ],
};

const addresses = (ips: { address: string }[]) => ips.map((c) => c.address);

describe('isContainerIface', () => {
  it('matches the name, then the sandbox by the rule asked for', () => {
    const [cni0, host, other, ctr] = PREV.interfaces!;
    assert.equal(isContainerIface(cni0, { ifName: 'eth0', sandbox: false }), false);
    assert.deepEqual([host, other, ctr].map((i) => isContainerIface(i, { ifName: 'eth0', sandbox: false })), [true, true, true]);
    assert.deepEqual([host, other, ctr].map((i) => isContainerIface(i, { ifName: 'eth0', sandbox: true })), [false, true, true]);
    assert.deepEqual([host, other, ctr].map((i) => isContainerIface(i, { ifName: 'eth0', sandbox: NETNS })), [false, false, true]);
  });
});

describe('requireContainerIface', () => {
  it('finds CNI_IFNAME in the sandbox CNI_NETNS, with the IPs that name exactly it', () => {
    const ctr = requireContainerIface(PREV, { ifName: 'eth0', netns: NETNS });
    assert.equal(ctr.index, 3);
    assert.equal(ctr.iface.mac, '0a:58:0a:fa:00:04');
    assert.deepEqual(addresses(ctr.ips), ['10.250.3.2/24']);
  });

  it('a matching name in another sandbox or in none is not it: code 999 naming both', () => {
    for (const [prev, netns] of [
      [PREV, '/run/netns/cnits-b'],
      [{ ...PREV, interfaces: PREV.interfaces!.slice(0, 2) }, NETNS],
      [{ cniVersion: '1.1.0' }, NETNS],
    ] as const) {
      assert.throws(
        () => requireContainerIface(prev, { ifName: 'eth0', netns }),
        (e: unknown) => e instanceof CniError && e.code === ErrCode.Internal && e.message === `prevResult has no interface "eth0" in sandbox "${netns}"`,
      );
    }
  });

  it('a result without IPs gives none', () => {
    const ctr = requireContainerIface({ cniVersion: '1.1.0', interfaces: [{ name: 'net1', sandbox: NETNS }] }, { ifName: 'net1', netns: NETNS });
    assert.deepEqual([ctr.index, ctr.ips], [0, []]);
  });
});

describe('containerIPs', () => {
  it('keeps IPs naming a matching interface, naming none, or out of range (the reference tolerates those)', () => {
    const lenient = ['10.250.4.2/24', '10.250.5.2/24', '10.250.6.2/24'];
    // sbr: by name only
    assert.deepEqual(addresses(containerIPs(PREV, { ifName: 'eth0', sandbox: false })), ['10.250.1.2/24', '10.250.2.2/24', '10.250.3.2/24', ...lenient]);
    // portmap: by name, in some sandbox
    assert.deepEqual(addresses(containerIPs(PREV, { ifName: 'eth0', sandbox: true })), ['10.250.2.2/24', '10.250.3.2/24', ...lenient]);
    assert.deepEqual(addresses(containerIPs(PREV, { ifName: 'eth0', sandbox: NETNS })), ['10.250.3.2/24', ...lenient]);
    assert.deepEqual(addresses(containerIPs(PREV, { ifName: 'net1', sandbox: false })), lenient);
  });

  it('a result without interfaces: every IP is the container\'s', () => {
    assert.deepEqual(addresses(containerIPs({ cniVersion: '1.1.0', ips: PREV.ips }, { ifName: 'eth0', sandbox: true })), addresses(PREV.ips!));
    assert.deepEqual(containerIPs({ cniVersion: '1.1.0' }, { ifName: 'eth0', sandbox: true }), []);
  });
});
