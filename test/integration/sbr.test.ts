// bin/sbr run as a runtime runs it, chained after an interface the test creates
// (a veth in a throw-away container netns, addresses and routes as an interface
// plugin leaves them); side by side with Debian's Go plugin.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { execPlugin, haveRef, ipJSON, isRoot, REF_BIN, SPEC_VERSIONS, uniq, type TestNetns } from '../helpers/index.js';
import { createNetnsPair } from '../helpers/netns-pair.js';

const skip = !isRoot && 'needs root';
const REF = path.join(REF_BIN, 'sbr');
const CID = 'cnits-sb-ctr1';

interface Env {
  ctr: TestNetns;
  n: number;
  v4: string;
  gw4: string;
  v6: string;
  gw6: string;
  remove(): void;
}

let envs = 0;
/** eth0 in a container netns, its peer in another: 10.203.n.2/24 and fd00:203:n::2/64, a default route and one more route each. */
function setupEnv(sameAs?: Env): Env {
  const n = sameAs?.n ?? ++envs;
  const [v4, v6] = [`10.203.${n}.2/24`, `fd00:203:${n}::2/64`];
  const { ctr, cleanup } = createNetnsPair({ tag: 'sb', veths: [{ name: 'eth0', in: 'ctr', peer: `csb${uniq()}`, peerIn: 'host', addrs: [v4, v6] }] });
  const e: Env = { ctr, n, v4, gw4: `10.203.${n}.1`, v6, gw6: `fd00:203:${n}::1`, remove: cleanup };
  try {
    ctr.ip('route', 'add', 'default', 'via', e.gw4);
    ctr.ip('route', 'add', `10.203.${100 + n}.0/24`, 'via', e.gw4);
    ctr.ip('-6', 'route', 'add', 'default', 'via', e.gw6);
    // IPv6 adds fe80::/64 once the link has carrier: wait for it, or it could land in main after ADD
    const deadline = Date.now() + 5000;
    while (!ipJSON(ctr, '-6', 'route', 'show', 'fe80::/64').length) {
      if (Date.now() > deadline) throw new Error('no fe80::/64 route on eth0 after 5 s');
      execFileSync('sleep', ['0.05']);
    }
  } catch (err) {
    e.remove();
    throw err;
  }
  return e;
}

function prevResult(v: string, e: Env, ips: Array<{ address: string; gateway?: string }> = [{ address: e.v4, gateway: e.gw4 }]): object {
  if (v === '0.1.0' || v === '0.2.0') return { cniVersion: v, ip4: { ip: ips[0].address, gateway: ips[0].gateway } };
  const legacy = v.startsWith('0.');
  return {
    cniVersion: v,
    interfaces: [{ name: 'csbpeer' }, { name: 'eth0', sandbox: e.ctr.path }],
    ips: ips.map((ip) => ({ ...(legacy ? { version: ip.address.includes(':') ? '6' : '4' } : {}), ...ip, interface: 1 })),
  };
}

const conf = (v: string, e: Env, extra: object = {}) => ({ cniVersion: v, name: 'cnits-sbnet', type: 'sbr', prevResult: prevResult(v, e), ...extra });

function run(bin: string, command: string, e: Env, stdin: object, o: { netns?: string | null } = {}) {
  return execPlugin(bin, { command, containerID: CID, netns: o.netns === null ? undefined : (o.netns ?? e.ctr.path), ifName: 'eth0', stdin });
}

/** Rules and routes of the container netns (table local left out), sorted, for comparing namespaces. */
function state(e: Env) {
  const sorted = (xs: any[]) => xs.map((x) => JSON.stringify(x)).sort();
  const routes = [...ipJSON(e.ctr, '-4', 'route', 'show', 'table', 'all'), ...ipJSON(e.ctr, '-6', 'route', 'show', 'table', 'all')].filter((r) => r.table !== 'local');
  return { rules: sorted([...ipJSON(e.ctr, '-4', 'rule'), ...ipJSON(e.ctr, '-6', 'rule')]), routes: sorted(routes) };
}

