// ADD / CHECK / DEL latency of the interface plugins (bridge, ptp, macvlan;
// BENCH_PLUGINS picks), ours vs Debian's /usr/lib/cni/<plugin>, in one run, both
// with Debian's host-local as IPAM, spec 1.0.0, in scratch netns (cnits-bench-*),
// plus a bare `node -e 0` start-up for reference, all interleaved round by round.
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
const PLUGINS = (process.env.BENCH_PLUGINS ?? 'bridge,ptp,macvlan').split(',');
/** macvlan's parent: a veth made in the scratch host namespace. */
const MASTER = 'cnitsbm0';

interface Row {
  add: number;
  check: number;
  del: number;
}

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

/** The network each implementation (0 ours, 1 Go's) of `plugin` is timed on. */
function confFor(plugin: string, impl: number, dataDir: string): object {
  const base = { cniVersion: '1.0.0', name: `bench-${plugin}-${impl}`, type: plugin };
  const ipam = (subnet: string) => ({ type: 'host-local', dataDir, subnet });
  switch (plugin) {
    case 'bridge':
      return { ...base, bridge: `cnitsbrb${impl}`, isGateway: true, ipam: ipam('10.220.250.0/24') };
    case 'ptp':
      return { ...base, ipam: ipam('10.220.251.0/24') };
    case 'macvlan':
      return { ...base, master: MASTER, ipam: ipam('10.220.252.0/24') };
    // BENCH_PLUGINS=host-device: each implementation moves its own veth in and back
    case 'host-device':
      return { ...base, device: `cnitsbhd${impl}`, ipam: ipam('10.206.252.0/24') };
    default:
      throw new Error(`no benchmark network for ${plugin}`);
  }
}

/** One ADD, CHECK, DEL cycle of `bin` with `conf`, inside the host netns; times in ms. */
function cycle(bin: string, conf: object, ctrPath: string, ipamDir: string): { add: number; check: number; del: number } {
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
  execFileSync('ip', ['link', 'add', MASTER, 'type', 'veth', 'peer', 'name', 'cnitsbm1']);
  execFileSync('ip', ['link', 'set', MASTER, 'up']);
  for (const impl of [0, 1]) if (PLUGINS.includes('host-device')) execFileSync('ip', ['link', 'add', `cnitsbhd${impl}`, 'type', 'veth', 'peer', 'name', `cnitsbhp${impl}`]);
  const node: number[] = [];
  const empty = (): Timing => ({ add: [], check: [], del: [] });
  const ours = new Map(PLUGINS.map((p) => [p, empty()]));
  const theirs = new Map(PLUGINS.map((p) => [p, empty()]));
  const keep = (t: Timing, c: { add: number; check: number; del: number }) => {
    t.add.push(c.add);
    t.check.push(c.check);
    t.del.push(c.del);
  };
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const n = timed(process.execPath, ['-e', '0'], { PATH: process.env.PATH }, '');
    if (i >= WARMUP) node.push(n.ms);
    for (const p of PLUGINS) {
      const o = cycle(path.join(root, 'bin', p), confFor(p, 0, dataDir), ctrPath, ipamDir);
      const t = cycle(path.join(REF, p), confFor(p, 1, dataDir), ctrPath, ipamDir);
      if (i < WARMUP) continue;
      keep(ours.get(p)!, o);
      keep(theirs.get(p)!, t);
    }
  }
  const m = (t: Timing) => ({ add: median(t.add), check: median(t.check), del: median(t.del) });
  process.stdout.write(JSON.stringify({ node: median(node), plugins: PLUGINS.map((p) => ({ plugin: p, ours: m(ours.get(p)!), theirs: m(theirs.get(p)!) })) }));
}

function outer(): void {
  for (const f of [...PLUGINS.flatMap((p) => [path.join(root, 'bin', p), path.join(REF, p)]), path.join(REF, 'host-local')]) {
    if (!fs.existsSync(f)) throw new Error(`${f} missing (make build; apt-get install containernetworking-plugins)`);
  }
  const tag = `${process.pid}`;
  const hostNs = `cnits-bench-h${tag}`;
  const ctrNs = `cnits-bench-c${tag}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-bench-if-'));
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
    const r = JSON.parse(out) as { node: number; plugins: Array<{ plugin: string; ours: Row; theirs: Row }> };
    const row = (what: string, o: Row) => `| ${what} | ${o.add.toFixed(1)} | ${o.check.toFixed(1)} | ${o.del.toFixed(1)} | ${(o.add + o.check + o.del).toFixed(1)} |\n`;
    process.stdout.write(`\ninterface plugins (host-local IPAM, spec 1.0.0), median of ${RUNS} interleaved rounds, ms; node -e 0 = ${r.node.toFixed(1)} ms\n`);
    process.stdout.write('| plugin | ADD | CHECK | DEL | total |\n|---|---|---|---|---|\n');
    const verdicts: string[] = [];
    for (const { plugin, ours, theirs } of r.plugins) {
      const over = { add: ours.add - r.node, check: ours.check - r.node, del: ours.del - r.node };
      process.stdout.write(row(`cni-ts bin/${plugin}`, ours));
      process.stdout.write(row(`Go /usr/lib/cni/${plugin} 1.1.1`, theirs));
      process.stdout.write(row(`cni-ts ${plugin} minus node -e 0`, over));
      const ok = over.add <= theirs.add && over.check <= theirs.check && over.del <= theirs.del;
      verdicts.push(`${plugin} ${ok ? 'met' : 'NOT met'}`);
    }
    process.stdout.write(`target (ours above bare Node start-up <= Go's whole time): ${verdicts.join(', ')}\n`);
  } finally {
    spawnSync('ip', ['netns', 'del', ctrNs]);
    spawnSync('ip', ['netns', 'del', hostNs]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--inner') inner();
else outer();
