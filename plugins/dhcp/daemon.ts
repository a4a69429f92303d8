// `dhcp daemon`: serves DHCP.Allocate / DHCP.Release (Go net/rpc over HTTP,
// pkg/dhcp/rpc.ts) on a unix socket or one systemd-activated fd, maintains the
// leases, keeps them in the lease file (store.ts) and resumes them at start-up,
// and on SIGINT/SIGTERM removes its socket and pidfile and exits 0.
import { mkdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { dirname, isAbsolute } from 'node:path';
import { serveDHCP } from '../../pkg/dhcp/rpc.js';
import { FlagError, parseDaemonFlags, usage, type DaemonFlags } from './flags.js';
import { LeaseManager } from './manager.js';
import { LeaseStore } from './store.js';

/** Go's log format: `2006/01/02 15:04:05 message`. */
export function log(msg: string): void {
  const d = new Date();
  const p = (n: number) => String(n).padStart(2, '0');
  process.stderr.write(`${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())} ${msg}\n`);
}

/**
 * The listening fd systemd passed (sd_listen_fds: LISTEN_PID is us, LISTEN_FDS
 * counts fds from 3), or undefined when none. The variables are removed so
 * that nothing we start inherits them.
 */
function systemdFd(env: NodeJS.ProcessEnv): number | undefined {
  const pid = Number(env.LISTEN_PID);
  const n = Number(env.LISTEN_FDS);
  delete env.LISTEN_PID;
  delete env.LISTEN_FDS;
  delete env.LISTEN_FDNAMES;
  if (pid !== process.pid || !Number.isInteger(n) || n <= 0) return undefined;
  if (n > 1) throw new Error(`too many (${n}) fds passed through socket activation`);
  return 3;
}

function listen(server: Server, target: { fd: number } | { path: string }): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (e: Error) => reject(e);
    server.once('error', onError);
    server.listen(target, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

/** True when something accepts connections on the unix socket at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(path);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

/**
 * Listens on `path`, creating its directory (0700). A socket file nobody
 * answers on (a daemon killed with SIGKILL) is replaced; the reference fails
 * with "address already in use" there and its docs say to rm it first.
 */
async function listenUnix(server: Server, path: string): Promise<void> {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  try {
    await listen(server, { path });
  } catch (e) {
    if ((e as { code?: string }).code !== 'EADDRINUSE' || (await answers(path))) throw e;
    log(`removing stale socket ${path}`);
    unlinkSync(path);
    await listen(server, { path });
  }
}

function removeQuietly(path: string): void {
  try {
    if (path) unlinkSync(path);
  } catch {
    // already gone
  }
}

/** Runs the daemon with `flags` until SIGINT/SIGTERM. */
export async function runDaemon(flags: DaemonFlags): Promise<void> {
  // The Bun build starts every program with the JIT held back for a short burst of run-once code
  // (build.ts, BUN_JIT_POLICY); the daemon runs for days, so it gets the normal policy back.
  (globalThis as { Bun?: { unsafe?: { setJITPolicy?(scale: number): void } } }).Bun?.unsafe?.setJITPolicy?.(1);
  const socketPath = flags.hostprefix + flags.socketpath;
  // not under -hostprefix, like -pidfile: the file is the daemon's own state, not the host's (README)
  if (flags.leasefile && !isAbsolute(flags.leasefile)) throw new Error(`error with lease file "${flags.leasefile}": path not absolute`);
  if (flags.pidfile) {
    if (!isAbsolute(flags.pidfile)) throw new Error(`error writing pidfile "${flags.pidfile}": path not absolute`);
    try {
      writeFileSync(flags.pidfile, String(process.pid), { mode: 0o644 });
    } catch (e) {
      throw new Error(`error writing pidfile "${flags.pidfile}": ${(e as Error).message}`, { cause: e });
    }
  }
  const store = flags.leasefile ? new LeaseStore(flags.leasefile, log) : undefined;
  let stopping = false;
  const manager: LeaseManager = new LeaseManager({
    hostPrefix: flags.hostprefix,
    timeout: flags.timeout,
    resendMax: flags.resendmax,
    resendTimeout: flags.resendtimeout,
    broadcast: flags.broadcast,
    log,
    // the state is taken now; the write follows any write in flight
    // once stopping, the loops end without their leases ending: the file must keep them
    onChange: store && (() => stopping || store.save(manager.records())),
    saved: store && (() => store.flush()),
  });
  const server = createServer();
  serveDHCP(server, { allocate: (args) => manager.allocate(args), release: (args) => manager.release(args) });
  // a systemd-activated socket belongs to systemd: we leave its file alone on exit
  let ownSocket = '';
  try {
    const fd = systemdFd(process.env);
    if (fd !== undefined) await listen(server, { fd });
    else {
      await listenUnix(server, socketPath);
      ownSocket = socketPath;
    }
  } catch (e) {
    removeQuietly(flags.pidfile);
    throw new Error(`error getting listener: ${(e as Error).message}`, { cause: e });
  }
  // only once we hold the socket (a second daemon must not touch the first one's leases), and synchronously
  // after listen(): no connection is accepted before the saved leases are back
  // (the file and its directory are created by the first save, never by a daemon that had nothing to keep)
  if (store) manager.restore(store.load());
  log(`listening on ${ownSocket || 'the socket systemd passed'}${store ? `, leases in ${store.path}` : ''}`);
  await new Promise<void>((resolve) => {
    const shutdown = (sig: string) => {
      log(`${sig}: shutting down`);
      stopping = true;
      server.close();
      removeQuietly(ownSocket);
      removeQuietly(flags.pidfile);
      // leases are not released: their containers keep their addresses (as in the reference)
      // nothing is saved for the stop itself: the file keeps the leases for the next start
      manager
        .shutdown()
        .then(() => store?.flush())
        .finally(resolve);
    };
    process.once('SIGINT', () => shutdown('SIGINT'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
  });
}

/** `dhcp daemon [flags]`: exits 0 after a signal, 1 on a start-up error, 2 on a bad command line. */
export function daemonMain(argv: readonly string[]): void {
  let flags: DaemonFlags;
  try {
    flags = parseDaemonFlags(argv);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    process.stderr.write(`${e.message ? `${e.message}\n` : ''}${usage()}`);
    process.exit(e.exitCode);
  }
  runDaemon(flags).then(
    () => process.exit(0),
    (e) => {
      log((e as Error).message);
      process.exit(1);
    },
  );
}
