// The targets of issue 14, ours (bin/, our host-local) against Debian's Go
// plugins (/usr/lib/cni, Go's host-local), in one run with the two suites
// interleaved round by round (the order alternating), and the ratio ours/Go:
//   VERSION, bridge ADD / CHECK / DEL (host-local, isGateway), the chain ADD
//   (bridge with ipMasq, tuning, portmap), 64 bridge ADDs started at once
//   (wall time), peak RSS of a bridge ADD and of VERSION.
// Everything runs inside a throw-away netns playing the host (the bench
// re-executes itself there), so no `ip netns exec` is timed.
//   tsx scripts/bench/targets.ts            BENCH_RUNS=25 rounds, BENCH_PARALLEL_RUNS=3
// BENCH_OURS_CNI_PATH: where our plugins look for host-local (default bin/, so
// it runs in-process; a directory holding a copy of bin/cni-ts named host-local
// measures the exec'ed delegation instead).
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 25);
const PAR_RUNS = Number(process.env.BENCH_PARALLEL_RUNS ?? 3);
const PARALLEL = 64;
// BENCH_OURS_BIN: another build of ours (e.g. a copy of bin/ made with cp -a, to compare runtimes in one sitting)
const SUITES = { ours: process.env.BENCH_OURS_BIN || path.join(ROOT, 'bin'), go: '/usr/lib/cni' } as const;
type Suite = keyof typeof SUITES;
const cniPathOf = (s: Suite) => (s === 'ours' && process.env.BENCH_OURS_CNI_PATH) || SUITES[s];
const TARGETS: Record<string, number> = { VERSION: 4, 'bridge ADD': 1.5, 'bridge CHECK': 2, 'bridge DEL': 1.2, 'chain ADD': 1.3, [`${PARALLEL} parallel ADDs (wall)`]: 1.5 };
const RSS_TARGET_MB = 30;

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

interface Run {
  ms: number;
  /** user + system CPU of the process and the children it waited for (GNU time; 10 ms ticks, so averaged) */
  cpu: number;
  stdout: string;
}

let cpuFile = '';

function env(command: string, o: { cid?: string; netns?: string; cniPath: string }): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: o.cid ?? 'cnits-ip-bench', CNI_NETNS: o.netns, CNI_IFNAME: 'eth0', CNI_PATH: o.cniPath };
}

// Wall time moves with the load of a shared machine; CPU time much less, so both are kept.
function timed(file: string, e: NodeJS.ProcessEnv, input: object | undefined): Run {
  const t0 = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', '%U %S', '-o', cpuFile, file], { env: e, input: input ? JSON.stringify(input) : '', encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${file} ${e.CNI_COMMAND} failed (${r.status}): ${r.stdout}${r.stderr}`);
  const [u, sy] = fs.readFileSync(cpuFile, 'utf8').trim().split('\n').pop()!.split(' ').map(Number);
  return { ms, cpu: (u + sy) * 1000, stdout: r.stdout };
}

function bridgeConf(s: Suite, dataDir: string, ipMasq = false) {
  const i = s === 'ours' ? 0 : 1;
  return { cniVersion: '1.0.0', name: `cnits-ip-b${i}`, type: 'bridge', bridge: `cipbr${i}`, isGateway: true, ipMasq, ipam: { type: 'host-local', dataDir: path.join(dataDir, s), subnet: `10.211.${200 + i}.0/24` } };
}

