// The daemon's leases (reference §2.8): one per client id, acquired with
// DORA inside the container's namespace, kept alive by an async maintenance
// loop (bound → T1 renew, unicast → T2 rebind, broadcast → expiry: link down),
// released with DHCPRELEASE. Everything is asynchronous: one daemon serves
// many containers at once, and no lease ever blocks another. With a lease
// file (store.ts) every change is saved and a restarted daemon resumes the
// leases whose interfaces still exist (restore).
import { DHCPNakError, EARLY_RESEND_MS, extend, LinkGoneError, newXID, obtain, reboot, release as sendRelease, Transport, waitOperational, type ClientConfig, type Lease } from '../../pkg/dhcp/client.js';
import { classlessRoutes, decodeMessage, encodeMessage, Opt, optIPs, optPrefix, optU32, staticRoutes } from '../../pkg/dhcp/message.js';
import { clientIDOf } from '../../pkg/dhcp/options.js';
import { formatMAC, linkByName, linkSet } from '../../pkg/ip/link.js';
import { Rtnl } from '../../pkg/ip/netlink.js';
import { native } from '../../pkg/native/index.js';
import { NetNS } from '../../pkg/ns/index.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import type { Result, Route } from '../../pkg/types/result.js';
import { loadDHCPConf } from './conf.js';
import type { StoredLease } from './store.js';

/** The daemon's timing settings (flags), in milliseconds. */
export interface ClientTiming {
  /** Wait for each reply (-timeout). */
  timeout: number;
  /** Longest pause between retries (-resendmax). */
  resendMax: number;
  /** Give up retrying after this long (-resendtimeout). */
  resendTimeout: number;
  /** Set the BOOTP broadcast flag (-broadcast). */
  broadcast: boolean;
}

export interface ManagerConfig extends ClientTiming {
  /** Prefix of every netns path (-hostprefix): the daemon may run in a container with the host's root below it. */
  hostPrefix: string;
  log(msg: string): void;
  /** Called after a lease is bound, renewed, rebound, released or dropped: the daemon saves `records()` then. */
  onChange?(): void;
  /** Resolves once the changes reported so far are saved: Allocate and Release answer only then. */
  saved?(): Promise<void>;
}

const DEFAULT_LEASE_SECS = 3600;
/** RFC 2131 §4.1: 4 s, doubling, ±1 s; the reference first retries 4 times every 2 s ±1 s. */
const RESEND_DELAY0 = 4000;
const RESEND_FAST_DELAY = 2000;
const RESEND_FAST_MAX = 4;
/** setTimeout's limit; longer waits are taken in steps. */
const MAX_TIMER = 0x7fffffff;
/** How long a link we set up may take to become operational before DORA starts anyway. */
const LINK_UP_WAIT = 2000;
/** Interface checks that fail with an error other than "not found" are retried this often. */
const LINK_CHECK_DELAYS = [1000, 2000, 4000, 8000, 10_000];

const jitter = (span: number) => span * (2 * Math.random() - 1);

function abortError(): Error {
  const e = new Error('lease maintenance stopped');
  e.name = 'AbortError';
  return e;
}

/** Resolves after `ms`, or rejects when `signal` aborts. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason ?? abortError());
    const t = setTimeout(
      () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, Math.min(ms, MAX_TIMER)),
    );
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason ?? abortError());
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Calls `attempt` until it succeeds: 4 fast retries 2 s ±1 s apart, then 4 s ±1 s
 * doubling up to `resendMax`, until `deadline` (ms since the epoch). LinkGoneError,
 * aborts and errors `final` picks end it at once; otherwise the last error is
 * thrown with "no more tries".
 */
