// Which firewall to program, and running one batch per call: iptables-restore
// --noflush for iptables (one xtables lock, one process per call), nft -f for
// nftables. The plugins choose a backend with the reference's rule: the one the
// config names; otherwise iptables, unless iptables is unusable and nftables is.
import { run, start, type ExecResult, type Running } from '../exec/index.js';

export type Backend = 'iptables' | 'nftables';
export type Family = 4 | 6;

const IPT = { 4: 'iptables', 6: 'ip6tables' } as const;
const IPT_RESTORE = { 4: 'iptables-restore', 6: 'ip6tables-restore' } as const;
const IPT_SAVE = { 4: 'iptables-save', 6: 'ip6tables-save' } as const;

/** True when `iptables` (or ip6tables) runs and can read the filter table. */
export async function iptablesUsable(family: Family = 4): Promise<boolean> {
  try {
    return (await run(IPT[family], ['-w', '-t', 'filter', '-S', 'INPUT', '1'], { allowFailure: true })).code === 0;
  } catch {
    return false;
  }
}

/** True when `nft` runs and can list tables. */
export async function nftablesUsable(): Promise<boolean> {
  try {
    return (await run('nft', ['list', 'tables'], { allowFailure: true })).code === 0;
  } catch {
    return false;
  }
}

/** The backend to use: `configured` when given, else iptables unless only nftables works. */
export async function chooseBackend(configured?: string): Promise<Backend> {
  if (configured === 'iptables' || configured === 'nftables') return configured;
  if (await iptablesUsable()) return 'iptables';
  if (await nftablesUsable()) return 'nftables';
  return 'iptables';
}

/** Applies an iptables-restore script (`*nat ... COMMIT`) without flushing other rules. */
export function iptablesRestore(family: Family, script: string): Promise<ExecResult> {
  return run(IPT_RESTORE[family], ['-w', '--noflush'], { input: script });
}

/** iptablesRestore started on the addon's thread: the caller may run the other family's meanwhile. */
export function iptablesRestoreStart(family: Family, script: string): Running {
  return start(IPT_RESTORE[family], ['-w', '--noflush'], { input: script });
}

/** iptablesSave started on the addon's thread; `wait().stdout` is the dump. */
export function iptablesSaveStart(family: Family, table: string): Running {
  return start(IPT_SAVE[family], ['-t', table]);
}

/** Dumps one table as iptables-save prints it. */
export async function iptablesSave(family: Family, table: string): Promise<string> {
  return (await run(IPT_SAVE[family], ['-t', table])).stdout;
}

/** Applies an nft script atomically (`nft -f -`). */
export function nftApply(script: string): Promise<ExecResult> {
  return run('nft', ['-f', '-'], { input: script });
}

/** `nft -j list ...` parsed; undefined when the object does not exist. */
export async function nftListJSON(...what: string[]): Promise<any | undefined> {
  const r = await run('nft', ['-j', 'list', ...what], { allowFailure: true });
  if (r.code !== 0) return undefined;
  return JSON.parse(r.stdout);
}
