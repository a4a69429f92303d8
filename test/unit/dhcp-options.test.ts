// The dhcp plugin's configuration and options (reference §2.8): option names and
// codes, the Parameter Request List defaults, provide/fromArg, client ids, code 7
// naming the field; the daemon's results and lease times from an ACK; its flags.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DHCPNakError, type Lease } from '../../pkg/dhcp/client.js';
import { decodeMessage, encodeMessage, MessageType, newRequest, Opt } from '../../pkg/dhcp/message.js';
import { clientIDOf, clientIDOption, lenientArgs, parseOptionName, prepareOptions } from '../../pkg/dhcp/options.js';
import { CniError } from '../../pkg/types/error.js';
import { CHECK_MARKER, DEFAULT_SOCKET_PATH, loadDHCPConf } from '../../plugins/dhcp/conf.js';
import { FlagError, formatDuration, parseDaemonFlags, parseDuration } from '../../plugins/dhcp/flags.js';
import { backoffRetry } from '../../plugins/dhcp/backoff.js';
import { leaseResult, leaseTimes } from '../../plugins/dhcp/result.js';

const conf = (ipam: object, extra: object = {}) => JSON.stringify({ cniVersion: '1.0.0', name: 'net1', ipam: { type: 'dhcp', ...ipam }, ...extra });

function cniError(fn: () => unknown): CniError {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof CniError, `${e}`);
    return e;
  }
  assert.fail('no error');
}

describe('dhcp options', () => {
  it('knows the reference option names and decimal codes 0..255', () => {
    assert.equal(parseOptionName('routers'), 3);
    assert.equal(parseOptionName('subnet-mask'), 1);
    assert.equal(parseOptionName('host-name'), 12);
    assert.equal(parseOptionName('dhcp-client-identifier'), 61);
    assert.equal(parseOptionName('user-class'), 77);
    assert.equal(parseOptionName('vendor-class-identifier'), 60);
    assert.equal(parseOptionName('121'), 121);
    assert.equal(parseOptionName('007'), 7);
    for (const bad of ['256', '-1', '+3', '', 'Routers', 'toString', '0x10', '1.5']) assert.equal(parseOptionName(bad), undefined, bad);
  });

  it('requests routers and subnet mask by default, after the configured options', () => {
    assert.deepEqual([...prepareOptions('', [], [])], [[Opt.ParameterRequestList, Buffer.from([3, 1])]]);
    const opts = prepareOptions('', [], [{ option: '121' }, { option: 'routers' }, { option: '121' }]);
    assert.deepEqual(opts.get(Opt.ParameterRequestList), Buffer.from([121, 3, 1]), 'deduplicated, order kept');
  });

  it('skipDefault on any entry drops the defaults; an empty option only carries the flag', () => {
    assert.deepEqual(prepareOptions('', [], [{ skipDefault: true }, { option: 'host-name' }]).get(Opt.ParameterRequestList), Buffer.from([12]));
    assert.equal(prepareOptions('', [], [{ skipDefault: true }]).has(Opt.ParameterRequestList), false);
  });

  it('provides literal values and CNI_ARGS values; the later one of a code wins', () => {
    const opts = prepareOptions('K8S_POD_NAME=pod-1;IgnoreUnknown=1', [{ option: 'host-name', value: 'literal', fromArg: 'K8S_POD_NAME' }, { option: '60', value: 'vendor' }], []);
    assert.equal(opts.get(Opt.HostName)?.toString(), 'pod-1');
    assert.equal(opts.get(Opt.ClassID)?.toString(), 'vendor');
    // a fromArg key missing from CNI_ARGS leaves the literal
    assert.equal(prepareOptions('', [{ option: 'host-name', value: 'literal', fromArg: 'K8S_POD_NAME' }], []).get(Opt.HostName)?.toString(), 'literal');
  });

  it('reads CNI_ARGS leniently, as the reference dhcp does', () => {
    assert.deepEqual([...lenientArgs('A=1;B;C=x=y;A=2')], [
      ['A', '2'],
      ['C', 'x=y'],
    ]);
  });

  it('names the bad entry', () => {
    assert.throws(() => prepareOptions('', [], [{ option: 'routers' }, { option: 'bogus' }]), /^OptionError: ipam\.request\[1\]\.option: "bogus"/);
    assert.throws(() => prepareOptions('', [{ option: '300', value: 'x' }], []), /ipam\.provide\[0\]\.option/);
    assert.throws(() => prepareOptions('', [{ option: 'host-name', value: 'x'.repeat(256) }], []), /ipam\.provide\[0\]\.value: 256 bytes/);
    assert.doesNotThrow(() => prepareOptions('', [{ option: 'host-name', value: 'x'.repeat(255) }], []));
    assert.throws(() => prepareOptions(`H=${'é'.repeat(128)}`, [{ option: 'host-name', fromArg: 'H' }], []), /CNI_ARGS\.H: 256 bytes/);
  });

  it('builds the client id <containerID>/<network>/<ifName>, cut to 254 bytes, type 0 in option 61', () => {
    assert.equal(clientIDOf('abc', 'net1', 'eth0'), 'abc/net1/eth0');
    const long = clientIDOf('c'.repeat(300), 'net1', 'eth0');
    assert.equal(long.length, 254);
    const opt = clientIDOption(long);
    assert.equal(opt.length, 255);
    assert.equal(opt[0], 0);
  });
});