export async function backoffRetry<T>(
  attempt: (signal: AbortSignal) => Promise<T>,
  o: { resendMax: number; deadline: number; signal: AbortSignal; log(m: string): void; final?(e: unknown): boolean },
): Promise<T> {
  let base = RESEND_DELAY0;
  let fast = RESEND_FAST_MAX;
  for (;;) {
    const left = o.deadline - Date.now();
    const limit = AbortSignal.any([o.signal, AbortSignal.timeout(Math.max(1, Math.min(left, MAX_TIMER)))]);
    let last: unknown;
    try {
      return await attempt(limit);
    } catch (e) {
      if (o.signal.aborted || e instanceof LinkGoneError || o.final?.(e)) throw e;
      last = limit.aborted ? new Error('retry deadline reached') : e;
    }
    const inFast = fast > 0;
    const delay = (inFast ? RESEND_FAST_DELAY : base) + jitter(1000);
    if (inFast) fast--;
    if (Date.now() + delay >= o.deadline) throw new Error(`no more tries: ${(last as Error)?.message ?? last}`, { cause: last });
    o.log(`${(last as Error)?.message ?? last}; retrying in ${(delay / 1000).toFixed(1)} s`);
    await sleep(delay, o.signal);
    if (!inFast) base = Math.min(base * 2, Math.max(o.resendMax, RESEND_DELAY0));
  }
}

/** The CNI result of a lease (reference §2.8 "Result"); throws when the ACK has no subnet mask. */
export function leaseResult(lease: Lease, priority = 0): Result {
  const ack = lease.ack;
  const prefix = optPrefix(ack, Opt.SubnetMask);
  if (prefix === undefined) throw new Error('DHCP option Subnet Mask not found in DHCPACK');
  const gateway = optIPs(ack, Opt.Router)[0];
  const routes: Route[] = [];
  // RFC 3442: with classless routes the static routes and the router are not routes
  const classless = classlessRoutes(ack);
  if (classless?.length) {
    for (const r of classless) routes.push(r.gw === '0.0.0.0' ? { dst: r.dst, gw: r.gw, scope: 253 } : { dst: r.dst, gw: r.gw });
  } else {
    for (const r of staticRoutes(ack)) routes.push({ dst: r.dst, gw: r.gw });
    // SPEC: a gateway does not imply a default route, so the route is spelled out
    if (gateway) routes.push({ dst: '0.0.0.0/0', gw: gateway });
  }
  if (priority) for (const r of routes) r.priority = priority;
  const ip = gateway ? { address: `${lease.address}/${prefix}`, gateway } : { address: `${lease.address}/${prefix}` };
  return { cniVersion: '1.1.0', ips: [ip], routes };
}

/** Seconds from the ACK: lease time (51, default 1 h), T1 (58, default ½), T2 (59, default 0.85). */
export function leaseTimes(lease: Lease): { renewAt: number; rebindAt: number; expireAt: number } {
  const secs = optU32(lease.ack, Opt.LeaseTime) ?? DEFAULT_LEASE_SECS;
  const t1 = optU32(lease.ack, Opt.RenewalTime) ?? secs / 2;
  const t2 = optU32(lease.ack, Opt.RebindingTime) ?? (secs * 85) / 100;
  const at = (s: number) => lease.boundAt + s * 1000;
  // 0xffffffff is "infinite" (RFC 2131 §3.3): never renew
  if (secs === 0xffffffff) return { renewAt: Infinity, rebindAt: Infinity, expireAt: Infinity };
  return { renewAt: at(t1), rebindAt: at(t2), expireAt: at(secs) };
}

/** `rebooting`: a lease that expired while no daemon ran, confirmed by INIT-REBOOT or given up. */
type State = 'bound' | 'renewing' | 'rebinding' | 'rebooting' | 'stopped';

/** Absolute times (ms since the epoch; Infinity = never) of T1, T2 and expiry. */
export type LeaseTimes = ReturnType<typeof leaseTimes>;

/** Who a lease belongs to, as the runtime named it (kept in the lease file). */
export interface LeaseOwner {
  containerID: string;
  network: string;
  /** The netns path the runtime gave, without -hostprefix. */
  netns: string;
}

/** What a ManagedLease is made of. */
export interface ManagedLeaseInit {
  clientID: string;
  owner: LeaseOwner;
  /** hostPrefix + owner.netns. */
  netnsPath: string;
  ifName: string;
  /** The interface's MAC (the chaddr of every message). */
  mac: string;
  client: ClientConfig;
  lease: Lease;
  /** dev:ino of the namespace file at acquire time; looked up when not given. */
  nsID?: string;
  /** The times to keep (a resumed lease's, from the file); computed from the ACK when not given. */
  times?: LeaseTimes;
}

