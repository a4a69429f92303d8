// TypeBox builders for the string formats our configuration checker knows
// (`x-format`): used only by the `schema.ts` modules, which the build turns
// into plain JSON Schema literals, so no plugin loads TypeBox at run time.
import { Type } from '@sinclair/typebox';

/** A string that must be `addr/prefix`. */
export const CIDRString = (opts: object = {}) => Type.String({ ...opts, 'x-format': 'cidr' });
/** A string that must be an IP address. */
export const IPString = (opts: object = {}) => Type.String({ ...opts, 'x-format': 'ip' });
/** A string that must be a MAC address. */
export const MACString = (opts: object = {}) => Type.String({ ...opts, 'x-format': 'mac' });
