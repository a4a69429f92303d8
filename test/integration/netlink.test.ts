// pkg/ip and pkg/ns straight against the kernel, inside throw-away namespaces:
// every operation is checked against what `ip -j` / `bridge -j` report.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseCIDR, parseIP, type IP, type IPNet } from '../../pkg/ipaddr/index.js';
import {
  bridgePortGet,
  bridgePortSet,
  bridgeVlanAdd,
  bridgeVlanDel,
  bridgeVlanList,
  IFF_PROMISC,
  IFF_UP,
  isUp,
  LinkData,
  linkAdd,
  linkByIndex,
  linkByName,
  linkDel,
  linkDelByName,
  linkList,
  linkSet,
} from '../../pkg/ip/link.js';
import { NetlinkError, Rtnl } from '../../pkg/ip/netlink.js';
import { withNetnsNl, type NetnsHandles } from '../../pkg/ip/netns.js';
import { routeAdd, routeDel, routeList, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE } from '../../pkg/ip/route.js';
import { addrAdd, addrDel, addrList, IFA_F_NODAD, IFA_F_PERMANENT } from '../../pkg/ip/addr.js';
import { NetNS, NetNSNotFoundError, NotNetNSError, readSysctl, withNetns, writeSysctl } from '../../pkg/ns/index.js';
import { createNetns, ipJSON, isRoot, ROOT, type TestNetns } from '../helpers/index.js';

// The addon as `make build` leaves it; must be set before the first native() call.
process.env.CNI_TS_NATIVE ??= path.join(ROOT, 'build', 'cninative.node');

const skip = (!isRoot && 'needs root') || (!fs.existsSync(process.env.CNI_TS_NATIVE) && 'run make build first');

const cidr = (s: string): IPNet => parseCIDR(s)!;
const ipOf = (s: string): IP => parseIP(s)!;

function netlinkCode(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof NetlinkError, `not a NetlinkError: ${e}`);
    return e.code;
  }
  assert.fail('did not throw');
}

function threadNetnsIno(): number {
  return fs.statSync('/proc/thread-self/ns/net').ino;
}

