// The daemon's leases (reference §2.8): one per client id, acquired with DORA
// inside the container's namespace (exchange.ts), kept alive by a maintenance
// loop each (maintain.ts), released with DHCPRELEASE. Everything is
// asynchronous: one daemon serves many containers at once, and no lease ever
// blocks another. With a lease file (store.ts) every change is saved and a
// restarted daemon resumes the leases whose interfaces still exist (restore).
import type { ClientConfig, Lease } from '../../pkg/dhcp/client.js';
import { decodeMessage } from '../../pkg/dhcp/message.js';
import { clientIDOf } from '../../pkg/dhcp/options.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import type { Result } from '../../pkg/types/result.js';
import { abortError } from './backoff.js';
import { loadDHCPConf } from './conf.js';
import { acquireLease } from './exchange.js';
import { netnsFileID, savedLinkGone } from './link.js';
import { ManagedLease, resumeState, type ManagerConfig } from './maintain.js';
import { expiryText, leaseResult, msOrInfinity } from './result.js';
import type { StoredLease } from './store.js';

function parseMACStrict(s: string): Buffer {
  return Buffer.from(s.replace(/:/g, ''), 'hex');
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
      const nsID = netnsFileID(netnsPath);
      const { resendMax, resendTimeout } = this.cfg;
      const { lease, mac } = await acquireLease({ netnsPath, ifName: args.ifName, client, resendMax, resendTimeout, signal: abort.signal, log });
      const owner = { containerID: args.containerID, network: netName, netns: args.netns };
      const l = new ManagedLease({ clientID, owner, netnsPath, ifName: args.ifName, mac, client, lease, nsID }, this.cfg);
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
