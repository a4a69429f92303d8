// How the daemon retries a DHCP exchange (RFC 2131 §4.1, as the reference does)
// and waits without blocking other leases: every wait is a timer that an
// AbortSignal cancels.
import { LinkGoneError } from '../../pkg/dhcp/client.js';

/** RFC 2131 §4.1: 4 s, doubling, ±1 s; the reference first retries 4 times every 2 s ±1 s. */
const RESEND_DELAY0 = 4000;
/** The pause between fast retries, and after an attempt that failed at once. */
export const RESEND_FAST_DELAY = 2000;
const RESEND_FAST_MAX = 4;
/** setTimeout's limit; longer waits are taken in steps. */
export const MAX_TIMER = 0x7fffffff;

const jitter = (span: number) => span * (2 * Math.random() - 1);

/** The reason a stopped lease's waits reject with. */
export function abortError(): Error {
  const e = new Error('lease maintenance stopped');
  e.name = 'AbortError';
  return e;
}

/** Resolves after `ms`, or rejects when `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
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
