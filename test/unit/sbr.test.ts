// sbr's pure decisions: which IPs belong to the interface, which table is free,
// which routes serve an address; and the configuration's checks.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCIDR, parseIP } from '../../pkg/ipaddr/index.js';
import type { RouteSpec } from '../../pkg/ip/route.js';
import { CniError } from '../../pkg/types/error.js';
import { ipConfigs, loadSbrConf, loadSbrConfForDel } from '../../plugins/sbr/conf.js';
import { nextFreeTable, routesFor } from '../../plugins/sbr/tables.js';

const conf = (o: object) => Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'n', ...o }));

describe('sbr', () => {
  it('keeps IPs naming no interface, CNI_IFNAME, or an index out of range; drops those of other interfaces', () => {
    const prev = {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'eth0', sandbox: '/x' }, { name: 'net1', sandbox: '/x' }],
      ips: [
        { address: '10.0.0.2/24', interface: 0, gateway: '10.0.0.1' },
        { address: '10.0.1.2/24', interface: 1 },
        { address: '10.0.2.2/24' },
        { address: '10.0.3.2/24', interface: 7 },
      ],
    };
    assert.deepEqual(
      ipConfigs(prev, 'eth0').map((c) => [c.address.prefix, c.gateway ? 'gw' : '-']),
      [[24, 'gw'], [24, '-'], [24, '-']],
    );
    assert.equal(ipConfigs(prev, 'net1').length, 3);
  });

  it('picks the first table from 100 nobody uses, then the next for each address', () => {
    const used = new Set([100, 101, 103, 254, 255]);
    assert.equal(nextFreeTable(used, 100), 102);
    assert.equal(nextFreeTable(used, 103), 104);
    assert.equal(nextFreeTable(new Set(), 100), 100);
  });

  it('moves the routes whose source or gateway lies in the address prefix, and plain link routes', () => {
    const net = (s: string) => parseCIDR(s)!;
    const ip = (s: string) => parseIP(s)!;
    const routes: RouteSpec[] = [
      { dst: net('10.0.0.0/24'), src: ip('10.0.0.2') },
      { gw: ip('10.0.0.1'), family: 4 },
      { dst: net('fe80::/64') },
      { gw: ip('fd00::1'), family: 6 },
      { dst: net('192.168.0.0/16'), gw: ip('10.9.0.1') },
    ];
    assert.deepEqual(routesFor(routes, net('10.0.0.2/24')), routes.slice(0, 3));
  });

  it('refuses a bad table with code 7 naming it; a null table is no table; DEL reads leniently', () => {
    for (const table of ['100', 0, -1, 1.5, 2 ** 32]) {
      assert.throws(() => loadSbrConf(conf({ table })), (e: unknown) => e instanceof CniError && e.code === 7 && e.message.startsWith('table: '));
    }
    assert.equal(loadSbrConf(conf({ table: null })).table, undefined);
    assert.equal(loadSbrConf(conf({ TABLE: 300 })).table, 300);
    const lenient = loadSbrConfForDel(conf({ table: 'x', prevResult: { cniVersion: '1.0.0', ips: [{ address: '10.0.0.2/24' }] } }));
    assert.equal(lenient.table, undefined);
    assert.equal(lenient.prev?.ips?.length, 1);
  });
});