/** The state a lease resumes in at `now` (RFC 2131 §4.4.5): bound before T1, renewing before T2, rebinding before expiry, else rebooting. */
export function resumeState(t: LeaseTimes, now: number): Exclude<State, 'stopped'> {
  if (now < t.renewAt) return 'bound';
  if (now < t.rebindAt) return 'renewing';
  if (now < t.expireAt) return 'rebinding';
  return 'rebooting';
}

const isoOrNull = (ms: number) => (Number.isFinite(ms) ? new Date(ms).toISOString() : null);
/** An infinite lease (0xffffffff) has no expiry to print: Date(Infinity) throws. */
const expiryText = (t: LeaseTimes) => isoOrNull(t.expireAt) ?? 'never';
const msOrInfinity = (iso: string | null) => (iso === null ? Infinity : Date.parse(iso));

/** One lease and its maintenance loop. */
export class ManagedLease {
  state: State = 'bound';
  readonly clientID: string;
  readonly owner: LeaseOwner;
  readonly netnsPath: string;
  readonly ifName: string;
  readonly mac: string;
  readonly client: ClientConfig;
  lease: Lease;
  times: LeaseTimes;
  private readonly stopper = new AbortController();
  private wake?: () => void;
  private loop?: Promise<void>;
  /** dev:ino of the namespace file at acquire time: the same path naming another namespace means ours is gone. */
  private readonly nsID: string;
  /** The lease file's record, kept until the lease changes. */
  private stored?: StoredLease;

  constructor(
    init: ManagedLeaseInit,
    private readonly cfg: ManagerConfig,
  ) {
    this.clientID = init.clientID;
    this.owner = init.owner;
    this.netnsPath = init.netnsPath;
    this.ifName = init.ifName;
    this.mac = init.mac;
    this.client = init.client;
    this.lease = init.lease;
    this.times = init.times ?? leaseTimes(init.lease);
    this.nsID = init.nsID ?? safeFileID(init.netnsPath) ?? '';
  }

  /** The lease as the lease file holds it. */
  record(): StoredLease {
    if (this.stored && this.stored.state === this.state) return this.stored;
    const { lease, times } = this;
    const result = leaseResult(lease);
    this.stored = {
      clientID: this.clientID,
      containerID: this.owner.containerID,
      network: this.owner.network,
      netns: this.owner.netns,
      netnsID: this.nsID,
      ifName: this.ifName,
      mac: this.mac,
      options: [...this.client.options].map(([code, v]) => ({ code, value: v.toString('hex') })),
      serverID: lease.serverID,
      serverMAC: formatMAC(lease.serverMAC),
      address: lease.address,
      prefix: optPrefix(lease.ack, Opt.SubnetMask) ?? 0,
      routers: optIPs(lease.ack, Opt.Router),
      result,
      boundAt: new Date(lease.boundAt).toISOString(),
      renewAt: isoOrNull(times.renewAt),
      rebindAt: isoOrNull(times.rebindAt),
      expireAt: isoOrNull(times.expireAt),
      state: this.state,
      ack: encodeMessage(lease.ack).toString('base64'),
    };
    return this.stored;
  }

  /** Starts the maintenance loop. */
  start(): void {
    this.loop = this.maintain().catch((e) => this.cfg.log(`${this.clientID}: lease maintenance failed: ${(e as Error).message}`));
  }

  /** Wakes the loop to look at the lease now (the reference's Check on a repeated Allocate). */
  poke(): void {
    this.wake?.();
  }

  /** True while the loop maintains the lease (false after expiry, interface loss or stop). */
  get alive(): boolean {
    return this.state !== 'stopped';
  }

