// The options a dhcp IPAM configuration asks the daemon to send (reference
// §2.8: `request` → the Parameter Request List, `provide` → option values,
// literal or taken from CNI_ARGS), and the client identifier of an attachment.
import { Opt } from './message.js';

/** The option names the reference accepts besides decimal codes (dhcp-options(5) spellings). */
export const OPTION_NAMES: Readonly<Record<string, number>> = {
  'dhcp-client-identifier': Opt.ClientID,
  'subnet-mask': Opt.SubnetMask,
  routers: Opt.Router,
  'host-name': Opt.HostName,
  'user-class': Opt.UserClass,
  'vendor-class-identifier': Opt.ClassID,
};

/** What is requested when no `request` entry says `skipDefault`: routers, then subnet mask. */
export const DEFAULT_REQUEST: readonly number[] = [Opt.Router, Opt.SubnetMask];

/** Values longer than this cannot be one option (RFC 2132 §2: one length byte). */
export const MAX_OPTION_LEN = 255;

/** An option name or decimal code (0..255, as Go's ParseUint(s, 10, 8)); undefined when neither. */
export function parseOptionName(name: string): number | undefined {
  if (Object.hasOwn(OPTION_NAMES, name)) return OPTION_NAMES[name];
  if (!/^[0-9]+$/.test(name)) return undefined;
  const n = Number(name);
  return n <= 255 ? n : undefined;
}

export interface RequestOption {
  skipDefault?: boolean;
  option?: string;
}

export interface ProvideOption {
  option: string;
  value?: string;
  fromArg?: string;
}

/** A problem with one option entry: `path` names the JSON field (or the CNI_ARGS key). */
export class OptionError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
    /** True when the bad value came from CNI_ARGS rather than the configuration. */
    readonly fromArgs = false,
  ) {
    super(`${path}: ${reason}`);
    this.name = 'OptionError';
  }
}

/**
 * CNI_ARGS as the dhcp reference reads it: `;`-separated `K=V`, split at the
 * first `=`, pairs without `=` ignored, later keys winning. (Not the strict
 * reader of the other plugins: the reference dhcp never rejects CNI_ARGS.)
 */
export function lenientArgs(raw: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const pair of raw.split(';')) {
    const eq = pair.indexOf('=');
    if (eq >= 0) out.set(pair.slice(0, eq), pair.slice(eq + 1));
  }
  return out;
}

/**
 * The options to put in every client message, in order, one value per code
 * (a later entry replaces an earlier one with the same code, as the
 * reference's option map does); the Parameter Request List last. Throws
 * OptionError naming `ipam.provide[i].option` and the like.
 */
export function prepareOptions(cniArgs: string, provide: readonly ProvideOption[] = [], request: readonly RequestOption[] = []): Map<number, Buffer> {
  const args = lenientArgs(cniArgs);
  const out = new Map<number, Buffer>();
  provide.forEach((p, i) => {
    const code = parseOptionName(p.option);
    if (code === undefined) throw new OptionError(`ipam.provide[${i}].option`, `${JSON.stringify(p.option)} is not an option name or code 0..255`);
    if (p.value) {
      const v = Buffer.from(p.value);
      if (v.length > MAX_OPTION_LEN) throw new OptionError(`ipam.provide[${i}].value`, `${v.length} bytes is longer than ${MAX_OPTION_LEN}`);
      out.delete(code);
      out.set(code, v);
    }
    const fromArg = args.get(p.fromArg ?? '');
    if (fromArg !== undefined) {
      const v = Buffer.from(fromArg);
      if (v.length > MAX_OPTION_LEN) {
        throw new OptionError(`CNI_ARGS.${p.fromArg ?? ''}`, `${v.length} bytes is longer than ${MAX_OPTION_LEN} (value of ipam.provide[${i}].fromArg)`, true);
      }
      out.delete(code);
      out.set(code, v);
    }
  });
  const prl: number[] = [];
  let skipDefault = false;
  request.forEach((r, i) => {
    if (r.skipDefault) skipDefault = true;
    if (!r.option) return;
    const code = parseOptionName(r.option);
    if (code === undefined) throw new OptionError(`ipam.request[${i}].option`, `${JSON.stringify(r.option)} is not an option name or code 0..255`);
    if (!prl.includes(code)) prl.push(code);
  });
  if (!skipDefault) for (const code of DEFAULT_REQUEST) if (!prl.includes(code)) prl.push(code);
  if (prl.length) {
    out.delete(Opt.ParameterRequestList);
    out.set(Opt.ParameterRequestList, Buffer.from(prl));
  }
  return out;
}

/**
 * The lease key and option 61 text of an attachment: `<containerID>/<network>/<ifName>`,
 * cut to 254 bytes as the reference does (option 61 then holds a 0 type byte and it).
 */
export function clientIDOf(containerID: string, netName: string, ifName: string): string {
  const id = Buffer.from(`${containerID}/${netName}/${ifName}`);
  return id.length > 254 ? id.subarray(0, 254).toString('latin1') : id.toString('latin1');
}

/** Option 61's value for a client id from clientIDOf: type 0 (not a hardware address), then the text. */
export function clientIDOption(clientID: string): Buffer {
  return Buffer.concat([Buffer.from([0]), Buffer.from(clientID, 'latin1')]);
}
