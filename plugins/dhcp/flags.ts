// `dhcp daemon` command line, parsed as Go's flag package does for the reference
// (-flag value, -flag=value, --flag, booleans only as -flag or -flag=bool,
// parsing stops at the first non-flag or "--"), with Go's duration syntax.
// -leasefile is ours (plugins#235): the reference keeps leases in memory only.
import { DEFAULT_LEASE_FILE } from './store.js';

/** The daemon's settings (reference §2.8). Durations in milliseconds. */
export interface DaemonFlags {
  pidfile: string;
  hostprefix: string;
  socketpath: string;
  broadcast: boolean;
  timeout: number;
  resendmax: number;
  resendtimeout: number;
  /** The lease file; "" keeps leases in memory only (as the reference). */
  leasefile: string;
}

/** Thrown for a bad command line: print `message` and the usage, exit 2 (0 for -h). */
export class FlagError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'FlagError';
  }
}

type Kind = 'string' | 'bool' | 'duration';
interface FlagDef {
  kind: Kind;
  usage: string;
  def: string | boolean | number;
}

const DEFS: Record<keyof DaemonFlags, FlagDef> = {
  broadcast: { kind: 'bool', usage: 'broadcast DHCP leases', def: false },
  hostprefix: { kind: 'string', usage: 'optional prefix to host root', def: '' },
  leasefile: { kind: 'string', usage: 'file the leases are kept in across restarts ("" keeps them in memory only; not under -hostprefix)', def: DEFAULT_LEASE_FILE },
  pidfile: { kind: 'string', usage: 'optional path to write daemon PID to', def: '' },
  resendmax: { kind: 'duration', usage: 'optional dhcp client max resend delay between requests', def: 62_000 },
  resendtimeout: { kind: 'duration', usage: 'optional dhcp client resend timeout, no more retries after this timeout', def: 208_000 },
  socketpath: { kind: 'string', usage: 'optional dhcp server socketpath', def: '' },
  timeout: { kind: 'duration', usage: 'optional dhcp client timeout duration for each request', def: 10_000 },
};

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go's time.ParseDuration ("10s", "1m30s", "500ms", "1.5h", "0"), in milliseconds. */
export function parseDuration(s: string): number {
  const bad = () => new Error(`time: invalid duration ${JSON.stringify(s)}`);
  let rest = s;
  let sign = 1;
  if (rest.startsWith('-') || rest.startsWith('+')) {
    sign = rest[0] === '-' ? -1 : 1;
    rest = rest.slice(1);
  }
  if (rest === '0') return 0;
  if (rest === '') throw bad();
  let total = 0;
  while (rest) {
    const m = /^([0-9]*(?:\.[0-9]*)?)([^0-9.]+)/.exec(rest);
    if (!m || m[1] === '' || m[1] === '.') throw bad();
    const unit = UNITS[m[2]];
    if (unit === undefined) throw new Error(`time: unknown unit ${JSON.stringify(m[2])} in duration ${JSON.stringify(s)}`);
    total += Number(m[1]) * unit;
    rest = rest.slice(m[0].length);
  }
  return sign * total;
}

/** Formats milliseconds as Go prints a Duration (62s → "1m2s"), for the usage text. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let s = ms / 1000;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s ? `${Number(s.toFixed(3))}s` : h || m ? '0s' : ''}`;
}

/** The usage text Go's flag package prints for the reference's flag set. */
export function usage(): string {
  const lines = ['Usage of daemon:'];
  for (const [name, d] of Object.entries(DEFS)) {
    lines.push(`  -${name}${d.kind === 'bool' ? '' : ` ${d.kind}`}`);
    const def = d.kind === 'duration' ? ` (default ${formatDuration(d.def as number)})` : d.kind === 'string' && d.def ? ` (default ${JSON.stringify(d.def)})` : '';
    lines.push(`    \t${d.usage}${def}`);
  }
  return lines.join('\n') + '\n';
}

function parseBool(v: string): boolean | undefined {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  return undefined;
}

/** Parses the arguments after `daemon`. Throws FlagError. */
export function parseDaemonFlags(argv: readonly string[]): DaemonFlags {
  const out = Object.fromEntries(Object.entries(DEFS).map(([k, d]) => [k, d.def])) as unknown as DaemonFlags;
  const set = out as unknown as Record<string, string | boolean | number>;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg.length < 2 || arg[0] !== '-') break;
    if (arg === '--') break;
    const body = arg.startsWith('--') ? arg.slice(2) : arg.slice(1);
    if (!body || body.startsWith('-') || body.startsWith('=')) throw new FlagError(`bad flag syntax: ${arg}`);
    const eq = body.indexOf('=');
    const name = eq < 0 ? body : body.slice(0, eq);
    const def = Object.hasOwn(DEFS, name) ? DEFS[name as keyof DaemonFlags] : undefined;
    if (!def) {
      if (name === 'h' || name === 'help') throw new FlagError('', 0);
      throw new FlagError(`flag provided but not defined: -${name}`);
    }
    if (def.kind === 'bool') {
      const v = eq < 0 ? true : parseBool(body.slice(eq + 1));
      if (v === undefined) throw new FlagError(`invalid boolean value ${JSON.stringify(body.slice(eq + 1))} for -${name}: parse error`);
      set[name] = v;
      continue;
    }
    let value: string;
    if (eq >= 0) value = body.slice(eq + 1);
    else if (i + 1 < argv.length) value = argv[++i];
    else throw new FlagError(`flag needs an argument: -${name}`);
    if (def.kind === 'string') set[name] = value;
    else {
      try {
        set[name] = parseDuration(value);
      } catch {
        throw new FlagError(`invalid value ${JSON.stringify(value)} for flag -${name}: parse error`);
      }
    }
  }
  if (!out.socketpath) out.socketpath = '/run/cni/dhcp.sock';
  return out;
}