  /** Stops maintenance and sends DHCPRELEASE (a failure is only logged). */
  async stop(opts: { release: boolean } = { release: true }): Promise<void> {
    const wasAlive = this.alive;
    this.stopper.abort(abortError());
    await this.loop;
    this.state = 'stopped';
    if (!opts.release || !wasAlive) return;
    this.cfg.log(`${this.clientID}: releasing lease`);
    let t: Transport | undefined;
    try {
      t = Transport.open(this.netnsPath, this.ifName, { setUp: false });
      sendRelease(t, this.client, this.lease);
    } catch (e) {
      this.cfg.log(`${this.clientID}: failed to send DHCPRELEASE: ${(e as Error).message}`);
    } finally {
      t?.close();
    }
  }

  private commit(lease: Lease, how: string): void {
    if (lease.address !== this.lease.address) this.cfg.log(`${this.clientID}: warning: address changed from ${this.lease.address} to ${lease.address}`);
    this.lease = lease;
    this.times = leaseTimes(lease);
    this.stored = undefined;
    this.state = 'bound';
    this.cfg.log(`${this.clientID}: lease ${how}, expiration is ${expiryText(this.times)}`);
    this.cfg.onChange?.();
  }

  /** Waits until `at` or a poke; rejects on stop. */
  private waitUntil(at: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const signal = this.stopper.signal;
      if (signal.aborted) return reject(signal.reason);
      const done = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        this.wake = undefined;
        resolve();
      };
      const onAbort = () => {
        clearTimeout(timer);
        this.wake = undefined;
        reject(signal.reason);
      };
      const timer = setTimeout(done, Math.max(0, Math.min(at - Date.now(), MAX_TIMER)));
      signal.addEventListener('abort', onAbort, { once: true });
      this.wake = done;
    });
  }

  /** True while the namespace and the interface exist; retries other errors for a while. */
  private async linkExists(): Promise<boolean> {
    for (const delay of [...LINK_CHECK_DELAYS, -1]) {
      try {
        return linkPresent(this.netnsPath, this.ifName, this.nsID);
      } catch (e) {
        if (delay < 0) throw e;
        this.cfg.log(`${this.clientID}: checking "${this.ifName}": ${(e as Error).message}`);
        await sleep(delay, this.stopper.signal);
      }
    }
    return false;
  }

  private async attempt(mode: 'renew' | 'rebind' | 'reboot' | 'obtain', until: number): Promise<Lease> {
    const t = Transport.open(this.netnsPath, this.ifName, { setUp: false });
    const xid = newXID();
    const once = (signal: AbortSignal) => {
      if (mode === 'obtain') return obtain(t, this.client, signal, xid);
      if (mode === 'reboot') return reboot(t, this.client, this.lease.address, signal, xid);
      return extend(t, this.client, this.lease, mode, signal, xid);
    };
    try {
      return await backoffRetry(once, {
        resendMax: this.cfg.resendMax,
        deadline: Math.min(Date.now() + this.cfg.resendTimeout, until),
        signal: this.stopper.signal,
        log: (m) => this.cfg.log(`${this.clientID}: ${m}`),
        // RFC 2131 §4.4.5: a NAK to a renewal, rebinding or INIT-REBOOT is an answer, not a loss to retry (a DORA
        // retries: it starts again from DISCOVER)
        final: (e) => mode !== 'obtain' && e instanceof DHCPNakError,
      });
    } finally {
      t.close();
    }
  }

  private async maintain(): Promise<void> {
    const signal = this.stopper.signal;
    try {
      while (!signal.aborted) {
        if (!(await this.linkExists())) {
          this.cfg.log(`${this.clientID}: interface ${this.ifName} no longer exists, terminating lease maintenance`);
          this.state = 'stopped';
          this.cfg.onChange?.();
          return;
        }
        const { renewAt, rebindAt, expireAt } = this.times;
        const now = Date.now();
        if (this.state === 'rebooting') {
          // the address is still on the container's interface: confirm it, or take the expiry path (never a new
          // address, which nobody would configure)
          try {
            this.commit(await this.attempt('reboot', Infinity), 'confirmed (INIT-REBOOT)');
            continue;
          } catch (e) {
            if (signal.aborted) return;
            if (e instanceof LinkGoneError) continue;
            this.cfg.log(`${this.clientID}: INIT-REBOOT of ${this.lease.address} failed: ${(e as Error).message}; lease expired, bringing interface DOWN`);
            setLinkDown(this.netnsPath, this.ifName, (m) => this.cfg.log(`${this.clientID}: ${m}`));
            this.state = 'stopped';
            this.cfg.onChange?.();
            return;
          }
        }
        if (this.state === 'bound') {
          if (now < renewAt) {
            await this.waitUntil(renewAt);
            continue;
          }
          this.cfg.log(`${this.clientID}: renewing lease`);
          this.state = 'renewing';
        }
        try {
          if (this.state === 'renewing') this.commit(await this.attempt('renew', rebindAt), 'renewed');
          else this.commit(await this.attempt('rebind', expireAt), 'rebound');
        } catch (e) {
          if (signal.aborted) return;
          this.cfg.log(`${this.clientID}: ${(e as Error).message}`);
          if (e instanceof LinkGoneError) continue;
          if (e instanceof DHCPNakError || (e as { cause?: unknown }).cause instanceof DHCPNakError) {
            // the server refuses the address: only a new DORA can help
            try {
              this.commit(await this.attempt('obtain', Infinity), 'acquired again');
              continue;
            } catch (e2) {
              if (signal.aborted) return;
              this.cfg.log(`${this.clientID}: ${(e2 as Error).message}`);
            }
          }
          if (Date.now() >= expireAt) {
            this.cfg.log(`${this.clientID}: lease expired, bringing interface DOWN`);
            setLinkDown(this.netnsPath, this.ifName, (m) => this.cfg.log(`${this.clientID}: ${m}`));
            this.state = 'stopped';
            this.cfg.onChange?.();
            return;
          }
          if (this.state === 'renewing' && Date.now() >= rebindAt) {
            this.cfg.log(`${this.clientID}: renewal time expired, rebinding`);
            this.state = 'rebinding';
          } else {
            // an attempt can fail at once (interface down: ENETDOWN); never spin
            await sleep(RESEND_FAST_DELAY, signal);
          }
        }
      }
    } catch (e) {
      if (!signal.aborted) throw e;
    }
  }
}

