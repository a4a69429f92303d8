// The set-up most integration tests share: a netns playing the host (a plugin
// runs there through `ip netns exec`), a container netns (and a second one to run
// the reference side by side), and veth pairs made with `ip` within or between
// them. One cleanup() removes it all; a set-up that fails half-way removes what
// it made before it throws.
import { afterEach, beforeEach } from 'node:test';
import { createNetns, type TestNetns } from './index.js';

/** The netns of a veth end. */
export type Side = 'host' | 'ctr';

/** A veth pair: `name` in `in`, `peer` in `peerIn`; both ends set up unless said. */
export interface VethSpec {
  name: string;
  /** The netns of `name`; the host's unless said. */
  in?: Side;
  peer: string;
  /** The netns of `peer`; the same as `name`'s unless said. */
  peerIn?: Side;
  /** MAC and MTU of `name`, given to `ip link add`. */
  mac?: string;
  mtu?: number;
  /** CIDRs added to `name` and to `peer` before they are set up; IPv6 ones with `nodad`, usable at once. */
  addrs?: string[];
  peerAddrs?: string[];
  /** false: that end stays down. */
  up?: boolean;
  peerUp?: boolean;
}

export interface NetnsPairOptions {
  /** The netns are `cnits-<tag>h-<random>` (host) and `cnits-<tag>c-<random>` (containers). */
  tag: string;
  /** Also a second container netns, `ctr2`. */
  ctr2?: boolean;
  /** Made in order, once the netns are there. */
  veths?: VethSpec[];
  /** What else the set-up needs (routes, aliases), after the veths; a throw cleans up too. */
  setup?: (pair: NetnsPair) => void;
}

export interface NetnsPair {
  host: TestNetns;
  ctr: TestNetns;
  /** Throws when used unless the options asked for it. */
  ctr2: TestNetns;
  /** Makes one more veth pair. */
  addVeth(spec: VethSpec): void;
  /** Removes the netns, and so every link in them. */
  cleanup(): void;
}

/** Creates the netns and veths of `o`; the caller calls cleanup(). */
export function createNetnsPair(o: NetnsPairOptions): NetnsPair {
  const made: TestNetns[] = [];
  const make = (tag: string) => {
    const ns = createNetns(tag);
    made.push(ns);
    return ns;
  };
  const cleanup = () => {
    for (const ns of made.splice(0).reverse()) ns.remove();
  };
  try {
    const host = make(`${o.tag}h`);
    const ctr = make(`${o.tag}c`);
    const ctr2 = o.ctr2 ? make(`${o.tag}c`) : undefined;
    const nsOf = (side: Side) => (side === 'host' ? host : ctr);
    const pair: NetnsPair = {
      host,
      ctr,
      ctr2:
        ctr2 ??
        follow(() => {
          throw new Error(`netns pair ${o.tag}: ctr2 was not asked for`);
        }),
      addVeth(v) {
        const a = nsOf(v.in ?? 'host');
        const b = nsOf(v.peerIn ?? v.in ?? 'host');
        const opt = (key: string, value: string | number | undefined) => (value === undefined ? [] : [key, String(value)]);
        a.ip('link', 'add', v.name, ...opt('address', v.mac), ...opt('mtu', v.mtu), 'type', 'veth', 'peer', 'name', v.peer, ...(b === a ? [] : ['netns', b.name]));
        const ends: Array<[TestNetns, string, string[] | undefined, boolean | undefined]> = [
          [a, v.name, v.addrs, v.up],
          [b, v.peer, v.peerAddrs, v.peerUp],
        ];
        for (const [ns, dev, cidrs] of ends) for (const cidr of cidrs ?? []) ns.ip('addr', 'add', cidr, 'dev', dev, ...(cidr.includes(':') ? ['nodad'] : []));
        for (const [ns, dev, , up] of ends) if (up !== false) ns.ip('link', 'set', dev, 'up');
      },
      cleanup,
    };
    for (const v of o.veths ?? []) pair.addVeth(v);
    o.setup?.(pair);
    return pair;
  } catch (err) {
    cleanup();
    throw err;
  }
}

/** A handle that acts on whatever netns `current` returns when it is used. */
function follow(current: () => TestNetns): TestNetns {
  return {
    get name() {
      return current().name;
    },
    get path() {
      return current().path;
    },
    ip: (...args) => current().ip(...args),
    exec: (cmd, ...args) => current().exec(cmd, ...args),
    remove: () => current().remove(),
  };
}

/**
 * A fresh pair for every test of the calling `describe`: a beforeEach registered
 * here makes it (after the hooks registered before, which may set per-test values
 * that `o` as a function reads), an afterEach cleans it up. The handles returned
 * act on the running test's netns, so that a suite can hold them in constants.
 */
export function netnsPairPerTest(o: NetnsPairOptions | (() => NetnsPairOptions)): NetnsPair {
  let pair: NetnsPair | undefined;
  beforeEach(() => {
    pair = createNetnsPair(typeof o === 'function' ? o() : o);
  });
  afterEach(() => {
    pair?.cleanup();
    pair = undefined;
  });
  const now = () => {
    if (!pair) throw new Error('a per-test netns pair is there inside a test only');
    return pair;
  };
  return {
    host: follow(() => now().host),
    ctr: follow(() => now().ctr),
    ctr2: follow(() => now().ctr2),
    addVeth: (v) => now().addVeth(v),
    cleanup: () => now().cleanup(),
  };
}
