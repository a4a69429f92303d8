// Spec versions and their ordering (SPEC.md "Version").
import { CniError, ErrCode } from './error.js';

/** Every spec version this suite speaks, oldest first. */
export const ALL_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
/** The newest spec version; VERSION answers with it. */
export const CURRENT_VERSION = '1.1.0';

function parts(v: string): [number, number, number] {
  const m = /^(\d+)\.(\d+)\.(\d+)$/.exec(v);
  if (!m) throw new CniError(ErrCode.DecodingFailure, `invalid version "${v}": must be major.minor.patch`);
  return [Number(m[1]), Number(m[2]), Number(m[3])];
}

/** Orders two versions; an empty version means 0.1.0 (as libcni decodes it). */
export function compareVersions(a: string, b: string): number {
  const pa = parts(a || '0.1.0');
  const pb = parts(b || '0.1.0');
  for (let i = 0; i < 3; i++) if (pa[i] !== pb[i]) return pa[i] - pb[i];
  return 0;
}

export function versionAtLeast(v: string, min: string): boolean {
  return compareVersions(v, min) >= 0;
}

/** True when results of this version carry the 0.1.0/0.2.0 `ip4`/`ip6` shape. */
export function isLegacyResultVersion(v: string): boolean {
  return compareVersions(v, '0.3.0') < 0;
}
