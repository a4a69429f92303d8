// pkg/types/conf: loadConf as every plugin uses it: Go-style case-insensitive
// keys, defaults, code 7 naming the JSON path, CIDR/IP/MAC formats, unknown keys
// passed through, and prevResultOf.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Type } from '@sinclair/typebox';
import { CniError, ErrCode } from '../../pkg/types/error.js';
import { foldKeys, jsonPath, loadConf, prevResultOf, validate } from '../../pkg/types/conf.js';
import { DNSSchema, NetConfFields, RouteSchema } from '../../pkg/types/schema.js';
import { CIDRString, IPString, MACString } from '../../pkg/types/typebox.js';

const Schema = Type.Object({
  ...NetConfFields,
  mtu: Type.Optional(Type.Integer({ minimum: 0, maximum: 65535 })),
  hairpinMode: Type.Boolean({ default: false }),
  mode: Type.Optional(Type.Union([Type.Literal('bridge'), Type.Literal('vepa')])),
  mac: Type.Optional(MACString()),
  ipam: Type.Optional(
    Type.Object({
      type: Type.Optional(Type.String()),
      ranges: Type.Optional(Type.Array(Type.Array(Type.Object({ subnet: CIDRString(), gateway: Type.Optional(IPString()) })))),
      routes: Type.Optional(Type.Array(RouteSchema)),
      dns: Type.Optional(DNSSchema),
    }),
  ),
  runtimeConfig: Type.Optional(
    Type.Object({
      portMappings: Type.Optional(Type.Array(Type.Object({ hostPort: Type.Integer(), containerPort: Type.Integer(), protocol: Type.Optional(Type.String()), hostIP: Type.Optional(IPString()) }))),
      mac: Type.Optional(MACString()),
    }),
  ),
});

const base = { cniVersion: '1.0.0', name: 'net', type: 'x' };
const load = (conf: object | string) => loadConf(Schema, typeof conf === 'string' ? conf : JSON.stringify(conf));

/** The code-7 message loadConf gives for `conf`. */
function err7(conf: object): string {
  try {
    load(conf);
  } catch (e) {
    assert.ok(e instanceof CniError);
    assert.equal(e.code, ErrCode.InvalidNetworkConfig, e.message);
    return e.message;
  }
  assert.fail(`accepted ${JSON.stringify(conf)}`);
}

describe('loadConf: keys as Go matches them', () => {
  it('folds keys that differ only in case onto the schema property (containerd sends HostPort)', () => {
    const c = load({ ...base, MTU: 1400, HairpinMode: true, runtimeConfig: { PortMappings: [{ HostPort: 8080, CONTAINERPORT: 80, Protocol: 'tcp' }] } });
    assert.equal(c.mtu, 1400);
    assert.equal(c.hairpinMode, true);
    assert.deepEqual(c.runtimeConfig?.portMappings, [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }]);
    assert.ok(!('MTU' in c) && !('HairpinMode' in c));
  });

  it('folds inside nested lists of objects (ipam.ranges[][])', () => {
    const c = load({ ...base, IPAM: { Type: 'host-local', Ranges: [[{ Subnet: '10.250.0.0/24', GATEWAY: '10.250.0.1' }]] } });
    assert.deepEqual(c.ipam, { type: 'host-local', ranges: [[{ subnet: '10.250.0.0/24', gateway: '10.250.0.1' }]] });
  });

  it('a key that matches a property exactly goes to that property, even when another matches case-insensitively', () => {
    const Two = Type.Object({ name: Type.String(), ip: Type.Optional(Type.String()), IP: Type.Optional(Type.String()) });
    assert.deepEqual(validate(Two, { name: 'n', IP: 'a', ip: 'b' }), { name: 'n', IP: 'a', ip: 'b' });
    assert.deepEqual(validate(Two, { name: 'n', IP: 'a' }), { name: 'n', IP: 'a' });
  });

  it('two spellings of one property: the later in the document wins, as Go decodes them in order', () => {
    assert.equal(load({ ...base, mtu: 1400, MTU: 1300 }).mtu, 1300);
    assert.equal(load({ ...base, MTU: 1300, mtu: 1400 }).mtu, 1400);
  });

  it('unknown keys pass through untouched, at the top level and inside known objects', () => {
    const c = load({ ...base, ExtraKey: { Nested: [1, 2] }, ipam: { type: 'host-local', dataDir: '/tmp/x', Custom: true } }) as Record<string, any>;
    assert.deepEqual(c.ExtraKey, { Nested: [1, 2] });
    assert.equal(c.ipam.dataDir, '/tmp/x');
    assert.equal(c.ipam.Custom, true);
  });

  it('foldKeys leaves non-objects and schema-less values alone', () => {
    assert.equal(foldKeys(Schema, 5), 5);
    assert.deepEqual(foldKeys(Type.String(), { A: 1 }), { A: 1 });
    assert.deepEqual(foldKeys(Type.Record(Type.String(), Type.Object({ hostPort: Type.Integer() })), { x: { HostPort: 1 } }), { x: { hostPort: 1 } });
  });
});

