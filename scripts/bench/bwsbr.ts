// bandwidth and sbr ADD / CHECK / DEL, ours (bin/) against Debian's Go plugins,
// rounds interleaved, chained on a veth between two throw-away netns
// (cnits-bench-bw*): the plugin runs in the one playing the host, as a runtime
// runs it (env + stdin, `ip netns exec`). `node -e 0` in the same run for scale.
//   tsx scripts/bench/bwsbr.ts [iterations]
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
const N = Number(process.argv[2] ?? 20);
const suites: Record<string, string> = { ours: path.join(ROOT, 'bin'), 'Go (Debian 1.1.1)': '/usr/lib/cni' };

if (process.getuid?.() !== 0) {
  console.error('bwsbr bench: needs root (network namespaces)');
  process.exit(0);
}
for (const [name, dir] of Object.entries(suites)) {
  if (!['bandwidth', 'sbr'].every((p) => fs.existsSync(path.join(dir, p)))) {
    console.error(`bwsbr bench: ${name} lacks bandwidth or sbr in ${dir}; skipping`);
    process.exit(0);
  }
}

const tag = process.pid.toString(36);
const host = `cnits-bench-bwh-${tag}`;
const ctr = `cnits-bench-bwc-${tag}`;
const sh = (...a: string[]) => {
  const r = spawnSync(a[0], a.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${a.join(' ')}: ${r.stderr}`);
};
const ipc = (...a: string[]) => sh('ip', '-n', ctr, ...a);

const prevResult = {
  cniVersion: '1.0.0',
  interfaces: [{ name: 'cbwbench' }, { name: 'eth0', sandbox: `/var/run/netns/${ctr}` }],
  ips: [{ address: '10.202.250.2/24', gateway: '10.202.250.1', interface: 1 }],
};
const confs: Record<string, object> = {
  bandwidth: { cniVersion: '1.0.0', name: 'bench', type: 'bandwidth', ingressRate: 8e6, ingressBurst: 8e4, egressRate: 8e6, egressBurst: 8e4, prevResult },
  sbr: { cniVersion: '1.0.0', name: 'bench', type: 'sbr', prevResult },
};

function exec(file: string, command: string, conf: object): number {
  const env = { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: `bench-${tag}`, CNI_NETNS: `/var/run/netns/${ctr}`, CNI_IFNAME: 'eth0', CNI_PATH: '/nonexistent' };
  const t0 = process.hrtime.bigint();
  const r = spawnSync('ip', ['netns', 'exec', host, file], { input: JSON.stringify(conf), env, encoding: 'utf8' });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  if (r.status !== 0) throw new Error(`${file} ${command} failed: ${r.stdout}${r.stderr}`);
  return ms;
}

/** Puts back what the interface plugin's DEL would remove with the veth: the veth's qdiscs, the routes sbr moved. */
function reset(): void {
  for (const dir of ['root', 'ingress']) spawnSync('tc', ['-n', host, 'qdisc', 'del', 'dev', 'cbwbench', dir]);
  spawnSync('ip', ['-n', ctr, 'route', 'flush', 'table', '100']);
  ipc('route', 'replace', '10.202.250.0/24', 'dev', 'eth0', 'proto', 'kernel', 'scope', 'link', 'src', '10.202.250.2');
  ipc('route', 'replace', 'default', 'via', '10.202.250.1');
}

const samples: Record<string, number[]> = {};
const note = (k: string, ms: number) => (samples[k] ??= []).push(ms);
const median = (a: number[]) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];

sh('ip', 'netns', 'add', host);
sh('ip', 'netns', 'add', ctr);
try {
  sh('ip', '-n', host, 'link', 'add', 'cbwbench', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ctr);
  sh('ip', '-n', host, 'link', 'set', 'cbwbench', 'up');
  ipc('addr', 'add', '10.202.250.2/24', 'dev', 'eth0');
  ipc('link', 'set', 'eth0', 'up');
  ipc('route', 'add', 'default', 'via', '10.202.250.1');
  for (let i = 0; i <= N; i++) {
    for (const plugin of ['bandwidth', 'sbr']) {
      for (const [name, dir] of Object.entries(suites)) {
        const file = path.join(dir, plugin);
        const times = ['ADD', 'CHECK', 'DEL'].map((c) => exec(file, c, confs[plugin]));
        reset();
        // round 0 warms the page cache
        if (i > 0) ['ADD', 'CHECK', 'DEL'].forEach((c, j) => note(`${plugin}|${name}|${c}`, times[j]));
      }
    }
    const t0 = process.hrtime.bigint();
    spawnSync(process.execPath, ['-e', '0'], { env: { PATH: process.env.PATH } });
    if (i > 0) note('node -e 0', Number(process.hrtime.bigint() - t0) / 1e6);
  }
  console.log(`\nbandwidth and sbr, ${N} rounds, median ms (includes \`ip netns exec\`); \`node -e 0\`: ${median(samples['node -e 0']).toFixed(1)} ms\n`);
  console.log('| plugin | suite | ADD | CHECK | DEL |\n|---|---|---:|---:|---:|');
  for (const plugin of ['bandwidth', 'sbr']) {
    for (const name of Object.keys(suites)) {
      const m = (c: string) => median(samples[`${plugin}|${name}|${c}`]).toFixed(1);
      console.log(`| ${plugin} | ${name} | ${m('ADD')} | ${m('CHECK')} | ${m('DEL')} |`);
    }
  }
} finally {
  spawnSync('ip', ['netns', 'del', host]);
  spawnSync('ip', ['netns', 'del', ctr]);
}
