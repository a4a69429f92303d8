// pkg/ipam/hostlocal allocator and store against a real temporary data dir:
// round-robin, wrap, skipped gateway/network/broadcast, requested addresses,
// exhaustion, duplicate refusal, rollback, and an index that sees files the Go
// plugin wrote behind its back.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { parseIP } from '../../pkg/ipaddr/index.js';
import { allocateAll, allocateFromSet, candidates, loadHostLocalConf, Store, type RangeSet } from '../../pkg/ipam/hostlocal/index.js';
import { CniError } from '../../pkg/types/error.js';
import { Undo } from '../../pkg/undo/index.js';
import { withStore as withNetStore } from '../helpers/hostlocal-store.js';

const NET = 'unit';
let dataDir: string;
const netDir = () => path.join(dataDir, NET);

function sets(ipam: object): RangeSet[] {
  return loadHostLocalConf(JSON.stringify({ cniVersion: '1.0.0', name: NET, ipam: { type: 'host-local', ...ipam } }), '').ranges;
}

/** Runs `fn` with the store open and locked, as one plugin call. */
const withStore = <T>(fn: (s: Store) => T): T => withNetStore(dataDir, NET, fn);

const get = (set: RangeSet, cid: string, requested?: string, ifname = 'eth0') =>
  withStore((s) => allocateFromSet(s, set, 0, { containerID: cid, ifname }, requested ? parseIP(requested) : undefined)).address;

const release = (cid: string, ifname = 'eth0') =>
  withStore((s) => {
    const { current } = s.heldBy(cid, ifname);
    current.forEach((r) => s.release(r));
  });

const files = () => fs.readdirSync(netDir()).sort();

beforeEach(() => {
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-hl-unit-'));
});
afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