function inner(ctr: string, ctrDir: string, dataDir: string): void {
  execFileSync('ip', ['link', 'set', 'lo', 'up']);
  cpuFile = path.join(dataDir, '..', 'cpu');
  const samples: Record<string, Record<Suite, number[]>> = {};
  const cpu: Record<string, Record<Suite, number[]>> = {};
  const note = (k: string, s: Suite, ms: number, cpuMs?: number) => {
    (samples[k] ??= { ours: [], go: [] })[s].push(ms);
    if (cpuMs !== undefined) (cpu[k] ??= { ours: [], go: [] })[s].push(cpuMs);
  };

  const round = (s: Suite, record: boolean) => {
    const dir = SUITES[s];
    const rec = (k: string, r: { ms: number; cpu: number }) => record && note(k, s, r.ms, r.cpu);
    rec('VERSION', timed(path.join(dir, 'loopback'), { PATH: process.env.PATH, CNI_COMMAND: 'VERSION' }, undefined));
    const conf = bridgeConf(s, dataDir);
    const e = (c: string) => env(c, { netns: ctr, cniPath: cniPathOf(s) });
    const add = timed(path.join(dir, 'bridge'), e('ADD'), conf);
    rec('bridge ADD', add);
    rec('bridge CHECK', timed(path.join(dir, 'bridge'), e('CHECK'), { ...conf, prevResult: JSON.parse(add.stdout) }));
    rec('bridge DEL', timed(path.join(dir, 'bridge'), e('DEL'), { ...conf, prevResult: JSON.parse(add.stdout) }));
    // the chain a runtime runs for a pod with a port mapping
    const list = [
      bridgeConf(s, dataDir, true),
      { type: 'tuning', mtu: 1400, sysctl: { 'net.ipv4.conf.IFNAME.arp_notify': '1' } },
      { type: 'portmap', capabilities: { portMappings: true }, runtimeConfig: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: 'tcp' }] } },
    ].map((p) => ({ ...p, cniVersion: '1.0.0', name: `cnits-ip-b${s === 'ours' ? 0 : 1}` }));
    let prev: unknown;
    const chain = { ms: 0, cpu: 0 };
    for (const p of list) {
      const r = timed(path.join(dir, p.type), e('ADD'), prev ? { ...p, prevResult: prev } : p);
      chain.ms += r.ms;
      chain.cpu += r.cpu;
      prev = JSON.parse(r.stdout);
    }
    rec('chain ADD', chain);
    for (const p of [...list].reverse()) timed(path.join(dir, p.type), e('DEL'), { ...p, prevResult: prev });
  };
  for (let i = 0; i < 2; i++) for (const s of ['ours', 'go'] as const) round(s, false);
  for (let i = 0; i < RUNS; i++) for (const s of (i % 2 ? ['go', 'ours'] : ['ours', 'go']) as Suite[]) round(s, true);

  // 64 ADDs started at once into 64 namespaces, then 64 DELs (not timed)
  const ctrs = Array.from({ length: PARALLEL }, (_, i) => path.join(ctrDir, `c${i}`));
  const all = (s: Suite, command: string) =>
    Promise.all(
      ctrs.map(
        (netns, i) =>
          new Promise<void>((resolve, reject) => {
            const base = bridgeConf(s, dataDir);
            const conf = { ...base, name: `${base.name}p`, bridge: `${base.bridge}p`, ipam: { ...base.ipam, subnet: `10.212.${s === 'ours' ? 0 : 4}.0/22` } };
            const c = spawn(path.join(SUITES[s], 'bridge'), [], { env: env(command, { cid: `cnits-ip-p${i}`, netns, cniPath: cniPathOf(s) }), stdio: ['pipe', 'pipe', 'inherit'] });
            let out = '';
            c.stdout.on('data', (d) => (out += d));
            c.on('close', (code) => (code === 0 ? resolve() : reject(new Error(`parallel ${s} ${command} ${i}: ${out}`))));
            c.stdin.end(JSON.stringify(conf));
          }),
      ),
    );
  const parallel = async () => {
    for (let i = 0; i < PAR_RUNS; i++) {
      for (const s of (i % 2 ? ['go', 'ours'] : ['ours', 'go']) as Suite[]) {
        const t0 = process.hrtime.bigint();
        await all(s, 'ADD');
        note(`${PARALLEL} parallel ADDs (wall)`, s, Number(process.hrtime.bigint() - t0) / 1e6);
        await all(s, 'DEL');
      }
    }
  };

  // Peak RSS (GNU time's maximum resident set size), median of 5. It counts the executable's file pages a call
  // maps, and the kernel's fault-around maps up to 16 pages per fault of those already in the page cache: with
  // the whole file cached (just built, just untarred) a call maps more than with only the pages calls use cached
  // (after a reboot, or once memory pressure evicted the rest). The whole file is read first, or with `evicted`
  // its pages are dropped (dd iflag=nocache) and one unmeasured call brings back what a call uses.
  const rss = (s: Suite, what: 'VERSION' | 'bridge ADD', evicted: boolean) => {
    const out: number[] = [];
    const file = path.join(SUITES[s], what === 'VERSION' ? 'loopback' : 'bridge');
    const real = fs.realpathSync(file);
    execFileSync('dd', evicted ? [`if=${real}`, 'iflag=nocache', 'count=0', 'status=none'] : [`if=${real}`, 'of=/dev/null', 'bs=1M', 'status=none']);
    for (let i = evicted ? -1 : 0; i < 5; i++) {
      const conf = bridgeConf(s, dataDir);
      const e = what === 'VERSION' ? { PATH: process.env.PATH, CNI_COMMAND: 'VERSION' } : env('ADD', { netns: ctr, cniPath: cniPathOf(s) });
      const r = spawnSync('/usr/bin/time', ['-f', '%M', file], { env: e, input: JSON.stringify(conf), encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`rss ${s} ${what}: ${r.stdout}${r.stderr}`);
      if (i >= 0) out.push(Number(r.stderr.trim().split('\n').pop()) / 1024);
      if (what !== 'VERSION') timed(path.join(SUITES[s], 'bridge'), env('DEL', { netns: ctr, cniPath: cniPathOf(s) }), conf);
    }
    return median(out);
  };

  parallel().then(() => {
    const rows: string[] = [];
    let met = true;
    for (const [k, v] of Object.entries(samples)) {
      const o = median(v.ours);
      const g = median(v.go);
      const ratio = o / g;
      const ok = ratio <= TARGETS[k];
      met &&= ok;
      const spread = (xs: number[]) => `${Math.min(...xs).toFixed(1)}–${Math.max(...xs).toFixed(1)}`;
      const unit = k.includes('wall') ? 's' : 'ms';
      const f = (x: number) => (unit === 's' ? (x / 1000).toFixed(2) : x.toFixed(1));
      rows.push(`| ${k} | ${f(g)} | ${f(o)} ${unit} | ${ratio.toFixed(2)}× | ≤ ${TARGETS[k]}× ${ok ? 'met' : 'MISSED'} | ${unit === 's' ? '' : spread(v.ours)} |`);
    }
    for (const evicted of [false, true]) {
      for (const what of ['VERSION', 'bridge ADD'] as const) {
        const o = rss('ours', what, evicted);
        const g = rss('go', what, evicted);
        const ok = o <= RSS_TARGET_MB;
        met &&= ok;
        const state = evicted ? 'only the pages calls use cached' : 'whole binary in page cache';
        rows.push(`| peak RSS, ${what} (${state}) | ${g.toFixed(1)} MB | ${o.toFixed(1)} MB | ${(o / g).toFixed(1)}× | ≤ ${RSS_TARGET_MB} MB ${ok ? 'met' : 'MISSED'} | |`);
      }
    }
    console.log(`\nissue 14 targets: ours (bin/, ${fs.realpathSync(path.join(SUITES.ours, 'cni-ts'))}) vs Go (Debian 1.1.1), ${RUNS} interleaved rounds, ${PAR_RUNS} × ${PARALLEL} parallel; medians; ${os.cpus().length} CPUs, load ${os.loadavg()[0].toFixed(2)}\n`);
    console.log('| what | Go | ours | ours/Go | target | ours min–max |');
    console.log('|---|---:|---:|---:|---|---|');
    for (const r of rows) console.log(r);
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    console.log('\nCPU per call (user + system, the process and the children it waited for; mean, ms): less sensitive to load than wall time\n');
    console.log('| what | Go | ours | ours/Go |');
    console.log('|---|---:|---:|---:|');
    for (const [k, v] of Object.entries(cpu)) console.log(`| ${k} | ${mean(v.go).toFixed(1)} | ${mean(v.ours).toFixed(1)} | ${(mean(v.ours) / mean(v.go)).toFixed(2)}× |`);
    console.log(met ? '\nall targets met' : '\nsome targets missed');
  }, (e) => {
    console.error(e);
    process.exitCode = 1;
  });
}

