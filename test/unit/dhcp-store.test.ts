// The dhcp daemon's lease file (plugins#235; ours, not the reference's): the
// record a lease becomes and back, the resume state its times give, loading
// (missing, corrupt, other version, bad or duplicate records: logged, never
// fatal), atomic serialized writes (0600, directory 0700, the last state wins,
// failures logged), and a restore that drops leases whose namespace is gone.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import type { Lease } from '../../pkg/dhcp/client.js';
import { decodeMessage, encodeMessage, MessageType, newRequest, Opt } from '../../pkg/dhcp/message.js';
import { ManagedLease, resumeState, type ManagerConfig } from '../../plugins/dhcp/maintain.js';
import { LeaseManager } from '../../plugins/dhcp/manager.js';
import { invalidRecord, LEASE_FILE_VERSION, LeaseStore, serializeLeases, type StoredLease } from '../../plugins/dhcp/store.js';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-dhcp-store-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));
let n = 0;
const scratch = () => path.join(tmp, `case-${++n}`);

function ackLease(boundAt = Date.parse('2030-01-01T00:00:00Z')): Lease {
  const m = newRequest({
    xid: 7,
    mac: Buffer.from([2, 0, 0, 0, 0, 1]),
    type: MessageType.ACK,
    options: [
      [Opt.SubnetMask, Buffer.from([255, 255, 255, 0])],
      [Opt.Router, Buffer.from([10, 232, 0, 1])],
      [Opt.LeaseTime, Buffer.from([0, 0, 0, 120])],
      [Opt.ServerID, Buffer.from([10, 232, 0, 1])],
    ],
  });
  m.op = 2;
  m.yiaddr = '10.232.0.57';
  const ack = decodeMessage(encodeMessage(m));
  return { ack, address: '10.232.0.57', serverID: '10.232.0.1', serverMAC: Buffer.from([2, 0, 0, 0, 0, 0xaa]), boundAt };
}

function managerConfig(logs: string[], changes?: { n: number }): ManagerConfig {
  return { hostPrefix: '', timeout: 1000, resendMax: 1000, resendTimeout: 1000, broadcast: false, log: (m) => logs.push(m), onChange: () => changes && changes.n++ };
}

function managed(lease = ackLease()): ManagedLease {
  const options = new Map<number, Buffer>([
    [Opt.ParameterRequestList, Buffer.from([121, 3, 1])],
    [Opt.HostName, Buffer.from('pod-1')],
  ]);
  return new ManagedLease(
    {
      clientID: 'cid-1/net1/eth0',
      owner: { containerID: 'cid-1', network: 'net1', netns: '/var/run/netns/cnits-none' },
      netnsPath: '/var/run/netns/cnits-none',
      ifName: 'eth0',
      mac: '02:00:00:00:00:01',
      client: { clientID: 'cid-1/net1/eth0', options, broadcast: false, timeoutMs: 1000 },
      lease,
      nsID: '4:4026532000',
    },
    managerConfig([]),
  );
}

