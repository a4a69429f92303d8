// The tbf arithmetic of the reference (more-plugins.md §6.4), bit for bit: the
// same rate, limit and buffer reach the kernel as from the Go plugin, so a CHECK
// of either passes on the other's qdiscs. Go's float64 → uint32 conversions are
// reproduced as amd64 performs them (truncate to int64, keep the low 32 bits).
import type { TbfParams } from '../../pkg/ip/tc.js';

/** Fixed queueing latency of the reference (tc's `latency 25ms`). */
export const LATENCY_USEC = 25_000;
const USEC_PER_SEC = 1e6;

/** Go's `uint32(f)` for a float64 on amd64. */
export function goUint32(f: number): number {
  if (!Number.isFinite(f) || Math.abs(f) >= 2 ** 63) return 0;
  return Number(BigInt.asUintN(32, BigInt(Math.trunc(f))));
}

/** µs → psched ticks factor from /proc/net/psched (`t2us us2t clock_res hz`, hex), as Go's netlink reads it. */
export function tickInUsec(psched: string): number {
  const v = psched.trim().split(/\s+/).map((w) => parseInt(w, 16));
  if (v.length < 4 || v.some((n) => !Number.isFinite(n))) throw new Error(`cannot parse /proc/net/psched: "${psched.trim()}"`);
  // the kernel reports a 1 GHz clock with t2us meaningless: the ratio is then 1
  if (v[2] === 1e9) v[0] = v[1];
  return (v[0] / v[1]) * (v[2] / USEC_PER_SEC);
}

/** tbf parameters for a rate in bits/s and a burst in bits (both > 0, rate ≥ 8, burst/8 < 2^32-1: checked by the config). */
export function tbfParams(rateBits: number, burstBits: number, tick: number): TbfParams {
  const rate = Math.floor(rateBits / 8);
  const burst = Math.floor(burstBits / 8);
  const usec = goUint32((burst * USEC_PER_SEC) / rate);
  return {
    rate,
    buffer: goUint32(usec * tick),
    limit: (goUint32((rate * LATENCY_USEC) / USEC_PER_SEC) + burst) >>> 0,
  };
}