function safeFileID(path: string): string | undefined {
  try {
    return native().fileId(path);
  } catch {
    return undefined;
  }
}

/** Whether `ifName` exists in the namespace at `netnsPath` (false when the namespace is gone or replaced). */
export function linkPresent(netnsPath: string, ifName: string, nsID?: string): boolean {
  if (nsID) {
    const now = safeFileID(netnsPath);
    if (now !== nsID) return false;
  }
  let ns: NetNS;
  try {
    ns = NetNS.open(netnsPath);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return false;
    throw e;
  }
  const nl = new Rtnl(ns);
  try {
    return linkByName(nl, ifName) !== undefined;
  } finally {
    nl.close();
    ns.close();
  }
}

function parseMACStrict(s: string): Buffer {
  return Buffer.from(s.replace(/:/g, ''), 'hex');
}

/**
 * Why a saved lease's interface is not the one it was acquired on (namespace
 * gone or replaced, no such interface, another MAC), or undefined when it is.
 * Other errors (a namespace we may not enter) are thrown.
 */
export function savedLinkGone(netnsPath: string, r: Pick<StoredLease, 'netnsID' | 'ifName' | 'mac'>): string | undefined {
  const now = safeFileID(netnsPath);
  if (now === undefined) return `netns "${netnsPath}" no longer exists`;
  if (r.netnsID && now !== r.netnsID) return `netns "${netnsPath}" is another namespace now`;
  let ns: NetNS;
  try {
    ns = NetNS.open(netnsPath);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return `netns "${netnsPath}" no longer exists`;
    throw e;
  }
  const nl = new Rtnl(ns);
  try {
    const link = linkByName(nl, r.ifName);
    if (!link) return `interface "${r.ifName}" no longer exists`;
    if (link.mac.toLowerCase() !== r.mac.toLowerCase()) return `interface "${r.ifName}" has MAC ${link.mac}, not ${r.mac}`;
    return undefined;
  } finally {
    nl.close();
    ns.close();
  }
}

