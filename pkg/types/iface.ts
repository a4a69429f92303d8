// The container's interface in a result (a prevResult, for CHECK and chained
// plugins) and the IPs that belong to it: one rule for every plugin.
import { CniError, ErrCode } from './error.js';
import type { Interface, IPConfig, Result } from './result.js';

/**
 * Which interface is the container's: named `ifName` (CNI_IFNAME) and, by
 * `sandbox`, in that sandbox (CNI_NETNS: CHECK of the plugin that made it), in
 * any (`true`: portmap, which only tells it from a host interface of the same
 * name) or in any or none (`false`: sbr and tuning match the name only, as the
 * reference does).
 */
export interface ContainerIfaceMatch {
  ifName: string;
  sandbox: string | boolean;
}

/** True when `i` is the container's interface by `m`. */
export function isContainerIface(i: Interface, m: ContainerIfaceMatch): boolean {
  if (i.name !== m.ifName) return false;
  if (typeof m.sandbox === 'string') return i.sandbox === m.sandbox;
  return !m.sandbox || !!i.sandbox;
}

/**
 * The index of the container's interface in `result.interfaces` (CNI_IFNAME in
 * the sandbox CNI_NETNS) and the IPs that name it; code 999 when there is none.
 */
export function requireContainerIface(result: Result, args: { ifName: string; netns: string }): { index: number; iface: Interface; ips: IPConfig[] } {
  const ifaces = result.interfaces ?? [];
  const index = ifaces.findIndex((i) => isContainerIface(i, { ifName: args.ifName, sandbox: args.netns }));
  if (index < 0) throw new CniError(ErrCode.Internal, `prevResult has no interface "${args.ifName}" in sandbox "${args.netns}"`);
  return { index, iface: ifaces[index], ips: (result.ips ?? []).filter((c) => c.interface === index) };
}

/**
 * The IPs of the container's interface, as chained plugins take them: those
 * whose `interface` names it, those that name no interface, and those whose
 * index is out of range (tolerated, as the reference does).
 */
export function containerIPs(result: Result, m: ContainerIfaceMatch): IPConfig[] {
  const ifaces = result.interfaces ?? [];
  return (result.ips ?? []).filter((c) => {
    const i = c.interface;
    return i === undefined || i < 0 || i >= ifaces.length || isContainerIface(ifaces[i], m);
  });
}
