// Which table each address gets and which routes move there (more-plugins.md
// §8.2): pure decisions, kept apart from the netlink calls that carry them out.
import { contains, type IPNet } from '../../pkg/ipaddr/index.js';
import type { RouteSpec } from '../../pkg/ip/route.js';

/** sbr's tables start here, as the reference's. */
export const FIRST_TABLE = 100;

/** The first table ≥ `from` not in `used` (tables some rule references or that hold routes). */
export function nextFreeTable(used: ReadonlySet<number>, from: number): number {
  let t = from;
  while (used.has(t)) t++;
  return t;
}

/**
 * The routes of the interface that serve `address`: a preferred source or a
 * gateway inside its prefix, or neither (a plain link route, e.g. fe80::/64).
 */
export function routesFor(routes: readonly RouteSpec[], address: IPNet): RouteSpec[] {
  return routes.filter((r) => (r.src && contains(address, r.src)) || (r.gw && contains(address, r.gw)) || (!r.src && !r.gw));
}
