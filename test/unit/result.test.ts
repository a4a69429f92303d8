// pkg/types/result: the conversions of cni-reference.md §1.7 in both directions,
// key order and omissions of the Go types (§1.6), and parseResult's error paths.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CniError, ErrCode } from '../../pkg/types/error.js';
import { convertResult, formatJSON, parseResult, type Result } from '../../pkg/types/result.js';
import { ALL_VERSIONS } from '../../pkg/types/version.js';

const LEGACY = ['0.1.0', '0.2.0'] as const;
const MIDDLE = ['0.3.0', '0.3.1', '0.4.0'] as const;
const CURRENT = ['1.0.0', '1.1.0'] as const;

/** A bridge-like result: three interfaces, dual stack, two IPs of one family, routes of both. */
const FULL: Result = {
  cniVersion: '1.1.0',
  interfaces: [
    { name: 'cni0', mac: '0a:58:0a:fa:00:01' },
    { name: 'veth1234abcd', mac: '0a:58:0a:fa:00:02' },
    { name: 'eth0', mac: '0a:58:0a:fa:00:03', mtu: 1400, sandbox: '/run/netns/x', socketPath: '/run/vhost.sock', pciID: '0000:04:00.5' },
  ],
  ips: [
    { interface: 2, address: '10.250.0.2/24', gateway: '10.250.0.1' },
    { interface: 2, address: '10.250.1.2/24' },
    { interface: 2, address: 'fd00:250::2/64', gateway: 'fd00:250::1' },
  ],
  routes: [
    { dst: '0.0.0.0/0', gw: '10.250.0.1', mtu: 1300, advmss: 1260, priority: 100, table: 100, scope: 0 },
    { dst: '::/0', gw: 'fd00:250::1' },
    { dst: '10.251.0.0/16' },
  ],
  dns: { nameservers: ['10.250.0.53'], domain: 'example.org', search: ['a.example.org'], options: ['ndots:2'] },
};

function codeOf(fn: () => unknown): number {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CniError, `not a CniError: ${e}`);
    return e.code;
  }
  assert.fail('did not throw');
}

