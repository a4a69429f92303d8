// ADD / CHECK / DEL latency of the dhcp IPAM plugin, ours (bin/dhcp) and Debian's
// (/usr/lib/cni/dhcp 1.1.1), each against both daemons (ours and Debian's, each on
// its own socket): ours→ours, Go→Go, ours→Go, Go→ours, plus `node -e 0`, all
// interleaved round by round. dnsmasq serves a bridge in a scratch namespace
// (cnits-bench-*); every plugin/daemon pair has its own veth into that bridge, so
// the pairs never share a lease. ours→Go against Go→Go is the plugin side alone
// (same daemon, same DHCP exchange); "DEL again" (a DEL with no lease left, as
// runtimes repeat DELs) is the RPC alone, without any DHCP traffic. The plugin-side
// rows are medians of per-round differences. BENCH_RUNS rounds (default 20);
// BENCH_DHCP_BASELINE=/path/to/an/older/dhcp adds that binary as a third plugin
// (before/after comparisons in one interleaved run). Fails (never hangs) when
// dnsmasq, bin/dhcp or Debian's dhcp is missing, and removes everything it made.
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const RUNS = Number(process.env.BENCH_RUNS ?? 20);
const WARMUP = 3;
const GO = '/usr/lib/cni/dhcp';
const OURS = path.join(root, 'bin', 'dhcp');
const BASELINE = process.env.BENCH_DHCP_BASELINE;
/** One plugin call may take this long (a DHCP exchange with a local dnsmasq takes milliseconds). */
const CALL_TIMEOUT_MS = 30_000;
const GW = '10.232.250.1';

const STEPS = ['add', 'check', 'del', 'delAgain'] as const;
type Step = (typeof STEPS)[number];
type Row = Record<Step, number>;
type Samples = Record<Step, number[]>;

/** A plugin binary calling a daemon, on its own interface in the container namespace. */
interface Pair {
  label: string;
  plugin: string;
  daemon: 'ours' | 'go';
  ifName: string;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

function pairs(): Pair[] {
  const plugins: Array<[string, string]> = [
    ['ours', OURS],
    ['Go', GO],
  ];
  if (BASELINE) plugins.push(['baseline', BASELINE]);
  const out: Pair[] = [];
  for (const [name, plugin] of plugins) {
    for (const daemon of ['ours', 'go'] as const) out.push({ label: `${name}→${daemon === 'ours' ? 'ours' : 'Go'}`, plugin, daemon, ifName: `bench${out.length}` });
  }
  return out;
}

function timed(file: string, args: string[], env: NodeJS.ProcessEnv, input: string): { ms: number; stdout: string; stderr: string; code: number } {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(file, args, { env, input, encoding: 'utf8', timeout: CALL_TIMEOUT_MS });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.error) throw new Error(`${file}: ${r.error.message}`);
  return { ms, stdout: r.stdout, stderr: r.stderr, code: r.status ?? -1 };
}

/** One ADD, CHECK, DEL, DEL of `pair`; times in ms. */
function cycle(pair: Pair, sockets: Record<Pair['daemon'], string>, ctrPath: string): Row {
  const conf = { cniVersion: '1.0.0', name: 'bench-dhcp', type: 'macvlan', ipam: { type: 'dhcp', daemonSocketPath: sockets[pair.daemon] } };
  const env = (command: string) => ({ PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: `bench-${pair.ifName}`, CNI_NETNS: ctrPath, CNI_IFNAME: pair.ifName, CNI_PATH: path.dirname(GO) });
  const step = (command: string, stdin: object) => {
    const r = timed(pair.plugin, [], env(command), JSON.stringify(stdin));
    if (r.code !== 0) throw new Error(`${pair.label} ${command} failed (exit ${r.code}): ${r.stdout}${r.stderr}`);
    return r;
  };
  const add = step('ADD', conf);
  const prevResult = JSON.parse(add.stdout);
  const check = step('CHECK', { ...conf, prevResult });
  const del = step('DEL', { ...conf, prevResult });
  const delAgain = step('DEL', { ...conf, prevResult });
  return { add: add.ms, check: check.ms, del: del.ms, delAgain: delAgain.ms };
}

