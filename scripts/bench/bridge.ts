// bridge ADD / CHECK / DEL latency, ours vs Debian's /usr/lib/cni/bridge, in one
// run, both with Debian's host-local as IPAM, spec 1.0.0, in scratch netns
// (cnits-bench-*), plus a bare `node -e 0` start-up for reference, all three
// interleaved round by round.
// hyperfine 1.15 cannot feed stdin to a command without a shell (-N has no
// --input), and CHECK needs the ADD's result, so each command is timed here
// with spawnSync around the bare process: the same harness for both plugins.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 30);
const WARMUP = 3;
const REF = '/usr/lib/cni';

interface Timing {
  add: number[];
  check: number[];
  del: number[];
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function timed(file: string, args: string[], env: NodeJS.ProcessEnv, input: string): { ms: number; stdout: string; code: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { env, input, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  return { ms, stdout: r.stdout, code: r.status ?? -1 };
}

/** One ADD, CHECK, DEL cycle of `bin`, inside the host netns; times in ms. */
function cycle(bin: string, ctrPath: string, ipamDir: string, dataDir: string, bridge: string): { add: number; check: number; del: number } {
  const conf = { cniVersion: '1.0.0', name: `bench-${path.basename(path.dirname(bin))}`, type: 'bridge', bridge, isGateway: true, ipam: { type: 'host-local', dataDir, subnet: '10.220.250.0/24' } };
  const env = (command: string) => ({ PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: 'bench', CNI_NETNS: ctrPath, CNI_IFNAME: 'eth0', CNI_PATH: ipamDir });
  const add = timed(bin, [], env('ADD'), JSON.stringify(conf));
  if (add.code !== 0) throw new Error(`${bin} ADD failed: ${add.stdout}`);
  const check = timed(bin, [], env('CHECK'), JSON.stringify({ ...conf, prevResult: JSON.parse(add.stdout) }));
  if (check.code !== 0) throw new Error(`${bin} CHECK failed: ${check.stdout}`);
  const del = timed(bin, [], env('DEL'), JSON.stringify({ ...conf, prevResult: JSON.parse(add.stdout) }));
  if (del.code !== 0) throw new Error(`${bin} DEL failed: ${del.stdout}`);
  return { add: add.ms, check: check.ms, del: del.ms };
}

/**
 * Interleaved rounds (node -e 0, ours, Go's), so a machine that gets busier or
 * quieter during the run moves all three alike.
 */
function inner(): void {
  const [ctrPath, ipamDir, dataDir] = process.argv.slice(3);
  const node: number[] = [];
  const ours: Timing = { add: [], check: [], del: [] };
  const theirs: Timing = { add: [], check: [], del: [] };
  const keep = (t: Timing, c: { add: number; check: number; del: number }) => {
    t.add.push(c.add);
    t.check.push(c.check);
    t.del.push(c.del);
  };
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const n = timed(process.execPath, ['-e', '0'], { PATH: process.env.PATH }, '');
    const o = cycle(path.join(root, 'bin', 'bridge'), ctrPath, ipamDir, dataDir, 'cnitsbrb0');
    const t = cycle(path.join(REF, 'bridge'), ctrPath, ipamDir, dataDir, 'cnitsbrb1');
    if (i < WARMUP) continue;
    node.push(n.ms);
    keep(ours, o);
    keep(theirs, t);
  }
  const m = (t: Timing) => ({ add: median(t.add), check: median(t.check), del: median(t.del) });
  process.stdout.write(JSON.stringify({ node: median(node), ours: m(ours), theirs: m(theirs) }));
}

function outer(): void {
  for (const f of [path.join(root, 'bin', 'bridge'), path.join(REF, 'bridge'), path.join(REF, 'host-local')]) {
    if (!fs.existsSync(f)) throw new Error(`${f} missing (make build; apt-get install containernetworking-plugins)`);
  }
  const tag = `${process.pid}`;
  const hostNs = `cnits-bench-h${tag}`;
  const ctrNs = `cnits-bench-c${tag}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-bench-br-'));
  const ipamDir = path.join(tmp, 'ipam');
  fs.mkdirSync(ipamDir);
  fs.symlinkSync(path.join(REF, 'host-local'), path.join(ipamDir, 'host-local'));
  execFileSync('ip', ['netns', 'add', hostNs]);
  execFileSync('ip', ['netns', 'add', ctrNs]);
  try {
    const env = { ...process.env };
    delete env.NODE_EXTRA_CA_CERTS;
    delete env.NODE_OPTIONS;
    const out = execFileSync('ip', ['netns', 'exec', hostNs, process.execPath, '--import', 'tsx', new URL(import.meta.url).pathname, '--inner', `/var/run/netns/${ctrNs}`, ipamDir, path.join(tmp, 'data')], {
      env,
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const r = JSON.parse(out);
    const row = (what: string, o: { add: number; check: number; del: number }) =>
      `| ${what} | ${o.add.toFixed(1)} | ${o.check.toFixed(1)} | ${o.del.toFixed(1)} | ${(o.add + o.check + o.del).toFixed(1)} |\n`;
    const over = { add: r.ours.add - r.node, check: r.ours.check - r.node, del: r.ours.del - r.node };
    process.stdout.write(`\nbridge (isGateway, host-local, spec 1.0.0), median of ${RUNS} runs, ms; node -e 0 = ${r.node.toFixed(1)} ms\n`);
    process.stdout.write('| plugin | ADD | CHECK | DEL | total |\n|---|---|---|---|---|\n');
    process.stdout.write(row('cni-ts bin/bridge', r.ours));
    process.stdout.write(row('Go /usr/lib/cni/bridge 1.1.1', r.theirs));
    process.stdout.write(row('cni-ts minus node -e 0', over));
    const ok = over.add <= r.theirs.add && over.check <= r.theirs.check && over.del <= r.theirs.del;
    process.stdout.write(`target (ours above bare Node start-up <= Go's whole time): ${ok ? 'met' : 'NOT met'}\n`);
  } finally {
    spawnSync('ip', ['netns', 'del', ctrNs]);
    spawnSync('ip', ['netns', 'del', hostNs]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--inner') inner();
else outer();