describe('loadConf: defaults and values', () => {
  it('applies schema defaults without touching given values', () => {
    assert.equal(load(base).hairpinMode, false);
    assert.equal(load({ ...base, hairpinMode: true }).hairpinMode, true);
  });

  it('accepts the well-known keys (capabilities, dns, args, runtimeConfig, prevResult)', () => {
    const c = load({ ...base, capabilities: { portMappings: true }, dns: { nameservers: ['10.250.0.53'] }, args: { cni: { ips: ['10.250.0.9'] } }, prevResult: { cniVersion: '1.0.0' } });
    assert.deepEqual(c.capabilities, { portMappings: true });
    assert.deepEqual((c.args as any).cni.ips, ['10.250.0.9']);
  });

  it('stdin that is not JSON is code 6', () => {
    for (const s of ['', '{', 'nope']) {
      assert.throws(() => load(s), (e: unknown) => e instanceof CniError && e.code === ErrCode.DecodingFailure && /failed to load netconf/.test(e.message));
    }
    assert.equal(loadConf(Schema, Buffer.from(JSON.stringify(base))).name, 'net', 'takes a Buffer too');
  });
});

describe('loadConf: code 7 naming the JSON path', () => {
  const cases: Array<[string, object, string]> = [
    ['missing name', { cniVersion: '1.0.0' }, 'name: is required'],
    ['name of the wrong type', { ...base, name: 5 }, 'name: 5 must be a string'],
    ['integer as a string', { ...base, mtu: '1500' }, 'mtu: "1500" must be an integer'],
    ['fractional integer', { ...base, mtu: 1500.5 }, 'mtu: 1500.5 must be an integer'],
    ['above the maximum', { ...base, mtu: 70000 }, 'mtu: 70000 must be at most 65535'],
    ['below the minimum', { ...base, mtu: -1 }, 'mtu: -1 must be at least 0'],
    ['bool as a string (the cni.dev portIsolation example)', { ...base, hairpinMode: 'true' }, 'hairpinMode: "true" must be a boolean'],
    ['not one of the literals', { ...base, mode: 'private' }, 'mode: "private" must be one of "bridge", "vepa"'],
    ['object expected', { ...base, ipam: [] }, 'ipam: [] must be an object'],
    ['list expected', { ...base, ipam: { ranges: {} } }, 'ipam.ranges: {} must be a list'],
    ['deep CIDR', { ...base, ipam: { ranges: [[{ subnet: '10.0.300.0/24' }]] } }, 'ipam.ranges[0][0].subnet: "10.0.300.0/24" is not a CIDR'],
    ['CIDR without a prefix', { ...base, ipam: { ranges: [[{ subnet: '10.250.0.0/24' }], [{ subnet: '10.250.1.0' }]] } }, 'ipam.ranges[1][0].subnet: "10.250.1.0" is not a CIDR'],
    ['CIDR prefix too long', { ...base, ipam: { ranges: [[{ subnet: '10.250.0.0/33' }]] } }, 'ipam.ranges[0][0].subnet: "10.250.0.0/33" is not a CIDR'],
    ['IPv6 CIDR prefix too long', { ...base, ipam: { ranges: [[{ subnet: 'fd00:250::/129' }]] } }, 'ipam.ranges[0][0].subnet: "fd00:250::/129" is not a CIDR'],
    ['gateway not an IP', { ...base, ipam: { ranges: [[{ subnet: '10.250.0.0/24', gateway: '10.250.0.256' }]] } }, 'ipam.ranges[0][0].gateway: "10.250.0.256" is not an IP address'],
    ['gateway with a prefix', { ...base, ipam: { ranges: [[{ subnet: '10.250.0.0/24', gateway: '10.250.0.1/24' }]] } }, 'ipam.ranges[0][0].gateway: "10.250.0.1/24" is not an IP address'],
    ['route dst', { ...base, ipam: { routes: [{ dst: '0.0.0.0/0' }, { dst: 'default' }] } }, 'ipam.routes[1].dst: "default" is not a CIDR'],
    ['route gw', { ...base, ipam: { routes: [{ dst: '0.0.0.0/0', gw: 'x' }] } }, 'ipam.routes[0].gw: "x" is not an IP address'],
    ['route mtu type', { ...base, ipam: { routes: [{ dst: '0.0.0.0/0', mtu: '1' }] } }, 'ipam.routes[0].mtu: "1" must be an integer'],
    ['mac', { ...base, mac: '0a:58:0a:fa:00' }, 'mac: "0a:58:0a:fa:00" is not a MAC address'],
    ['mac with bad hex', { ...base, mac: '0a:58:0a:fa:00:zz' }, 'mac: "0a:58:0a:fa:00:zz" is not a MAC address'],
    ['folded key reports the schema name', { ...base, RuntimeConfig: { PortMappings: [{ HostPort: 'x', containerPort: 80 }] } }, 'runtimeConfig.portMappings[0].hostPort: "x" must be an integer'],
    ['required member missing', { ...base, runtimeConfig: { portMappings: [{ hostPort: 1 }] } }, 'runtimeConfig.portMappings[0].containerPort: is required'],
    ['hostIP', { ...base, runtimeConfig: { portMappings: [{ hostPort: 1, containerPort: 2, hostIP: '1.2.3' }] } }, 'runtimeConfig.portMappings[0].hostIP: "1.2.3" is not an IP address'],
    ['capabilities values', { ...base, capabilities: { portMappings: 'yes' } }, 'capabilities.portMappings: "yes" must be a boolean'],
    ['dns nameservers', { ...base, dns: { nameservers: '10.0.0.1' } }, 'dns.nameservers: "10.0.0.1" must be a list'],
  ];
  for (const [what, conf, msg] of cases) {
    it(what, () => assert.equal(err7(conf), msg));
  }

  it('accepts the good forms of CIDR, IP and MAC', () => {
    const c = load({
      ...base,
      mac: '0A-58-0a-fa-00-02',
      ipam: {
        ranges: [[{ subnet: '10.250.0.0/16', gateway: '10.250.0.1' }], [{ subnet: 'fd00:250::/64', gateway: 'fd00:250::1' }], [{ subnet: '10.250.3.7/32' }], [{ subnet: '::/0' }]],
        routes: [{ dst: '0.0.0.0/0' }, { dst: '::/0', gw: 'fd00:250::1' }, { dst: '10.250.0.0/16', gw: '10.250.0.1', mtu: 1400, table: 100, scope: 253 }],
      },
    });
    assert.equal(c.ipam?.ranges?.length, 4);
  });

  it('validate prefixes paths with its base', () => {
    assert.throws(() => validate(RouteSchema, { dst: 'x' }, 'ipam.routes[2]'), /ipam\.routes\[2\]\.dst: "x" is not a CIDR/);
    assert.throws(() => validate(RouteSchema, { gw: '10.0.0.1' }, 'r'), /r\.dst: is required/);
  });

  it('jsonPath turns JSON pointers into dotted paths', () => {
    assert.equal(jsonPath('/ipam/ranges/0/0/subnet'), 'ipam.ranges[0][0].subnet');
    assert.equal(jsonPath('/a~1b/c~0d'), 'a/b.c~d');
    assert.equal(jsonPath(''), '');
  });
});

