// A bridge → tuning → portmap chain ADD then DEL, ours (bin/) against Debian's Go
// plugins (/usr/lib/cni), in one run, inside throw-away netns (cnits-bench-*).
// Each plugin is exec'd as a runtime would (env + stdin, `ip netns exec` into the
// netns playing the host); the chain passes each result on as prevResult.
//   tsx scripts/bench/chain.ts [iterations]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const N = Number(process.argv[2] ?? 20);
const suites = { ours: path.join(ROOT, 'bin'), 'Go (Debian 1.1.1)': '/usr/lib/cni' } as Record<string, string>;

if (process.getuid?.() !== 0) {
  console.error('chain bench: needs root (network namespaces)');
  process.exit(0);
}
for (const [name, dir] of Object.entries(suites)) {
  const missing = ['bridge', 'host-local', 'tuning', 'portmap'].filter((p) => !fs.existsSync(path.join(dir, p)));
  if (missing.length) {
    console.error(`chain bench: ${name} lacks ${missing.join(', ')} in ${dir}; skipping the chain benchmark`);
    process.exit(0);
  }
}

const tag = process.pid.toString(36);
const host = `cnits-bench-chh-${tag}`;
const ctr = `cnits-bench-chc-${tag}`;
const sh = (...a: string[]) => {
  const r = spawnSync(a[0], a.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${a.join(' ')}: ${r.stderr}`);
};
sh('ip', 'netns', 'add', host);
sh('ip', 'netns', 'add', ctr);
sh('ip', '-n', host, 'link', 'set', 'lo', 'up');
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-bench-chain-'));

function plugins(dir: string, name: string) {
  return [
    { type: 'bridge', bridge: `cnibr${name === 'ours' ? 'o' : 'g'}`, isGateway: true, ipMasq: false, ipam: { type: 'host-local', subnet: name === 'ours' ? '10.230.200.0/24' : '10.230.201.0/24', dataDir: path.join(dataDir, name) } },
    { type: 'tuning', mtu: 1400, sysctl: { 'net.ipv4.conf.IFNAME.arp_notify': '1' }, dataDir: path.join(dataDir, `${name}-tuning`) },
    { type: 'portmap', capabilities: { portMappings: true }, runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: 'tcp' }] } },
  ].map((p) => ({ ...p, file: path.join(dir, p.type) }));
}

function exec(file: string, command: string, conf: object, cniPath: string): { ms: number; out: string } {
  const env = { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: `bench-${tag}`, CNI_NETNS: `/var/run/netns/${ctr}`, CNI_IFNAME: 'eth0', CNI_PATH: cniPath };
  const t0 = process.hrtime.bigint();
  const r = spawnSync('ip', ['netns', 'exec', host, file], { input: JSON.stringify(conf), env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${path.basename(file)} ${command} failed: ${r.stdout}${r.stderr}`);
  return { ms, out: r.stdout };
}

const per: Record<string, number[]> = {};
function note(k: string, ms: number) {
  (per[k] ??= []).push(ms);
}

function chain(name: string, dir: string): { add: number; del: number } {
  const list = plugins(dir, name);
  let prev: unknown;
  let add = 0;
  for (const { file, ...p } of list) {
    const conf = { cniVersion: '1.0.0', name: `bench-${name === 'ours' ? 'o' : 'g'}`, ...p, ...(prev ? { prevResult: prev } : {}) };
    const r = exec(file, 'ADD', conf, dir);
    add += r.ms;
    note(`${name} ${p.type} ADD`, r.ms);
    prev = JSON.parse(r.out);
  }
  let del = 0;
  for (const { file, ...p } of [...list].reverse()) {
    const ms = exec(file, 'DEL', { cniVersion: '1.0.0', name: `bench-${name === 'ours' ? 'o' : 'g'}`, ...p, prevResult: prev }, dir).ms;
    note(`${name} ${p.type} DEL`, ms);
    del += ms;
  }
  return { add, del };
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
try {
  const rows: string[][] = [];
  const samples: Record<string, { add: number[]; del: number[] }> = {};
  for (const name of Object.keys(suites)) samples[name] = { add: [], del: [] };
  chain('ours', suites.ours); // warm-up (page cache, xtables)
  chain('Go (Debian 1.1.1)', suites['Go (Debian 1.1.1)']);
  for (let i = 0; i < N; i++) {
    for (const [name, dir] of Object.entries(suites)) {
      const r = chain(name, dir);
      samples[name].add.push(r.add);
      samples[name].del.push(r.del);
    }
  }
  for (const [name, s] of Object.entries(samples)) rows.push([name, median(s.add).toFixed(1), median(s.del).toFixed(1), (median(s.add) + median(s.del)).toFixed(1)]);
  console.log(`\nbridge → tuning → portmap chain, ${N} runs each, median ms (includes \`ip netns exec\`)\n`);
  console.log('| suite | ADD chain | DEL chain | total |');
  console.log('|---|---:|---:|---:|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
  console.log('\n| step | median ms |\n|---|---:|');
  for (const [k, v] of Object.entries(per).sort()) console.log(`| ${k} | ${median(v).toFixed(1)} |`);
} finally {
  spawnSync('ip', ['netns', 'del', host]);
  spawnSync('ip', ['netns', 'del', ctr]);
  fs.rmSync(dataDir, { recursive: true, force: true });
}
