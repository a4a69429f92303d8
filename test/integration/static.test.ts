// bin/static run as a runtime (or an interface plugin) runs it, side by side
// with Debian's /usr/lib/cni/static: the same output for the same inputs in
// every spec version, errors naming the field, CHECK, DEL and GC/STATUS; then
// as the IPAM of our macvlan (and of Debian's macvlan) in real namespaces.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { BIN, execPlugin, ipJSON, isRoot, REF_BIN, REF_VERSIONS, SPEC_VERSIONS, type TestNetns } from '../helpers/index.js';
import { addrs, link, ping, routes } from '../helpers/bridge-env.js';
import { netnsPairPerTest } from '../helpers/netns-pair.js';
import * as fs from 'node:fs';

const REF = `${REF_BIN}/static`;
const haveRef = fs.existsSync(REF);
const legacy = (v: string) => v === '0.1.0' || v === '0.2.0';

const run = (command: string, stdin: object | string, o: { bin?: string; args?: string; netns?: string } = {}) =>
  execPlugin(o.bin ?? 'static', { command, containerID: 'cnits-sdv-1', netns: o.netns ?? '/var/run/netns/cnits-sdv-none', ifName: 'eth0', args: o.args, stdin });

interface Case {
  what: string;
  ipam?: object;
  top?: object;
  args?: string;
  /** Fails in spec versions below 0.3.0 (several addresses of a family, or none). */
  modernOnly?: boolean;
}

const CASES: Case[] = [
  {
    what: 'addresses with gateways (host bits kept), routes (gw, host bits in dst), dns',
    ipam: {
      addresses: [{ address: '10.204.1.5/24', gateway: '10.204.1.1' }, { address: '2001:db8:204::0005/64' }],
      routes: [{ dst: '0.0.0.0/0' }, { dst: '10.205.7.1/16', gw: '10.204.1.1' }, { dst: '::/0', gw: '2001:db8:204::1' }],
      dns: { nameservers: ['10.204.0.53'], domain: 'sdv.example', search: ['a.sdv.example'], options: ['ndots:2'] },
    },
  },
  { what: 'CNI_ARGS IP (both families, spaces) with GATEWAY matched by subnet', ipam: {}, args: 'IP=10.204.2.7/24, 2001:db8:204::7/64;GATEWAY=10.204.2.1,2001:db8:204::1' },
  { what: 'CNI_ARGS IP is appended to the configured addresses; GATEWAY applies only to CNI_ARGS addresses', ipam: { addresses: [{ address: '10.204.3.5/24' }] }, args: 'IP=10.204.4.7/24;GATEWAY=10.204.3.1,10.204.4.1', modernOnly: true },
  { what: 'IgnoreUnknown lets other CNI_ARGS through', ipam: {}, args: 'IgnoreUnknown=1;K8S_POD_NAME=x;MAC=0a:58:0a:cc:00:01;IP=10.204.5.7/24' },
  { what: 'args.cni.ips replaces the configured and CNI_ARGS addresses (gateways lost)', ipam: { addresses: [{ address: '10.204.6.5/24', gateway: '10.204.6.1' }] }, args: 'IP=10.204.6.9/24', top: { args: { cni: { ips: ['10.204.6.6/24'] } } } },
  { what: 'runtimeConfig.ips replaces args.cni.ips', ipam: { addresses: [{ address: '10.204.7.5/24' }] }, top: { args: { cni: { ips: ['10.204.7.6/24'] } }, runtimeConfig: { ips: ['10.204.7.7/24', '2001:db8:204::7:7/64'] } } },
  { what: 'empty lists in args and runtimeConfig replace nothing', ipam: { addresses: [{ address: '10.204.8.5/24' }] }, top: { args: { cni: { ips: [] } }, runtimeConfig: { ips: [] } } },
  { what: 'JSON null means unset', ipam: { addresses: [{ address: '10.204.9.5/24', gateway: null }], routes: null, dns: null }, top: { runtimeConfig: null, args: null } },
  { what: 'two addresses of a family', ipam: { addresses: [{ address: '10.204.10.5/24' }, { address: '10.204.11.5/24' }] }, modernOnly: true },
  { what: 'no addresses at all', ipam: { type: 'static' }, modernOnly: true },
];

