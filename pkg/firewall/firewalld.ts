// firewalld over the D-Bus system bus (reference §7.2 step 4): container IPs are
// added as sources of a zone (org.fedoraproject.FirewallD1.zone addSource /
// removeSource / querySource), and firewalld writes its own rules. The calls go
// through `busctl` (systemd) or, without it, `dbus-send`: a D-Bus client in the
// plugin would cost every call its load time, and firewalld hosts have one of
// the two. No system bus socket means no firewalld, decided without a process.
import { existsSync } from '../native/fs.js';
import { ExecError, run } from '../exec/index.js';

const FIREWALLD = 'org.fedoraproject.FirewallD1';
const FIREWALLD_PATH = '/org/fedoraproject/FirewallD1';
const ZONE_IFACE = `${FIREWALLD}.zone`;
const DBUS = 'org.freedesktop.DBus';
const DBUS_PATH = '/org/freedesktop/DBus';
/** D-Bus's default system bus address; `DBUS_SYSTEM_BUS_ADDRESS` overrides it (as every D-Bus client honours). */
const SYSTEM_BUS_SOCKET = '/run/dbus/system_bus_socket';
/** A hung firewalld must not hang the runtime for the D-Bus default of 25 s per call. */
const CALL_TIMEOUT_S = 10;

/** A D-Bus call that failed: the bus's or firewalld's error text (e.g. `ZONE_ALREADY_SET: 10.0.0.2/32`). */
export class DBusError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DBusError';
  }
}

/** True when a system bus could be there: an address in the environment, or the default socket exists. */
export function systemBusPresent(env = process.env): boolean {
  const addr = env.DBUS_SYSTEM_BUS_ADDRESS;
  if (addr) return true;
  return existsSync(SYSTEM_BUS_SOCKET);
}

/** One string-argument method call; the reply as the tool prints it. */
async function call(dest: string, path: string, iface: string, method: string, args: string[]): Promise<string> {
  const busctl = ['--system', `--timeout=${CALL_TIMEOUT_S}`, 'call', dest, path, iface, method, 's'.repeat(args.length), ...args];
  const dbusSend = ['--system', '--print-reply', `--reply-timeout=${CALL_TIMEOUT_S * 1000}`, `--dest=${dest}`, path, `${iface}.${method}`, ...args.map((a) => `string:${a}`)];
  const timeoutMs = (CALL_TIMEOUT_S + 5) * 1000;
  for (const [tool, argv] of [['busctl', busctl], ['dbus-send', dbusSend]] as const) {
    let r;
    try {
      r = await run(tool, argv, { allowFailure: true, timeoutMs });
    } catch (e) {
      if (e instanceof ExecError && e.result.code === -1) continue; // not installed: try the next tool
      throw e;
    }
    if (r.code === 0) return r.stdout;
    throw new DBusError((r.stderr || r.stdout).trim().replace(/^(Call failed: |Error )/, '') || `${tool} exited ${r.code}`);
  }
  throw new DBusError('neither busctl nor dbus-send is installed to reach the D-Bus system bus');
}

/**
 * Why firewalld cannot be used, or undefined when it owns its name on the
 * system bus (the reference's auto-detection asks GetNameOwner the same way).
 */
export async function firewalldUnavailable(): Promise<string | undefined> {
  if (!systemBusPresent()) return `no D-Bus system bus (${SYSTEM_BUS_SOCKET} does not exist)`;
  try {
    await call(DBUS, DBUS_PATH, DBUS, 'GetNameOwner', [FIREWALLD]);
    return undefined;
  } catch (e) {
    return (e as Error).message;
  }
}

/** Adds `source` (`ip/32`) to `zone`; an address already in a zone (`ZONE_ALREADY_SET`) is fine, as in the reference. */
export async function addSource(zone: string, source: string): Promise<void> {
  try {
    await call(FIREWALLD, FIREWALLD_PATH, ZONE_IFACE, 'addSource', [zone, source]);
  } catch (e) {
    if (e instanceof DBusError && e.message.includes('ZONE_ALREADY_SET')) return;
    throw e;
  }
}

/** Removes `source` from `zone`. */
export async function removeSource(zone: string, source: string): Promise<void> {
  await call(FIREWALLD, FIREWALLD_PATH, ZONE_IFACE, 'removeSource', [zone, source]);
}

/** True when `source` is in `zone`. */
export async function querySource(zone: string, source: string): Promise<boolean> {
  const out = await call(FIREWALLD, FIREWALLD_PATH, ZONE_IFACE, 'querySource', [zone, source]);
  return /\btrue\b/.test(out);
}
