// Hashes and random names, with node:crypto loaded only on first use: loading it
// pulls node:stream and friends, ~6 ms of CPU on every start that imports it at
// the top, and most plugin calls never hash anything.
type Crypto = typeof import('node:crypto');
let crypto: Crypto | undefined;

function lazyCrypto(): Crypto {
  crypto ??= process.getBuiltinModule('node:crypto') as Crypto;
  return crypto;
}

/** Hex SHA-512 of `data` (chain names and comments of the reference are derived from it). */
export function sha512(data: string | Buffer): string {
  return lazyCrypto().createHash('sha512').update(data).digest('hex');
}

/** Hex SHA-256 of `data`. */
export function sha256(data: string | Buffer): string {
  return lazyCrypto().createHash('sha256').update(data).digest('hex');
}

/** `n` random bytes from the kernel's generator (Web Crypto's global getRandomValues: no module to load). */
export function randomBytes(n: number): Buffer {
  const buf = Buffer.alloc(n);
  globalThis.crypto.getRandomValues(buf);
  return buf;
}
