// host-local ADD and DEL latency, ours vs Debian's /usr/lib/cni/host-local, on an
// empty network directory and on one holding 60,000 reservations in a /16
// (written directly in the reference format, as the Go plugin leaves them).
// Each sample is one process run timed around spawnSync, ADD then DEL of a
// fresh container ID, so the directory stays at its size. Our first call after
// the directory was filled is reported separately: it rebuilds the index by a
// full scan, as the reference does on every call.
//   tsx scripts/bench/host-local.ts [--runs N] [--ref-runs N] [--size N]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const OURS = path.join(root, 'bin', 'host-local');
const REF = '/usr/lib/cni/host-local';
const arg = (name: string, def: number) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : def;
};
const RUNS = arg('--runs', 20);
const REF_RUNS = arg('--ref-runs', 5);
const SIZE = arg('--size', 60_000);
const NET = 'bench';

function conf(dataDir: string): string {
  return JSON.stringify({ cniVersion: '1.0.0', name: NET, type: 'host-local', ipam: { type: 'host-local', subnet: '10.210.0.0/16', dataDir } });
}

function ipOf(i: number): string {
  const n = (10 << 24) + (210 << 16) + 2 + i; // from 10.210.0.2 upwards, past the gateway
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** A network directory holding `n` reservations, as the reference writes them. */
function populate(dataDir: string, n: number): void {
  const dir = path.join(dataDir, NET);
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  for (let i = 0; i < n; i++) fs.writeFileSync(path.join(dir, ipOf(i)), `pop-${i.toString(16).padStart(60, '0')}\r\neth0`, { mode: 0o600 });
  if (n) fs.writeFileSync(path.join(dir, 'last_reserved_ip.0'), ipOf(n - 1), { mode: 0o600 });
  fs.writeFileSync(path.join(dir, 'lock'), '', { mode: 0o750 });
}

function call(bin: string, command: string, cid: string, stdin: string): number {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', CNI_COMMAND: command, CNI_CONTAINERID: cid, CNI_NETNS: '/var/run/netns/unused', CNI_IFNAME: 'eth0', CNI_PATH: path.dirname(bin) };
  const t0 = process.hrtime.bigint();
  const r = spawnSync(bin, [], { input: stdin, env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${bin} ${command} failed: ${r.stdout}${r.stderr}`);
  return ms;
}

interface Stats {
  add: number[];
  del: number[];
}

function measure(bin: string, dataDir: string, runs: number, tag: string): Stats {
  const stdin = conf(dataDir);
  const s: Stats = { add: [], del: [] };
  for (let i = 0; i < runs; i++) {
    s.add.push(call(bin, 'ADD', `${tag}-${i}`, stdin));
    s.del.push(call(bin, 'DEL', `${tag}-${i}`, stdin));
  }
  return s;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
const mean = (a: number[]) => a.reduce((x, y) => x + y, 0) / a.length;
const sd = (a: number[]) => Math.sqrt(mean(a.map((x) => (x - mean(a)) ** 2)));
const fmt = (a: number[]) => `${median(a).toFixed(1).padStart(7)} ms  (${mean(a).toFixed(1)} ± ${sd(a).toFixed(1)}, n=${a.length})`;

function main(): void {
  if (!fs.existsSync(OURS)) throw new Error(`${OURS} missing: run make build`);
  const haveRef = fs.existsSync(REF);
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-ts-bench-hl-'));
  const rows: Array<[string, string, string, string]> = [];
  try {
    const dirs = { oursEmpty: path.join(base, 'oe'), refEmpty: path.join(base, 're'), oursFull: path.join(base, 'of'), refFull: path.join(base, 'rf') };
    process.stderr.write(`host-local bench: populating 2 × ${SIZE} reservations...\n`);
    populate(dirs.oursFull, SIZE);
    if (haveRef) populate(dirs.refFull, SIZE);
    // warm the page cache and the binaries once each
    measure(OURS, dirs.oursEmpty, 1, 'warm');
    if (haveRef) measure(REF, dirs.refEmpty, 1, 'warm');
    const firstAfterFill = call(OURS, 'ADD', 'first', conf(dirs.oursFull));
    call(OURS, 'DEL', 'first', conf(dirs.oursFull));
    const cases: Array<[string, string, string, number]> = [
      ['ours', OURS, dirs.oursEmpty, RUNS],
      ...(haveRef ? ([['Go 1.1.1', REF, dirs.refEmpty, RUNS]] as Array<[string, string, string, number]>) : []),
      ['ours', OURS, dirs.oursFull, RUNS],
      ...(haveRef ? ([['Go 1.1.1', REF, dirs.refFull, REF_RUNS]] as Array<[string, string, string, number]>) : []),
    ];
    for (const [who, bin, dir, runs] of cases) {
      const size = dir === dirs.oursFull || dir === dirs.refFull ? SIZE : 0;
      process.stderr.write(`  ${who} at ${size}...\n`);
      const s = measure(bin, dir, runs, `b${rows.length}`);
      rows.push([who, String(size), fmt(s.add), fmt(s.del)]);
    }
    rows.push(['ours, first call after the Go-format fill (index rebuild)', String(SIZE), `${firstAfterFill.toFixed(1).padStart(7)} ms`, '']);
  } finally {
    fs.rmSync(base, { recursive: true, force: true });
  }
  const w = [Math.max(...rows.map((r) => r[0].length), 6), 14, 36, 36];
  const line = (c: string[]) => `| ${c.map((x, i) => x.padEnd(w[i])).join(' | ')} |`;
  console.log('\nhost-local: median per call (mean ± sd), process start included');
  console.log(line(['plugin', 'reservations', 'ADD', 'DEL']));
  console.log(line(w.map((n) => '-'.repeat(n))));
  for (const r of rows) console.log(line(r));
}

main();
