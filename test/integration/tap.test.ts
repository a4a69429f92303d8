// bin/tap run as a runtime runs it, in real network namespaces: results per spec
// version, the TAP device's kernel state (tun_flags, owner, group, queues, MAC,
// MTU, bridge port) against what the reference's `ip tuntap add` creation path
// makes (Debian 1.1.1 has no tap binary), CHECK, DEL, MAC precedence, bad
// inputs and rollback leaving nothing behind.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { beforeEach, describe, it } from 'node:test';
import { execPlugin, ipJSON, isRoot, SPEC_VERSIONS, type TestNetns } from '../helpers/index.js';
import { netnsPairPerTest } from '../helpers/netns-pair.js';
import { addrs, cniPath, haveOurHostLocal, haveRefHostLocal, hostLocalReservations, ipamDirsPerSuite, link, routes } from '../helpers/bridge-env.js';

const skip = !isRoot && 'needs root';
const hasCheck = (v: string) => !['0.1.0', '0.2.0', '0.3.0', '0.3.1'].includes(v);
const legacy = (v: string) => v === '0.1.0' || v === '0.2.0';
const haveTun = fs.existsSync('/dev/net/tun');

/** Links of a netns other than lo. */
const nonLo = (ns: TestNetns) => ipJSON(ns, 'link', 'show').filter((l: any) => l.ifname !== 'lo').map((l: any) => l.ifname);

/** A sysfs attribute of a link in `ns` (`ip netns exec` mounts that netns's sysfs). */
const sysfs = (ns: TestNetns, ifName: string, attr: string) => ns.exec('cat', `/sys/class/net/${ifName}/${attr}`).trim();

/** The TAP device as the kernel has it: what the reference's creation paths decide. */
function tapState(ns: TestNetns, ifName: string) {
  const l = link(ns, ifName);
  return {
    kind: l.linkinfo?.info_kind,
    type: l.linkinfo?.info_data?.type,
    tunFlags: sysfs(ns, ifName, 'tun_flags'),
    owner: sysfs(ns, ifName, 'owner'),
    group: sysfs(ns, ifName, 'group'),
    txqueues: l.num_tx_queues,
    qlen: l.txqlen,
    mtu: l.mtu,
    up: l.flags.includes('UP'),
  };
}

