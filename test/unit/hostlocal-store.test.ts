// The host-local store's reservation primitive: a reservation file appears
// under its address with its content already written (link(2) of a scratch
// file), so an ADD killed at any instant never leaves an empty, ownerless file.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { Store } from '../../pkg/ipam/hostlocal/index.js';
import { withStore as withNetStore } from '../helpers/hostlocal-store.js';

const NET = 'unit-store';
const SCRATCH = '.cni-ts-reserving';
let dataDir: string;
const netDir = () => path.join(dataDir, NET);

const withStore = <T>(fn: (s: Store) => T): T => withNetStore(dataDir, NET, fn);

describe('host-local store: reserve', () => {
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-store-'));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('writes the Go format, mode 0600, and leaves no scratch file', () => {
    assert.equal(withStore((s) => s.reserve('10.208.0.2', 'c1', 'eth0', 0)), true);
    const file = path.join(netDir(), '10.208.0.2');
    assert.equal(fs.readFileSync(file, 'utf8'), 'c1\r\neth0');
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(file).nlink, 1);
    assert.equal(fs.existsSync(path.join(netDir(), SCRATCH)), false);
    assert.equal(fs.readFileSync(path.join(netDir(), 'last_reserved_ip.0'), 'utf8'), '10.208.0.2');
  });

  it('refuses a taken address and keeps its owner', () => {
    withStore((s) => s.reserve('10.208.0.3', 'c1', 'eth0', 0));
    assert.equal(withStore((s) => s.reserve('10.208.0.3', 'c2', 'eth0', 0)), false);
    assert.equal(fs.readFileSync(path.join(netDir(), '10.208.0.3'), 'utf8'), 'c1\r\neth0');
    assert.equal(fs.existsSync(path.join(netDir(), SCRATCH)), false);
    assert.deepEqual(withStore((s) => s.heldBy('c2', 'eth0').current), []);
  });

  it('a scratch file a killed ADD left is removed by the next call and is never a reservation', () => {
    withStore((s) => s.reserve('10.208.0.4', 'c1', 'eth0', 0));
    // killed after writing the scratch file, before link(2)
    fs.writeFileSync(path.join(netDir(), SCRATCH), 'dead\r\neth0', { mode: 0o600 });
    const all = withStore((s) => s.all().map((r) => r.file));
    assert.deepEqual(all, ['10.208.0.4']);
    assert.equal(fs.existsSync(path.join(netDir(), SCRATCH)), false);
    assert.deepEqual(withStore((s) => s.heldBy('dead', 'eth0').current), []);
  });

  it('a scratch file that is a second name of a reservation (killed after link) leaves the reservation intact', () => {
    withStore((s) => s.reserve('10.208.0.5', 'c1', 'eth0', 0));
    const file = path.join(netDir(), '10.208.0.5');
    fs.linkSync(file, path.join(netDir(), SCRATCH));
    withStore((s) => assert.equal(s.reserve('10.208.0.6', 'c2', 'eth0', 0), true));
    assert.equal(fs.readFileSync(file, 'utf8'), 'c1\r\neth0');
    assert.equal(fs.statSync(file).nlink, 1);
    assert.equal(fs.readFileSync(path.join(netDir(), '10.208.0.6'), 'utf8'), 'c2\r\neth0');
    assert.deepEqual(withStore((s) => s.all().map((r) => r.file).sort()), ['10.208.0.5', '10.208.0.6']);
  });

  it('a full rescan skips the scratch name', () => {
    withStore((s) => s.reserve('10.208.0.7', 'c1', 'eth0', 0));
    fs.rmSync(path.join(dataDir, '.cni-ts-index'), { recursive: true, force: true }); // forces a scan
    const s = Store.open(dataDir, NET, true)!;
    try {
      // present while this holder scans: a reserve() in flight is ours, under our lock
      fs.writeFileSync(path.join(netDir(), SCRATCH), 'x\r\neth0');
      assert.deepEqual(s.all().map((r) => r.file), ['10.208.0.7']);
      assert.equal(s.rescanned, true);
    } finally {
      s.close();
      fs.rmSync(path.join(netDir(), SCRATCH), { force: true });
    }
  });
});
