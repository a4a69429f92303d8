// One lease and its maintenance loop, the RFC 2131 §4.4.5 state machine: bound
// until T1, then renewing (unicast to the server) until T2, then rebinding
// (broadcast) until expiry, when the interface is brought down; a NAK takes a
// new DORA. A lease that expired while no daemon ran is confirmed by
// INIT-REBOOT (rebooting). Each wait is a timer a poke or a stop cuts short, so
// one daemon maintains many leases at once.
import { DHCPNakError, LinkGoneError, type ClientConfig, type Lease } from '../../pkg/dhcp/client.js';
import { encodeMessage, Opt, optIPs, optPrefix } from '../../pkg/dhcp/message.js';
import { formatMAC } from '../../pkg/ip/link.js';
import { abortError, MAX_TIMER, RESEND_FAST_DELAY, sleep } from './backoff.js';
import { exchangeLease, releaseLease, type ExchangeMode, type ExchangeTarget } from './exchange.js';
import { linkPresent, netnsFileID, setLinkDown } from './link.js';
import { expiryText, isoOrNull, leaseResult, leaseTimes, type LeaseTimes } from './result.js';
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

/** What the daemon gives its leases (and the LeaseManager that holds them). */
export interface ManagerConfig extends ClientTiming {
  /** Prefix of every netns path (-hostprefix): the daemon may run in a container with the host's root below it. */
  hostPrefix: string;
  log(msg: string): void;
  /** Called after a lease is bound, renewed, rebound, released or dropped: the daemon saves `records()` then. */
  onChange?(): void;
  /** Resolves once the changes reported so far are saved: Allocate and Release answer only then. */
  saved?(): Promise<void>;
}

/** Interface checks that fail with an error other than "not found" are retried this often. */
const LINK_CHECK_DELAYS = [1000, 2000, 4000, 8000, 10_000];

/** `rebooting`: a lease that expired while no daemon ran, confirmed by INIT-REBOOT or given up. */
type State = 'bound' | 'renewing' | 'rebinding' | 'rebooting' | 'stopped';

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
    this.nsID = init.nsID ?? netnsFileID(init.netnsPath) ?? '';
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
    try {
      releaseLease(this.netnsPath, this.ifName, this.client, this.lease);
    } catch (e) {
      this.cfg.log(`${this.clientID}: failed to send DHCPRELEASE: ${(e as Error).message}`);
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

  private attempt(mode: ExchangeMode, until: number): Promise<Lease> {
    const target: ExchangeTarget = {
      netnsPath: this.netnsPath,
      ifName: this.ifName,
      client: this.client,
      resendMax: this.cfg.resendMax,
      resendTimeout: this.cfg.resendTimeout,
      signal: this.stopper.signal,
      log: (m) => this.cfg.log(`${this.clientID}: ${m}`),
    };
    return exchangeLease(mode, this.lease, until, target);
  }

  /** Brings the interface down and stops: the lease is gone and its address must not stay in use. */
  private expire(why: string): void {
    this.cfg.log(`${this.clientID}: ${why}, bringing interface DOWN`);
    setLinkDown(this.netnsPath, this.ifName, (m) => this.cfg.log(`${this.clientID}: ${m}`));
    this.state = 'stopped';
    this.cfg.onChange?.();
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
            this.expire(`INIT-REBOOT of ${this.lease.address} failed: ${(e as Error).message}; lease expired`);
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
            this.expire('lease expired');
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