describe('tap', { skip: skip || (!haveTun && 'no /dev/net/tun') }, () => {
  const dirs = ipamDirsPerSuite();
  let n = 0;
  let net = '';
  beforeEach(() => {
    n++;
    net = `cnits-tp-${process.pid}-${n}`;
  });
  const { host, ctr, ctr2 } = netnsPairPerTest({ tag: 'tp', ctr2: true });

  const hostLocal = () => ({
    type: 'host-local',
    dataDir: dirs.dataDir,
    ranges: [[{ subnet: `10.207.${n}.0/24`, gateway: `10.207.${n}.1` }]],
    routes: [{ dst: '10.206.0.0/16' }],
  });
  const run = (command: string, stdin: object, o: { ns?: TestNetns | null; ifName?: string; args?: string; env?: Record<string, string> } = {}) =>
    execPlugin('tap', {
      command,
      containerID: 'cnits-tp-1',
      netns: o.ns === null ? undefined : (o.ns ?? ctr).path,
      ifName: o.ifName ?? 'eth0',
      args: o.args,
      cniPath: cniPath(dirs.refIPAM),
      stdin,
      env: o.env,
      hostNetns: host.name,
    });

  for (const v of SPEC_VERSIONS) {
    it(`[${v}] ADD with host-local: a TAP device addressed in the container; CHECK; DEL, DEL again, DEL without netns`, { skip: v === '1.1.0' ? !haveOurHostLocal && 'bin/host-local not built' : !haveRefHostLocal && 'Debian plugins missing' }, () => {
      const conf = { cniVersion: v, name: net, type: 'tap', mac: '02:07:00:00:01:01', mtu: 1400, dns: { nameservers: ['10.207.0.53'] }, ipam: hostLocal() };
      const add = run('ADD', conf);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.equal(add.json.cniVersion, v);
      if (legacy(v)) {
        assert.match(add.json.ip4.ip, new RegExp(`^10\\.207\\.${n}\\.\\d+/24$`));
        assert.equal(add.json.ip4.gateway, `10.207.${n}.1`);
      } else {
        assert.deepEqual(add.json.interfaces, [{ name: 'eth0', mac: '02:07:00:00:01:01', sandbox: ctr.path }]);
        assert.equal(add.json.ips[0].interface, 0);
        assert.deepEqual(add.json.routes, [{ dst: '10.206.0.0/16' }]);
      }
      assert.deepEqual(add.json.dns, { nameservers: ['10.207.0.53'] }, "dns is the config's");
      const st = tapState(ctr, 'eth0');
      // owner and group unset: the reference's `ip tuntap add` path (IFF_TAP | IFF_NO_PI, persistent)
      assert.deepEqual(st, { kind: 'tun', type: 'tap', tunFlags: '0x1802', owner: '-1', group: '-1', txqueues: 1, qlen: 1000, mtu: 1400, up: true });
      assert.equal(link(ctr, 'eth0').address, '02:07:00:00:01:01');
      assert.match(addrs(ctr, 'eth0', 4)[0], new RegExp(`^10\\.207\\.${n}\\.\\d+/24$`));
      assert.equal(routes(ctr, 4).find((r) => r.dst === '10.206.0.0/16')?.gateway, `10.207.${n}.1`);
      assert.equal(ctr.exec('cat', '/proc/sys/net/ipv4/conf/eth0/arp_notify').trim(), '1');
      assert.equal(ctr.exec('cat', '/proc/sys/net/ipv6/conf/eth0/ndisc_notify').trim(), '0', 'arp_notify only, as the reference');
      if (hasCheck(v)) {
        const chk = run('CHECK', { ...conf, prevResult: add.json });
        assert.equal(chk.code, 0, chk.stdout + chk.stderr);
        const bad = run('CHECK', { ...conf, multiQueue: true, prevResult: add.json });
        assert.equal(bad.code, 1);
        assert.match(bad.json.msg, /is not multi-queue/);
      }
      const del = run('DEL', conf);
      assert.equal(del.code, 0, del.stdout + del.stderr);
      assert.equal(del.stdout, '');
      assert.deepEqual(nonLo(ctr), []);
      assert.deepEqual(hostLocalReservations(dirs.dataDir, net), []);
      assert.equal(run('DEL', conf).code, 0, 'a second DEL succeeds');
      assert.equal(run('DEL', conf, { ns: null }).code, 0, 'DEL without CNI_NETNS succeeds');
    });
  }

  // [config, tun_flags, owner, group, the `ip tuntap add` arguments of the reference's ip-tool path, when it takes it]
  const matrix: Array<[string, object, string, string, string, string[] | null]> = [
    ['defaults', {}, '0x1802', '-1', '-1', []],
    ['multiQueue', { multiQueue: true }, '0x1902', '-1', '-1', ['multi_queue']],
    ['owner only', { owner: 1000 }, '0x1802', '1000', '-1', ['user', '1000']],
    ['group only, null owner', { group: 1001, owner: null }, '0x1802', '-1', '1001', ['group', '1001']],
    // both set: the reference's netlink path, IFF_VNET_HDR and no IFF_NO_PI
    ['owner and group', { owner: 1000, group: 1001 }, '0x4802', '1000', '1001', null],
    ['owner and group 0 (root, not unset)', { owner: 0, group: 0 }, '0x4802', '0', '0', null],
    ['owner, group, multiQueue', { owner: 1000, group: 1001, multiQueue: true }, '0x5902', '1000', '1001', null],
    // SELinux is off here: the label is ignored, but the reference's path (ip tool) still decides the flags
    ['selinuxContext with owner and group', { owner: 1000, group: 1001, selinuxContext: 'system_u:system_r:container_t:s0' }, '0x1802', '1000', '1001', ['user', '1000', 'group', '1001']],
  ];
  for (const [what, extra, flags, owner, group, ipArgs] of matrix) {
    it(`L2 tap, ${what}: tun_flags ${flags}, owner ${owner}, group ${group}${ipArgs ? ', the same device as `ip tuntap add` makes' : ''}`, { skip: what.startsWith('selinux') && fs.existsSync('/sys/fs/selinux/enforce') && 'SELinux is enabled here' }, () => {
      const conf = { cniVersion: '1.0.0', name: net, type: 'tap', ...extra };
      const add = run('ADD', conf);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.deepEqual(Object.keys(add.json).sort(), ['cniVersion', 'dns', 'interfaces']);
      const st = tapState(ctr, 'eth0');
      assert.deepEqual([st.tunFlags, st.owner, st.group, st.up], [flags, owner, group, true]);
      assert.equal(st.txqueues, (extra as { multiQueue?: boolean }).multiQueue ? 256 : 1);
      assert.deepEqual(addrs(ctr, 'eth0'), []);
      if (ipArgs) {
        ctr2.exec('ip', 'tuntap', 'add', 'mode', 'tap', 'name', 'eth0', ...ipArgs);
        ctr2.ip('link', 'set', 'eth0', 'up');
        assert.deepEqual(st, tapState(ctr2, 'eth0'));
      }
      assert.equal(run('CHECK', { ...conf, prevResult: add.json }).code, 0);
      if ('owner' in extra && typeof (extra as { owner: unknown }).owner === 'number') {
        const other = run('CHECK', { ...conf, owner: 4242, prevResult: add.json });
        assert.match(other.json.msg, /has owner \d+, expected 4242/);
      }
      assert.equal(run('DEL', conf).code, 0);
      assert.deepEqual(nonLo(ctr), []);
    });
  }

  it('bridge: the tap becomes a port of a bridge inside the container; a missing bridge or a non-bridge is code 7 and leaves nothing', () => {
    ctr.ip('link', 'add', 'ctpbr0', 'type', 'bridge');
    ctr.ip('link', 'add', 'ctpv0', 'type', 'veth', 'peer', 'name', 'ctpv1');
    const conf = { cniVersion: '1.0.0', name: net, type: 'tap', bridge: 'ctpbr0', mtu: 1450 };
    const add = run('ADD', conf);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    const l = link(ctr, 'eth0');
    assert.equal(l.master, 'ctpbr0');
    assert.equal(l.mtu, 1450);
    assert.equal(run('CHECK', { ...conf, prevResult: add.json }).code, 0);
    ctr.ip('link', 'set', 'eth0', 'nomaster');
    const chk = run('CHECK', { ...conf, prevResult: add.json });
    assert.match(chk.json.msg, /not a port of bridge "ctpbr0"/);
    assert.equal(run('DEL', conf).code, 0);
    for (const [bridge, msg] of [['ctpbr9', /^bridge: failed to get bridge "ctpbr9"/], ['ctpv0', /^bridge: "ctpv0" is a veth, not a bridge$/]] as const) {
      const r = run('ADD', { ...conf, bridge });
      assert.deepEqual([r.code, r.json.code], [1, 7]);
      assert.match(r.json.msg, msg);
    }
    assert.deepEqual(nonLo(ctr).sort(), ['ctpbr0', 'ctpv0', 'ctpv1']);
  });

  it('MAC precedence: mac < CNI_ARGS MAC < runtimeConfig.mac; CNI_ARGS are strict on ADD and ignored by DEL', () => {
    const base = { cniVersion: '1.0.0', name: net, type: 'tap', mac: '02:07:00:00:02:01' };
    const cases: Array<[object, string | undefined, string]> = [
      [base, undefined, '02:07:00:00:02:01'],
      [base, 'IgnoreUnknown=1;K8S_POD_NAME=x;MAC=02:07:00:00:02:02', '02:07:00:00:02:02'],
      [{ ...base, runtimeConfig: { mac: '02-07-00-00-02-03' } }, 'MAC=02:07:00:00:02:02', '02:07:00:00:02:03'],
    ];
    for (const [conf, cniArgs, want] of cases) {
      const add = run('ADD', conf, { args: cniArgs });
      assert.equal(add.code, 0, add.stdout);
      assert.equal(add.json.interfaces[0].mac, want);
      assert.equal(link(ctr, 'eth0').address, want);
      assert.equal(run('CHECK', { ...conf, prevResult: add.json }, { args: cniArgs }).code, 0);
      assert.equal(run('DEL', conf, { args: cniArgs }).code, 0);
    }
    const strict = run('ADD', base, { args: 'K8S_POD_NAME=x' });
    assert.equal(strict.code, 1);
    assert.match(strict.json.msg, /unknown args/);
    assert.deepEqual(nonLo(ctr), []);
    assert.equal(run('ADD', base).code, 0);
    assert.equal(run('DEL', base, { args: 'K8S_POD_NAME=x' }).code, 0, 'DEL ignores CNI_ARGS');
    assert.deepEqual(nonLo(ctr), []);
  });

  it('bad values: code 7 naming the key, nothing left; DEL accepts them', () => {
    const base = { cniVersion: '1.0.0', name: net, type: 'tap' };
    const cases: Array<[object, RegExp]> = [
      [{ mtu: 70000 }, /^mtu: failed to set MTU 70000 on "eth0": invalid argument/],
      [{ mtu: -1 }, /^mtu: -1 must be at least 0$/],
      [{ mtu: 'x' }, /^mtu: "x" must be an integer$/],
      [{ owner: -1 }, /^owner: -1 is not a valid uid/],
      [{ group: 4294967295 }, /^group: 4294967295 is not a valid gid/],
      [{ mac: '01:00:5e:00:00:01' }, /^mac: failed to set MAC 01:00:5e:00:00:01 on "eth0"/],
      [{ mac: 'nope' }, /^mac: "nope" is not a MAC address$/],
      [{ runtimeConfig: { mac: '01:00:5e:00:00:01' } }, /^runtimeConfig\.mac: failed to set MAC/],
    ];
    for (const [extra, msg] of cases) {
      const r = run('ADD', { ...base, ...extra });
      assert.deepEqual([r.code, r.json?.code], [1, 7], `${JSON.stringify(extra)}: ${r.stdout}`);
      assert.match(r.json.msg, msg);
      assert.deepEqual(nonLo(ctr), [], JSON.stringify(extra));
    }
    const legacyL2 = run('ADD', { ...base, cniVersion: '0.2.0' });
    assert.deepEqual([legacyL2.code, legacyL2.json.code], [1, 7]);
    assert.match(legacyL2.json.msg, /^cniVersion: cannot convert/);
    assert.equal(run('DEL', { ...base, mtu: -1, owner: -5 }).code, 0, 'DEL ignores value ranges');
    ctr.ip('link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'ctpx');
    const taken = run('ADD', base);
    assert.equal(taken.code, 1);
    assert.match(taken.json.msg, /already exists/);
    assert.equal(link(ctr, 'eth0').linkinfo.info_kind, 'veth', 'the existing interface is untouched');
  });

  for (const step of ['link', 'ipam', 'configure']) {
    it(`a failure after ${step}: no tap, no reservation`, { skip: !haveRefHostLocal && 'Debian plugins missing' }, () => {
      const conf = { cniVersion: '1.0.0', name: net, type: 'tap', owner: 0, group: 0, ipam: hostLocal() };
      const r = run('ADD', conf, { env: { CNI_TS_FAIL_AFTER: step } });
      assert.equal(r.code, 1);
      assert.match(r.json.msg, new RegExp(`injected failure after ${step}`));
      assert.deepEqual(nonLo(ctr), []);
      assert.deepEqual(hostLocalReservations(dirs.dataDir, net), []);
    });
  }

  it('a netns that does not exist: an error, nothing created; STATUS and GC go to IPAM', { skip: !haveOurHostLocal && 'bin/host-local not built' }, () => {
    const conf = { cniVersion: '1.1.0', name: net, type: 'tap', ipam: hostLocal() };
    const r = execPlugin('tap', { command: 'ADD', containerID: 'cnits-tp-1', netns: '/run/netns/cnits-tp-none', ifName: 'eth0', cniPath: cniPath(dirs.refIPAM), stdin: conf, hostNetns: host.name });
    assert.equal(r.code, 1);
    assert.deepEqual(hostLocalReservations(dirs.dataDir, net), []);
    assert.equal(run('STATUS', conf).code, 0);
    assert.equal(run('STATUS', { ...conf, ipam: undefined }).code, 0);
    assert.equal(run('ADD', conf).code, 0);
    assert.equal(hostLocalReservations(dirs.dataDir, net).length, 1);
    assert.equal(run('GC', { ...conf, 'cni.dev/valid-attachments': [] }).code, 0);
    assert.deepEqual(hostLocalReservations(dirs.dataDir, net), [], 'GC reached host-local');
    assert.equal(run('DEL', conf).code, 0);
  });
});