function confOf(c: Case, v: string, keyCase: (k: string) => string = (k) => k): object {
  return { cniVersion: v, name: 'sdvnet', type: 'macvlan', [keyCase('ipam')]: c.ipam && { type: 'static', ...c.ipam }, ...c.top };
}

describe('static', () => {
  for (const v of SPEC_VERSIONS) {
    it(`static [${v}] ADD prints what Debian's static prints for the same inputs${v === '1.1.0' ? ' (its 1.0.0 output, relabelled)' : ''}`, { skip: !haveRef && 'Debian plugins missing' }, () => {
      const refV = REF_VERSIONS.includes(v as (typeof REF_VERSIONS)[number]) ? v : '1.0.0';
      for (const c of CASES) {
        const ours = run('ADD', confOf(c, v), { args: c.args });
        const ref = run('ADD', confOf(c, refV), { bin: REF, args: c.args });
        if (c.modernOnly && legacy(v)) {
          assert.equal(ours.code, 1, `${c.what}: ${ours.stdout}`);
          assert.equal(ref.code, 1, `${c.what}: Debian's fails too: ${ref.stdout}`);
          continue;
        }
        assert.equal(ours.code, 0, `${c.what}: ${ours.stdout}${ours.stderr}`);
        assert.equal(ref.code, 0, `${c.what}: ${ref.stdout}`);
        assert.deepEqual(ours.json, { ...ref.json, cniVersion: v }, c.what);
      }
    });
  }

  // `Address` itself stays lower case: Go matches it to the struct's untagged net.IPNet field of that name and fails
  it('static ADD: keys in any case, as Go\'s encoding/json matches them', { skip: !haveRef && 'Debian plugins missing' }, () => {
    const conf = { cniVersion: '1.0.0', Name: 'sdvnet', IPAM: { Type: 'static', Addresses: [{ address: '10.204.12.5/24', Gateway: '10.204.12.1' }], Routes: [{ Dst: '0.0.0.0/0' }] }, RuntimeConfig: { IPs: [] } };
    const ours = run('ADD', conf);
    assert.equal(ours.code, 0, ours.stdout);
    assert.deepEqual(ours.json, run('ADD', conf, { bin: REF }).json);
    assert.deepEqual(ours.json.ips, [{ address: '10.204.12.5/24', gateway: '10.204.12.1' }]);
  });

  it('static ADD keeps the spec 1.1.0 route attributes (mtu, advmss, priority, table, scope)', () => {
    const routesIn = [{ dst: '10.205.0.0/16', gw: '10.204.13.1', mtu: 1400, advmss: 1360, priority: 100, table: 0, scope: 0 }];
    const r = run('ADD', { cniVersion: '1.1.0', name: 'sdvnet', ipam: { type: 'static', addresses: [{ address: '10.204.13.5/24' }], routes: routesIn } });
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(r.json.routes, routesIn);
  });

  it('static bad inputs: code 7 naming the field (code 4 for CNI_ARGS); Debian\'s static fails on each too', { skip: !haveRef && 'Debian plugins missing' }, () => {
    const base = { cniVersion: '1.0.0', name: 'sdvnet' };
    const ipam = (x: object) => ({ ...base, ipam: { type: 'static', ...x } });
    const cases: Array<[object, string | undefined, number, RegExp]> = [
      [base, undefined, 7, /^ipam: IPAM config missing 'ipam' key$/],
      [{ ...base, ipam: null }, undefined, 7, /^ipam: IPAM config missing 'ipam' key$/],
      [ipam({ addresses: [{ address: '10.204.1.5' }] }), undefined, 7, /^ipam\.addresses\[0\]\.address: "10\.204\.1\.5" is not a CIDR$/],
      [ipam({ addresses: [{ address: '10.204.1.5/24' }, { address: '10.204.1.300/24' }] }), undefined, 7, /^ipam\.addresses\[1\]\.address: "10\.204\.1\.300\/24" is not a CIDR$/],
      [ipam({ addresses: [{ gateway: '10.204.1.1' }] }), undefined, 7, /^ipam\.addresses\[0\]\.address: is required$/],
      [ipam({ addresses: [{ address: '10.204.1.5/24', gateway: '10.204.1.x' }] }), undefined, 7, /^ipam\.addresses\[0\]\.gateway: "10\.204\.1\.x" is not an IP address$/],
      [ipam({ addresses: 'x' }), undefined, 7, /^ipam\.addresses: "x" must be a list$/],
      [ipam({ routes: [{ dst: '10.205.0.0' }] }), undefined, 7, /^ipam\.routes\[0\]\.dst: "10\.205\.0\.0" is not a CIDR$/],
      [ipam({ routes: [{ dst: '10.205.0.0/16', gw: 'gw' }] }), undefined, 7, /^ipam\.routes\[0\]\.gw: "gw" is not an IP address$/],
      [ipam({ dns: { nameservers: '10.204.0.53' } }), undefined, 7, /^ipam\.dns\.nameservers: "10\.204\.0\.53" must be a list$/],
      [{ ...ipam({}), runtimeConfig: { ips: ['10.204.1.5'] } }, undefined, 7, /^runtimeConfig\.ips\[0\]: "10\.204\.1\.5" is not a CIDR$/],
      [{ ...ipam({}), args: { cni: { ips: ['10.204.1.5/24', 'x'] } } }, undefined, 7, /^args\.cni\.ips\[1\]: "x" is not a CIDR$/],
      [{ ...ipam({}), cniVersion: '0.2.0', runtimeConfig: { ips: ['10.204.1.5/24', '10.204.1.6/24'] } }, undefined, 7, /^runtimeConfig\.ips: CNI version 0\.2\.0 does not support more than 1 address per family$/],
      [ipam({}), 'IP=10.204.1.5', 4, /^CNI_ARGS IP: "10\.204\.1\.5" is not a CIDR/],
      [ipam({}), 'IP=10.204.1.5/24,', 4, /^CNI_ARGS IP: "" is not a CIDR/],
      [ipam({}), 'IP=10.204.1.5/24;GATEWAY=10.204.1', 4, /^CNI_ARGS GATEWAY: "10\.204\.1" is not an IP address$/],
      [ipam({}), 'MAC=0a:58:0a:cc:00:01', 4, /^CNI_ARGS: unknown args \["MAC=0a:58:0a:cc:00:01"\]$/],
      [ipam({}), 'IP', 4, /^CNI_ARGS: invalid pair "IP"$/],
    ];
    for (const [conf, args, code, msg] of cases) {
      const r = run('ADD', conf, { args });
      assert.equal(r.code, 1, `${JSON.stringify(conf)} ${args}: ${r.stdout}`);
      assert.equal(r.json.code, code, r.stdout);
      assert.match(r.json.msg, msg);
      assert.equal(run('ADD', conf, { bin: REF, args }).code, 1, `Debian's static refuses ${JSON.stringify(conf)} ${args} too`);
    }
  });

  it('static CHECK, as Debian\'s: a matching prevResult passes, another gateway fails, no prevResult fails; a missing address fails (Debian\'s passes)', { skip: !haveRef && 'Debian plugins missing' }, () => {
    for (const v of ['0.4.0', '1.0.0', '1.1.0']) {
      const refV = v === '1.1.0' ? '1.0.0' : v;
      const conf = (vv: string, prevResult?: object) => ({ cniVersion: vv, name: 'sdvnet', ipam: { type: 'static', addresses: [{ address: '10.204.14.5/24', gateway: '10.204.14.1' }, { address: '10.204.15.5/24' }] }, prevResult });
      const added = run('ADD', conf(v)).json;
      const both = (prev: object | undefined) => [run('CHECK', conf(v, prev)), run('CHECK', conf(refV, prev && { ...prev, cniVersion: refV }), { bin: REF })];
      for (const r of both(added)) assert.equal(r.code, 0, `[${v}] ${r.stdout}`);
      const otherGw = { ...added, ips: [{ address: '10.204.14.5/24', gateway: '10.204.14.2' }, { address: '10.204.15.5/24' }] };
      for (const r of both(otherGw)) assert.equal(r.json?.msg, 'static: Failed to match addr 10.204.14.5 on interface eth0', `[${v}] ${r.stdout}`);
      for (const r of both(undefined)) assert.equal(r.json?.msg, 'Required prevResult missing', `[${v}] ${r.stdout}`);
      const [ours, ref] = both({ ...added, ips: added.ips.slice(0, 1) });
      assert.equal(ours.json?.msg, 'static: address 10.204.15.5 is not in the prevResult of interface eth0', ours.stdout);
      assert.equal(ref.code, 0, 'Debian\'s static does not notice a missing address');
    }
  });

  it('static DEL always succeeds (twice, without CNI_NETNS, with a configuration ADD would refuse); GC and STATUS succeed from 1.1.0', () => {
    const bad = { cniVersion: '1.1.0', name: 'sdvnet', ipam: { type: 'static', addresses: [{ address: 'x' }] } };
    assert.equal(run('DEL', bad).code, 0);
    assert.equal(run('DEL', bad).code, 0);
    const noNetns = execPlugin('static', { command: 'DEL', containerID: 'cnits-sdv-1', ifName: 'eth0', stdin: { cniVersion: '1.1.0', name: 'sdvnet' } });
    assert.equal(noNetns.code, 0, noNetns.stdout);
    assert.equal(noNetns.stdout, '');
    const ok = { cniVersion: '1.1.0', name: 'sdvnet', ipam: { type: 'static', addresses: [{ address: '10.204.16.5/24' }] } };
    for (const cmd of ['GC', 'STATUS']) {
      assert.equal(run(cmd, ok).code, 0, cmd);
      assert.equal(run(cmd, { ...ok, cniVersion: '1.0.0' }).code, 1, `${cmd} needs 1.1.0`);
    }
    const ver = run('VERSION', '');
    assert.deepEqual(ver.json.supportedVersions, [...SPEC_VERSIONS]);
  });
});

