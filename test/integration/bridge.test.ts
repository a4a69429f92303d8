// bin/bridge run as a runtime runs it, inside a test netns playing the host:
// results per spec version, kernel state, firewall rules, CHECK, DEL, rollback.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { createNetns, execPlugin, isRoot, REF_VERSIONS, SPEC_VERSIONS, type TestNetns } from '../helpers/index.js';
import {
  addrs,
  cniPath,
  fakeReservations,
  fakeScript,
  haveOurHostLocal,
  haveRefHostLocal,
  hostLocalReservations,
  ipamDirs,
  ipamDirsPerSuite,
  kernelHasVlanFiltering,
  link,
  links,
  masqRules,
  nftRuleset,
  ping,
  routes,
} from '../helpers/bridge-env.js';
import { netnsPairPerTest } from '../helpers/netns-pair.js';

const skip = !isRoot && 'needs root';
const legacy = (v: string) => v === '0.1.0' || v === '0.2.0';
// Inside the test VM (make test-vm, CNI_TS_VM=1) the VLAN tests must run: a missing feature fails them there.
const noVlan = isRoot && !process.env.CNI_TS_VM && !kernelHasVlanFiltering() && 'kernel lacks CONFIG_BRIDGE_VLAN_FILTERING (vlan_filtering: EOPNOTSUPP)';
/** The VLAN table of a bridge port (`bridge -j vlan show`), one entry per VLAN ID. */
function portVlans(ns: TestNetns, dev: string): { vlan: number; flags: string[] }[] {
  const out = ns.exec('bridge', '-j', 'vlan', 'show', 'dev', dev);
  const vlans: { vlan: number; vlanEnd?: number; flags?: string[] }[] = (out.trim() ? JSON.parse(out) : [])[0]?.vlans ?? [];
  return vlans.flatMap((x) => Array.from({ length: (x.vlanEnd ?? x.vlan) - x.vlan + 1 }, (_, i) => ({ vlan: x.vlan + i, flags: x.flags ?? [] })));
}
const hasCheck = (v: string) => !['0.1.0', '0.2.0', '0.3.0', '0.3.1'].includes(v);

