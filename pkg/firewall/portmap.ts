// What both portmap backends program for one attachment (reference §2.10): the
// per-family description of the mappings, and the names that tie rules to an
// attachment (the iptables chain hash, the nftables comment).
import { sha256, sha512 } from '../hash/index.js';
import { formatIP, type IP, type IPNet } from '../ipaddr/index.js';
import { run } from '../exec/index.js';
import type { Family } from './backend.js';

export type Protocol = 'tcp' | 'udp' | 'sctp';

/** One `runtimeConfig.portMappings` entry, validated. */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  protocol: Protocol;
  /** Destination the mapping is restricted to; undefined = any local address. */
  hostIP?: IP;
}

/** Everything one family of one attachment needs. */
export interface PortmapSpec {
  network: string;
  containerID: string;
  family: Family;
  containerIP: IP;
  /** The container's address with its prefix (hairpin sources in iptables). */
  containerNet: IPNet;
  mappings: PortMapping[];
  snat: boolean;
  masqAll: boolean;
  /** iptables: the mark bit for masquerade (0..31). */
  markMasqBit: number;
  /** iptables: an existing chain that sets the masquerade mark (e.g. KUBE-MARK-MASQ). */
  externalSetMarkChain?: string;
  /** Extra matches: iptables arguments or nftables expressions, per family. */
  conditions: string[];
}

/** `ip:port` or `[ip6]:port`. */
export function hostPortText(ip: IP, port: number): string {
  return ip.family === 6 ? `[${formatIP(ip)}]:${port}` : `${formatIP(ip)}:${port}`;
}

/** sha512(network + containerID) in hex, the reference's attachment hash. */
export function attachmentHash(network: string, containerID: string): string {
  return sha512(network + containerID);
}

/** The iptables per-attachment DNAT chain: `CNI-DN-` + 21 hex of the hash, as the reference names it. */
export function dnatChainName(network: string, containerID: string): string {
  return `CNI-DN-${attachmentHash(network, containerID).slice(0, 21)}`;
}

/** The reference's pre-0.8 SNAT chain, only ever deleted. */
export function legacySnatChainName(network: string, containerID: string): string {
  return `CNI-SN-${attachmentHash(network, containerID).slice(0, 21)}`;
}

const NFT_COMMENT_MAX = 127;

/** The network part of an nftables comment: the name, or a hash when the comment would be too long. */
export function nftNetworkTag(network: string, containerID: string): string {
  return containerID.length + network.length + 1 <= NFT_COMMENT_MAX ? network : `#${sha256(network).slice(0, 16)}`;
}

/**
 * The nftables comment of an attachment's rules: `<containerID> <network>`. The
 * reference uses the bare container ID, so its DEL/GC of one network hits the
 * rules of the same container in every other network; ours carries both.
 */
export function nftComment(network: string, containerID: string): string {
  return `${containerID} ${nftNetworkTag(network, containerID)}`;
}

/** The protocols of `mappings` in order of first appearance, each with its host ports. */
export function portsByProtocol(mappings: PortMapping[]): Map<Protocol, number[]> {
  const out = new Map<Protocol, number[]>();
  for (const m of mappings) {
    const list = out.get(m.protocol) ?? [];
    if (!list.includes(m.hostPort)) list.push(m.hostPort);
    out.set(m.protocol, list);
  }
  return out;
}

/**
 * Deletes UDP conntrack entries whose original destination port is one of
 * `ports`, so datagrams of a flow that started before the mapping existed reach
 * the container. Failures (no entries, no conntrack binary) are ignored, as in the reference.
 */
export async function deleteUDPConntrack(family: Family, ports: number[]): Promise<void> {
  await Promise.all(
    ports.map((p) =>
      run('conntrack', ['-D', '-f', family === 4 ? 'ipv4' : 'ipv6', '-p', 'udp', '--orig-port-dst', String(p)], { allowFailure: true }).catch(() => undefined),
    ),
  );
}