describe('convertResult from the 1.1.0 shape', () => {
  for (const v of CURRENT) {
    it(`→ ${v}: identity with every field, in Go's key order`, () => {
      const out = convertResult(FULL, v);
      assert.equal(
        formatJSON(out),
        formatJSON({
          cniVersion: v,
          interfaces: FULL.interfaces,
          ips: FULL.ips,
          routes: FULL.routes,
          dns: FULL.dns,
        }),
      );
      assert.deepEqual(Object.keys((out.interfaces as object[])[2]), ['name', 'mac', 'mtu', 'sandbox', 'socketPath', 'pciID']);
      assert.deepEqual(Object.keys((out.ips as object[])[0]), ['interface', 'address', 'gateway']);
      assert.deepEqual(Object.keys((out.routes as object[])[0]), ['dst', 'gw', 'mtu', 'advmss', 'priority', 'table', 'scope']);
    });
  }

  for (const v of MIDDLE) {
    it(`→ ${v}: ips gain version, interface mtu/socketPath/pciID are dropped, route extras survive`, () => {
      const out = convertResult(FULL, v) as any;
      assert.equal(out.cniVersion, v);
      assert.deepEqual(out.interfaces, [
        { name: 'cni0', mac: '0a:58:0a:fa:00:01' },
        { name: 'veth1234abcd', mac: '0a:58:0a:fa:00:02' },
        { name: 'eth0', mac: '0a:58:0a:fa:00:03', sandbox: '/run/netns/x' },
      ]);
      assert.deepEqual(out.ips, [
        { version: '4', interface: 2, address: '10.250.0.2/24', gateway: '10.250.0.1' },
        { version: '4', interface: 2, address: '10.250.1.2/24' },
        { version: '6', interface: 2, address: 'fd00:250::2/64', gateway: 'fd00:250::1' },
      ]);
      assert.deepEqual(Object.keys(out.ips[0]), ['version', 'interface', 'address', 'gateway']);
      assert.deepEqual(out.routes, FULL.routes, 'the Go Route type is shared, so mtu/advmss/priority/table/scope stay');
      assert.deepEqual(out.dns, FULL.dns);
      assert.deepEqual(Object.keys(out), ['cniVersion', 'interfaces', 'ips', 'routes', 'dns']);
    });
  }

  for (const v of LEGACY) {
    it(`→ ${v}: first IP of each family, routes split by family with only dst and gw`, () => {
      const out = convertResult(FULL, v);
      assert.equal(
        formatJSON(out),
        formatJSON({
          cniVersion: v,
          ip4: { ip: '10.250.0.2/24', gateway: '10.250.0.1', routes: [{ dst: '0.0.0.0/0', gw: '10.250.0.1' }, { dst: '10.251.0.0/16' }] },
          ip6: { ip: 'fd00:250::2/64', gateway: 'fd00:250::1', routes: [{ dst: '::/0', gw: 'fd00:250::1' }] },
          dns: FULL.dns,
        }),
      );
    });

    it(`→ ${v}: a family without an IP takes no routes; no ip6 key when there is no IPv6`, () => {
      const r: Result = { cniVersion: '1.1.0', ips: [{ address: '10.250.0.2/24' }], routes: [{ dst: '::/0', gw: 'fd00:250::1' }, { dst: '10.251.0.0/16', gw: '10.250.0.1' }] };
      assert.deepEqual(convertResult(r, v), { cniVersion: v, ip4: { ip: '10.250.0.2/24', routes: [{ dst: '10.251.0.0/16', gw: '10.250.0.1' }] }, dns: {} });
      const v6: Result = { cniVersion: '1.1.0', ips: [{ address: 'fd00:250::2/64' }] };
      assert.deepEqual(convertResult(v6, v), { cniVersion: v, ip6: { ip: 'fd00:250::2/64' }, dns: {} });
    });

    it(`→ ${v}: "cannot convert: no valid IP addresses" without IPs (code 1)`, () => {
      for (const r of [{ cniVersion: '1.1.0' }, { cniVersion: '1.1.0', interfaces: [{ name: 'lo' }], ips: [] }] as Result[]) {
        assert.throws(() => convertResult(r, v), (e: unknown) => e instanceof CniError && e.code === ErrCode.IncompatibleCNIVersion && e.message === 'cannot convert: no valid IP addresses');
      }
    });
  }

  it('dns is always present, {} when empty, in every version (Go marshals its DNS struct even when empty)', () => {
    const base: Result = { cniVersion: '1.1.0', ips: [{ address: '10.250.0.2/24' }] };
    for (const dns of [undefined, {}, { nameservers: [], search: [], options: [], domain: '' }]) {
      for (const v of [...MIDDLE, ...CURRENT]) assert.deepEqual(convertResult({ ...base, dns }, v).dns, {}, `${v} ${JSON.stringify(dns)}`);
      for (const v of LEGACY) assert.deepEqual(convertResult({ ...base, dns }, v).dns, {});
    }
    const partial = convertResult({ ...base, dns: { nameservers: [], domain: 'x.org', search: [] } }, '1.0.0');
    assert.deepEqual(partial.dns, { domain: 'x.org' }, 'empty members are omitted too');
  });

  it('empty lists and zero values are omitted (omitempty); table 0 and scope 0 are kept (pointers in Go)', () => {
    const r: Result = { cniVersion: '1.1.0', interfaces: [], ips: [{ address: '10.250.0.2/24', gateway: '' }], routes: [{ dst: '10.0.0.0/8', mtu: 0, advmss: 0, priority: 0, table: 0, scope: 253 }] };
    assert.deepEqual(convertResult(r, '1.1.0'), { cniVersion: '1.1.0', ips: [{ address: '10.250.0.2/24' }], routes: [{ dst: '10.0.0.0/8', table: 0, scope: 253 }], dns: {} });
    assert.deepEqual(convertResult({ cniVersion: '1.1.0' }, '1.0.0'), { cniVersion: '1.0.0', dns: {} });
  });

  it('an unknown target version has no converter', () => {
    for (const v of ['2.0.0', '0.3.2', '']) {
      assert.throws(() => convertResult(FULL, v), /no converter for CNI result version 1\.1\.0 to/);
    }
  });
});