describe('bridge', { skip }, () => {
  const dirs = ipamDirsPerSuite();
  let n = 0;
  beforeEach(() => {
    n++;
  });
  const { host, ctr } = netnsPairPerTest({ tag: 'br' });

  /** host-local IPAM on 10.220.<n>.0/24 + fd00:220::<n>:0/112. */
  const hostLocal = (extra: object = {}) => ({
    type: 'host-local',
    dataDir: dirs.dataDir,
    ranges: [[{ subnet: `10.220.${n}.0/24` }], [{ subnet: `fd00:220::${n}:0/112` }]],
    routes: [{ dst: '0.0.0.0/0' }],
    ...extra,
  });
  const run = (command: string, stdin: object, o: { cid?: string; netns?: string | null; ifName?: string; env?: Record<string, string>; path?: string; args?: string } = {}) =>
    execPlugin('bridge', {
      command,
      containerID: o.cid ?? 'ctr1',
      netns: o.netns === null ? undefined : (o.netns ?? ctr.path),
      ifName: o.ifName ?? 'eth0',
      args: o.args,
      cniPath: o.path ?? cniPath(dirs.refIPAM),
      stdin,
      env: o.env,
      hostNetns: host.name,
    });

  for (const v of SPEC_VERSIONS) {
    const ipamKind = v === '1.1.0' ? (haveOurHostLocal ? 'ours' : 'fake') : 'debian';
    it(`[${v}] ADD (${ipamKind} IPAM, dual stack, gateway, ipMasq), CHECK, DEL, DEL again`, { skip: ipamKind === 'debian' && !haveRefHostLocal && 'Debian host-local missing' }, () => {
      const net = `brv${n}`;
      const ipam =
        ipamKind === 'fake'
          ? { type: 'fake-ipam', script: fakeScript(dirs.tmp, { result: { cniVersion: '1.1.0', ips: [{ address: `10.220.${n}.2/24`, gateway: `10.220.${n}.1` }, { address: `fd00:220::${n}:2/112`, gateway: `fd00:220::${n}:1` }], routes: [{ dst: '0.0.0.0/0' }] } }) }
          : hostLocal();
      const conf = { cniVersion: v, name: net, type: 'bridge', bridge: `cnitsbr${n}`, isGateway: true, ipMasq: true, ipam };
      const add = run('ADD', conf);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.equal(add.json.cniVersion, v);
      const ip4 = `10.220.${n}.2/24`;
      const ip6 = `fd00:220::${n}:2/112`;
      if (legacy(v)) {
        assert.equal(add.json.ip4.ip, ip4);
        assert.equal(add.json.ip4.gateway, `10.220.${n}.1`);
        assert.equal(add.json.ip6.ip, ip6);
        assert.deepEqual(add.json.ip4.routes, [{ dst: '0.0.0.0/0' }]);
        assert.equal(add.json.interfaces, undefined);
      } else {
        const ifs = add.json.interfaces;
        assert.equal(ifs.length, 3);
        assert.equal(ifs[0].name, `cnitsbr${n}`);
        assert.match(ifs[0].mac, /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
        assert.match(ifs[1].name, /^veth[0-9a-f]{8}$/);
        assert.deepEqual({ name: ifs[2].name, sandbox: ifs[2].sandbox }, { name: 'eth0', sandbox: ctr.path });
        assert.notEqual(ifs[0].mac, ifs[1].mac, 'the bridge keeps its own MAC');
        assert.deepEqual(
          add.json.ips.map((i: any) => [i.address, i.gateway, i.interface, i.version]),
          [
            [ip4, `10.220.${n}.1`, 2, v === '1.0.0' || v === '1.1.0' ? undefined : '4'],
            [ip6, `fd00:220::${n}:1`, 2, v === '1.0.0' || v === '1.1.0' ? undefined : '6'],
          ],
        );
        // kernel: MACs in the result are the real ones
        assert.equal(link(host, ifs[1].name).address, ifs[1].mac);
        assert.equal(link(ctr, 'eth0').address, ifs[2].mac);
        assert.equal(link(host, `cnitsbr${n}`).address, ifs[0].mac);
        assert.equal(link(host, ifs[1].name).master, `cnitsbr${n}`);
      }
      // container state
      const eth0 = link(ctr, 'eth0');
      assert.equal(eth0.linkinfo.info_kind, 'veth');
      assert.ok(eth0.flags.includes('UP'));
      assert.deepEqual(addrs(ctr, 'eth0', 4), [ip4]);
      assert.deepEqual(addrs(ctr, 'eth0', 6), [ip6]);
      const def = routes(ctr, 4).find((r) => r.dst === 'default');
      assert.equal(def?.gateway, `10.220.${n}.1`);
      // host state
      assert.deepEqual(addrs(host, `cnitsbr${n}`).sort(), [`10.220.${n}.1/24`, `fd00:220::${n}:1/112`].sort());
      assert.equal(host.exec('cat', '/proc/sys/net/ipv4/ip_forward').trim(), '1');
      const rules = masqRules(host, net);
      assert.equal(rules.length, 6, rules.join('\n')); // 2 families × (jump, ACCEPT, MASQUERADE)
      assert.ok(rules.some((l) => l.includes(`-d 10.220.${n}.0/24`) && l.includes('-j ACCEPT')));
      assert.ok(rules.some((l) => l.includes('! -d 224.0.0.0/4') && l.includes('-j MASQUERADE')));
      assert.ok(rules.some((l) => l.includes('! -d ff00::/8') && l.includes('-j MASQUERADE')));
      assert.ok(ping(ctr, `10.220.${n}.1`), 'container reaches its gateway');
      // CHECK
      if (hasCheck(v)) {
        const chk = run('CHECK', { ...conf, prevResult: add.json });
        assert.equal(chk.code, 0, chk.stdout + chk.stderr);
      }
      // DEL, twice
      const del = run('DEL', { ...conf, ...(hasCheck(v) ? { prevResult: add.json } : {}) });
      assert.equal(del.code, 0, del.stdout + del.stderr);
      assert.equal(link(ctr, 'eth0'), undefined);
      assert.deepEqual(links(host).filter((l) => l.ifname.startsWith('veth')), []);
      assert.deepEqual(masqRules(host, net), []);
      if (ipamKind === 'fake') assert.deepEqual(fakeReservations((ipam as { script: string }).script), []);
      else assert.deepEqual(hostLocalReservations(dirs.dataDir, net), []);
      assert.equal(run('DEL', conf).code, 0, 'a second DEL succeeds');
    });
  }

  it('two containers on one bridge ping each other and the gateway', { skip: !haveRefHostLocal && 'Debian host-local missing' }, () => {
    const ctr2 = createNetns('brc2');
    try {
      const conf = { cniVersion: '1.0.0', name: `brping${n}`, type: 'bridge', bridge: `cnitsbr${n}`, isGateway: true, ipam: hostLocal() };
      const a = run('ADD', conf, { cid: 'a' });
      const b = run('ADD', conf, { cid: 'b', netns: ctr2.path });
      assert.equal(a.code, 0, a.stdout);
      assert.equal(b.code, 0, b.stdout);
      const ipB = b.json.ips[0].address.split('/')[0];
      const ipA = a.json.ips[0].address.split('/')[0];
      assert.notEqual(ipA, ipB);
      assert.ok(ping(ctr, ipB), 'a → b');
      assert.ok(ping(ctr2, ipA), 'b → a');
      assert.ok(ping(ctr2, `10.220.${n}.1`), 'b → gateway');
      assert.equal(run('DEL', conf, { cid: 'a' }).code, 0);
      assert.equal(run('DEL', conf, { cid: 'b', netns: ctr2.path }).code, 0);
    } finally {
      ctr2.remove();
    }
  });

  for (const backend of ['iptables', 'nftables']) {
    it(`DEL without CNI_NETNS removes the ${backend} masquerade rules (plugins#810) and releases IPAM`, () => {
      const script = fakeScript(dirs.tmp, { result: { cniVersion: '1.0.0', ips: [{ address: `10.220.${n}.5/24`, gateway: `10.220.${n}.1` }] } });
      const net = `brnons${n}`;
      const conf = { cniVersion: '1.0.0', name: net, type: 'bridge', bridge: `cnitsbr${n}`, isGateway: true, ipMasq: true, ipMasqBackend: backend, ipam: { type: 'fake-ipam', script } };
      const add = run('ADD', conf);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      const rules = masqRules(host, net);
      assert.equal(rules.length, backend === 'iptables' ? 3 : 1, rules.join('\n'));
      if (backend === 'nftables') assert.match(nftRuleset(host), /table inet cni_plugins_masquerade/);
      const del = run('DEL', conf, { netns: null });
      assert.equal(del.code, 0, del.stdout + del.stderr);
      assert.deepEqual(masqRules(host, net), []);
      assert.deepEqual(fakeReservations(script), []);
    });
  }

  it('DEL: the IPAM plugin releases an address only once no interface holds it (plugins#666), while the veth is destroyed', () => {
    const script = fakeScript(dirs.tmp, { recordAddrsOnDel: true, result: { cniVersion: '1.0.0', ips: [{ address: `10.220.${n}.7/24` }, { address: `fd00:220::${n}:7/112` }] } });
    const conf = { cniVersion: '1.0.0', name: `brrel${n}`, type: 'bridge', bridge: `cnitsbr${n}`, ipam: { type: 'fake-ipam', script } };
    const add = run('ADD', conf);
    assert.equal(add.code, 0, add.stdout);
    assert.match(ctr.exec('ip', '-o', 'addr', 'show', 'dev', 'eth0'), /10\.220\.\d+\.7\/24/, 'configured by ADD');
    const del = run('DEL', { ...conf, prevResult: add.json });
    assert.equal(del.code, 0, del.stdout);
    assert.equal(fs.readFileSync(`${script}.deladdrs`, 'utf8'), '\n---\n', 'IPAM DEL saw no global address on eth0');
    assert.equal(link(ctr, 'eth0'), undefined);
    assert.deepEqual(fakeReservations(script), []);
  });

  it('DEL after the bridge is gone, and DEL of an attachment that never existed, succeed', () => {
    const script = fakeScript(dirs.tmp, { result: { cniVersion: '1.0.0', ips: [{ address: `10.220.${n}.6/24` }] } });
    const conf = { cniVersion: '1.0.0', name: `brgone${n}`, type: 'bridge', bridge: `cnitsbr${n}`, ipam: { type: 'fake-ipam', script } };
    assert.equal(run('DEL', conf, { cid: 'never' }).code, 0);
    const add = run('ADD', conf);
    assert.equal(add.code, 0, add.stdout);
    host.ip('link', 'del', `cnitsbr${n}`);
    const del = run('DEL', conf);
    assert.equal(del.code, 0, del.stdout);
    assert.equal(link(ctr, 'eth0'), undefined);
    assert.equal(run('DEL', conf, { netns: '/var/run/netns/cnits-gone' }).code, 0, 'a vanished netns is fine');
  });

  it('VLAN: turns vlan_filtering on for an existing bridge, access VLAN as pvid untagged, default VLAN removed', { skip: noVlan }, () => {
    host.ip('link', 'add', `cnitsbr${n}`, 'type', 'bridge');
    const conf = { cniVersion: '1.0.0', name: `brvlan${n}`, type: 'bridge', bridge: `cnitsbr${n}`, vlan: 100 };
    const add = run('ADD', conf);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.equal(link(host, `cnitsbr${n}`).linkinfo.info_data.vlan_filtering, 1);
    const hv = add.json.interfaces[1].name;
    assert.equal(link(host, hv).master, `cnitsbr${n}`);
    assert.deepEqual(portVlans(host, hv), [{ vlan: 100, flags: ['PVID', 'Egress Untagged'] }]);
    const chk = run('CHECK', { ...conf, prevResult: add.json });
    assert.equal(chk.code, 0, `CHECK of an L2-only network passes: ${chk.stdout}`);
    assert.equal(run('DEL', conf).code, 0);
    assert.equal(link(host, hv), undefined);
  });

  it('VLAN trunk: tagged range plus native VLAN 1; vlan sets the native VLAN; preserveDefaultVlan keeps VLAN 1', { skip: noVlan }, () => {
    const conf = { cniVersion: '1.0.0', name: `brtrunk${n}`, type: 'bridge', bridge: `cnitsbr${n}`, vlanTrunk: [{ id: 5 }, { minID: 10, maxID: 12 }] };
    const add = run('ADD', conf);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.equal(link(host, `cnitsbr${n}`).linkinfo.info_data.vlan_filtering, 1, 'a bridge created for a trunk filters VLANs');
    assert.deepEqual(portVlans(host, add.json.interfaces[1].name), [
      { vlan: 1, flags: ['PVID', 'Egress Untagged'] },
      { vlan: 5, flags: [] },
      { vlan: 10, flags: [] },
      { vlan: 11, flags: [] },
      { vlan: 12, flags: [] },
    ]);
    // a second attachment: vlan 7 is the native VLAN of its trunk, VLAN 1 stays (tagged, no longer PVID)
    const ctr2 = createNetns('brc');
    try {
      const c2 = { ...conf, name: `brnative${n}`, vlan: 7, vlanTrunk: [{ id: 5 }, { id: 7 }], preserveDefaultVlan: true };
      const add2 = run('ADD', c2, { cid: 'ctr2', netns: ctr2.path });
      assert.equal(add2.code, 0, add2.stdout + add2.stderr);
      const t2 = portVlans(host, add2.json.interfaces[1].name);
      assert.deepEqual(t2.map((x) => x.vlan), [1, 5, 7]);
      assert.deepEqual(t2.find((x) => x.vlan === 7)!.flags, ['PVID', 'Egress Untagged']);
      assert.ok(!t2.find((x) => x.vlan === 1)!.flags.includes('PVID'), 'VLAN 1 kept but not the PVID');
      assert.deepEqual(portVlans(host, add.json.interfaces[1].name).map((x) => x.vlan), [1, 5, 10, 11, 12], 'the first port is untouched');
      assert.equal(run('DEL', c2, { cid: 'ctr2', netns: ctr2.path }).code, 0);
    } finally {
      ctr2.remove();
    }
    assert.equal(run('DEL', conf).code, 0);
  });

  it('VLAN gateway: isGateway with vlan puts the gateway on <bridge>.<vlan>, an access port of that VLAN, reachable from the container', { skip: noVlan }, () => {
    const conf = { cniVersion: '1.0.0', name: `brvgw${n}`, type: 'bridge', bridge: `cnitsbr${n}`, vlan: 42, isGateway: true, ipam: hostLocal() };
    const add = run('ADD', conf);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    const gwName = `cnitsbr${n}.42`;
    assert.equal(add.json.interfaces.length, 4);
    assert.equal(add.json.interfaces[3].name, gwName);
    const gw = link(host, gwName);
    assert.equal(gw.linkinfo.info_kind, 'veth');
    assert.equal(gw.address, add.json.interfaces[3].mac);
    assert.deepEqual(addrs(host, gwName, 4), [`10.220.${n}.1/24`]);
    assert.deepEqual(addrs(host, `cnitsbr${n}`, 4), [], 'the bridge itself carries no gateway address');
    // the peer of <bridge>.42 is an access port of VLAN 42 on the bridge, like the container's host veth
    const peer = links(host).find((l) => l.ifname === gw.link);
    assert.equal(peer.master, `cnitsbr${n}`);
    assert.deepEqual(portVlans(host, peer.ifname), [{ vlan: 42, flags: ['PVID', 'Egress Untagged'] }]);
    assert.deepEqual(portVlans(host, add.json.interfaces[1].name), [{ vlan: 42, flags: ['PVID', 'Egress Untagged'] }]);
    assert.ok(ping(ctr, `10.220.${n}.1`), 'the container reaches its gateway through VLAN 42');
    const chk = run('CHECK', { ...conf, prevResult: add.json });
    assert.equal(chk.code, 0, chk.stdout + chk.stderr);
    // a second container on another VLAN of the same bridge does not reach that gateway
    const ctr2 = createNetns('brc');
    try {
      const c2 = { ...conf, name: `brvgw${n}b`, vlan: 43, isGateway: false, ipam: hostLocal({ ranges: [[{ subnet: `10.220.${n}.0/24`, rangeStart: `10.220.${n}.100` }]] }) };
      const add2 = run('ADD', c2, { cid: 'ctr2', netns: ctr2.path });
      assert.equal(add2.code, 0, add2.stdout + add2.stderr);
      assert.equal(ping(ctr2, `10.220.${n}.1`), false, 'VLAN 43 is isolated from VLAN 42');
      assert.equal(run('DEL', c2, { cid: 'ctr2', netns: ctr2.path }).code, 0);
    } finally {
      ctr2.remove();
    }
    assert.equal(run('DEL', conf).code, 0);
    assert.ok(link(host, gwName), 'the gateway interface outlives DEL, as in the reference (PR #1175)');
  });

  it('VLAN interop: a container of Debian\'s bridge and one of ours share VLAN 42 and its <bridge>.<vlan> gateway', { skip: noVlan || (!haveRefHostLocal && 'Debian plugins missing') }, () => {
    const conf = { cniVersion: '1.0.0', name: `brvgo${n}`, type: 'bridge', bridge: `cnitsbr${n}`, vlan: 42, isGateway: true, ipam: hostLocal({ ranges: [[{ subnet: `10.220.${n}.0/24` }]] }) };
    const goAdd = execPlugin('/usr/lib/cni/bridge', { command: 'ADD', containerID: 'go', netns: ctr.path, ifName: 'eth0', stdin: conf, hostNetns: host.name, cniPath: cniPath(dirs.refIPAM) });
    assert.equal(goAdd.code, 0, goAdd.stdout + goAdd.stderr);
    const ctr2 = createNetns('brc');
    try {
      const add = run('ADD', conf, { cid: 'ours', netns: ctr2.path });
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.equal(add.json.interfaces[3].name, `cnitsbr${n}.42`, 'the gateway interface Debian made is reused');
      assert.deepEqual(addrs(host, `cnitsbr${n}.42`, 4), [`10.220.${n}.1/24`]);
      assert.deepEqual(portVlans(host, add.json.interfaces[1].name), [{ vlan: 42, flags: ['PVID', 'Egress Untagged'] }]);
      const goIP = goAdd.json.ips[0].address.split('/')[0];
      assert.ok(ping(ctr2, goIP), 'ours reaches the Debian-made container on VLAN 42');
      assert.ok(ping(ctr2, `10.220.${n}.1`));
      assert.equal(run('DEL', conf, { cid: 'ours', netns: ctr2.path }).code, 0);
    } finally {
      ctr2.remove();
    }
    assert.equal(execPlugin('/usr/lib/cni/bridge', { command: 'DEL', containerID: 'go', netns: ctr.path, ifName: 'eth0', stdin: conf, hostNetns: host.name, cniPath: cniPath(dirs.refIPAM) }).code, 0);
  });

  it('hairpin, port isolation, MAC from runtimeConfig over args over CNI_ARGS, mtu', () => {
    const conf = {
      cniVersion: '1.0.0', name: `brport${n}`, type: 'bridge', bridge: `cnitsbr${n}`, hairpinMode: true, portIsolation: true, mtu: 1400,
      args: { cni: { mac: '02:00:00:00:00:02' } }, runtimeConfig: { mac: '02:00:00:00:00:03' },
    };
    const add = run('ADD', conf, { args: 'IgnoreUnknown=1;MAC=02:00:00:00:00:01' });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.equal(add.json.interfaces[2].mac, '02:00:00:00:00:03');
    assert.equal(link(ctr, 'eth0').address, '02:00:00:00:00:03');
    assert.equal(link(ctr, 'eth0').mtu, 1400);
    const hv = link(host, add.json.interfaces[1].name);
    assert.equal(hv.mtu, 1400);
    assert.equal(hv.linkinfo.info_slave_data.hairpin, true);
    assert.equal(hv.linkinfo.info_slave_data.isolated, true);
    assert.equal(run('DEL', conf).code, 0);
    const c2 = { ...conf, name: `brmac${n}`, args: undefined, runtimeConfig: undefined, hairpinMode: false };
    const add2 = run('ADD', c2, { args: 'MAC=02:00:00:00:00:01' });
    assert.equal(add2.code, 0, add2.stdout);
    assert.equal(link(ctr, 'eth0').address, '02:00:00:00:00:01');
    assert.equal(run('DEL', c2).code, 0);
  });

  it('VLAN on a kernel without vlan filtering fails cleanly and leaves nothing', { skip: !noVlan && 'kernel supports vlan filtering' }, () => {
    const r = run('ADD', { cniVersion: '1.0.0', name: `brnovlan${n}`, type: 'bridge', bridge: `cnitsbr${n}`, vlan: 7 });
    assert.equal(r.code, 1);
    assert.match(r.json.msg, /not supported/);
    assert.deepEqual(links(host).map((l) => l.ifname), ['lo']);
    assert.deepEqual(links(ctr).map((l) => l.ifname), ['lo']);
  });

  it('L2-only ADD, CHECK passes (the reference fails it), DEL', () => {
    const conf = { cniVersion: '1.1.0', name: `brl2${n}`, type: 'bridge', bridge: `cnitsbr${n}` };
    const add = run('ADD', conf);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.equal(add.json.ips, undefined);
    assert.ok(link(ctr, 'eth0').flags.includes('UP'));
    const chk = run('CHECK', { ...conf, prevResult: add.json });
    assert.equal(chk.code, 0, chk.stdout);
    host.ip('link', 'set', `cnitsbr${n}`, 'promisc', 'on');
    const bad = run('CHECK', { ...conf, prevResult: add.json });
    assert.equal(bad.code, 1, 'CHECK notices a changed bridge');
    assert.equal(run('DEL', conf).code, 0);
    assert.equal(run('CHECK', { ...conf, prevResult: add.json }).code, 1, 'CHECK fails once the interface is gone');
  });

  it('promiscMode sets the bridge promiscuous; disableContainerInterface leaves eth0 down', () => {
    const conf = { cniVersion: '1.0.0', name: `brpromisc${n}`, type: 'bridge', bridge: `cnitsbr${n}`, promiscMode: true, disableContainerInterface: true };
    const add = run('ADD', conf);
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.ok(link(host, `cnitsbr${n}`).promiscuity > 0);
    assert.ok(!link(ctr, 'eth0').flags.includes('UP'));
    assert.equal(run('DEL', conf).code, 0);
  });

  it('macspoofchk: nft bridge rules for the host veth and the container MAC, removed by DEL', () => {
    const conf = { cniVersion: '1.0.0', name: `brspoof${n}`, type: 'bridge', bridge: `cnitsbr${n}`, macspoofchk: true };
    const add = run('ADD', conf, { cid: 'spoof' });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    const rs = nftRuleset(host);
    assert.match(rs, new RegExp(`iifname "${add.json.interfaces[1].name}" jump cni-br-iface-spoof-eth0 comment "macspoofchk-spoof-eth0"`));
    assert.match(rs, new RegExp(`ether saddr ${add.json.interfaces[2].mac} return`));
    assert.equal(run('DEL', conf, { cid: 'spoof' }).code, 0);
    assert.doesNotMatch(nftRuleset(host), /cni-br-iface-spoof-eth0/);
  });

  for (const step of ['ipam', 'ipmasq']) {
    it(`rollback: a failure after ${step} leaves no veth, address, bridge, rule or reservation`, () => {
      const script = fakeScript(dirs.tmp, { result: { cniVersion: '1.0.0', ips: [{ address: `10.220.${n}.7/24`, gateway: `10.220.${n}.1` }] } });
      const net = `brrb${n}`;
      const conf = { cniVersion: '1.0.0', name: net, type: 'bridge', bridge: `cnitsbr${n}`, isGateway: true, ipMasq: true, ipam: { type: 'fake-ipam', script } };
      const add = run('ADD', conf, { env: { CNI_TS_FAIL_AFTER: step } });
      assert.equal(add.code, 1, add.stdout);
      assert.match(add.json.msg, new RegExp(`injected failure after ${step}`));
      assert.deepEqual(links(host).map((l) => l.ifname), ['lo'], 'no bridge and no veth left');
      assert.deepEqual(links(ctr).map((l) => l.ifname), ['lo']);
      assert.deepEqual(masqRules(host, net), []);
      assert.deepEqual(fakeReservations(script), []);
    });
  }

  it('rollback with the reference test hook debugPostIPAMError and Debian host-local releases the IP', { skip: !haveRefHostLocal && 'Debian host-local missing' }, () => {
    const conf = { cniVersion: '1.0.0', name: `brdbg${n}`, type: 'bridge', bridge: `cnitsbr${n}`, isGateway: true, debugPostIPAMError: true, ipam: hostLocal() };
    const add = run('ADD', conf);
    assert.equal(add.code, 1);
    assert.deepEqual(hostLocalReservations(dirs.dataDir, `brdbg${n}`), []);
    assert.deepEqual(links(host).map((l) => l.ifname), ['lo']);
  });

  const badConfigs: Array<[string, object, RegExp]> = [
    ['vlan out of range', { vlan: 5000 }, /^vlan: /],
    ['trunk without maxID', { vlanTrunk: [{ minID: 3 }] }, /^vlanTrunk\[0\]/],
    ['trunk id 0', { vlanTrunk: [{ id: 0 }] }, /^vlanTrunk\[0\]\.id/],
    ['hairpin with promisc', { hairpinMode: true, promiscMode: true }, /^promiscMode: /],
    ['IPAM with a disabled interface', { disableContainerInterface: true, ipam: { type: 'host-local' } }, /^disableContainerInterface: /],
    ['mtu not a number', { mtu: 'big' }, /^mtu: /],
    ['bad backend', { ipMasqBackend: 'pf' }, /^ipMasqBackend: /],
    ['bad bridge name', { bridge: 'a/b' }, /^bridge: /],
    ['bad runtimeConfig MAC', { runtimeConfig: { mac: 'zz' } }, /^runtimeConfig\.mac: /],
  ];
  for (const [what, extra, msg] of badConfigs) {
    it(`bad config (${what}): code 7 naming the field, nothing created`, () => {
      const r = run('ADD', { cniVersion: '1.0.0', name: 'bad', type: 'bridge', bridge: `cnitsbr${n}`, ...extra });
      assert.equal(r.code, 1);
      assert.equal(r.json.code, 7, r.stdout);
      assert.match(r.json.msg, msg);
      assert.deepEqual(links(host).map((l) => l.ifname), ['lo']);
      assert.deepEqual(links(ctr).map((l) => l.ifname), ['lo']);
    });
  }

  it('ADD into a missing netns fails before creating the bridge', () => {
    const r = run('ADD', { cniVersion: '1.0.0', name: 'x', type: 'bridge', bridge: `cnitsbr${n}` }, { netns: '/var/run/netns/cnits-gone' });
    assert.equal(r.code, 1);
    assert.deepEqual(links(host).map((l) => l.ifname), ['lo']);
  });

  it('an IPAM error is passed through with its code and leaves nothing', () => {
    const script = fakeScript(dirs.tmp, { failOn: ['ADD'], error: { code: 11, msg: 'try later' } });
    const r = run('ADD', { cniVersion: '1.0.0', name: 'x', type: 'bridge', bridge: `cnitsbr${n}`, ipam: { type: 'fake-ipam', script } });
    assert.equal(r.json.code, 11, r.stdout);
    assert.equal(r.json.msg, 'try later');
    assert.deepEqual(links(ctr).map((l) => l.ifname), ['lo']);
    assert.deepEqual(links(host).map((l) => l.ifname), ['lo']);
  });

  it('isDefaultGateway with an IPAM default route: the reference\'s "file exists" error, one message, and nothing left (Debian leaves the link, route and reservation)', { skip: !haveRefHostLocal && 'Debian host-local missing' }, () => {
    const net = `brdg${n}`;
    const r = run('ADD', { cniVersion: '1.0.0', name: net, type: 'bridge', bridge: `cnitsbr${n}`, isDefaultGateway: true, ipam: { type: 'host-local', dataDir: dirs.dataDir, subnet: `10.220.${n}.0/24`, routes: [{ dst: '0.0.0.0/0' }] } });
    assert.equal(r.code, 1);
    assert.equal(r.json.code, 999);
    assert.equal(r.json.msg, `failed to add route '0.0.0.0/0 via 10.220.${n}.1 dev eth0': file exists`);
    assert.deepEqual(links(ctr).map((l) => l.ifname), ['lo']);
    assert.deepEqual(links(host).map((l) => l.ifname).filter((l) => l.startsWith('veth')), []);
    assert.deepEqual(hostLocalReservations(dirs.dataDir, net), []);
  });

  it('GC removes masquerade rules and IPAM reservations of attachments not in the valid list; STATUS delegates to IPAM', () => {
    const script = fakeScript(dirs.tmp, { result: { cniVersion: '1.1.0', ips: [{ address: `10.220.${n}.9/24`, gateway: `10.220.${n}.1` }] } });
    const net = `brgc${n}`;
    const conf = { cniVersion: '1.1.0', name: net, type: 'bridge', bridge: `cnitsbr${n}`, ipMasq: true, ipam: { type: 'fake-ipam', script } };
    const ctr2 = createNetns('brc2');
    try {
      assert.equal(run('ADD', conf, { cid: 'keep' }).code, 0);
      assert.equal(run('ADD', conf, { cid: 'stale', netns: ctr2.path }).code, 0);
      assert.equal(masqRules(host, net).length, 6);
      const gc = run('GC', { ...conf, 'cni.dev/valid-attachments': [{ containerID: 'keep', ifname: 'eth0' }] });
      assert.equal(gc.code, 0, gc.stdout + gc.stderr);
      const left = masqRules(host, net);
      assert.equal(left.length, 3);
      assert.ok(left.every((l) => l.includes('id: \\"keep\\"')));
      assert.deepEqual(fakeReservations(script), ['keep-eth0']);
      assert.equal(run('STATUS', conf).code, 0);
      const bad = fakeScript(dirs.tmp, { failOn: ['STATUS'], error: { code: 50, msg: 'no addresses left' } });
      const st = run('STATUS', { ...conf, ipam: { type: 'fake-ipam', script: bad } });
      assert.equal(st.json.code, 50);
      assert.equal(run('DEL', conf, { cid: 'keep' }).code, 0);
      assert.deepEqual(masqRules(host, net), []);
    } finally {
      ctr2.remove();
    }
  });
});

describe('bridge with other host-local implementations', { skip }, () => {
  let dirs: ReturnType<typeof ipamDirs>;
  beforeEach(() => {
    dirs = ipamDirs();
  });
  afterEach(() => dirs.cleanup());
  const { host, ctr } = netnsPairPerTest({ tag: 'br' });

  it('our bin/host-local under Debian\'s /usr/lib/cni/bridge', { skip: (!haveOurHostLocal && 'bin/host-local not built yet') || (!haveRefHostLocal && 'Debian plugins missing') }, () => {
    const conf = { cniVersion: '1.0.0', name: 'theirbr', type: 'bridge', bridge: 'cnitsbr90', isGateway: true, ipam: { type: 'host-local', dataDir: dirs.dataDir, subnet: '10.220.90.0/24' } };
    const o = { containerID: 'c', netns: ctr.path, ifName: 'eth0', cniPath: cniPath(), stdin: conf, hostNetns: host.name };
    const add = execPlugin('/usr/lib/cni/bridge', { ...o, command: 'ADD' });
    assert.equal(add.code, 0, add.stdout + add.stderr);
    assert.deepEqual(addrs(ctr, 'eth0', 4), ['10.220.90.2/24']);
    assert.deepEqual(hostLocalReservations(dirs.dataDir, 'theirbr'), ['10.220.90.2']);
    assert.equal(execPlugin('/usr/lib/cni/bridge', { ...o, command: 'DEL' }).code, 0);
    assert.deepEqual(hostLocalReservations(dirs.dataDir, 'theirbr'), []);
  });

  for (const v of REF_VERSIONS) {
    it(`[${v}] an ADD by Debian's /usr/lib/cni/bridge (ipMasq) is torn down by ours: veth, rules, reservation gone`, { skip: !haveRefHostLocal && 'Debian plugins missing' }, () => {
      const conf = { cniVersion: v, name: 'refnet', type: 'bridge', bridge: 'cnitsbr91', isGateway: true, ipMasq: true, ipam: { type: 'host-local', dataDir: dirs.dataDir, subnet: '10.220.91.0/24' } };
      const o = { containerID: 'c', netns: ctr.path, ifName: 'eth0', stdin: conf, hostNetns: host.name };
      const add = execPlugin('/usr/lib/cni/bridge', { ...o, command: 'ADD', cniPath: cniPath(dirs.refIPAM) });
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.equal(masqRules(host, 'refnet').length, 3);
      const del = execPlugin('bridge', { ...o, command: 'DEL', cniPath: cniPath(dirs.refIPAM) });
      assert.equal(del.code, 0, del.stdout + del.stderr);
      assert.equal(link(ctr, 'eth0'), undefined);
      assert.deepEqual(links(host).filter((l) => l.ifname.startsWith('veth')), []);
      assert.deepEqual(masqRules(host, 'refnet'), [], 'our DEL removed the Go plugin\'s chain and jump');
      assert.deepEqual(hostLocalReservations(dirs.dataDir, 'refnet'), []);
    });
  }

  it('an ADD by ours is torn down by Debian\'s bridge (same chain name and comment)', { skip: !haveRefHostLocal && 'Debian plugins missing' }, () => {
    const conf = { cniVersion: '1.0.0', name: 'oursnet', type: 'bridge', bridge: 'cnitsbr92', isGateway: true, ipMasq: true, ipam: { type: 'host-local', dataDir: dirs.dataDir, subnet: '10.220.92.0/24' } };
    const o = { containerID: 'c', netns: ctr.path, ifName: 'eth0', stdin: conf, hostNetns: host.name, cniPath: cniPath(dirs.refIPAM) };
    assert.equal(execPlugin('bridge', { ...o, command: 'ADD' }).code, 0);
    assert.equal(masqRules(host, 'oursnet').length, 3);
    const del = execPlugin('/usr/lib/cni/bridge', { ...o, command: 'DEL' });
    assert.equal(del.code, 0, del.stdout);
    assert.deepEqual(masqRules(host, 'oursnet'), []);
  });
});
