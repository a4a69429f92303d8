// portmap's configuration (reference §2.10): keys, the portMappings capability
// (keys in any case: containerd sends `HostPort`), cross-field checks, and the
// per-family description of what to program.
import type { Static } from '@sinclair/typebox';
import { parseCIDR, parseIP, type IP } from '../../pkg/ipaddr/index.js';
import type { Backend, Family } from '../../pkg/firewall/backend.js';
import type { PortmapSpec, PortMapping, Protocol } from '../../pkg/firewall/portmap.js';
import { invalidConfig } from '../../pkg/types/error.js';
import { loadConf } from '../../pkg/types/conf.js';
import { PortmapSchema } from './schema.js';
import { containerIPs } from '../../pkg/types/iface.js';
import type { Result } from '../../pkg/types/result.js';

export type RawPortmapConf = Static<typeof PortmapSchema>;

export const DEFAULT_MARK_BIT = 13;

export interface PortmapConf {
  raw: RawPortmapConf;
  network: string;
  mappings: PortMapping[];
  snat: boolean;
  masqAll: boolean;
  markMasqBit: number;
  externalSetMarkChain?: string;
  conditionsV4: string[];
  conditionsV6: string[];
  /** The backend the config names or its options imply; undefined = auto-detect. */
  backend?: Backend;
}

const PROTOCOLS: readonly string[] = ['tcp', 'udp', 'sctp'];
/** A conditions list is iptables arguments when it starts with an option or `!`, else nft expressions. */
const isIptablesList = (l: string[]) => l.length > 0 && (l[0].trim().startsWith('-') || l[0].trim().startsWith('!'));

/** What DEL needs to find what ADD made: whether there were mappings, and a backend only when the config names a valid one. */
export interface PortmapDelConf {
  network: string;
  hasMappings: boolean;
  /** undefined: both backends are cleaned (errors count only where that backend works). */
  backend?: Backend;
}

/**
 * DEL's reading: rules are found by network and container ID alone, so no
 * mapping is validated (an invalid hostIP, protocol or port, or conflicting
 * options, would have stopped ADD, or, from the Go plugin, made what these
 * names find).
 */
export function loadPortmapDelConf(stdin: Buffer): PortmapDelConf {
  const raw = loadConf(PortmapSchema, stdin, { lenient: true });
  return { network: raw.name, hasMappings: (raw.runtimeConfig?.portMappings ?? []).length > 0, backend: raw.backend };
}

/** Parses stdin, validates every mapping (code 7 with its JSON path) and the option combinations. */
export function loadPortmapConf(stdin: Buffer): PortmapConf {
  const raw = loadConf(PortmapSchema, stdin);
  const mappings = (raw.runtimeConfig?.portMappings ?? []).flatMap((m, i): PortMapping[] => {
    const at = `runtimeConfig.portMappings[${i}]`;
    if (m.hostPort < 1 || m.hostPort > 65535) throw invalidConfig(`${at}.hostPort`, `invalid host port number: ${m.hostPort}`);
    if (m.containerPort < 1 || m.containerPort > 65535) throw invalidConfig(`${at}.containerPort`, `invalid container port number: ${m.containerPort}`);
    const protocol = (m.protocol || 'tcp').toLowerCase();
    if (!PROTOCOLS.includes(protocol)) throw invalidConfig(`${at}.protocol`, `"${m.protocol}" must be one of tcp, udp, sctp`);
    let hostIP: IP | undefined;
    if (m.hostIP) {
      hostIP = parseIP(m.hostIP);
      if (!hostIP) {
        // the Go plugin accepts it and maps nothing for it (its family never matches an IPv4 container)
        process.stderr.write(`portmap: ${at}.hostIP: "${m.hostIP}" is not an IP address; mapping skipped\n`);
        return [];
      }
    }
    return [{ hostPort: m.hostPort, containerPort: m.containerPort, protocol: protocol as Protocol, hostIP }];
  });
  if (raw.markMasqBit !== undefined && raw.externalSetMarkChain !== undefined) {
    throw invalidConfig('externalSetMarkChain', 'cannot be used together with markMasqBit');
  }
  const lists = [raw.conditionsV4 ?? [], raw.conditionsV6 ?? []].filter((l) => l.length);
  const wantsIptables = raw.externalSetMarkChain !== undefined || raw.markMasqBit !== undefined || lists.some(isIptablesList);
  const wantsNft = lists.some((l) => !isIptablesList(l));
  if (raw.backend === 'nftables' && wantsIptables) throw invalidConfig('backend', 'nftables cannot be used with externalSetMarkChain, markMasqBit or iptables conditions');
  if (raw.backend === 'iptables' && wantsNft) throw invalidConfig('backend', 'iptables cannot be used with nftables conditions');
  if (wantsIptables && wantsNft) throw invalidConfig('conditionsV4', 'mixes iptables arguments and nftables expressions');
  return {
    raw,
    network: raw.name,
    mappings,
    snat: raw.snat ?? true,
    masqAll: raw.masqAll ?? false,
    markMasqBit: raw.markMasqBit ?? DEFAULT_MARK_BIT,
    externalSetMarkChain: raw.externalSetMarkChain,
    conditionsV4: raw.conditionsV4 ?? [],
    conditionsV6: raw.conditionsV6 ?? [],
    backend: raw.backend ?? (wantsIptables ? 'iptables' : wantsNft ? 'nftables' : undefined),
  };
}

/**
 * The container's first IPv4 and first IPv6 address from prevResult: IPs whose
 * `interface` points at CNI_IFNAME with a sandbox, or that name no interface
 * (an out-of-range index is tolerated, as in the reference).
 */
export function containerAddresses(prev: Result, ifName: string): Map<Family, string> {
  const out = new Map<Family, string>();
  for (const ip of containerIPs(prev, { ifName, sandbox: true })) {
    const n = parseCIDR(ip.address);
    if (n && !out.has(n.ip.family)) out.set(n.ip.family, ip.address);
  }
  return out;
}

const unspecified = (ip: IP) => ip.bytes.every((b) => b === 0);

/** One spec per family the container has an address in, with the mappings that apply to that family. */
export function specsFor(conf: PortmapConf, prev: Result, ifName: string, containerID: string): PortmapSpec[] {
  const specs: PortmapSpec[] = [];
  for (const [family, cidr] of containerAddresses(prev, ifName)) {
    const net = parseCIDR(cidr)!;
    const mappings = conf.mappings
      .filter((m) => !m.hostIP || m.hostIP.family === family)
      .map((m) => (m.hostIP && unspecified(m.hostIP) ? { ...m, hostIP: undefined } : m));
    if (!mappings.length) continue;
    specs.push({
      network: conf.network,
      containerID,
      family,
      containerIP: net.ip,
      containerNet: net,
      mappings,
      snat: conf.snat,
      masqAll: conf.masqAll,
      markMasqBit: conf.markMasqBit,
      externalSetMarkChain: conf.externalSetMarkChain,
      conditions: family === 4 ? conf.conditionsV4 : conf.conditionsV6,
    });
  }
  return specs;
}

