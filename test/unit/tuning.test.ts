// tuning's configuration rules, without root: sysctl key paths, refusals (code 7),
// duplicate keys, the allow-list and the MAC/settings precedence.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { duplicateKeys, loadTuningConf, sysctlPath } from '../../plugins/tuning/conf.js';
import { CniError } from '../../pkg/types/error.js';

const buf = (o: object | string) => Buffer.from(typeof o === 'string' ? o : JSON.stringify({ cniVersion: '1.0.0', name: 't', type: 'tuning', ...o }));

function fails(f: () => unknown): CniError {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof CniError, String(e));
    return e;
  }
  assert.fail('expected an error');
}

describe('tuning sysctl keys', () => {
  it('converts dots, substitutes IFNAME after the conversion (so dotted names work)', () => {
    assert.equal(sysctlPath('net.ipv4.conf.IFNAME.arp_notify', 'eth0.100', 'p'), 'net/ipv4/conf/eth0.100/arp_notify');
    assert.equal(sysctlPath('net/ipv4/conf/eth0.100/rp_filter', 'eth0', 'p'), 'net/ipv4/conf/eth0.100/rp_filter');
    assert.equal(sysctlPath('net.core.somaxconn', 'eth0', 'p'), 'net/core/somaxconn');
  });

  for (const key of ['kernel.hostname', 'net/../kernel/hostname', 'net..ipv4', 'net', '/net/ipv4/ip_forward', 'net/./ipv4/x', 'vm.swappiness']) {
    it(`refuses "${key}" with code 7 naming the key`, () => {
      const e = fails(() => sysctlPath(key, 'eth0', `sysctl["${key}"]`));
      assert.equal(e.code, 7);
      assert.ok(e.message.startsWith(`sysctl["${key}"]: `), e.message);
    });
  }

  it('finds duplicate keys JSON.parse would hide', () => {
    assert.deepEqual(duplicateKeys('{"a":1,"sysctl":{"x":"1","y":[1,{"z":2}],"x":"2"},"b":"}"}'), ['sysctl.x']);
    assert.deepEqual(duplicateKeys('{"a":{},"b":[],"c":"\\"q"}'), []);
  });

  it('refuses duplicate sysctl keys with code 7, in the config and in args.cni', () => {
    const a = fails(() => loadTuningConf(buf('{"cniVersion":"1.0.0","name":"t","sysctl":{"net.core.somaxconn":"1","net.core.somaxconn":"2"}}'), 'eth0', ''));
    assert.equal(a.code, 7);
    assert.match(a.message, /^sysctl\["net.core.somaxconn"\]: duplicate/);
    const b = fails(() => loadTuningConf(buf('{"cniVersion":"1.0.0","name":"t","args":{"cni":{"sysctl":{"net.a.b":"1","net.a.b":"1"}}}}'), 'eth0', ''));
    assert.match(b.message, /^args\.cni\.sysctl\["net.a.b"\]/);
  });
});

describe('tuning configuration', () => {
  it('args.cni.sysctl alone works (the reference panics: nil map) and merges over the config', () => {
    const c = loadTuningConf(buf({ args: { cni: { sysctl: { 'net.ipv4.conf.IFNAME.arp_notify': '1' } } } }), 'eth0', '');
    assert.deepEqual(c.sysctls, [{ key: 'net.ipv4.conf.IFNAME.arp_notify', path: 'net/ipv4/conf/eth0/arp_notify', value: '1' }]);
    const m = loadTuningConf(buf({ sysctl: { 'net.a.b': '1', 'net.a.c': '1' }, args: { cni: { sysctl: { 'net.a.b': '2' } } } }), 'eth0', '');
    assert.deepEqual(m.sysctls.map((s) => [s.key, s.value]), [['net.a.b', '2'], ['net.a.c', '1']]);
  });

  it('MAC precedence: config < CNI_ARGS < runtimeConfig < args.cni', () => {
    const m1 = 'c2:00:00:00:00:01';
    const m2 = 'c2:00:00:00:00:02';
    const m3 = 'c2:00:00:00:00:03';
    const m4 = 'c2:00:00:00:00:04';
    assert.equal(loadTuningConf(buf({ mac: m1 }), 'eth0', `MAC=${m2}`).mac, m2);
    assert.equal(loadTuningConf(buf({ mac: m1, runtimeConfig: { mac: m3 } }), 'eth0', `MAC=${m2}`).mac, m3);
    assert.equal(loadTuningConf(buf({ mac: m1, runtimeConfig: { mac: m3 }, args: { cni: { mac: m4 } } }), 'eth0', `MAC=${m2}`).mac, m4);
    assert.equal(loadTuningConf(buf({ mac: m1 }), 'eth0', '').mac, m1);
    assert.equal(fails(() => loadTuningConf(buf({}), 'eth0', 'MAC=zz')).code, 7);
    assert.equal(fails(() => loadTuningConf(buf({}), 'eth0', 'FOO=1')).code, 4);
  });

  it('args.cni overrides mtu, promisc, allmulti, txQLen; mtu 0 means unset', () => {
    const c = loadTuningConf(buf({ mtu: 1400, promisc: false, args: { cni: { mtu: 1300, promisc: true, allmulti: false, txQLen: 0 } } }), 'eth0', '');
    assert.deepEqual([c.mtu, c.promisc, c.allmulti, c.txQLen], [1300, true, false, 0]);
    assert.equal(loadTuningConf(buf({ mtu: 0 }), 'eth0', '').mtu, undefined);
    assert.equal(fails(() => loadTuningConf(buf({ mtu: 'x' }), 'eth0', '')).message, 'mtu: "x" must be an integer');
  });

  it('the allow-list (regex per line, unanchored) refuses keys that match no line', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-tuning-'));
    const file = path.join(dir, 'allowlist.conf');
    fs.writeFileSync(file, '^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]+$\n\nsomaxconn\n');
    const old = process.env.CNI_TS_TUNING_ALLOWLIST;
    process.env.CNI_TS_TUNING_ALLOWLIST = file;
    try {
      assert.equal(loadTuningConf(buf({ sysctl: { 'net.ipv4.conf.IFNAME.arp_notify': '1', 'net.core.somaxconn': '5' } }), 'eth0', '').sysctls.length, 2);
      const e = fails(() => loadTuningConf(buf({ sysctl: { 'net.ipv4.ip_forward': '1' } }), 'eth0', ''));
      assert.equal(e.code, 7);
      assert.match(e.message, /^sysctl\["net.ipv4.ip_forward"\]: sysctl "net.ipv4.ip_forward" is not allowed/);
      fs.writeFileSync(file, '(\n');
      assert.equal(fails(() => loadTuningConf(buf({ sysctl: { 'net.a.b': '1' } }), 'eth0', '')).code, 7);
    } finally {
      if (old === undefined) delete process.env.CNI_TS_TUNING_ALLOWLIST;
      else process.env.CNI_TS_TUNING_ALLOWLIST = old;
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