describe('dhcp lease records', () => {
  it('a lease becomes a valid record: owner, interface, options in order, server, result, wall-clock times, the ACK', () => {
    const r = managed().record();
    assert.equal(invalidRecord(r), undefined);
    assert.equal(invalidRecord(JSON.parse(JSON.stringify(r))), undefined, 'survives JSON');
    assert.deepEqual(
      { clientID: r.clientID, containerID: r.containerID, network: r.network, netns: r.netns, netnsID: r.netnsID, ifName: r.ifName, mac: r.mac },
      { clientID: 'cid-1/net1/eth0', containerID: 'cid-1', network: 'net1', netns: '/var/run/netns/cnits-none', netnsID: '4:4026532000', ifName: 'eth0', mac: '02:00:00:00:00:01' },
    );
    assert.deepEqual(r.options, [
      { code: 55, value: '790301' },
      { code: 12, value: Buffer.from('pod-1').toString('hex') },
    ]);
    assert.equal(r.serverID, '10.232.0.1');
    assert.equal(r.serverMAC, '02:00:00:00:00:aa');
    assert.equal(r.address, '10.232.0.57');
    assert.equal(r.prefix, 24);
    assert.deepEqual(r.routers, ['10.232.0.1']);
    assert.deepEqual(r.result.ips, [{ address: '10.232.0.57/24', gateway: '10.232.0.1' }]);
    assert.equal(r.boundAt, '2030-01-01T00:00:00.000Z');
    assert.equal(r.renewAt, '2030-01-01T00:01:00.000Z');
    assert.equal(r.rebindAt, '2030-01-01T00:01:42.000Z');
    assert.equal(r.expireAt, '2030-01-01T00:02:00.000Z');
    assert.deepEqual(decodeMessage(Buffer.from(r.ack, 'base64')).options, ackLease().ack.options);
  });

  it('an infinite lease has no times (null)', () => {
    const lease = ackLease();
    lease.ack.options.set(Opt.LeaseTime, Buffer.from([255, 255, 255, 255]));
    const r = managed(lease).record();
    assert.deepEqual([r.renewAt, r.rebindAt, r.expireAt], [null, null, null]);
    assert.equal(invalidRecord(r), undefined);
  });

  it('names what is wrong with a record', () => {
    const good = managed().record();
    for (const [change, why] of [
      [{ address: '10.232.0.300' }, /^address: not an IPv4 address/],
      [{ mac: 'xx' }, /^mac: not a MAC/],
      [{ expireAt: 'soon' }, /^expireAt: not a time/],
      [{ options: [{ code: 300, value: '00' }] }, /^options: /],
      [{ options: [{ code: 12, value: 'zz' }] }, /^options: /],
      [{ netns: '' }, /must not be empty/],
      [{ ack: 5 }, /^ack: not a string/],
      [{ renewAt: null }, /all null \(an infinite lease\) or none/],
    ] as const) {
      assert.match(invalidRecord({ ...good, ...change }) ?? '', why, JSON.stringify(change));
    }
    assert.equal(invalidRecord([]), 'not an object');
  });

  it('resumes bound before T1, renewing before T2, rebinding before expiry, rebooting after', () => {
    const t = { renewAt: 100, rebindAt: 200, expireAt: 300 };
    assert.equal(resumeState(t, 99), 'bound');
    assert.equal(resumeState(t, 100), 'renewing');
    assert.equal(resumeState(t, 250), 'rebinding');
    assert.equal(resumeState(t, 300), 'rebooting');
    assert.equal(resumeState({ renewAt: Infinity, rebindAt: Infinity, expireAt: Infinity }, Date.now()), 'bound');
  });
});