describe('dhcp configuration', () => {
  it('defaults the socket path and reads the options', () => {
    const c = loadDHCPConf(conf({}), '');
    assert.equal(c.socketPath, DEFAULT_SOCKET_PATH);
    assert.equal(c.checkOnly, false);
    assert.deepEqual(c.options.get(Opt.ParameterRequestList), Buffer.from([3, 1]));
    assert.equal(loadDHCPConf(conf({ daemonSocketPath: '/tmp/x.sock' }), '').socketPath, '/tmp/x.sock');
    assert.equal(loadDHCPConf(conf({}, { [CHECK_MARKER]: true }), '').checkOnly, true);
  });

  for (const [name, ipam, path] of [
    ['unknown request option', { request: [{ option: 'routers' }, { option: 'nope' }] }, 'ipam.request[1].option'],
    ['unknown provide option', { provide: [{ option: 'x', value: 'y' }] }, 'ipam.provide[0].option'],
    ['provide value over 255 bytes', { provide: [{ option: 'host-name', value: 'v'.repeat(300) }] }, 'ipam.provide[0].value'],
    ['provide without option', { provide: [{ value: 'v' }] }, 'ipam.provide[0].option'],
    ['request not a list', { request: 'routers' }, 'ipam.request'],
    ['skipDefault not a boolean', { request: [{ skipDefault: 'yes' }] }, 'ipam.request[0].skipDefault'],
    ['priority not an integer', { priority: 1.5 }, 'ipam.priority'],
    ['negative priority', { priority: -1 }, 'ipam.priority'],
    ['socket path not a string', { daemonSocketPath: 5 }, 'ipam.daemonSocketPath'],
  ] as const) {
    it(`code 7 naming the field: ${name}`, () => {
      const e = cniError(() => loadDHCPConf(conf(ipam), ''));
      assert.equal(e.code, 7);
      assert.ok(e.message.startsWith(`${path}:`), e.message);
    });
  }

  it('code 7 without ipam; code 4 for a CNI_ARGS value too long', () => {
    assert.equal(cniError(() => loadDHCPConf(JSON.stringify({ cniVersion: '1.0.0', name: 'n' }), '')).code, 7);
    const e = cniError(() => loadDHCPConf(conf({ provide: [{ option: 'host-name', fromArg: 'POD' }] }), `POD=${'p'.repeat(256)}`));
    assert.equal(e.code, 4);
    assert.match(e.message, /^CNI_ARGS\.POD/);
  });

  it('DEL reads only the shape: bad option names do not block a release', () => {
    assert.doesNotThrow(() => loadDHCPConf(conf({ request: [{ option: 'nope' }] }), '', { options: false }));
  });
});

function ack(options: Array<[number, number[]]>, yiaddr = '10.232.0.57'): Lease {
  const m = newRequest({ xid: 1, mac: Buffer.alloc(6), type: MessageType.ACK });
  m.op = 2;
  m.yiaddr = yiaddr;
  for (const [c, v] of options) m.options.set(c, Buffer.from(v));
  return { ack: decodeMessage(encodeMessage(m)), address: yiaddr, serverID: '10.232.0.1', serverMAC: Buffer.alloc(6), boundAt: 1_000_000 };
}