/** Every rule but the kernel's three (`from all lookup local|main|default`). */
const sbrRules = (e: Env) =>
  [...ipJSON(e.ctr, '-4', 'rule'), ...ipJSON(e.ctr, '-6', 'rule')].filter((r) => !(r.src === 'all' && !r.fwmark && ['local', 'main', 'default'].includes(r.table)));
const table = (e: Env, t: string | number, fam = '-4') => ipJSON(e.ctr, fam, 'route', 'show', 'table', String(t));
const mainRoutes = (e: Env, fam = '-4') => table(e, 'main', fam).map((r: any) => r.dst);

describe('sbr', { skip }, () => {
  for (const v of SPEC_VERSIONS) {
    it(`[${v}] ADD adds "from <ip> lookup 100" and moves eth0's routes there; CHECK; DEL twice and without CNI_NETNS leaves no rule or table`, () => {
      const e = setupEnv();
      try {
        const before = state(e);
        const c = conf(v, e);
        const add = run('sbr', 'ADD', e, c);
        assert.equal(add.code, 0, add.stdout + add.stderr);
        assert.deepEqual(add.json, { ...c.prevResult, dns: {} }, 'prevResult passed on');
        assert.deepEqual(
          sbrRules(e).map((r: any) => [r.src, r.table]),
          [[`10.203.${e.n}.2`, '100']],
        );
        assert.deepEqual(
          table(e, 100).map((r: any) => [r.dst, r.gateway, r.protocol]),
          [
            ['default', e.gw4, undefined],
            [`10.203.${e.n}.0/24`, undefined, 'kernel'],
            [`10.203.${100 + e.n}.0/24`, e.gw4, undefined],
          ],
        );
        // every route of eth0 leaves main: the IPv6 link routes (no Src, no Gw) went to table 100, the IPv6 default
        // route (its Gw outside the IPv4 prefix) to no table at all, as the reference does
        assert.deepEqual(mainRoutes(e), []);
        assert.deepEqual(mainRoutes(e, '-6'), []);
        assert.deepEqual(table(e, 100, '-6').map((r: any) => r.dst).sort(), [`fd00:203:${e.n}::/64`, 'fe80::/64']);

        const chk = run('sbr', 'CHECK', e, c);
        if (['0.1.0', '0.2.0', '0.3.0', '0.3.1'].includes(v)) assert.equal(chk.json.code, 1, 'CHECK is refused below 0.4.0');
        else assert.equal(chk.code, 0, chk.stdout);

        for (const netns of [undefined, undefined, null]) {
          const del = run('sbr', 'DEL', e, c, { netns });
          assert.equal(del.code, 0, del.stdout);
          assert.deepEqual(sbrRules(e), []);
          assert.deepEqual(table(e, 100), [], 'the table is emptied');
        }
        assert.notDeepEqual(state(e), before, 'routes stay out of main: the interface goes next');
      } finally {
        e.remove();
      }
    });
  }

  it("writes the same rules and tables as Debian's plugin (dual stack, two addresses), and each DELs the other's rules", { skip: !haveRef && 'no Debian plugin' }, () => {
    const ours = setupEnv();
    // the same addresses in both namespaces, so their states compare
    const ref = setupEnv(ours);
    try {
      // an unrelated rule already takes table 100: both start at 101
      for (const e of [ours, ref]) e.ctr.ip('rule', 'add', 'fwmark', '7', 'lookup', '100');
      const ips = [
        { address: ours.v4, gateway: ours.gw4 },
        { address: ours.v6, gateway: ours.gw6 },
      ];
      const a = run('sbr', 'ADD', ours, conf('1.0.0', ours, { prevResult: prevResult('1.0.0', ours, ips) }));
      const b = run(REF, 'ADD', ref, conf('1.0.0', ref, { prevResult: prevResult('1.0.0', ours, ips) }));
      assert.equal(a.code, 0, a.stdout);
      assert.equal(b.code, 0, b.stdout);
      assert.deepEqual(state(ours), state(ref));
      assert.deepEqual(sbrRules(ours).filter((r: any) => !r.fwmark).map((r: any) => [r.src, r.table]), [[`10.203.${ours.n}.2`, '101'], [`fd00:203:${ours.n}::2`, '102']]);
      assert.deepEqual(table(ours, 102, '-6').map((r: any) => r.dst).sort(), ['default', 'fd00:203:' + ours.n + '::/64', 'fe80::/64'].sort());
      // each removes the other's rules (Debian's leaves its tables filled; ours empties them)
      assert.equal(run('sbr', 'DEL', ref, conf('1.0.0', ref, { prevResult: prevResult('1.0.0', ours, ips) })).code, 0);
      assert.equal(run(REF, 'DEL', ours, conf('1.0.0', ours, { prevResult: prevResult('1.0.0', ours, ips) })).code, 0);
      for (const e of [ours, ref]) assert.deepEqual(sbrRules(e).map((r: any) => r.fwmark), ['0x7'], 'only the unrelated rule is left');
      assert.deepEqual([...table(ref, 101), ...table(ref, 102, '-6')], []);
    } finally {
      ours.remove();
      ref.remove();
    }
  });

  it('with "table": only rules, in that table; routes untouched; DEL removes exactly those rules', () => {
    const e = setupEnv();
    try {
      const before = state(e);
      e.ctr.ip('rule', 'add', 'from', `10.203.${e.n}.2`, 'fwmark', '9', 'lookup', '300');
      const c = conf('1.1.0', e, { table: 300 });
      const add = run('sbr', 'ADD', e, c);
      assert.equal(add.code, 0, add.stdout);
      assert.deepEqual(sbrRules(e).map((r: any) => [r.src, r.table, r.fwmark]), [[`10.203.${e.n}.2`, '300', undefined], [`10.203.${e.n}.2`, '300', '0x9']]);
      assert.deepEqual(state(e).routes, before.routes);
      assert.equal(run('sbr', 'CHECK', e, c).code, 0);
      assert.equal(run('sbr', 'DEL', e, c).code, 0);
      assert.deepEqual(sbrRules(e).map((r: any) => r.fwmark), ['0x9'], 'a rule sbr does not write is kept');
      if (haveRef) {
        // Debian's 1.1.1 predates "table": it moves routes instead, so only the lenient DEL is compared
        assert.equal(run(REF, 'DEL', e, conf('1.0.0', e)).code, 0);
      }
    } finally {
      e.remove();
    }
  });

  it('CHECK really checks: a missing rule or default route fails it (the reference CHECK does nothing)', () => {
    const e = setupEnv();
    try {
      const c = conf('1.0.0', e);
      assert.equal(run('sbr', 'ADD', e, c).code, 0);
      assert.equal(run('sbr', 'CHECK', e, c).code, 0);
      e.ctr.ip('route', 'del', 'default', 'table', '100');
      const r1 = run('sbr', 'CHECK', e, c);
      assert.equal(r1.code, 1);
      assert.match(r1.json.msg, new RegExp(`table 100 of 10.203.${e.n}.2 has no default route via ${e.gw4}`));
      e.ctr.ip('route', 'del', `10.203.${e.n}.0/24`, 'table', '100');
      e.ctr.ip('route', 'add', 'default', 'via', e.gw4, 'dev', 'eth0', 'table', '100', 'onlink');
      assert.match(run('sbr', 'CHECK', e, c).json.msg, /has no route to its prefix \/24/);
      e.ctr.ip('rule', 'del', 'from', `10.203.${e.n}.2`, 'lookup', '100');
      assert.match(run('sbr', 'CHECK', e, c).json.msg, /no rule from 10\.203\.\d+\.2 lookup a table of its own/);
      if (haveRef) assert.equal(run(REF, 'CHECK', e, c).code, 0, 'Debian’s CHECK passes regardless');
      assert.match(run('sbr', 'CHECK', e, conf('1.1.0', e, { table: 300 })).json.msg, /no rule from .* lookup 300/);
    } finally {
      e.remove();
    }
  });

  it('a failed ADD leaves nothing: the second address\'s gateway is unreachable after the first was set up', () => {
    const e = setupEnv();
    try {
      const before = state(e);
      const ips = [
        { address: e.v4, gateway: e.gw4 },
        { address: `10.203.${e.n}.3/24`, gateway: '10.203.250.1' },
      ];
      const r = run('sbr', 'ADD', e, conf('1.0.0', e, { prevResult: prevResult('1.0.0', e, ips) }));
      assert.equal(r.code, 1);
      assert.match(r.json.msg, /^Failed to add default route to 10\.203\.250\.1: /);
      assert.deepEqual(state(e), before, 'rules, tables and main as before');
    } finally {
      e.remove();
    }
  });

  it('a table holding stale routes but no rule is skipped (the reference would reuse it)', () => {
    const e = setupEnv();
    try {
      e.ctr.ip('route', 'add', '10.203.250.0/24', 'via', e.gw4, 'table', '100');
      assert.equal(run('sbr', 'ADD', e, conf('1.0.0', e)).code, 0);
      assert.deepEqual(sbrRules(e).map((r: any) => r.table), ['101']);
      assert.equal(run('sbr', 'DEL', e, conf('1.0.0', e)).code, 0);
      assert.deepEqual(table(e, 100).map((r: any) => r.dst), ['10.203.250.0/24'], 'what sbr did not make stays');
    } finally {
      e.remove();
    }
  });

  it('waits for another holder of the namespace lock (flock on the netns file, as go-filemutex takes it)', async () => {
    const e = setupEnv();
    try {
      const holder = spawn('flock', [e.ctr.path, '-c', 'echo locked; sleep 1.5']);
      await new Promise<void>((resolve, reject) => {
        holder.stdout.on('data', () => resolve());
        holder.on('exit', (code) => reject(new Error(`flock exited with ${code}`)));
      });
      const start = Date.now();
      const r = run('sbr', 'ADD', e, conf('1.0.0', e));
      assert.equal(r.code, 0, r.stdout);
      assert.ok(Date.now() - start >= 1000, `ADD took ${Date.now() - start} ms while the lock was held`);
      assert.equal(sbrRules(e).length, 1);
    } finally {
      e.remove();
    }
  });

  describe('refusals', () => {
    const cases: Array<[string, (e: Env) => object, number, RegExp]> = [
      ['no prevResult', () => ({ cniVersion: '1.0.0', name: 'n' }), 7, /^This plugin must be called as chained plugin$/],
      ['no IPs', (e) => conf('1.0.0', e, { prevResult: { cniVersion: '1.0.0', interfaces: [], ips: [] } }), 7, /^No IP addresses supplied on interface: eth0$/],
      ['IPs of another interface only', (e) => conf('1.0.0', e, { prevResult: { cniVersion: '1.0.0', interfaces: [{ name: 'net1' }], ips: [{ address: e.v4, interface: 0 }] } }), 7, /^No IP addresses supplied/],
      ['a table that is not a number', (e) => conf('1.0.0', e, { table: 'main' }), 7, /^table: /],
      ['table 0', (e) => conf('1.0.0', e, { table: 0 }), 7, /^table: /],
    ];
    for (const [what, make, code, msg] of cases) {
      it(`refuses ${what} (code ${code}) and changes nothing; DEL of the same config succeeds`, () => {
        const e = setupEnv();
        try {
          const before = state(e);
          const r = run('sbr', 'ADD', e, make(e));
          assert.equal(r.code, 1);
          assert.equal(r.json.code, code, r.stdout);
          assert.match(r.json.msg, msg);
          assert.deepEqual(state(e), before);
          assert.equal(run('sbr', 'DEL', e, make(e)).code, 0);
        } finally {
          e.remove();
        }
      });
    }

    it('DEL succeeds when the netns or the interface is gone; GC and STATUS succeed', () => {
      const e = setupEnv();
      try {
        assert.equal(run('sbr', 'ADD', e, conf('1.1.0', e)).code, 0);
        e.ctr.ip('link', 'del', 'eth0');
        // the rule outlives the link; prevResult still names its source
        assert.equal(sbrRules(e).length, 1);
        assert.equal(run('sbr', 'DEL', e, conf('1.1.0', e)).code, 0);
        assert.deepEqual(sbrRules(e), []);
        assert.equal(run('sbr', 'DEL', e, conf('1.1.0', e), { netns: '/var/run/netns/cnits-sb-gone' }).code, 0);
        for (const command of ['GC', 'STATUS']) assert.equal(run('sbr', command, e, { cniVersion: '1.1.0', name: 'n' }).code, 0);
      } finally {
        e.remove();
      }
    });
  });
});
