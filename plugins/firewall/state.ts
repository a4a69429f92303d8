// What ADD programmed for each attachment, kept in
// <dataDir>/<network>/<containerID>_<ifname>.json. The reference keeps nothing:
// its rules name no container, so a DEL whose runtime lost the cached result
// (plugins#390) and every GC leave them behind. With this record DEL finds the
// IPs without prevResult and GC knows which rules belong to stale attachments.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from '../../pkg/native/fs.js';
import { join } from 'node:path';

/** One attachment's record. */
export interface AttachmentRecord {
  containerID: string;
  ifName: string;
  backend: 'iptables' | 'firewalld';
  /** firewalld only. */
  zone?: string;
  /** Container IPs as the rules name them (`10.1.2.3/32`). */
  ips: string[];
  /** The bridge ingressPolicy isolated, if any. */
  bridge?: string;
}

const dirOf = (dataDir: string, network: string) => join(dataDir, network);
const fileOf = (dataDir: string, network: string, containerID: string, ifName: string) => join(dirOf(dataDir, network), `${containerID}_${ifName}.json`);

/** Writes the record atomically (a reader never sees half a file). */
export function saveRecord(dataDir: string, network: string, rec: AttachmentRecord): void {
  const file = fileOf(dataDir, network, rec.containerID, rec.ifName);
  mkdirSync(dirOf(dataDir, network), { recursive: true, mode: 0o700 });
  writeFileSync(`${file}.tmp`, JSON.stringify(rec), { mode: 0o600 });
  renameSync(`${file}.tmp`, file);
}

function parseRecord(file: string): AttachmentRecord | undefined {
  try {
    const r = JSON.parse(readFileSync(file, 'utf8')) as AttachmentRecord;
    return typeof r.containerID === 'string' && typeof r.ifName === 'string' && Array.isArray(r.ips) ? r : undefined;
  } catch {
    return undefined;
  }
}

export function removeRecord(dataDir: string, network: string, containerID: string, ifName: string): void {
  rmSync(fileOf(dataDir, network, containerID, ifName), { force: true });
}

/** Every record of a network. */
export function listRecords(dataDir: string, network: string): AttachmentRecord[] {
  let names: string[];
  try {
    names = readdirSync(dirOf(dataDir, network));
  } catch {
    return [];
  }
  return names.filter((n) => n.endsWith('.json')).flatMap((n) => parseRecord(join(dirOf(dataDir, network), n)) ?? []);
}

/** The bridges isolated by any recorded attachment of any network. */
export function isolatedBridges(dataDir: string): Set<string> {
  let networks: string[];
  try {
    networks = readdirSync(dataDir);
  } catch {
    return new Set();
  }
  return new Set(networks.flatMap((n) => listRecords(dataDir, n).flatMap((r) => r.bridge ?? [])));
}