describe('dhcp lease results', () => {
  const mask = [Opt.SubnetMask, [255, 255, 255, 0]] as [number, number[]];
  const router = [Opt.Router, [10, 232, 0, 1, 10, 232, 0, 2]] as [number, number[]];

  it('address with mask, first router as gateway, default route via it', () => {
    assert.deepEqual(leaseResult(ack([mask, router])), {
      cniVersion: '1.1.0',
      ips: [{ address: '10.232.0.57/24', gateway: '10.232.0.1' }],
      routes: [{ dst: '0.0.0.0/0', gw: '10.232.0.1' }],
    });
  });

  it('no router: no gateway, no routes', () => {
    assert.deepEqual(leaseResult(ack([mask])), { cniVersion: '1.1.0', ips: [{ address: '10.232.0.57/24' }], routes: [] });
  });

  it('static routes (33) before the default route', () => {
    const r = leaseResult(ack([mask, router, [Opt.StaticRoutes, [10, 9, 0, 0, 10, 232, 0, 9]]]));
    assert.deepEqual(r.routes, [
      { dst: '10.9.0.0/8', gw: '10.232.0.9' },
      { dst: '0.0.0.0/0', gw: '10.232.0.1' },
    ]);
  });

  it('classless routes (121) replace static and default routes; router 0.0.0.0 is scope link', () => {
    const r = leaseResult(ack([mask, router, [Opt.StaticRoutes, [10, 9, 0, 0, 10, 232, 0, 9]], [Opt.ClasslessRoutes, [16, 10, 10, 10, 232, 0, 3, 24, 192, 168, 5, 0, 0, 0, 0]]]));
    assert.deepEqual(r.ips, [{ address: '10.232.0.57/24', gateway: '10.232.0.1' }]);
    assert.deepEqual(r.routes, [
      { dst: '10.10.0.0/16', gw: '10.232.0.3' },
      { dst: '192.168.5.0/24', gw: '0.0.0.0', scope: 253 },
    ]);
  });

  it('priority becomes every route metric', () => {
    const r = leaseResult(ack([mask, router, [Opt.StaticRoutes, [10, 9, 0, 0, 10, 232, 0, 9]]]), 100);
    assert.deepEqual(
      r.routes?.map((x) => x.priority),
      [100, 100],
    );
  });

  it('an ACK without a subnet mask is an error', () => {
    assert.throws(() => leaseResult(ack([router])), /Subnet Mask not found/);
  });

  it('lease time, T1 and T2 from the ACK, else 1 h, ½, 0.85', () => {
    assert.deepEqual(leaseTimes(ack([])), { renewAt: 1_000_000 + 1_800_000, rebindAt: 1_000_000 + 3_060_000, expireAt: 1_000_000 + 3_600_000 });
    const t = leaseTimes(
      ack([
        [Opt.LeaseTime, [0, 0, 0, 120]],
        [Opt.RenewalTime, [0, 0, 0, 5]],
      ]),
    );
    assert.deepEqual(t, { renewAt: 1_005_000, rebindAt: 1_102_000, expireAt: 1_120_000 });
    assert.equal(leaseTimes(ack([[Opt.LeaseTime, [255, 255, 255, 255]]])).renewAt, Infinity, 'infinite lease');
  });
});

