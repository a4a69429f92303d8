// IP forwarding, written only when not already on: a write costs a sysctl
// round-trip and, on some kernels, resets per-interface forwarding settings.
import { readSysctl, writeSysctl, type NetNS } from '../ns/index.js';

const KEYS = { 4: 'net/ipv4/ip_forward', 6: 'net/ipv6/conf/all/forwarding' } as const;

/** Turns on forwarding for `family` in `ns` (default: the caller's namespace). */
export function enableForward(family: 4 | 6, ns?: NetNS): void {
  const key = KEYS[family];
  if (readSysctl(ns, key) === '1') return;
  writeSysctl(ns, key, '1');
}

/** Turns on forwarding for every family among `families`. */
export function enableForwardFor(families: Iterable<4 | 6>, ns?: NetNS): void {
  for (const f of new Set(families)) enableForward(f, ns);
}