describe('host-local allocator', () => {
  it('hands out addresses round-robin after last_reserved_ip, not the lowest free one', () => {
    const [set] = sets({ subnet: '10.210.0.0/29' });
    assert.equal(get(set, 'a'), '10.210.0.2/29'); // .1 is the gateway
    assert.equal(get(set, 'b'), '10.210.0.3/29');
    release('a');
    assert.equal(get(set, 'c'), '10.210.0.4/29');
    assert.equal(fs.readFileSync(path.join(netDir(), 'last_reserved_ip.0'), 'utf8'), '10.210.0.4');
    assert.equal(fs.readFileSync(path.join(netDir(), '10.210.0.4'), 'utf8'), 'c\r\neth0');
  });

  it('wraps around from the end, and starts over when last_reserved_ip is outside the set', () => {
    const [set] = sets({ subnet: '10.210.0.0/29' });
    fs.mkdirSync(netDir(), { recursive: true });
    fs.writeFileSync(path.join(netDir(), 'last_reserved_ip.0'), '10.210.0.6');
    assert.equal(get(set, 'a'), '10.210.0.2/29');
    fs.writeFileSync(path.join(netDir(), 'last_reserved_ip.0'), '10.99.0.1');
    assert.equal(get(set, 'b'), '10.210.0.3/29');
    fs.writeFileSync(path.join(netDir(), 'last_reserved_ip.0'), '10.210.0.4');
    assert.equal(get(set, 'c'), '10.210.0.5/29');
  });

  it('walks the ranges of a set in order and wraps to the first', () => {
    const [set] = sets({ ranges: [[{ subnet: '10.210.0.0/30' }, { subnet: '10.210.1.0/30' }]] });
    const order = [...candidates(set, parseIP('10.210.1.1'))].map((c) => c.n);
    const dotted = (n: bigint) => `10.210.${(n >> 8n) & 255n}.${n & 255n}`;
    // after 10.210.1.1: .1.2, wrap to the first range (.0.1 is its gateway), .0.2, and back to .1.1 (a gateway)
    assert.deepEqual(order.map(dotted), ['10.210.1.2', '10.210.0.2']);
  });

  it('never hands out the gateway, the network address or the IPv4 broadcast, even inside rangeStart-rangeEnd', () => {
    const [set] = sets({ ranges: [[{ subnet: '10.210.0.0/29', rangeStart: '10.210.0.0', rangeEnd: '10.210.0.7', gateway: '10.210.0.4' }]] });
    const got = ['a', 'b', 'c', 'd', 'e'].map((c) => get(set, c));
    assert.deepEqual(got, ['10.210.0.1/29', '10.210.0.2/29', '10.210.0.3/29', '10.210.0.5/29', '10.210.0.6/29']);
    assert.throws(() => get(set, 'f'), /no IP addresses available in range set: 10\.210\.0\.0-10\.210\.0\.7/);
    assert.throws(() => get(set, 'g', '10.210.0.4'), /requested ip 10.210.0.4 is subnet's gateway/);
    assert.throws(() => get(set, 'g', '10.210.0.7'), /requested ip 10.210.0.7 is the broadcast address of 10.210.0.0\/29/);
    assert.throws(() => get(set, 'g', '10.210.0.0'), /requested ip 10.210.0.0 is the network address of 10.210.0.0\/29/);
  });

  it('IPv6: the last address of the prefix is allocatable, the subnet-router address is not', () => {
    const [set] = sets({ ranges: [[{ subnet: 'fd00:210::/126' }]] });
    assert.deepEqual(['a', 'b'].map((c) => get(set, c)), ['fd00:210::2/126', 'fd00:210::3/126']);
    assert.ok(fs.existsSync(path.join(netDir(), 'fd00:210::3')));
  });

  it('exhaustion names the range set', () => {
    const [set] = sets({ ranges: [[{ subnet: '10.210.0.0/30' }, { subnet: '10.210.1.0/30' }]] });
    get(set, 'a');
    get(set, 'b');
    assert.throws(
      () => get(set, 'c'),
      (e: unknown) => e instanceof CniError && e.message === 'no IP addresses available in range set: 10.210.0.1-10.210.0.2,10.210.1.1-10.210.1.2',
    );
  });

  it('a requested address in range is reserved exactly; a taken one is refused', () => {
    const [set] = sets({ subnet: '10.210.0.0/24' });
    assert.equal(get(set, 'a', '10.210.0.77'), '10.210.0.77/24');
    assert.throws(() => get(set, 'b', '10.210.0.77'), /requested IP address 10.210.0.77 is not available in range set 10.210.0.1-10.210.0.254/);
  });

  it('refuses a second address for the same (containerID, ifname) in one set, allows another ifname', () => {
    const [set] = sets({ subnet: '10.210.0.0/24' });
    get(set, 'a');
    assert.throws(() => get(set, 'a'), /10.210.0.2 has been allocated to a, duplicate allocation is not allowed/);
    assert.equal(get(set, 'a', undefined, 'net1'), '10.210.0.3/24');
  });

  it('allocateAll: one address per set, requested ones matched to their set; a failure releases only what this call made', async () => {
    const ranges = sets({ ranges: [[{ subnet: '10.210.0.0/24' }], [{ subnet: 'fd00:210::/64' }]] });
    const who = { containerID: 'x', ifname: 'eth0' };
    const ips = await withStore((s) => Undo.run(async (u) => allocateAll(s, ranges, [parseIP('fd00:210::99')!], who, u)));
    assert.deepEqual(ips, [
      { address: '10.210.0.2/24', gateway: '10.210.0.1' },
      { address: 'fd00:210::99/64', gateway: 'fd00:210::1' },
    ]);
    // a request outside every set: the first set's fresh reservation is released, the older ones stay
    await assert.rejects(
      withStore((s) => Undo.run(async (u) => allocateAll(s, ranges.slice(0, 1), [parseIP('10.210.9.9')!], { containerID: 'y', ifname: 'eth0' }, u))),
      /failed to allocate all requested IPs: 10.210.9.9/,
    );
    assert.deepEqual(files(), ['10.210.0.2', 'fd00:210::99', 'last_reserved_ip.0', 'last_reserved_ip.1', 'lock']);
    // a requested address inside the range but outside rangeStart-rangeEnd is not in the set
    const narrow = sets({ ranges: [[{ subnet: '10.210.0.0/24', rangeStart: '10.210.0.10', rangeEnd: '10.210.0.20' }]] });
    await assert.rejects(
      withStore((s) => Undo.run(async (u) => allocateAll(s, narrow, [parseIP('10.210.0.30')!], { containerID: 'z', ifname: 'eth0' }, u))),
      /failed to allocate all requested IPs: 10.210.0.30/,
    );
    // a duplicate in set 1 after set 0 succeeded rolls back set 0
    await assert.rejects(
      withStore((s) => Undo.run(async (u) => allocateAll(s, sets({ ranges: [[{ subnet: '10.210.5.0/24' }], [{ subnet: 'fd00:210::/64' }]] }), [], who, u))),
      /failed to allocate for range 1: fd00:210::99 has been allocated to x, duplicate allocation is not allowed/,
    );
    assert.ok(!files().includes('10.210.5.2'));
  });
});

describe('host-local store index', () => {
  it('lives outside the network directory and is trusted while the directory is unchanged', () => {
    const [set] = sets({ subnet: '10.210.0.0/24' });
    get(set, 'a');
    assert.deepEqual(files(), ['10.210.0.2', 'last_reserved_ip.0', 'lock']);
    assert.ok(fs.existsSync(path.join(dataDir, '.cni-ts-index', NET, 'header')));
    const rescans = withStore((s) => {
      assert.equal(s.heldBy('a', 'eth0').current.length, 1);
      return s.rescanned;
    });
    assert.equal(rescans, false);
  });

  it('sees reservations the Go plugin wrote (and removed) after our last call', () => {
    const [set] = sets({ subnet: '10.210.0.0/24' });
    get(set, 'a');
    fs.writeFileSync(path.join(netDir(), '10.210.0.50'), 'go-ctr\r\neth0', { mode: 0o600 });
    fs.writeFileSync(path.join(netDir(), '10.210.0.51'), 'legacy-ctr', { mode: 0o600 });
    fs.rmSync(path.join(netDir(), '10.210.0.2'));
    withStore((s) => {
      assert.deepEqual(s.heldBy('go-ctr', 'eth0').current, [{ file: '10.210.0.50', content: 'go-ctr\r\neth0' }]);
      assert.deepEqual(s.heldBy('legacy-ctr', 'eth0').legacy, [{ file: '10.210.0.51', content: 'legacy-ctr' }]);
      assert.equal(s.heldBy('a', 'eth0').current.length, 0);
      assert.ok(s.rescanned);
    });
    assert.throws(() => get(set, 'go-ctr'), /10.210.0.50 has been allocated to go-ctr/);
  });

  it('rebuilds when a bucket or the header is lost or torn', () => {
    const [set] = sets({ subnet: '10.210.0.0/24' });
    get(set, 'a');
    const idx = path.join(dataDir, '.cni-ts-index', NET);
    for (const f of fs.readdirSync(idx)) if (f !== 'header') fs.writeFileSync(path.join(idx, f), '{torn');
    withStore((s) => assert.equal(s.heldBy('a', 'eth0').current.length, 1));
    fs.writeFileSync(path.join(idx, 'header'), '');
    withStore((s) => {
      assert.equal(s.heldBy('a', 'eth0').current.length, 1);
      assert.ok(s.rescanned);
    });
  });

  it('a network directory removed and recreated (the documented reset) is rescanned', () => {
    const [set] = sets({ subnet: '10.210.0.0/24' });
    get(set, 'a');
    fs.rmSync(netDir(), { recursive: true });
    assert.equal(get(set, 'a'), '10.210.0.2/24');
  });
});
