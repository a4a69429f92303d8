// bin/ptp run as a runtime runs it, inside a test netns playing the host.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { execPlugin, isRoot, REF_VERSIONS, SPEC_VERSIONS } from '../helpers/index.js';
import { addrs, cniPath, fakeReservations, fakeScript, haveOurHostLocal, haveRefHostLocal, hostLocalReservations, ipamDirsPerSuite, link, links, masqRules, ping, routes } from '../helpers/bridge-env.js';
import { netnsPairPerTest } from '../helpers/netns-pair.js';

const skip = !isRoot && 'needs root';
const legacy = (v: string) => v === '0.1.0' || v === '0.2.0';
const hasCheck = (v: string) => !['0.1.0', '0.2.0', '0.3.0', '0.3.1'].includes(v);

describe('ptp', { skip }, () => {
  const dirs = ipamDirsPerSuite();
  let n = 100;
  beforeEach(() => {
    n++;
  });
  const { host, ctr } = netnsPairPerTest({ tag: 'ptp' });

  const hostLocal = () => ({
    type: 'host-local',
    dataDir: dirs.dataDir,
    ranges: [[{ subnet: `10.221.${n}.0/24` }], [{ subnet: `fd00:220::${n}:0/112` }]],
    routes: [{ dst: '0.0.0.0/0' }],
  });
  const run = (command: string, stdin: object, o: { cid?: string; netns?: string | null; env?: Record<string, string>; plugin?: string } = {}) =>
    execPlugin(o.plugin ?? 'ptp', {
      command,
      containerID: o.cid ?? 'ctr1',
      netns: o.netns === null ? undefined : (o.netns ?? ctr.path),
      ifName: 'eth0',
      cniPath: cniPath(dirs.refIPAM),
      stdin,
      env: o.env,
      hostNetns: host.name,
    });

  for (const v of SPEC_VERSIONS) {
    const theirs = v !== '1.1.0';
    it(`[${v}] ADD (${theirs ? "Debian's" : 'our'} host-local, dual stack, ipMasq), routes, ping, CHECK, DEL, DEL again`, { skip: theirs ? !haveRefHostLocal && 'Debian host-local missing' : !haveOurHostLocal && 'bin/host-local not built yet' }, () => {
      const net = `ptpv${n}`;
      const conf = { cniVersion: v, name: net, type: 'ptp', ipMasq: true, mtu: 1450, ipam: hostLocal() };
      const add = run('ADD', conf);
      assert.equal(add.code, 0, add.stdout + add.stderr);
      const ip4 = `10.221.${n}.2`;
      const gw4 = `10.221.${n}.1`;
      if (legacy(v)) {
        assert.equal(add.json.ip4.ip, `${ip4}/24`);
        assert.equal(add.json.ip4.gateway, gw4);
      } else {
        assert.equal(add.json.interfaces.length, 2);
        assert.match(add.json.interfaces[0].name, /^veth[0-9a-f]{8}$/);
        assert.equal(add.json.interfaces[1].sandbox, ctr.path);
        assert.ok(add.json.ips.every((i: any) => i.interface === 1));
      }
      assert.deepEqual(addrs(ctr, 'eth0', 4), [`${ip4}/24`]);
      assert.equal(link(ctr, 'eth0').mtu, 1450);
      const r4 = routes(ctr, 4);
      assert.ok(r4.some((r) => r.dst === gw4 && r.scope === 'link' && r.prefsrc === ip4), JSON.stringify(r4));
      assert.ok(r4.some((r) => r.dst === `10.221.${n}.0/24` && r.gateway === gw4), 'subnet via gateway');
      assert.ok(r4.some((r) => r.dst === 'default' && r.gateway === gw4));
      assert.ok(!r4.some((r) => r.dst === `10.221.${n}.0/24` && r.protocol === 'kernel'), 'the connected subnet route is gone');
      const hv = links(host).find((l) => l.ifname.startsWith('veth'));
      assert.equal(hv.mtu, 1450);
      assert.deepEqual(addrs(host, hv.ifname).sort(), [`${gw4}/32`, `fd00:220::${n}:1/128`].sort());
      assert.ok(routes(host, 4).some((r) => r.dst === ip4 && r.dev === hv.ifname && r.scope === 'host'));
      assert.ok(ping(ctr, gw4), 'container reaches its gateway');
      assert.equal(masqRules(host, net).length, 6);
      if (hasCheck(v)) {
        const chk = run('CHECK', { ...conf, prevResult: add.json });
        assert.equal(chk.code, 0, chk.stdout + chk.stderr);
      }
      assert.equal(run('DEL', conf).code, 0);
      assert.equal(link(ctr, 'eth0'), undefined);
      assert.deepEqual(links(host).map((l) => l.ifname), ['lo']);
      assert.deepEqual(masqRules(host, net), []);
      assert.deepEqual(hostLocalReservations(dirs.dataDir, net), []);
      assert.equal(run('DEL', conf).code, 0, 'a second DEL succeeds');
    });
  }

  it('nftables backend; DEL without CNI_NETNS removes the rules and releases IPAM', () => {
    const script = fakeScript(dirs.tmp, { result: { cniVersion: '1.0.0', ips: [{ address: `10.221.${n}.2/24`, gateway: `10.221.${n}.1` }] } });
    const conf = { cniVersion: '1.0.0', name: `ptpnft${n}`, type: 'ptp', ipMasq: true, ipMasqBackend: 'nftables', ipam: { type: 'fake-ipam', script } };
    assert.equal(run('ADD', conf).code, 0);
    const rules = masqRules(host, `ptpnft${n}`);
    assert.equal(rules.length, 1);
    assert.match(rules[0], new RegExp(`ip saddr 10.221.${n}.2 ip daddr != 10.221.${n}.0/24 masquerade comment "[0-9a-f]{16}-[0-9a-f]{16}, net: ptpnft${n}, if: eth0, id: ctr1"`));
    assert.equal(run('DEL', conf, { netns: null }).code, 0);
    assert.deepEqual(masqRules(host, `ptpnft${n}`), []);
    assert.deepEqual(fakeReservations(script), []);
  });

  it('config dns replaces IPAM dns when any field is set, IPAM dns passes through otherwise', () => {
    const script = fakeScript(dirs.tmp, { result: { cniVersion: '1.0.0', ips: [{ address: `10.221.${n}.2/24`, gateway: `10.221.${n}.1` }], dns: { nameservers: ['10.0.0.53'] } } });
    const base = { cniVersion: '1.0.0', name: `ptpdns${n}`, type: 'ptp', ipam: { type: 'fake-ipam', script } };
    const a = run('ADD', base);
    assert.deepEqual(a.json.dns, { nameservers: ['10.0.0.53'] });
    assert.equal(run('DEL', base).code, 0);
    const b = run('ADD', { ...base, dns: { nameservers: ['1.1.1.1'], search: ['x.test'] } });
    assert.deepEqual(b.json.dns, { nameservers: ['1.1.1.1'], search: ['x.test'] });
    assert.equal(run('DEL', base).code, 0);
  });

  for (const step of ['ipam', 'veth', 'ipmasq']) {
    it(`rollback: a failure after ${step} leaves no veth, route, rule or reservation`, () => {
      const script = fakeScript(dirs.tmp, { result: { cniVersion: '1.0.0', ips: [{ address: `10.221.${n}.2/24`, gateway: `10.221.${n}.1` }] } });
      const conf = { cniVersion: '1.0.0', name: `ptprb${n}`, type: 'ptp', ipMasq: true, ipam: { type: 'fake-ipam', script } };
      const add = run('ADD', conf, { env: { CNI_TS_FAIL_AFTER: step } });
      assert.equal(add.code, 1, add.stdout);
      assert.deepEqual(links(host).map((l) => l.ifname), ['lo']);
      assert.deepEqual(links(ctr).map((l) => l.ifname), ['lo']);
      assert.ok(!routes(host, 4).some((r) => r.dst === `10.221.${n}.2`));
      assert.deepEqual(masqRules(host, `ptprb${n}`), []);
      assert.deepEqual(fakeReservations(script), []);
    });
  }

  const bad: Array<[string, object, RegExp]> = [
    ['no ipam', {}, /^ipam\.type: /],
    ['mtu negative', { mtu: -1, ipam: { type: 'host-local' } }, /^mtu: /],
    ['ipMasq not a bool', { ipMasq: 'yes', ipam: { type: 'host-local' } }, /^ipMasq: /],
  ];
  for (const [what, extra, msg] of bad) {
    it(`bad config (${what}): code 7 naming the field, nothing created`, () => {
      const r = run('ADD', { cniVersion: '1.0.0', name: 'bad', type: 'ptp', ...extra });
      assert.equal(r.json.code, 7, r.stdout);
      assert.match(r.json.msg, msg);
      assert.deepEqual(links(host).map((l) => l.ifname), ['lo']);
    });
  }

  it('an IPAM result without a gateway is refused and released', () => {
    const script = fakeScript(dirs.tmp, { result: { cniVersion: '1.0.0', ips: [{ address: `10.221.${n}.2/24` }] } });
    const r = run('ADD', { cniVersion: '1.0.0', name: 'nogw', type: 'ptp', ipam: { type: 'fake-ipam', script } });
    assert.equal(r.code, 1);
    assert.match(r.json.msg, /no gateway/);
    assert.deepEqual(fakeReservations(script), []);
  });

  it('GC removes rules of vanished attachments; STATUS delegates to IPAM', () => {
    const script = fakeScript(dirs.tmp, { result: { cniVersion: '1.1.0', ips: [{ address: `10.221.${n}.2/24`, gateway: `10.221.${n}.1` }] } });
    const conf = { cniVersion: '1.1.0', name: `ptpgc${n}`, type: 'ptp', ipMasq: true, ipam: { type: 'fake-ipam', script } };
    assert.equal(run('ADD', conf).code, 0);
    assert.equal(run('GC', { ...conf, 'cni.dev/valid-attachments': [] }).code, 0);
    assert.deepEqual(masqRules(host, `ptpgc${n}`), []);
    assert.deepEqual(fakeReservations(script), []);
    const st = run('STATUS', { ...conf, ipam: { type: 'fake-ipam', script: fakeScript(dirs.tmp, { failOn: ['STATUS'], error: { code: 51, msg: 'down' } }) } });
    assert.equal(st.json.code, 51);
  });

  for (const v of REF_VERSIONS.filter((x) => !legacy(x))) {
    it(`[${v}] an ADD by Debian's /usr/lib/cni/ptp is torn down by ours`, { skip: !haveRefHostLocal && 'Debian plugins missing' }, () => {
      const conf = { cniVersion: v, name: `ptpref${n}`, type: 'ptp', ipMasq: true, ipam: { type: 'host-local', dataDir: dirs.dataDir, subnet: `10.221.${n}.0/24` } };
      const add = run('ADD', conf, { plugin: '/usr/lib/cni/ptp' });
      assert.equal(add.code, 0, add.stdout + add.stderr);
      assert.equal(masqRules(host, `ptpref${n}`).length, 3);
      if (hasCheck(v)) assert.equal(run('CHECK', { ...conf, prevResult: add.json }).code, 0, 'our CHECK accepts their ADD');
      assert.equal(run('DEL', conf).code, 0);
      assert.deepEqual(links(host).map((l) => l.ifname), ['lo']);
      assert.deepEqual(masqRules(host, `ptpref${n}`), []);
      assert.deepEqual(hostLocalReservations(dirs.dataDir, `ptpref${n}`), []);
    });
  }
});