describe('parseResult: every version into the 1.1.0 shape', () => {
  it('0.1.0/0.2.0: ip4 and ip6 become ips, per-family routes concatenate (v4 first), no interfaces', () => {
    for (const v of LEGACY) {
      const raw = {
        cniVersion: v,
        ip4: { ip: '10.250.0.5/16', gateway: '10.250.0.1', routes: [{ dst: '0.0.0.0/0', gw: '10.250.0.1' }] },
        ip6: { ip: 'fd00:250::5/64', gateway: 'fd00:250::1', routes: [{ dst: '::/0' }] },
        dns: { nameservers: ['10.250.0.53'] },
      };
      const r = parseResult(raw, '');
      assert.deepEqual(r, {
        cniVersion: '1.1.0',
        ips: [
          { address: '10.250.0.5/16', gateway: '10.250.0.1' },
          { address: 'fd00:250::5/64', gateway: 'fd00:250::1' },
        ],
        routes: [{ dst: '0.0.0.0/0', gw: '10.250.0.1' }, { dst: '::/0' }],
        dns: { nameservers: ['10.250.0.53'] },
      });
      for (const to of MIDDLE) {
        assert.deepEqual((convertResult(r, to) as any).ips, [
          { version: '4', address: '10.250.0.5/16', gateway: '10.250.0.1' },
          { version: '6', address: 'fd00:250::5/64', gateway: 'fd00:250::1' },
        ]);
      }
      for (const to of LEGACY) assert.deepEqual(convertResult(r, to), { ...raw, cniVersion: to, ip6: { ...raw.ip6 } }, `${v} → ${to} round trip`);
    }
  });

  it('0.3.x/0.4.0: version is dropped on the way in and recomputed on the way out', () => {
    for (const v of MIDDLE) {
      const raw = convertResult(FULL, v);
      const r = parseResult(raw, '');
      assert.ok(r.ips!.every((ip) => !('version' in ip)));
      for (const to of MIDDLE) assert.deepEqual(convertResult(r, to), { ...raw, cniVersion: to }, `${v} → ${to}`);
      // up to 1.x the dropped interface fields do not come back
      assert.deepEqual((convertResult(r, '1.1.0').interfaces as any[])[2], { name: 'eth0', mac: '0a:58:0a:fa:00:03', sandbox: '/run/netns/x' });
    }
  });

  it('1.0.0 ↔ 1.1.0 is an identity copy', () => {
    for (const from of CURRENT) for (const to of CURRENT) assert.deepEqual(convertResult(parseResult(convertResult(FULL, from), ''), to), { ...convertResult(FULL, to) });
  });

  it('a result without cniVersion takes the fallback version (libcni fixupResultVersion), else 0.1.0', () => {
    const legacy = { ip4: { ip: '10.250.0.5/16' } };
    assert.deepEqual(parseResult(legacy, '0.2.0').ips, [{ address: '10.250.0.5/16' }]);
    assert.deepEqual(parseResult(legacy, '').ips, [{ address: '10.250.0.5/16' }]);
    const modern = { ips: [{ address: '10.250.0.5/16' }] };
    assert.deepEqual(parseResult(modern, '1.0.0').ips, [{ address: '10.250.0.5/16' }]);
    assert.equal(parseResult(modern, '0.2.0').ips, undefined, 'read as 0.2.0 it has no ip4/ip6');
    assert.deepEqual(parseResult({ cniVersion: '', ...modern }, '1.0.0').ips, [{ address: '10.250.0.5/16' }]);
  });

  it('unknown keys are ignored and null members read as absent', () => {
    const r = parseResult({ cniVersion: '1.0.0', ips: [{ address: '10.250.0.5/16', gateway: null, extra: 1 }], routes: null, dns: null, foo: 'bar' }, '');
    assert.deepEqual(r, { cniVersion: '1.1.0', ips: [{ address: '10.250.0.5/16' }] });
  });
});

