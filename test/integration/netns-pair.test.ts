// The test helper most integration suites stand on (test/helpers/netns-pair.ts):
// where each veth end lands, with which MAC, MTU, addresses and up state; that
// cleanup() and a set-up failing half-way leave no netns; and that the per-test
// handles follow the running test.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { after, describe, it } from 'node:test';
import { ipJSON, isRoot, uniq } from '../helpers/index.js';
import { createNetnsPair, netnsPairPerTest } from '../helpers/netns-pair.js';

const skip = !isRoot && 'needs root';
/** Netns whose names start with `cnits-<tag>`. */
const netnsTagged = (tag: string) => fs.readdirSync('/var/run/netns').filter((n) => n.startsWith(`cnits-${tag}`));
const state = (l: any) => ({ kind: l.linkinfo?.info_kind, mtu: l.mtu, mac: l.address, up: l.flags.includes('UP') });

describe('netns pair helper', { skip }, () => {
  it('veths: each end in its netns, MAC and MTU on the named end, addresses (IPv6 without DAD), up unless said; cleanup removes the netns', () => {
    const tag = `np${uniq()}`;
    const pair = createNetnsPair({
      tag,
      ctr2: true,
      veths: [
        { name: 'cnp0', peer: 'cnp1', mtu: 1400, addrs: ['10.209.1.1/24'] },
        { name: 'eth0', in: 'ctr', peer: 'cnp2', peerIn: 'host', mac: '02:09:00:00:00:01', addrs: ['10.209.2.2/24', 'fd00:209::2/64'], peerAddrs: ['10.209.2.1/24'], peerUp: false },
      ],
      setup: ({ host }) => host.ip('route', 'add', '10.209.9.0/24', 'via', '10.209.1.2'),
    });
    try {
      assert.match(pair.host.name, new RegExp(`^cnits-${tag}h-`));
      assert.match(pair.ctr.name, new RegExp(`^cnits-${tag}c-`));
      assert.match(pair.ctr2.name, new RegExp(`^cnits-${tag}c-`));
      assert.notEqual(pair.ctr2.name, pair.ctr.name);
      const hostLinks = Object.fromEntries(ipJSON(pair.host, '-d', 'link', 'show').map((l) => [l.ifname, state(l)]));
      assert.deepEqual(Object.keys(hostLinks).sort(), ['cnp0', 'cnp1', 'cnp2', 'lo']);
      assert.deepEqual([hostLinks.cnp0.kind, hostLinks.cnp0.mtu, hostLinks.cnp0.up], ['veth', 1400, true]);
      assert.deepEqual([hostLinks.cnp1.mtu, hostLinks.cnp1.up], [1500, true], 'the MTU is the named end\'s only');
      assert.equal(hostLinks.cnp2.up, false, 'peerUp: false');
      const eth0 = state(ipJSON(pair.ctr, '-d', 'link', 'show', 'eth0')[0]);
      assert.deepEqual(eth0, { kind: 'veth', mtu: 1500, mac: '02:09:00:00:00:01', up: true });
      assert.deepEqual(ipJSON(pair.ctr2, 'link', 'show').map((l) => l.ifname), ['lo']);
      const addrs = (ns: typeof pair.host, dev: string) => ipJSON(ns, 'addr', 'show', 'dev', dev)[0].addr_info.filter((a: any) => a.scope === 'global');
      assert.deepEqual(addrs(pair.host, 'cnp0').map((a: any) => `${a.local}/${a.prefixlen}`), ['10.209.1.1/24']);
      assert.deepEqual(addrs(pair.host, 'cnp2').map((a: any) => `${a.local}/${a.prefixlen}`), ['10.209.2.1/24']);
      const v6 = addrs(pair.ctr, 'eth0').find((a: any) => a.family === 'inet6');
      assert.equal(`${v6.local}/${v6.prefixlen}`, 'fd00:209::2/64');
      assert.ok(!v6.tentative && v6.nodad, 'nodad: usable at once');
      assert.ok(ipJSON(pair.host, 'route', 'show').some((r) => r.dst === '10.209.9.0/24'), 'setup ran after the veths');
      pair.addVeth({ name: 'cnp3', in: 'ctr', peer: 'cnp4', up: false, peerUp: false });
      assert.deepEqual(ipJSON(pair.ctr, 'link', 'show').filter((l) => l.ifname.startsWith('cnp')).map((l) => [l.ifname, l.flags.includes('UP')]).sort(), [['cnp3', false], ['cnp4', false]]);
    } finally {
      pair.cleanup();
    }
    assert.deepEqual(netnsTagged(tag), []);
  });

  it('a set-up that fails half-way removes every netns it made and throws; ctr2 not asked for throws when used', () => {
    const tag = `np${uniq()}`;
    assert.throws(() => createNetnsPair({ tag, ctr2: true, veths: [{ name: 'cnp0', peer: 'cnp1' }, { name: 'cnp0', peer: 'cnp2' }] }), /File exists/);
    assert.deepEqual(netnsTagged(tag), []);
    assert.throws(
      () =>
        createNetnsPair({
          tag,
          setup: () => {
            throw new Error('boom');
          },
        }),
      /^Error: boom$/,
    );
    assert.deepEqual(netnsTagged(tag), []);
    const pair = createNetnsPair({ tag });
    try {
      assert.throws(() => pair.ctr2.path, /ctr2 was not asked for/);
      assert.deepEqual(netnsTagged(tag).length, 2);
    } finally {
      pair.cleanup();
    }
    assert.deepEqual(netnsTagged(tag), []);
  });

  describe('per test', () => {
    const tag = `np${uniq()}`;
    let n = 0;
    const { host, ctr } = netnsPairPerTest(() => ({ tag, veths: [{ name: 'cnp0', peer: 'cnp1', peerIn: 'ctr', addrs: [`10.209.${++n}.1/24`] }] }));
    const seen: string[] = [];
    after(() => assert.deepEqual(netnsTagged(tag), [], 'the last test\'s pair is gone too'));
    for (const i of [1, 2]) {
      it(`test ${i}: the handles are this test's netns, the previous test's are gone`, () => {
        assert.equal(n, i, 'the options function ran once before each test');
        assert.ok(fs.existsSync(host.path) && fs.existsSync(ctr.path));
        assert.deepEqual(ipJSON(host, 'addr', 'show', 'dev', 'cnp0')[0].addr_info.filter((a: any) => a.family === 'inet').map((a: any) => a.local), [`10.209.${i}.1`]);
        assert.ok(ipJSON(ctr, 'link', 'show', 'cnp1').length);
        for (const old of seen) assert.equal(fs.existsSync(`/var/run/netns/${old}`), false, old);
        seen.push(host.name, ctr.name);
        assert.deepEqual(netnsTagged(tag).sort(), [host.name, ctr.name].sort());
      });
    }
  });
});