describe('prevResultOf', () => {
  it('is undefined without a prevResult', () => {
    assert.equal(prevResultOf({ cniVersion: '1.0.0' }), undefined);
    assert.equal(prevResultOf({ cniVersion: '1.0.0', prevResult: null }), undefined);
  });

  it('reads a prevResult lacking cniVersion in the config version (version.ParsePrevResult)', () => {
    assert.deepEqual(prevResultOf({ cniVersion: '0.2.0', prevResult: { ip4: { ip: '10.250.0.2/24' } } }), { cniVersion: '1.1.0', ips: [{ address: '10.250.0.2/24' }] });
    assert.deepEqual(prevResultOf({ cniVersion: '0.4.0', prevResult: { ips: [{ version: '4', address: '10.250.0.2/24' }] } }), { cniVersion: '1.1.0', ips: [{ address: '10.250.0.2/24' }] });
  });

  it('a malformed prevResult is code 7 naming the path', () => {
    assert.throws(
      () => prevResultOf({ cniVersion: '1.0.0', prevResult: { cniVersion: '1.0.0', ips: [{ address: 'x' }] } }),
      (e: unknown) => e instanceof CniError && e.code === ErrCode.InvalidNetworkConfig && /^could not parse prevResult: prevResult\.ips\[0\]\.address: invalid CIDR address "x"$/.test(e.message),
    );
    assert.throws(() => prevResultOf({ cniVersion: '1.0.0', prevResult: { cniVersion: '7.0.0' } }), (e: unknown) => e instanceof CniError && e.code === ErrCode.InvalidNetworkConfig);
  });

  it('JSON null means unset, at any depth, as Go reads it (ADD and DEL)', () => {
    const c = loadConf(Schema, JSON.stringify({ cniVersion: null, name: 'n', mtu: null, hairpinMode: null, mac: null, ipam: { type: 'host-local', routes: null, ranges: [[{ subnet: '10.0.0.0/24', gateway: null }]] }, prevResult: null }));
    assert.deepEqual(c, { name: 'n', hairpinMode: false, ipam: { type: 'host-local', ranges: [[{ subnet: '10.0.0.0/24' }]] } });
  });

  it('lenient (DEL) drops every value ADD would refuse and keeps the rest', () => {
    const raw = {
      name: 'n',
      MTU: -1,
      hairpinMode: 'yes',
      mode: 'bogus',
      mac: 'zz',
      ipam: { Type: 'host-local', ranges: [[{ subnet: 'x' }, { subnet: '10.0.0.0/24' }]], routes: [{ gw: '10.0.0.1' }, { dst: '0.0.0.0/0' }] },
      runtimeConfig: { portMappings: [{ hostPort: 'x', containerPort: 1 }, { hostPort: 2, containerPort: 3, hostIP: 'zz' }], mac: 5 },
      unknownKey: { kept: true },
    };
    assert.throws(() => loadConf(Schema, JSON.stringify(raw)), CniError);
    assert.deepEqual(loadConf(Schema, JSON.stringify(raw), { lenient: true }), {
      name: 'n',
      hairpinMode: false,
      ipam: { type: 'host-local', ranges: [[{ subnet: '10.0.0.0/24' }]], routes: [{ dst: '0.0.0.0/0' }] },
      // an item missing a required key goes; a bad optional key goes alone
      runtimeConfig: { portMappings: [{ hostPort: 2, containerPort: 3 }] },
      unknownKey: { kept: true },
    });
    // a required key that is missing or wrong is dropped too: DEL code reads only what it needs
    assert.deepEqual(loadConf(Schema, '{"name": 5, "ipam": 7}', { lenient: true }), { hairpinMode: false });
  });
});