describe('dhcp lease file', () => {
  const record = (over: Partial<StoredLease> = {}): StoredLease => ({ ...managed().record(), ...over });

  it('writes one lease per line under a version; reads back what it wrote', async () => {
    const dir = path.join(scratch(), 'a', 'b');
    const file = path.join(dir, 'leases.json');
    const logs: string[] = [];
    const store = new LeaseStore(file, (m) => logs.push(m));
    const leases = [record(), record({ clientID: 'cid-2/net1/eth0', containerID: 'cid-2' })];
    store.save(leases);
    await store.flush();
    const text = fs.readFileSync(file, 'utf8');
    assert.equal(text, serializeLeases(leases));
    assert.equal(text.split('\n').length, 5, 'header, two leases, footer, final newline');
    assert.equal(JSON.parse(text).version, LEASE_FILE_VERSION);
    assert.deepEqual(new LeaseStore(file, (m) => logs.push(m)).load(), leases);
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(dir).mode & 0o777, 0o700);
    assert.equal(fs.statSync(path.dirname(dir)).mode & 0o777, 0o700);
    assert.deepEqual(fs.readdirSync(dir), ['leases.json'], 'no temp file left');
    assert.deepEqual(logs, []);
  });

  it('serializes a burst of saves: the file always parses and ends with the last state', async () => {
    const file = path.join(scratch(), 'leases.json');
    const store = new LeaseStore(file, (m) => assert.fail(m));
    // a reader between writes sees the old file or the new one, never a part (a parse error fails the test)
    const poll = setInterval(() => {
      if (fs.existsSync(file)) JSON.parse(fs.readFileSync(file, 'utf8'));
    }, 1);
    try {
      for (let i = 0; i < 200; i++) store.save(Array.from({ length: i % 7 }, (_, k) => record({ clientID: `c${i}-${k}` })));
      await store.flush();
    } finally {
      clearInterval(poll);
    }
    assert.deepEqual(
      new LeaseStore(file, () => {}).load().map((l) => l.clientID),
      Array.from({ length: 199 % 7 }, (_, k) => `c199-${k}`),
    );
  });

  it('a temp file left by a crash with another mode does not make the file readable to others', async () => {
    const file = path.join(scratch(), 'leases.json');
    fs.mkdirSync(path.dirname(file), { mode: 0o700 });
    fs.writeFileSync(`${file}.${process.pid}.tmp`, 'junk', { mode: 0o644 });
    const store = new LeaseStore(file, () => {});
    store.save([record()]);
    await store.flush();
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
  });

  it('a write that fails is logged, never thrown; the next save writes again', async () => {
    const base = scratch();
    fs.writeFileSync(base, 'a file where the directory should be');
    const file = path.join(base, 'leases.json');
    const logs: string[] = [];
    const store = new LeaseStore(file, (m) => logs.push(m));
    store.save([record()]);
    await store.flush();
    assert.equal(logs.length, 1);
    assert.match(logs[0], /^failed to write lease file .*leases\.json: /);
    fs.rmSync(base);
    store.save([record()]);
    await store.flush();
    assert.equal(new LeaseStore(file, () => {}).load().length, 1);
  });

  it('temp files of a daemon killed while writing are removed at load; other files are not', () => {
    const dir = scratch();
    fs.mkdirSync(dir);
    const file = path.join(dir, 'leases.json');
    for (const name of ['leases.json.12345.tmp', 'leases.json.1.tmp', 'leases.json.x.tmp', 'other.json.7.tmp', 'leases.json.corrupt']) fs.writeFileSync(path.join(dir, name), '');
    new LeaseStore(file, () => {}).load();
    assert.deepEqual(fs.readdirSync(dir).sort(), ['leases.json.corrupt', 'leases.json.x.tmp', 'other.json.7.tmp']);
  });

  it('a missing file is no lease, silently', () => {
    const logs: string[] = [];
    assert.deepEqual(new LeaseStore(path.join(scratch(), 'none.json'), (m) => logs.push(m)).load(), []);
    assert.deepEqual(logs, []);
  });

  for (const [name, text, why] of [
    ['not JSON', '{"version":1,"leases":[', /ignoring lease file .*: .*JSON/],
    ['another version', '{"version":2,"leases":[]}', /version 2 is not 1/],
    ['no version', '{"leases":[]}', /version undefined is not 1/],
    ['leases not a list', '{"version":1,"leases":{}}', /"leases" is not a list/],
    ['not an object', 'null', /not a JSON object/],
  ] as const) {
    it(`a corrupt file (${name}) is logged and set aside as .corrupt, read as no lease`, () => {
      const file = path.join(scratch(), 'leases.json');
      fs.mkdirSync(path.dirname(file));
      fs.writeFileSync(file, text);
      const logs: string[] = [];
      assert.deepEqual(new LeaseStore(file, (m) => logs.push(m)).load(), []);
      assert.equal(logs.length, 1);
      assert.match(logs[0], why);
      assert.match(logs[0], /moved to .*leases\.json\.corrupt$/);
      assert.equal(fs.readFileSync(`${file}.corrupt`, 'utf8'), text);
      assert.ok(!fs.existsSync(file));
    });
  }

  it('an unreadable path (a directory) is logged, not fatal', () => {
    const dir = scratch();
    fs.mkdirSync(dir);
    const logs: string[] = [];
    assert.deepEqual(new LeaseStore(dir, (m) => logs.push(m)).load(), []);
    assert.match(logs[0], /ignoring lease file .*: EISDIR/);
  });

  it('bad and duplicate records are skipped and named; the others are kept', () => {
    const file = path.join(scratch(), 'leases.json');
    fs.mkdirSync(path.dirname(file));
    const good = record();
    fs.writeFileSync(file, JSON.stringify({ version: 1, leases: [good, { ...good, clientID: 'x', mac: 'bad' }, good, 'text'] }));
    const logs: string[] = [];
    assert.deepEqual(new LeaseStore(file, (m) => logs.push(m)).load(), [good]);
    assert.deepEqual(
      logs.map((l) => l.replace(/^lease file \S+: /, '')),
      ['ignoring leases[1]: mac: not a MAC address', `ignoring leases[2]: a second lease for ${good.clientID}`, 'ignoring leases[3]: not an object'],
    );
  });
});

describe('dhcp lease restore', () => {
  it('drops a lease whose namespace is gone (logged, onChange), keeps nothing', () => {
    const logs: string[] = [];
    const changes = { n: 0 };
    const m = new LeaseManager(managerConfig(logs, changes));
    m.restore([managed().record()]);
    assert.equal(m.leases.size, 0);
    assert.equal(changes.n, 1);
    assert.match(logs.join('\n'), /cid-1\/net1\/eth0: dropping the saved lease of 10\.232\.0\.57: netns "\/var\/run\/netns\/cnits-none" no longer exists/);
    assert.deepEqual(m.records(), []);
  });

  it('an empty file restores nothing and changes nothing', () => {
    const changes = { n: 0 };
    const m = new LeaseManager(managerConfig([], changes));
    m.restore([]);
    assert.equal(changes.n, 0);
  });
});
