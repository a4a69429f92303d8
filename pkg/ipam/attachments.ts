// The attachments a GC request says to keep (SPEC.md GC: `cni.dev/valid-attachments`,
// or the legacy `cni.dev/attachments` libcni also sends, cni#1101).
import { CniError, ErrCode } from '../types/error.js';

/** An attachment named in `cni.dev/valid-attachments`. */
export interface Attachment {
  containerID: string;
  ifname: string;
}

/** The valid attachments of a GC request; code 7 naming the key when malformed. */
export function validAttachments(conf: Record<string, unknown>): Attachment[] {
  const key = 'cni.dev/valid-attachments' in conf ? 'cni.dev/valid-attachments' : 'cni.dev/attachments';
  const raw = conf[key] ?? [];
  if (!Array.isArray(raw)) throw new CniError(ErrCode.InvalidNetworkConfig, `${key}: must be a list`);
  return raw.map((a, i) => {
    const o = (a ?? {}) as Record<string, unknown>;
    if (typeof o.containerID !== 'string' || typeof o.ifname !== 'string') {
      throw new CniError(ErrCode.InvalidNetworkConfig, `${key}[${i}]: needs string containerID and ifname`);
    }
    return { containerID: o.containerID, ifname: o.ifname };
  });
}