describe('dhcp retries', () => {
  it('retries until the attempt succeeds', async () => {
    let n = 0;
    const v = await backoffRetry(
      async () => {
        if (++n < 2) throw new Error('lost');
        return 'ok';
      },
      { resendMax: 8000, deadline: Date.now() + 10_000, signal: new AbortController().signal, log: () => {} },
    );
    assert.equal(v, 'ok');
    assert.equal(n, 2);
  });

  it('gives up at the deadline with the last error', async () => {
    const t0 = Date.now();
    await assert.rejects(
      backoffRetry(
        async () => {
          throw new Error('no DHCPOFFER');
        },
        { resendMax: 8000, deadline: Date.now() + 500, signal: new AbortController().signal, log: () => {} },
      ),
      /no more tries: no DHCPOFFER/,
    );
    assert.ok(Date.now() - t0 < 400, 'no pointless sleep past the deadline');
  });

  it('stops when aborted', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error('stopped')), 50);
    await assert.rejects(
      backoffRetry(
        async () => {
          throw new Error('lost');
        },
        { resendMax: 8000, deadline: Date.now() + 60_000, signal: ac.signal, log: () => {} },
      ),
      /stopped/,
    );
  });

  it('ends at once on an error `final` picks (a NAK to a renewal or INIT-REBOOT), without "no more tries"', async () => {
    let n = 0;
    const nak = new DHCPNakError('10.232.0.1', 'wrong address');
    const t0 = Date.now();
    await assert.rejects(
      backoffRetry(
        async () => {
          n++;
          throw nak;
        },
        { resendMax: 8000, deadline: Date.now() + 60_000, signal: new AbortController().signal, log: () => {}, final: (e) => e instanceof DHCPNakError },
      ),
      (e) => e === nak,
    );
    assert.equal(n, 1);
    assert.ok(Date.now() - t0 < 500);
  });
});

describe('dhcp daemon flags', () => {
  it('defaults as the reference', () => {
    assert.deepEqual(parseDaemonFlags([]), {
      pidfile: '',
      hostprefix: '',
      socketpath: '/run/cni/dhcp.sock',
      broadcast: false,
      timeout: 10_000,
      resendmax: 62_000,
      resendtimeout: 208_000,
      leasefile: '/var/lib/cni/dhcp/leases.json',
    });
    // ours (plugins#235): an empty value keeps leases in memory only, as the reference does
    assert.equal(parseDaemonFlags(['-leasefile', '']).leasefile, '');
    assert.equal(parseDaemonFlags(['-leasefile=/tmp/l.json']).leasefile, '/tmp/l.json');
  });

  it('takes -flag value, -flag=value, --flag, and booleans without a value', () => {
    const f = parseDaemonFlags(['-socketpath', '/tmp/d.sock', '--timeout=2s', '-broadcast', '--resendmax', '1m30s', '-pidfile=/run/d.pid', '-hostprefix', '/host']);
    assert.equal(f.socketpath, '/tmp/d.sock');
    assert.equal(f.timeout, 2000);
    assert.equal(f.broadcast, true);
    assert.equal(f.resendmax, 90_000);
    assert.equal(f.pidfile, '/run/d.pid');
    assert.equal(f.hostprefix, '/host');
    assert.equal(parseDaemonFlags(['-broadcast=false']).broadcast, false);
  });

  it('stops at the first non-flag or --', () => {
    assert.equal(parseDaemonFlags(['-timeout', '1s', 'extra', '-timeout', '5s']).timeout, 1000);
    assert.equal(parseDaemonFlags(['--', '-timeout', '5s']).timeout, 10_000);
    // a boolean never takes the next argument
    assert.equal(parseDaemonFlags(['-broadcast', 'false', '-timeout', '5s']).timeout, 10_000);
  });

  it('refuses what Go refuses', () => {
    for (const [argv, re] of [
      [['-nope'], /flag provided but not defined: -nope/],
      [['-timeout'], /flag needs an argument: -timeout/],
      [['-timeout', '10'], /invalid value "10" for flag -timeout/],
      [['-broadcast=maybe'], /invalid boolean value/],
      [['---x'], /bad flag syntax/],
    ] as const) {
      assert.throws(() => parseDaemonFlags(argv), (e: unknown) => e instanceof FlagError && e.exitCode === 2 && re.test(e.message));
    }
    assert.throws(() => parseDaemonFlags(['-h']), (e: unknown) => e instanceof FlagError && e.exitCode === 0);
  });

  it('parses and prints Go durations', () => {
    assert.equal(parseDuration('500ms'), 500);
    assert.equal(parseDuration('1m30s'), 90_000);
    assert.equal(parseDuration('1.5h'), 5_400_000);
    assert.equal(parseDuration('0'), 0);
    assert.equal(parseDuration('250us'), 0.25);
    assert.throws(() => parseDuration(''));
    assert.throws(() => parseDuration('5'));
    assert.throws(() => parseDuration('5d'), /unknown unit/);
    assert.equal(formatDuration(62_000), '1m2s');
    assert.equal(formatDuration(208_000), '3m28s');
    assert.equal(formatDuration(10_000), '10s');
  });
});