describe('parseResult: errors', () => {
  const cases: Array<[string, unknown, number, RegExp]> = [
    ['not an object', [], ErrCode.DecodingFailure, /: prevResult: must be an object$/],
    ['null', null, ErrCode.DecodingFailure, /must be an object/],
    ['unknown version', { cniVersion: '9.9.9' }, ErrCode.IncompatibleCNIVersion, /unsupported result version "9\.9\.9"/],
    ['cniVersion not a string', { cniVersion: 1 }, ErrCode.DecodingFailure, /: prevResult\.cniVersion: must be a string$/],
    ['ips not a list', { cniVersion: '1.0.0', ips: {} }, ErrCode.DecodingFailure, /: prevResult\.ips: must be a list$/],
    ['ip entry not an object', { cniVersion: '1.0.0', ips: ['x'] }, ErrCode.DecodingFailure, /: prevResult\.ips\[0\]: must be an object$/],
    ['missing address', { cniVersion: '1.0.0', ips: [{}] }, ErrCode.DecodingFailure, /: prevResult\.ips\[0\]\.address: missing$/],
    ['address without prefix', { cniVersion: '1.0.0', ips: [{ address: '10.250.0.5' }] }, ErrCode.DecodingFailure, /invalid CIDR address "10\.250\.0\.5"/],
    ['bad gateway', { cniVersion: '1.0.0', ips: [{ address: '10.250.0.5/16', gateway: '10.250.0.300' }] }, ErrCode.DecodingFailure, /: prevResult\.ips\[0\]\.gateway: invalid IP address/],
    ['interface not an integer', { cniVersion: '1.0.0', ips: [{ address: '10.250.0.5/16', interface: '0' }] }, ErrCode.DecodingFailure, /ips\[0\]\.interface: must be an integer/],
    ['interfaces entry not an object', { cniVersion: '1.0.0', interfaces: [1] }, ErrCode.DecodingFailure, /interfaces\[0\]: must be an object/],
    ['interface mtu not an integer', { cniVersion: '1.1.0', interfaces: [{ name: 'a', mtu: 1.5 }] }, ErrCode.DecodingFailure, /interfaces\[0\]\.mtu: must be an integer/],
    ['route dst missing', { cniVersion: '1.0.0', routes: [{ gw: '10.0.0.1' }] }, ErrCode.DecodingFailure, /: prevResult\.routes\[0\]\.dst: missing$/],
    ['route dst not a CIDR', { cniVersion: '1.0.0', routes: [{ dst: 'default' }] }, ErrCode.DecodingFailure, /routes\[0\]\.dst: invalid CIDR address "default"/],
    ['route table not an integer', { cniVersion: '1.1.0', routes: [{ dst: '0.0.0.0/0', table: 'main' }] }, ErrCode.DecodingFailure, /routes\[0\]\.table: must be an integer/],
    ['dns not an object', { cniVersion: '1.0.0', dns: [] }, ErrCode.DecodingFailure, /: prevResult\.dns: must be an object$/],
    ['dns nameservers not strings', { cniVersion: '1.0.0', dns: { nameservers: [1] } }, ErrCode.DecodingFailure, /dns\.nameservers: must be a list of strings/],
    ['ip4 not an object', { cniVersion: '0.2.0', ip4: 'x' }, ErrCode.DecodingFailure, /: prevResult\.ip4: must be an object$/],
    ['ip4.ip missing', { cniVersion: '0.2.0', ip4: {} }, ErrCode.DecodingFailure, /: prevResult\.ip4\.ip: missing$/],
    ['ip6 route bad', { cniVersion: '0.2.0', ip6: { ip: 'fd00::1/64', routes: [{ dst: 'x' }] } }, ErrCode.DecodingFailure, /ip6\.routes\[0\]\.dst/],
  ];
  for (const [what, raw, code, msg] of cases) {
    it(what, () => {
      assert.equal(codeOf(() => parseResult(raw, '')), code);
      assert.throws(() => parseResult(raw, ''), msg);
    });
  }

  it('names the path it was given', () => {
    assert.throws(() => parseResult({ cniVersion: '1.0.0', ips: [{}] }, '', 'result'), /^CniError: result\.ips\[0\]\.address: missing$/);
  });

  it('every known version parses the output of every other', () => {
    for (const from of ALL_VERSIONS) for (const to of ALL_VERSIONS) assert.doesNotThrow(() => convertResult(parseResult(convertResult(FULL, from), ''), to), `${from} → ${to}`);
  });
});