/** Runs in the scratch host namespace: interleaved rounds of `node -e 0` and every pair. */
function inner(): void {
  const [ctrPath, oursSock, goSock] = process.argv.slice(3);
  const sockets = { ours: oursSock, go: goSock };
  const all = pairs();
  const node: number[] = [];
  const times = all.map((): Samples => ({ add: [], check: [], del: [], delAgain: [] }));
  for (let i = 0; i < WARMUP + RUNS; i++) {
    const n = timed(process.execPath, ['-e', '0'], { PATH: process.env.PATH }, '');
    if (i >= WARMUP) node.push(n.ms);
    all.forEach((p, k) => {
      const c = cycle(p, sockets, ctrPath);
      if (i < WARMUP) return;
      for (const s of STEPS) times[k][s].push(c[s]);
    });
  }
  process.stdout.write(JSON.stringify({ node, samples: all.map((p, k) => ({ label: p.label, samples: times[k] })) }));
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

async function waitFor(what: string, ok: () => boolean, log: () => string, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!ok()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}: ${log()}`);
    await sleep(20);
  }
}

/** A background process with its output in a file (never an unread pipe). */
function start(file: string, args: string[], logFile: string): { proc: ChildProcess; log(): string } {
  const fd = fs.openSync(logFile, 'a');
  const proc = spawn(file, args, { stdio: ['ignore', fd, fd] });
  fs.closeSync(fd);
  proc.on('error', () => {});
  return { proc, log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : '') };
}

async function stop(proc: ChildProcess | undefined): Promise<void> {
  if (!proc || proc.exitCode !== null || proc.signalCode !== null || proc.pid === undefined) return;
  const exited = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 3000);
  await exited;
  clearTimeout(t);
}

async function outer(): Promise<void> {
  const missing = [
    !fs.existsSync(OURS) && `${OURS} (make build)`,
    !fs.existsSync(GO) && `${GO} (apt-get install containernetworking-plugins)`,
    BASELINE && !fs.existsSync(BASELINE) && `${BASELINE} (BENCH_DHCP_BASELINE)`,
    spawnSync('sh', ['-c', 'command -v dnsmasq']).status !== 0 && 'dnsmasq (scripts/setup.sh installs dnsmasq-base)',
  ].filter(Boolean);
  if (missing.length) throw new Error(`dhcp bench: missing ${missing.join(', ')}`);
  if (process.getuid?.() !== 0) throw new Error('dhcp bench: needs root (network namespaces)');

  const all = pairs();
  const tag = `${process.pid}`;
  const hostNs = `cnits-bench-dh${tag}`;
  const srvNs = `cnits-bench-ds${tag}`;
  const ctrNs = `cnits-bench-dc${tag}`;
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-bench-dhcp-'));
  const sockets = { ours: path.join(tmp, 'ours.sock'), go: path.join(tmp, 'go.sock') };
  const env = { ...process.env };
  delete env.NODE_EXTRA_CA_CERTS;
  delete env.NODE_OPTIONS;
  const ip = (...args: string[]) => execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const children: ChildProcess[] = [];
  try {
    for (const ns of [hostNs, srvNs, ctrNs]) ip('netns', 'add', ns);
    ip('-n', srvNs, 'link', 'set', 'lo', 'up');
    ip('-n', srvNs, 'link', 'add', 'br0', 'type', 'bridge');
    ip('-n', srvNs, 'addr', 'add', `${GW}/24`, 'dev', 'br0');
    ip('-n', srvNs, 'link', 'set', 'br0', 'up');
    all.forEach((p, k) => {
      ip('-n', srvNs, 'link', 'add', `vb${k}`, 'type', 'veth', 'peer', 'name', p.ifName, 'netns', ctrNs);
      ip('-n', srvNs, 'link', 'set', `vb${k}`, 'master', 'br0', 'up');
      // up before the first ADD, so neither daemon waits for a link it brought up itself
      ip('-n', ctrNs, 'link', 'set', p.ifName, 'up');
    });
    const dnsmasq = start(
      'ip',
      ['netns', 'exec', srvNs, 'dnsmasq', '--no-daemon', '--conf-file=/dev/null', '--port=0', '--user=root', '--interface=br0', '--bind-interfaces', '--no-ping', '--log-dhcp',
        `--dhcp-leasefile=${path.join(tmp, 'leases')}`, '--dhcp-range=10.232.250.50,10.232.250.99,255.255.255.0,1h', `--dhcp-option=3,${GW}`, `--pid-file=${path.join(tmp, 'dnsmasq.pid')}`],
      path.join(tmp, 'dnsmasq.log'),
    );
    children.push(dnsmasq.proc);
    await waitFor('dnsmasq', () => dnsmasq.log().includes('DHCP, sockets bound'), dnsmasq.log);
    const ours = start('ip', ['netns', 'exec', hostNs, OURS, 'daemon', '-socketpath', sockets.ours, '-timeout', '5s', '-leasefile', ''] /* like the Go daemon: leases in memory only */, path.join(tmp, 'ours.log'));
    children.push(ours.proc);
    const go = start('ip', ['netns', 'exec', hostNs, GO, 'daemon', '-socketpath', sockets.go, '-timeout', '5s'], path.join(tmp, 'go.log'));
    children.push(go.proc);
    await waitFor('our daemon', () => fs.existsSync(sockets.ours), ours.log);
    await waitFor("Debian's daemon", () => fs.existsSync(sockets.go), go.log);

    const r = spawnSync('ip', ['netns', 'exec', hostNs, process.execPath, '--import', 'tsx', new URL(import.meta.url).pathname, '--inner', `/var/run/netns/${ctrNs}`, sockets.ours, sockets.go], {
      env,
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: (WARMUP + RUNS) * all.length * 3 * CALL_TIMEOUT_MS,
    });
    if (r.status !== 0) throw new Error(`dhcp bench failed (${r.error?.message ?? `exit ${r.status}`}); our daemon: ${ours.log().slice(-2000)}\nDebian's daemon: ${go.log().slice(-2000)}`);
    const out = JSON.parse(r.stdout) as { node: number[]; samples: Array<{ label: string; samples: Samples }> };
    const row = (f: (s: Step) => number): Row => ({ add: f('add'), check: f('check'), del: f('del'), delAgain: f('delAgain') });
    const line = (what: string, o: Row) => `| ${what} | ${STEPS.map((s) => o[s].toFixed(1)).join(' | ')} | ${(o.add + o.check + o.del).toFixed(1)} |\n`;
    process.stdout.write(`\ndhcp IPAM plugin→daemon (dnsmasq, spec 1.0.0), median of ${RUNS} interleaved rounds, ms; node -e 0 = ${median(out.node).toFixed(1)} ms\n`);
    process.stdout.write('| plugin→daemon | ADD | CHECK | DEL | DEL again | ADD+CHECK+DEL |\n|---|---|---|---|---|---|\n');
    for (const { label, samples } of out.samples) process.stdout.write(line(label, row((s) => median(samples[s]))));
    const get = (l: string) => out.samples.find((x) => x.label === l)!.samples;
    // per round: both pairs ran within the same round, so a busier moment moves both
    const side = (a: Samples, b: Samples): Row => row((s) => median(a[s].map((x, i) => x - b[s][i])));
    process.stdout.write(line('plugin side: ours→Go minus Go→Go', side(get('ours→Go'), get('Go→Go'))));
    process.stdout.write(line('plugin side: ours→ours minus Go→ours', side(get('ours→ours'), get('Go→ours'))));
    if (BASELINE) {
      process.stdout.write(line('ours→Go minus baseline→Go', side(get('ours→Go'), get('baseline→Go'))));
      process.stdout.write(line('ours→ours minus baseline→ours', side(get('ours→ours'), get('baseline→ours'))));
    }
  } finally {
    for (const c of children.reverse()) await stop(c);
    for (const ns of [ctrNs, srvNs, hostNs]) spawnSync('ip', ['netns', 'del', ns]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--inner') inner();
else
  outer().catch((e: Error) => {
    process.stderr.write(`${e.message}\n`);
    process.exit(1);
  });
