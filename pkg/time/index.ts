// Short synchronous waits for polling kernel state. A plugin process does one
// thing at a time, so blocking the event loop costs nothing, and unlike
// setTimeout (1 ms granularity, plus a trip through the event loop) it can
// wait a quarter of a millisecond.
const cell = new Int32Array(new SharedArrayBuffer(4));

/** Blocks the thread for `ms` milliseconds (fractions allowed). */
export function sleepSync(ms: number): void {
  if (ms > 0) Atomics.wait(cell, 0, 0, ms);
}

/**
 * Calls `probe` after each wait of `schedule` (ms) until it returns a value
 * other than undefined; undefined when the schedule runs out.
 */
export function pollSync<T>(schedule: readonly number[], probe: () => T | undefined): T | undefined {
  for (const ms of schedule) {
    sleepSync(ms);
    const v = probe();
    if (v !== undefined) return v;
  }
  return undefined;
}
