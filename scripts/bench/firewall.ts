// firewall ADD / CHECK / DEL (iptables backend, one IPv4 and one IPv6 address),
// ours (bin/) against Debian's Go plugin, rounds interleaved, each suite in its
// own throw-away host netns (cnits-bench-fw*) so both start from the same tables.
//   tsx scripts/bench/firewall.ts [rounds]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const N = Number(process.argv[2] ?? 20);
const suites: Record<string, string> = { ours: path.join(ROOT, 'bin', 'firewall'), 'Go (Debian 1.1.1)': '/usr/lib/cni/firewall' };

if (process.getuid?.() !== 0) {
  console.error('firewall bench: needs root (network namespaces)');
  process.exit(0);
}
for (const [name, file] of Object.entries(suites)) {
  if (!fs.existsSync(file)) {
    console.error(`firewall bench: ${name} has no ${file}; skipping`);
    process.exit(0);
  }
}

const tag = process.pid.toString(36);
const ctr = `cnits-bench-fwc-${tag}`;
const hosts = Object.keys(suites).map((_, i) => `cnits-bench-fw${i}-${tag}`);
for (const ns of [ctr, ...hosts]) spawnSync('ip', ['netns', 'add', ns]);
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-bench-fw-'));
const conf = {
  cniVersion: '1.0.0',
  name: 'bench-fw',
  type: 'firewall',
  backend: 'iptables',
  dataDir,
  prevResult: {
    cniVersion: '1.0.0',
    interfaces: [{ name: 'cnibr0' }, { name: 'veth0' }, { name: 'eth0', sandbox: `/var/run/netns/${ctr}` }],
    ips: [{ address: '10.230.210.2/24', interface: 2 }, { address: 'fd00:230:210::2/64', interface: 2 }],
  },
};

function exec(host: string, file: string, command: string): number {
  const env = { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: `bench-${tag}`, CNI_NETNS: `/var/run/netns/${ctr}`, CNI_IFNAME: 'eth0', CNI_PATH: path.dirname(file) };
  const t0 = process.hrtime.bigint();
  const r = spawnSync('ip', ['netns', 'exec', host, file], { input: JSON.stringify(conf), env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${file} ${command} failed: ${r.stdout}${r.stderr}`);
  return ms;
}

const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
try {
  const samples: Record<string, Record<string, number[]>> = {};
  const names = Object.keys(suites);
  for (let i = -1; i < N; i++) {
    names.forEach((name, k) => {
      for (const cmd of ['ADD', 'CHECK', 'DEL']) {
        const ms = exec(hosts[k], suites[name], cmd);
        if (i >= 0) ((samples[name] ??= {})[cmd] ??= []).push(ms); // round -1 warms up (page cache, the first chain creation)
      }
    });
  }
  console.log(`\nfirewall (iptables, 1 IPv4 + 1 IPv6 address), ${N} rounds, median ms (includes \`ip netns exec\`)\n`);
  console.log('| suite | ADD | CHECK | DEL |\n|---|---:|---:|---:|');
  for (const [name, s] of Object.entries(samples)) console.log(`| ${name} | ${['ADD', 'CHECK', 'DEL'].map((c) => median(s[c]).toFixed(1)).join(' | ')} |`);
} finally {
  for (const ns of [ctr, ...hosts]) spawnSync('ip', ['netns', 'del', ns]);
  fs.rmSync(dataDir, { recursive: true, force: true });
}
