// The allocator (reference §2.7, backend/allocator): one address per range set,
// a requested address when one falls in the set, else the next free address
// after `last_reserved_ip.<i>` in the reference's round-robin order.
import { formatIP, ipToBigInt, parseIP, type IP } from '../../ipaddr/index.js';
import { CniError, ErrCode } from '../../types/error.js';
import type { IPConfig } from '../../types/result.js';
import type { Undo } from '../../undo/index.js';
import { candidates, ipString, rangeFor, rangeSetString, reservedRole, type RangeSet } from './range.js';
import { reservationKey, type Store } from './store.js';

/** What one allocation needs to know about the attachment. */
export interface Attachment {
  containerID: string;
  ifname: string;
}

function fail(msg: string): CniError {
  return new CniError(ErrCode.Internal, msg);
}

/** Reserves one address from range set `index` (Go's IPAllocator.Get). */
export function allocateFromSet(store: Store, set: RangeSet, index: number, who: Attachment, requested?: IP): IPConfig {
  if (requested) {
    const r = rangeFor(set, requested)!;
    const ip = formatIP(requested);
    const role = reservedRole(r, ipToBigInt(requested));
    if (role === "subnet's gateway") throw fail(`requested ip ${ip} is subnet's gateway`);
    if (role) throw fail(`requested ip ${ip} is the ${role} of ${r.subnet}`);
    if (!store.reserve(ip, who.containerID, who.ifname, index)) {
      throw fail(`requested IP address ${ip} is not available in range set ${rangeSetString(set)}`);
    }
    return { address: `${ip}/${r.prefix}`, gateway: ipString(r.family, r.gateway) };
  }
  // The spec forbids a second ADD for the same attachment; the reference refuses it per range set.
  const { current, legacy } = store.heldBy(who.containerID, who.ifname);
  for (const held of [...current, ...legacy]) {
    const ip = parseIP(held.file);
    if (ip && rangeFor(set, ip)) throw fail(`${held.file} has been allocated to ${who.containerID}, duplicate allocation is not allowed`);
  }
  for (const { range, n } of candidates(set, store.lastReserved(index))) {
    const ip = ipString(range.family, n);
    if (store.reserve(ip, who.containerID, who.ifname, index)) return { address: `${ip}/${range.prefix}`, gateway: ipString(range.family, range.gateway) };
  }
  throw fail(`no IP addresses available in range set: ${rangeSetString(set)}`);
}

/**
 * Allocates one address from every range set, honouring requested addresses;
 * each reservation is pushed on `undo`, so a failed ADD releases exactly what
 * it made (the reference releases by ID, which can drop an older reservation).
 */
export function allocateAll(store: Store, ranges: RangeSet[], requested: IP[], who: Attachment, undo: Undo): IPConfig[] {
  const pending = [...requested];
  const out: IPConfig[] = [];
  ranges.forEach((set, index) => {
    const i = pending.findIndex((ip) => rangeFor(set, ip));
    const want = i >= 0 ? pending.splice(i, 1)[0] : undefined;
    // a failed ADD leaves the round-robin pointer where it found it
    const pointer = store.pointer(index);
    undo.push(`restore last_reserved_ip.${index}`, () => store.setPointer(index, pointer));
    let got: IPConfig;
    try {
      got = allocateFromSet(store, set, index, who, want);
    } catch (e) {
      throw new CniError((e as CniError).code ?? ErrCode.Internal, `failed to allocate for range ${index}: ${(e as Error).message}`, '', { cause: e });
    }
    const file = got.address.slice(0, got.address.indexOf('/'));
    undo.push(`release ${file}`, () => store.release({ file, content: reservationKey(who.containerID, who.ifname) }));
    out.push(got);
  });
  if (pending.length) throw fail(`failed to allocate all requested IPs: ${pending.map(formatIP).join(' ')}`);
  return out;
}