function main(): void {
  if (process.getuid?.() !== 0) {
    console.error('targets bench: needs root (network namespaces)');
    return;
  }
  const missing = Object.entries(SUITES).flatMap(([s, d]) => ['bridge', 'host-local', 'tuning', 'portmap', 'loopback'].filter((p) => !fs.existsSync(path.join(d, p))).map((p) => `${s}: ${p}`));
  if (missing.length) {
    console.error(`targets bench: missing ${missing.join(', ')}; skipped`);
    return;
  }
  const tag = process.pid.toString(36);
  const host = `cnits-ip-bh-${tag}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-ip-bench-'));
  const ctrDir = path.join(tmp, 'ns');
  fs.mkdirSync(ctrDir);
  const ctr = `cnits-ip-bc-${tag}`;
  const pinned: string[] = [];
  try {
    execFileSync('ip', ['netns', 'add', host]);
    execFileSync('ip', ['netns', 'add', ctr]);
    // 64 more container namespaces, pinned by bind mounts of a sleeping unshare's netns
    for (let i = 0; i < PARALLEL; i++) {
      const f = path.join(ctrDir, `c${i}`);
      fs.writeFileSync(f, '');
      execFileSync('unshare', [`--net=${f}`, 'true']);
      pinned.push(f);
    }
    const r = spawnSync('ip', ['netns', 'exec', host, process.execPath, ...process.execArgv, process.argv[1], '--inner', `/var/run/netns/${ctr}`, ctrDir, path.join(tmp, 'data')], { stdio: 'inherit', env: process.env });
    if (r.status !== 0) process.exitCode = 1;
  } finally {
    for (const f of pinned) spawnSync('umount', [f]);
    spawnSync('ip', ['netns', 'del', host]);
    spawnSync('ip', ['netns', 'del', ctr]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--inner') inner(process.argv[3], process.argv[4], process.argv[5]);
else main();