/** The container side of a macvlan with its IPAM result applied, for comparing two containers. */
function kernelState(ns: TestNetns) {
  const l = link(ns, 'eth0');
  return { kind: l.linkinfo.info_kind, up: l.flags.includes('UP'), v4: addrs(ns, 'eth0', 4), v6: addrs(ns, 'eth0', 6), routes4: routes(ns, 4), routes6: routes(ns, 6).filter((r) => !r.dst.startsWith('fe80')) };
}

describe('static as the IPAM of macvlan', { skip: !isRoot && 'needs root' }, () => {
  let n = 20;
  beforeEach(() => {
    n++;
  });
  const { host, ctr, ctr2 } = netnsPairPerTest({ tag: 'sdv', ctr2: true, veths: [{ name: 'csdm0', peer: 'csdm1' }] });
  const nonLo = (ns: TestNetns) => ipJSON(ns, 'link', 'show').filter((l: any) => l.ifname !== 'lo').map((l: any) => l.ifname);
  const conf = (v: string, address: string) => ({
    cniVersion: v,
    name: 'sdvmv',
    type: 'macvlan',
    master: 'csdm0',
    ipam: { type: 'static', addresses: [{ address, gateway: `10.204.${n}.1` }, { address: `2001:db8:204:${n}::${address.split('.')[3].split('/')[0]}/64` }], routes: [{ dst: '10.205.0.0/16', gw: `10.204.${n}.1` }, { dst: '0.0.0.0/0' }] },
  });
  const plugin = (bin: string, command: string, stdin: object, o: { cid?: string; ns?: TestNetns | null; cniPath?: string }) =>
    execPlugin(bin, { command, containerID: o.cid ?? 'cnits-sdv-mv1', netns: o.ns === null ? undefined : (o.ns ?? ctr).path, ifName: 'eth0', cniPath: o.cniPath ?? BIN, stdin, hostNetns: host.name });

  it('static [1.0.0] with our macvlan and with Debian\'s: same addresses and routes; the two ping; CHECK; a Go ADD DELeted by ours; DEL twice and without CNI_NETNS', { skip: !haveRef && 'Debian plugins missing' }, () => {
    const ours = plugin('macvlan', 'ADD', conf('1.0.0', `10.204.${n}.5/24`), {});
    assert.equal(ours.code, 0, ours.stdout + ours.stderr);
    assert.deepEqual(ours.json.ips, [{ interface: 0, address: `10.204.${n}.5/24`, gateway: `10.204.${n}.1` }, { interface: 0, address: `2001:db8:204:${n}::5/64` }]);
    const ref = plugin(`${REF_BIN}/macvlan`, 'ADD', conf('1.0.0', `10.204.${n}.6/24`), { cid: 'cnits-sdv-mv2', ns: ctr2, cniPath: REF_BIN });
    assert.equal(ref.code, 0, ref.stdout);
    const mask = (s: any) => JSON.parse(JSON.stringify(s).replace(new RegExp(`(10\\.204\\.${n}|2001:db8:204:${n}:)[:.][56]\\b`, 'g'), '$1.X'));
    assert.deepEqual(mask(kernelState(ctr)), mask(kernelState(ctr2)));
    assert.deepEqual(addrs(ctr, 'eth0', 4), [`10.204.${n}.5/24`]);
    assert.ok(routes(ctr, 4).some((r) => r.dst === '10.205.0.0/16' && r.gateway === `10.204.${n}.1`));
    assert.ok(ping(ctr, `10.204.${n}.6`), 'our container reaches Debian\'s');
    const chk = plugin('macvlan', 'CHECK', { ...conf('1.0.0', `10.204.${n}.5/24`), prevResult: ours.json }, {});
    assert.equal(chk.code, 0, chk.stdout);
    // Debian's ADD (with Debian's static) torn down by our macvlan with our static
    assert.equal(plugin('macvlan', 'DEL', conf('1.0.0', `10.204.${n}.6/24`), { cid: 'cnits-sdv-mv2', ns: ctr2 }).code, 0);
    assert.deepEqual(nonLo(ctr2), []);
    // and ours torn down by Debian's macvlan with our static
    assert.equal(plugin(`${REF_BIN}/macvlan`, 'DEL', conf('1.0.0', `10.204.${n}.5/24`), {}).code, 0);
    assert.deepEqual(nonLo(ctr), []);
    assert.equal(plugin('macvlan', 'DEL', conf('1.0.0', `10.204.${n}.5/24`), {}).code, 0, 'a second DEL');
    assert.equal(plugin('macvlan', 'DEL', conf('1.0.0', `10.204.${n}.5/24`), { ns: null }).code, 0, 'DEL without CNI_NETNS');
  });

  for (const v of ['0.2.0', '0.4.0', '1.1.0']) {
    it(`static [${v}] with our macvlan: addresses from runtimeConfig.ips, result in ${v}; DEL leaves nothing`, () => {
      const c = { ...conf(v, `10.204.${n}.5/24`), runtimeConfig: { ips: [`10.204.${n}.9/24`] } };
      const r = plugin('macvlan', 'ADD', c, {});
      assert.equal(r.code, 0, r.stdout + r.stderr);
      assert.equal(r.json.cniVersion, v);
      if (legacy(v)) assert.equal(r.json.ip4.ip, `10.204.${n}.9/24`);
      else assert.equal(r.json.ips[0].address, `10.204.${n}.9/24`);
      assert.deepEqual(addrs(ctr, 'eth0', 4), [`10.204.${n}.9/24`]);
      assert.deepEqual(addrs(ctr, 'eth0', 6), []);
      assert.equal(plugin('macvlan', 'DEL', c, {}).code, 0);
      assert.deepEqual(nonLo(ctr), []);
    });
  }

  it('static: a failed ADD of our macvlan (route through an unreachable gateway) leaves no link; no addresses make macvlan fail cleanly', () => {
    const c = conf('1.0.0', `10.204.${n}.5/24`);
    const bad = { ...c, ipam: { ...c.ipam, routes: [{ dst: '10.205.0.0/16', gw: '10.205.99.1' }] } };
    const r = plugin('macvlan', 'ADD', bad, {});
    assert.equal(r.code, 1, r.stdout);
    assert.deepEqual(nonLo(ctr), []);
    const none = plugin('macvlan', 'ADD', { ...c, ipam: { type: 'static' } }, {});
    assert.equal(none.code, 1, none.stdout);
    assert.match(none.json.msg, /IPAM plugin returned missing IP config/);
    assert.deepEqual(nonLo(ctr), []);
    const badConf = plugin('macvlan', 'ADD', { ...c, ipam: { type: 'static', addresses: [{ address: '10.204.1.5' }] } }, {});
    assert.equal(badConf.json.code, 7, badConf.stdout);
    assert.match(badConf.json.msg, /ipam\.addresses\[0\]\.address: "10\.204\.1\.5" is not a CIDR/);
    assert.deepEqual(nonLo(ctr), []);
  });
});