function setLinkDown(netnsPath: string, ifName: string, log: (m: string) => void): void {
  try {
    const ns = NetNS.open(netnsPath);
    const nl = new Rtnl(ns);
    try {
      const link = linkByName(nl, ifName);
      if (link) linkSet(nl, link.index, { up: false }, `failed to bring "${ifName}" down`);
    } finally {
      nl.close();
      ns.close();
    }
  } catch (e) {
    log(`failed to bring ${ifName} interface DOWN: ${(e as Error).message}`);
  }
}

/** Every lease of the daemon, keyed by client id; concurrent Allocates of one id share one acquisition. */
export class LeaseManager {
  readonly leases = new Map<string, ManagedLease>();
  private readonly pending = new Map<string, { promise: Promise<ManagedLease>; abort: AbortController }>();

  constructor(private readonly cfg: ManagerConfig) {}

  /**
   * DHCP.Allocate: the existing lease when there is one (poked, as the
   * reference's Check), else a new one. With `checkOnly` (our CHECK) a missing
   * lease is an error instead of a new acquisition.
   */
  async allocate(args: CmdArgs): Promise<Result> {
    const { conf, options, checkOnly } = loadDHCPConf(args.stdinData, args.args);
    const clientID = clientIDOf(args.containerID, conf.name, args.ifName);
    let l = this.leases.get(clientID);
    if (l && !l.alive) {
      // expired or its interface vanished: a new Allocate starts over
      this.leases.delete(clientID);
      l = undefined;
    }
    if (l) l.poke();
    else if (checkOnly) {
      const p = this.pending.get(clientID);
      if (!p) throw new Error(`no DHCP lease for ${clientID}`);
      l = await p.promise;
    } else {
      l = await this.acquire(clientID, args, options, conf.name);
      // a runtime told of a lease must find it in the file should the daemon die now
      await this.cfg.saved?.();
    }
    try {
      return leaseResult(l.lease, conf.ipam.priority ?? 0);
    } catch (e) {
      await l.stop();
      if (this.leases.get(clientID) === l) this.leases.delete(clientID);
      this.cfg.onChange?.();
      throw e;
    }
  }

  private acquire(clientID: string, args: CmdArgs, options: Map<number, Buffer>, netName: string): Promise<ManagedLease> {
    const running = this.pending.get(clientID);
    if (running) return running.promise;
    const abort = new AbortController();
    const netnsPath = this.cfg.hostPrefix + args.netns;
    const client: ClientConfig = { clientID, options, broadcast: this.cfg.broadcast, timeoutMs: this.cfg.timeout };
    const log = (m: string) => this.cfg.log(`${clientID}: ${m}`);
    const promise = (async () => {
      log('acquiring lease');
      const nsID = safeFileID(netnsPath);
      // sets the link up when it is down (reference: LinkSetUp before DORA)
      const t = Transport.open(netnsPath, args.ifName);
      const xid = newXID();
      let lease: Lease;
      let attempts = 0;
      try {
        // also when the interface plugin set the link up just before calling us: its queue may not run yet
        await waitOperational(netnsPath, args.ifName, LINK_UP_WAIT);
        // the link (ours, or the plugin's) has just come up: its far end may not forward the first DISCOVER yet
        const once = (signal: AbortSignal) => obtain(t, client, signal, xid, attempts++ === 0 ? EARLY_RESEND_MS : undefined);
        lease = await backoffRetry(once, { resendMax: this.cfg.resendMax, deadline: Date.now() + this.cfg.resendTimeout, signal: abort.signal, log });
      } finally {
        t.close();
      }
      const owner = { containerID: args.containerID, network: netName, netns: args.netns };
      const l = new ManagedLease({ clientID, owner, netnsPath, ifName: args.ifName, mac: formatMAC(t.mac), client, lease, nsID }, this.cfg);
      log(`lease acquired, expiration is ${expiryText(l.times)}`);
      this.leases.set(clientID, l);
      l.start();
      this.cfg.onChange?.();
      return l;
    })();
    this.pending.set(clientID, { promise, abort });
    const clear = () => {
      if (this.pending.get(clientID)?.promise === promise) this.pending.delete(clientID);
    };
    promise.then(clear, clear);
    return promise;
  }