describe('pkg/ip and pkg/ns in throw-away namespaces', { skip }, () => {
  let a: TestNetns;
  let b: TestNetns;
  let nsA: NetNS;
  let nsB: NetNS;
  let nl: Rtnl;

  before(() => {
    a = createNetns('nl-a');
    b = createNetns('nl-b');
    nsA = NetNS.open(a.path);
    nsB = NetNS.open(b.path);
    nl = new Rtnl(nsA);
  });
  after(() => {
    nl?.close();
    nsA?.close();
    nsB?.close();
    a?.remove();
    b?.remove();
  });

  const link = (ns: TestNetns, name: string, detail = false) => ipJSON(ns, ...(detail ? ['-d'] : []), 'link', 'show', 'dev', name)[0];

  describe('sockets and namespaces', () => {
    it('a socket talks to the namespace it was created in', () => {
      assert.deepEqual(linkList(nl).map((l) => l.name), ['lo']);
      ipJSON(b, 'link', 'show'); // B exists and is separate
      a.ip('link', 'add', 'h5only-a', 'type', 'veth', 'peer', 'name', 'h5only-a1');
      const nlB = new Rtnl(nsB);
      try {
        assert.deepEqual(linkList(nlB).map((l) => l.name), ['lo']);
        assert.deepEqual(
          linkList(nl).map((l) => l.name).sort(),
          ipJSON(a, 'link', 'show').map((l) => l.ifname).sort(),
        );
      } finally {
        nlB.close();
        a.ip('link', 'del', 'h5only-a');
      }
    });

    it('NetNS.run runs a synchronous function inside and returns to where it was', () => {
      const home = threadNetnsIno();
      const inside = nsA.run(() => threadNetnsIno());
      assert.equal(inside, fs.statSync(a.path).ino);
      assert.notEqual(inside, home);
      assert.equal(threadNetnsIno(), home);
    });

    it('NetNS.run refuses an async function and still returns to where it was', () => {
      const home = threadNetnsIno();
      assert.throws(() => nsA.run(async () => 1), /NetNS\.run takes a synchronous function/);
      assert.throws(() => nsA.run(() => Promise.resolve(1)), /synchronous/);
      assert.equal(threadNetnsIno(), home);
      assert.throws(() => nsA.run(() => {
        throw new Error('inner');
      }), /inner/);
      assert.equal(threadNetnsIno(), home, 'a throwing function does not strand the thread');
    });

    it('NetNS.open tells a missing path from a path that is not a namespace', () => {
      assert.throws(() => NetNS.open('/var/run/netns/cnits-does-not-exist'), NetNSNotFoundError);
      assert.throws(() => NetNS.open('/etc/hostname'), NotNetNSError);
      const again = NetNS.open(a.path);
      try {
        assert.ok(again.sameAs(nsA));
        assert.ok(!again.sameAs(nsB));
      } finally {
        again.close();
      }
      assert.throws(() => again.fd, /closed/);
    });

    it('withNetns hands over the container and the caller namespace and closes both', async () => {
      let fds: number[] = [];
      const ino = await withNetns(b.path, (container, host) => {
        fds = [container.fd, host.fd];
        assert.equal(fs.statSync('/proc/thread-self/ns/net').ino, fs.fstatSync(host.fd).ino);
        return container.run(() => threadNetnsIno());
      });
      assert.equal(ino, fs.statSync(b.path).ino);
      for (const fd of fds) assert.throws(() => fs.fstatSync(fd), /EBADF/);
    });

    it('withNetnsNl: a socket per namespace, opened when first read, closed on return; a bad path fails before fn', async () => {
      const sockets = () =>
        fs.readdirSync('/proc/self/fd').filter((fd) => {
          try {
            return fs.readlinkSync(`/proc/self/fd/${fd}`).startsWith('socket:');
          } catch {
            return false;
          }
        }).length;
      const own = new Rtnl();
      const hostLinks = linkList(own).map((l) => l.name);
      own.close();
      const start = sockets();
      let kept: NetnsHandles | undefined;
      await withNetnsNl(b.path, (ns) => {
        kept = ns;
        assert.equal(sockets(), start, 'no socket before one is read');
        assert.deepEqual(linkList(ns.cnl).map((l) => l.name), ipJSON(b, 'link', 'show').map((l) => l.ifname));
        assert.equal(sockets(), start + 1);
        assert.equal(ns.cnl, ns.cnl, 'one socket, opened once');
        assert.deepEqual(linkList(ns.hnl).map((l) => l.name), hostLinks);
        assert.equal(sockets(), start + 2);
      });
      assert.equal(sockets(), start, 'both closed on return');
      await withNetnsNl(b.path, (ns) => (kept = ns));
      assert.throws(() => kept!.hnl, /asked for after withNetnsNl returned/);
      assert.equal(sockets(), start);
      let called = false;
      await assert.rejects(
        withNetnsNl('/var/run/netns/cnits-does-not-exist', () => (called = true)),
        NetNSNotFoundError,
      );
      assert.ok(!called);
    });

    it('writeSysctl inside a namespace changes only that namespace', () => {
      const key = 'net/ipv4/conf/all/forwarding';
      const host = readSysctl(undefined, key);
      assert.equal(readSysctl(nsA, key), '0');
      writeSysctl(nsA, key, '1');
      assert.equal(readSysctl(nsA, key), '1');
      assert.equal(a.exec('sysctl', '-n', 'net.ipv4.conf.all.forwarding').trim(), '1');
      assert.equal(b.exec('sysctl', '-n', 'net.ipv4.conf.all.forwarding').trim(), '0');
      assert.equal(readSysctl(nsB, key), '0');
      assert.equal(readSysctl(undefined, key), host, "the test process's own namespace is untouched");
      writeSysctl(nsA, key, '0');
      assert.equal(a.exec('sysctl', '-n', 'net.ipv4.conf.all.forwarding').trim(), '0');
    });
  });

  describe('links', () => {
    it('creates a veth whose peer is born in another namespace', () => {
      linkAdd(nl, { name: 'h5veth0', kind: 'veth', mtu: 1400, mac: '0a:58:0a:fa:00:01', peer: { name: 'eth0', mtu: 1400, mac: '0a:58:0a:fa:00:02', nsFd: nsB.fd } });
      try {
        const host = link(a, 'h5veth0', true);
        const peer = link(b, 'eth0', true);
        assert.equal(host.mtu, 1400);
        assert.equal(host.address, '0a:58:0a:fa:00:01');
        assert.equal(host.linkinfo.info_kind, 'veth');
        assert.equal(peer.mtu, 1400);
        assert.equal(peer.address, '0a:58:0a:fa:00:02');
        assert.equal(peer.linkinfo.info_kind, 'veth');
        assert.equal(ipJSON(a, 'link', 'show').some((l) => l.ifname === 'eth0'), false, 'the peer never appeared in A');

        const l = linkByName(nl, 'h5veth0')!;
        assert.equal(l.index, host.ifindex);
        assert.equal(l.kind, 'veth');
        assert.equal(l.mtu, 1400);
        assert.equal(l.mac, '0a:58:0a:fa:00:01');
        assert.equal(l.parentIndex, peer.ifindex, "IFLA_LINK is the peer's index in its namespace");
        assert.equal(typeof l.linkNetnsId, 'number');
        assert.equal(l.linkNetnsId, host.link_netnsid);
        assert.deepEqual(linkByIndex(nl, l.index), l);
        assert.ok(!isUp(l));
      } finally {
        linkDelByName(nl, 'h5veth0');
      }
      assert.deepEqual(ipJSON(b, 'link', 'show').map((x) => x.ifname), ['lo'], 'deleting one end removes the peer');
    });

    it('changes state, MTU, MAC, promisc, allmulti, txqlen and name', () => {
      linkAdd(nl, { name: 'h5chg0', kind: 'veth', peer: { name: 'h5chg1' } });
      let index = -1;
      try {
        index = linkByName(nl, 'h5chg0')!.index;
        linkSet(nl, index, { up: true, mtu: 1300, mac: '0a:58:0a:fa:00:aa', promisc: true, allmulti: true, txqlen: 500 });
        let ip = link(a, 'h5chg0', true);
        assert.ok(ip.flags.includes('UP'));
        assert.ok(ip.flags.includes('PROMISC'));
        assert.ok(ip.flags.includes('ALLMULTI'));
        assert.equal(ip.mtu, 1300);
        assert.equal(ip.address, '0a:58:0a:fa:00:aa');
        assert.equal(ip.txqlen, 500);
        assert.equal(ip.promiscuity, 1);
        const l = linkByIndex(nl, index)!;
        assert.ok(isUp(l));
        assert.ok(l.flags & IFF_UP && l.flags & IFF_PROMISC);
        assert.equal(l.promiscuity, 1);
        assert.equal(l.txqlen, 500);

        linkSet(nl, index, { promisc: false });
        ip = link(a, 'h5chg0');
        assert.ok(!ip.flags.includes('PROMISC'));
        assert.ok(ip.flags.includes('UP'), 'flags not named stay as they were');
        assert.ok(ip.flags.includes('ALLMULTI'));

        linkSet(nl, index, { up: false });
        assert.ok(!link(a, 'h5chg0').flags.includes('UP'));
        linkSet(nl, index, { name: 'h5renamed' });
        assert.equal(linkByName(nl, 'h5chg0'), undefined);
        assert.equal(linkByName(nl, 'h5renamed')!.index, index);
        assert.equal(link(a, 'h5renamed').ifindex, index);
      } finally {
        if (index > 0) linkDel(nl, index);
      }
      assert.equal(linkByIndex(nl, index), undefined);
    });

    it('moves a link into another namespace by fd', () => {
      linkAdd(nl, { name: 'h5mv0', kind: 'veth', peer: { name: 'h5mv1' } });
      try {
        linkSet(nl, linkByName(nl, 'h5mv1')!.index, { nsFd: nsB.fd });
        assert.equal(linkByName(nl, 'h5mv1'), undefined);
        assert.equal(link(b, 'h5mv1').ifname, 'h5mv1');
      } finally {
        linkDelByName(nl, 'h5mv0');
      }
    });

    it('reports kernel errors as NetlinkError codes (EEXIST, ENODEV)', () => {
      linkAdd(nl, { name: 'h5dup0', kind: 'veth', peer: { name: 'h5dup1' } });
      try {
        assert.equal(netlinkCode(() => linkAdd(nl, { name: 'h5dup0', kind: 'veth', peer: { name: 'h5dup2' } })), 'EEXIST');
        assert.throws(() => linkAdd(nl, { name: 'h5dup0', kind: 'veth', peer: { name: 'h5dup2' } }), /failed to create veth "h5dup0": file exists/);
        assert.equal(netlinkCode(() => linkAdd(nl, { name: 'h5dup3', kind: 'veth', peer: { name: 'h5dup1' } })), 'EEXIST', 'a peer name taken is EEXIST too');
        assert.equal(linkByName(nl, 'h5dup3'), undefined, 'nothing half-created');
      } finally {
        linkDelByName(nl, 'h5dup0');
      }
      assert.equal(netlinkCode(() => linkSet(nl, 999999, { up: true })), 'ENODEV');
      assert.equal(netlinkCode(() => linkDel(nl, 999999)), 'ENODEV');
      assert.equal(netlinkCode(() => linkAdd(nl, { name: 'h5bad', kind: 'no-such-kind' })), 'EOPNOTSUPP');
      assert.equal(linkByName(nl, 'h5nothere'), undefined);
      assert.equal(linkByIndex(nl, 999999), undefined);
      assert.equal(linkDelByName(nl, 'h5nothere'), false);
      assert.throws(() => linkAdd(nl, { name: 'h5mac', kind: 'veth', mac: 'zz', peer: { name: 'h5mac1' } }), /invalid MAC address "zz"/);
    });
  });

  describe('bridges', () => {
    before(() => {
      linkAdd(nl, { name: 'h5br0', kind: 'bridge' });
      linkAdd(nl, { name: 'h5port0', kind: 'veth', peer: { name: 'h5port1' } });
    });
    after(() => {
      linkDelByName(nl, 'h5port0');
      linkDelByName(nl, 'h5br0');
    });

    it('enslaves and releases a port', () => {
      const br = linkByName(nl, 'h5br0')!;
      assert.equal(br.kind, 'bridge');
      const port = linkByName(nl, 'h5port0')!;
      linkSet(nl, port.index, { master: br.index, up: true });
      assert.equal(link(a, 'h5port0').master, 'h5br0');
      const l = linkByName(nl, 'h5port0')!;
      assert.equal(l.master, br.index);
      assert.equal(l.slaveKind, 'bridge');
      linkSet(nl, port.index, { master: 0 });
      assert.equal(link(a, 'h5port0').master, undefined);
      assert.equal(linkByName(nl, 'h5port0')!.master, undefined);
      linkSet(nl, port.index, { master: br.index });
    });

    it('sets and reads port hairpin and isolation', () => {
      const port = linkByName(nl, 'h5port0')!;
      const slave = () => link(a, 'h5port0', true).linkinfo.info_slave_data;
      assert.deepEqual({ hairpin: slave().hairpin, isolated: slave().isolated }, { hairpin: false, isolated: false });
      bridgePortSet(nl, port.index, { hairpin: true });
      assert.deepEqual({ hairpin: slave().hairpin, isolated: slave().isolated }, { hairpin: true, isolated: false });
      assert.deepEqual(bridgePortGet(nl, port.index), { hairpin: true, isolated: false });
      bridgePortSet(nl, port.index, { isolated: true });
      assert.deepEqual({ hairpin: slave().hairpin, isolated: slave().isolated }, { hairpin: true, isolated: true });
      assert.deepEqual(bridgePortGet(nl, port.index), { hairpin: true, isolated: true });
      bridgePortSet(nl, port.index, { hairpin: false, isolated: false });
      assert.deepEqual(bridgePortGet(nl, port.index), { hairpin: false, isolated: false });
      bridgePortSet(nl, port.index, {});
      assert.equal(bridgePortGet(nl, linkByName(nl, 'h5br0')!.index), undefined, 'the bridge itself is no port');
    });

    it('adds, lists and deletes port VLANs (bridge vlan)', (t) => {
      const br = linkByName(nl, 'h5br0')!;
      const port = linkByName(nl, 'h5port0')!;
      linkSet(nl, port.index, { master: br.index }); // a port already, unless this test runs alone (--test-name-pattern)
      try {
        linkSet(nl, br.index, { kind: 'bridge', data: [{ type: LinkData.IFLA_BR_VLAN_FILTERING, u8: 1 }] });
      } catch (e) {
        // Kernels built without CONFIG_BRIDGE_VLAN_FILTERING (this host's) refuse it; the error must still be typed.
        assert.ok(e instanceof NetlinkError && e.code === 'EOPNOTSUPP', String(e));
        assert.equal(netlinkCode(() => bridgeVlanAdd(nl, port.index, 10)), 'EOPNOTSUPP');
        // inside the test VM (make test-vm) the kernel has it: this must run there
        assert.ok(!process.env.CNI_TS_VM, 'CNI_TS_VM is set but the kernel refuses vlan_filtering');
        t.skip('kernel without bridge VLAN filtering (EOPNOTSUPP)');
        return;
      }
      const show = () => {
        const out = JSON.parse(a.exec('bridge', '-j', 'vlan', 'show', 'dev', 'h5port0') || '[]');
        return (out[0]?.vlans ?? []).map((v: { vlan: number; flags?: string[] }) => ({ vid: v.vlan, pvid: !!v.flags?.includes('PVID'), untagged: !!v.flags?.includes('Egress Untagged') }));
      };
      bridgeVlanAdd(nl, port.index, 10, { pvid: true, untagged: true });
      bridgeVlanAdd(nl, port.index, 20);
      const ours = bridgeVlanList(nl).get(port.index)!.filter((v) => v.vid !== 1);
      assert.deepEqual(ours, [
        { vid: 10, pvid: true, untagged: true },
        { vid: 20, pvid: false, untagged: false },
      ]);
      assert.deepEqual(show().filter((v: { vid: number }) => v.vid !== 1), ours);
      bridgeVlanDel(nl, port.index, 20);
      assert.deepEqual(show().filter((v: { vid: number }) => v.vid !== 1).map((v: { vid: number }) => v.vid), [10]);
      bridgeVlanAdd(nl, br.index, 30, { self: true });
      assert.ok(bridgeVlanList(nl).get(br.index)!.some((v) => v.vid === 30));
    });
  });

  describe('addresses and routes', () => {
    let dev = -1;
    before(() => {
      linkAdd(nl, { name: 'h5addr0', kind: 'veth', peer: { name: 'h5addr1' } });
      dev = linkByName(nl, 'h5addr0')!.index;
      const peer = linkByName(nl, 'h5addr1')!.index;
      linkSet(nl, dev, { up: true });
      linkSet(nl, peer, { up: true });
      linkSet(nl, linkByName(nl, 'lo')!.index, { up: true });
    });
    after(() => linkDelByName(nl, 'h5addr0'));

    const addrs = (family: 'inet' | 'inet6') => ipJSON(a, '-d', 'addr', 'show', 'dev', 'h5addr0')[0].addr_info.filter((x: { family: string; scope: string }) => x.family === family && x.scope !== 'link');

    it('adds an IPv4 address with its broadcast, lists and deletes it', () => {
      addrAdd(nl, dev, cidr('10.250.1.2/24'));
      assert.deepEqual(
        addrs('inet').map((x: any) => ({ local: x.local, prefixlen: x.prefixlen, broadcast: x.broadcast, scope: x.scope })),
        [{ local: '10.250.1.2', prefixlen: 24, broadcast: '10.250.1.255', scope: 'global' }],
      );
      const ours = addrList(nl, { index: dev, family: 4 });
      assert.equal(ours.length, 1);
      assert.equal(ours[0].cidr, '10.250.1.2/24');
      assert.equal(ours[0].family, 4);
      assert.equal(ours[0].label, 'h5addr0');
      assert.equal(ours[0].index, dev);
      assert.ok(ours[0].flags & IFA_F_PERMANENT);
      assert.equal(netlinkCode(() => addrAdd(nl, dev, cidr('10.250.1.2/24'))), 'EEXIST');
      addrAdd(nl, dev, cidr('10.250.1.2/24'), { replace: true });
      addrAdd(nl, dev, cidr('10.250.2.7/32'));
      assert.equal(addrs('inet').find((x: any) => x.local === '10.250.2.7').broadcast, undefined, 'no broadcast on a /32');
      assert.deepEqual(addrList(nl, { index: dev, family: 4 }).map((x) => x.cidr), ['10.250.1.2/24', '10.250.2.7/32']);
      assert.deepEqual(addrList(nl, { index: linkByName(nl, 'lo')!.index, family: 4 }).map((x) => x.cidr), ['127.0.0.1/8'], 'filtered by link');
      addrDel(nl, dev, cidr('10.250.2.7/32'));
      assert.deepEqual(addrs('inet').map((x: any) => x.local), ['10.250.1.2']);
      assert.equal(netlinkCode(() => addrDel(nl, dev, cidr('10.250.2.7/32'))), 'EADDRNOTAVAIL');
    });

    it('adds an IPv6 address without DAD', () => {
      addrAdd(nl, dev, cidr('fd00:250::2/64'), { flags: IFA_F_NODAD });
      const ip = addrs('inet6');
      assert.equal(ip.length, 1);
      assert.equal(ip[0].local, 'fd00:250::2');
      assert.equal(ip[0].prefixlen, 64);
      assert.equal(ip[0].nodad, true);
      assert.ok(!ip[0].tentative, 'no DAD, so never tentative');
      const ours = addrList(nl, { index: dev, family: 6 }).filter((x) => !x.cidr.startsWith('fe80'));
      assert.deepEqual(ours.map((x) => x.cidr), ['fd00:250::2/64']);
      assert.ok(ours[0].flags & IFA_F_NODAD);
      assert.deepEqual(
        addrList(nl, { index: dev }).map((x) => x.family).filter((f, i, all) => all.indexOf(f) === i),
        [4, 6],
        'both families when none is asked for',
      );
    });

    const routes = (...args: string[]) => ipJSON(a, '-d', 'route', 'show', ...args);
    const routes6 = () => ipJSON(a, '-6', '-d', 'route', 'show');

    it('adds, lists, replaces and deletes a default route', () => {
      routeAdd(nl, { gw: ipOf('10.250.1.1'), oif: dev });
      assert.deepEqual(routes('default').map((r: any) => [r.dst, r.gateway, r.dev]), [['default', '10.250.1.1', 'h5addr0']]);
      const ours = routeList(nl, 4).filter((r) => !r.dst);
      assert.equal(ours.length, 1);
      assert.equal(ours[0].gw && ours[0].gw.bytes.join('.'), '10.250.1.1');
      assert.equal(ours[0].oif, dev);
      assert.equal(ours[0].table, 254);
      assert.equal(ours[0].scope, RT_SCOPE_UNIVERSE);
      assert.equal(netlinkCode(() => routeAdd(nl, { gw: ipOf('10.250.1.1'), oif: dev })), 'EEXIST');
      routeAdd(nl, { gw: ipOf('10.250.1.254'), oif: dev }, { replace: true });
      assert.deepEqual(routes('default').map((r: any) => r.gateway), ['10.250.1.254']);
      routeDel(nl, { family: 4, gw: ipOf('10.250.1.254'), oif: dev });
      assert.deepEqual(routes('default'), []);
      assert.equal(netlinkCode(() => routeDel(nl, { family: 4, gw: ipOf('10.250.1.254'), oif: dev })), 'ESRCH');
    });

    it('adds a link-scope route with table, priority, MTU and advmss, and deletes it', () => {
      const r = { dst: cidr('10.250.9.0/24'), oif: dev, scope: RT_SCOPE_LINK, table: 100, priority: 50, mtu: 1300, advmss: 1260 };
      routeAdd(nl, r);
      const ip = routes('table', '100');
      assert.equal(ip.length, 1);
      assert.equal(ip[0].dst, '10.250.9.0/24');
      assert.equal(ip[0].dev, 'h5addr0');
      assert.equal(ip[0].scope, 'link');
      assert.equal(ip[0].metric, 50);
      assert.deepEqual(ip[0].metrics, [{ mtu: 1300, advmss: 1260 }]);
      assert.deepEqual(routes('table', 'main', '10.250.9.0/24'), [], 'not in main');
      const ours = routeList(nl, 4, { table: 100 });
      assert.equal(ours.length, 1);
      assert.deepEqual(
        { dst: ours[0].dst && `${ours[0].dst.ip.bytes.join('.')}/${ours[0].dst.prefix}`, oif: ours[0].oif, scope: ours[0].scope, table: ours[0].table, priority: ours[0].priority, mtu: ours[0].mtu, advmss: ours[0].advmss },
        { dst: '10.250.9.0/24', oif: dev, scope: RT_SCOPE_LINK, table: 100, priority: 50, mtu: 1300, advmss: 1260 },
      );
      assert.ok(routeList(nl, 4, { table: 0 }).some((x) => x.table === 100), 'table 0 lists every table');
      routeDel(nl, r);
      assert.deepEqual(routes('table', '100'), []);
    });

    it('deletes a link-scope route given only what identifies it (dst, dev, table)', () => {
      routeAdd(nl, { dst: cidr('10.250.8.0/24'), oif: dev, scope: RT_SCOPE_LINK });
      routeDel(nl, { dst: cidr('10.250.8.0/24'), oif: dev });
      assert.deepEqual(routes('10.250.8.0/24'), [], 'as `ip route del 10.250.8.0/24 dev X` would');
    });

    it('masks host bits of dst and uses a high table number via RTA_TABLE', () => {
      routeAdd(nl, { dst: cidr('10.250.7.9/24'), gw: ipOf('10.250.1.1'), table: 1000 });
      assert.deepEqual(routes('table', '1000').map((r: any) => [r.dst, r.gateway]), [['10.250.7.0/24', '10.250.1.1']]);
      assert.equal(routeList(nl, 4, { table: 1000 }).length, 1);
      routeDel(nl, { dst: cidr('10.250.7.0/24'), gw: ipOf('10.250.1.1'), table: 1000 });
      assert.deepEqual(routes('table', '1000'), []);
    });

    it('adds and deletes IPv6 routes', () => {
      routeAdd(nl, { dst: cidr('fd00:250:1::/64'), gw: ipOf('fd00:250::1'), oif: dev, priority: 10 });
      routeAdd(nl, { family: 6, gw: ipOf('fd00:250::1'), oif: dev });
      const ip = routes6().filter((r: any) => r.gateway === 'fd00:250::1');
      assert.deepEqual(ip.map((r: any) => [r.dst, r.metric]).sort(), [['default', 1024], ['fd00:250:1::/64', 10]]);
      const ours = routeList(nl, 6).filter((r) => r.gw);
      assert.equal(ours.length, 2);
      routeDel(nl, { dst: cidr('fd00:250:1::/64'), gw: ipOf('fd00:250::1'), oif: dev, priority: 10 });
      routeDel(nl, { family: 6, gw: ipOf('fd00:250::1'), oif: dev });
      assert.deepEqual(routes6().filter((r: any) => r.gateway), []);
    });

    it('a gateway off every connected network is ENETUNREACH', () => {
      assert.equal(netlinkCode(() => routeAdd(nl, { dst: cidr('10.250.6.0/24'), gw: ipOf('10.249.0.1') })), 'ENETUNREACH');
    });
  });
});
