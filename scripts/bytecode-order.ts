// Records the bytecode layout profiles the Bun build lays its bytecode out by
// (build.ts passes them to `bun build --bytecode-order`): Bun places the
// functions a recorded run used together at the front of the executable's
// bytecode, so a call touches fewer pages (measured: about 1.4 MB less peak RSS
// for a bridge ADD or DEL, no change in time). A profile from an older build
// still applies (a changed function just loses its place), so the profiles are
// kept in the repo and the build stays reproducible; rerun this after large
// changes to the bridge / host-local paths:
//   make build && tsx scripts/bytecode-order.ts      (root; writes scripts/bytecode-order/*.order)
// The calls run inside `unshare -n`: the "host" is a throw-away network
// namespace and the container another one inside it.
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const BIN = path.join(ROOT, 'bin');
const OUT = path.join(ROOT, 'scripts', 'bytecode-order');
/** The profiles, most common start first: build.ts passes them in this order. */
export const PROFILES = ['bridge-add', 'bridge-del'] as const;

function inner(): void {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'cni-ts-order-'));
  const netns = 'cnits-order-c';
  execFileSync('ip', ['netns', 'add', netns]);
  try {
    const conf = {
      cniVersion: '1.1.0',
      name: 'cnits-order',
      type: 'bridge',
      bridge: 'cnitsorder0',
      isGateway: true,
      ipMasq: true,
      ipam: { type: 'host-local', dataDir: path.join(tmp, 'data'), subnet: '10.219.77.0/24', routes: [{ dst: '0.0.0.0/0' }] },
    };
    const call = (command: string, profile: string, stdin: object): string => {
      const env = { PATH: process.env.PATH, CNI_COMMAND: command, CNI_CONTAINERID: 'cnits-order', CNI_NETNS: `/run/netns/${netns}`, CNI_IFNAME: 'eth0', CNI_PATH: BIN, BUN_BYTECODE_ORDER_OUT: path.join(tmp, `${profile}.order`) };
      const r = spawnSync(path.join(BIN, 'bridge'), [], { env, input: JSON.stringify(stdin), encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`bridge ${command} failed (${r.status}): ${r.stdout}${r.stderr}`);
      return r.stdout;
    };
    const prevResult = JSON.parse(call('ADD', 'bridge-add', conf));
    call('DEL', 'bridge-del', { ...conf, prevResult });
    fs.mkdirSync(OUT, { recursive: true });
    for (const p of PROFILES) {
      const file = path.join(tmp, `${p}.order`);
      if (!fs.existsSync(file)) throw new Error(`${file}: not written: is bin/ a Bun --bytecode build?`);
      fs.copyFileSync(file, path.join(OUT, `${p}.order`));
      fs.chmodSync(path.join(OUT, `${p}.order`), 0o644);
    }
  } finally {
    spawnSync('ip', ['netns', 'del', netns]);
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--inner') inner();
else if (import.meta.url === `file://${process.argv[1]}`) {
  const r = spawnSync('unshare', ['-n', process.execPath, ...process.execArgv, process.argv[1], '--inner'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  for (const p of PROFILES) console.log(`scripts/bytecode-order/${p}.order: ${fs.statSync(path.join(OUT, `${p}.order`)).size} bytes`);
}