  /** DHCP.Release: stops and releases the lease; an unknown client id is success. An acquisition in flight is cancelled. */
  async release(args: CmdArgs): Promise<void> {
    const { conf } = loadDHCPConf(args.stdinData, args.args, { options: false });
    const clientID = clientIDOf(args.containerID, conf.name, args.ifName);
    const p = this.pending.get(clientID);
    if (p) {
      p.abort.abort(abortError());
      await p.promise.catch(() => undefined);
    }
    const l = this.leases.get(clientID);
    if (!l) return;
    this.leases.delete(clientID);
    await l.stop();
    this.cfg.onChange?.();
    await this.cfg.saved?.();
  }

  /** The leases to keep across a restart: every one still maintained. */
  records(): StoredLease[] {
    const out: StoredLease[] = [];
    for (const l of this.leases.values()) if (l.alive) out.push(l.record());
    return out;
  }

  /**
   * Resumes the leases a previous run saved (reference §2.8 keeps none:
   * plugins#235). A lease whose namespace or interface is gone, or whose
   * interface has another MAC, is dropped (and logged); the others resume
   * where their times put them (resumeState). Called before the first RPC is
   * served, so an Allocate finds them; calls onChange when it dropped any.
   */
  restore(records: readonly StoredLease[]): void {
    let dropped = 0;
    for (const r of records) {
      const netnsPath = this.cfg.hostPrefix + r.netns;
      let restored: ManagedLease;
      try {
        const gone = savedLinkGone(netnsPath, r);
        if (gone) {
          this.cfg.log(`${r.clientID}: dropping the saved lease of ${r.address}: ${gone}`);
          dropped++;
          continue;
        }
        restored = this.fromRecord(r, netnsPath);
      } catch (e) {
        // not "gone": a record we cannot use (bad ACK) or a namespace we cannot look into now
        this.cfg.log(`${r.clientID}: dropping the saved lease of ${r.address}: ${(e as Error).message}`);
        dropped++;
        continue;
      }
      restored.state = resumeState(restored.times, Date.now());
      this.leases.set(r.clientID, restored);
      this.cfg.log(`${r.clientID}: resumed the lease of ${r.address} (${restored.state}), expiration is ${expiryText(restored.times)}`);
      restored.start();
    }
    if (dropped) this.cfg.onChange?.();
  }

  private fromRecord(r: StoredLease, netnsPath: string): ManagedLease {
    const ack = decodeMessage(Buffer.from(r.ack, 'base64'));
    const serverMAC = parseMACStrict(r.serverMAC);
    const lease: Lease = { ack, address: r.address, serverID: r.serverID, serverMAC, boundAt: Date.parse(r.boundAt) };
    // the ACK must still make a result (a subnet mask): Allocate returns it
    leaseResult(lease);
    const options = new Map(r.options.map((o) => [o.code, Buffer.from(o.value, 'hex')] as [number, Buffer]));
    const client: ClientConfig = { clientID: r.clientID, options, broadcast: this.cfg.broadcast, timeoutMs: this.cfg.timeout };
    const times = { renewAt: msOrInfinity(r.renewAt), rebindAt: msOrInfinity(r.rebindAt), expireAt: msOrInfinity(r.expireAt) };
    const owner = { containerID: r.containerID, network: r.network, netns: r.netns };
    return new ManagedLease({ clientID: r.clientID, owner, netnsPath, ifName: r.ifName, mac: r.mac.toLowerCase(), client, lease, nsID: r.netnsID, times }, this.cfg);
  }

  /** Stops every loop without releasing (daemon shutdown: the leases stay with their containers). */
  async shutdown(): Promise<void> {
    for (const p of this.pending.values()) p.abort.abort(abortError());
    await Promise.all([...this.pending.values()].map((p) => p.promise.catch(() => undefined)));
    await Promise.all([...this.leases.values()].map((l) => l.stop({ release: false })));
  }
}
