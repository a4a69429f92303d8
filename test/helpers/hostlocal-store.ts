// The host-local store opened and locked for the span of `fn`, as one plugin call holds it (unit tests).
import { Store } from '../../pkg/ipam/hostlocal/index.js';

export function withStore<T>(dataDir: string, network: string, fn: (s: Store) => T): T {
  const s = Store.open(dataDir, network, true)!;
  try {
    return fn(s);
  } finally {
    s.close();
  }
}
