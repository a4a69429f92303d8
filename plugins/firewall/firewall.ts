// firewall (reference §7): a chained plugin that lets the container's traffic
// through a FORWARD policy that drops (iptables chain CNI-FORWARD, or the
// sources of a firewalld zone) and optionally isolates its bridge from other
// bridges (ingressPolicy same-bridge / isolated, always iptables). Output is
// prevResult unchanged.
import { existsSync } from '../../pkg/native/fs.js';
import { iptablesUsable, type Family } from '../../pkg/firewall/backend.js';
import { addSource, firewalldUnavailable, querySource, removeSource } from '../../pkg/firewall/firewalld.js';
import {
  deleteRulesScript,
  forwardAddScript,
  forwardCheck,
  hostText,
  ipRules,
  isolationDelScript,
  missingRules,
  readFilters,
  updateFilter,
  updateFilters,
  type FilterUpdate,
  type ForwardSpec,
} from '../../pkg/firewall/forward-iptables.js';
import type { SavedTable } from '../../pkg/firewall/iptables-save.js';
import { parseCIDR, type IP } from '../../pkg/ipaddr/index.js';
import type { CmdArgs } from '../../pkg/skel/index.js';
import { CniError, ErrCode, wrapError } from '../../pkg/types/error.js';
import type { Result } from '../../pkg/types/result.js';
import { Undo } from '../../pkg/undo/index.js';
import { isolationBridge, loadFirewallConf, loadFirewallDelConf, requirePrevResult, resultIPs, type BackendChoice, type FirewallConf } from './conf.js';
import { isolatedBridges, listRecords, removeRecord, saveRecord, type AttachmentRecord } from './state.js';

type Backend = 'iptables' | 'firewalld';
const FAMILIES: Family[] = [4, 6];

/**
 * The backend to program: the configured one, else firewalld when it owns its
 * D-Bus name, else iptables. A configured firewalld that does not answer is an
 * error here (the reference fails with the bus's bare dial error).
 */
async function selectBackend(choice: BackendChoice): Promise<Backend> {
  if (choice === 'iptables') return 'iptables';
  const why = await firewalldUnavailable();
  if (choice === 'firewalld' && why) {
    throw new CniError(ErrCode.Internal, `backend "firewalld": firewalld (org.fedoraproject.FirewallD1) does not answer on the D-Bus system bus: ${why}`);
  }
  return why ? 'iptables' : 'firewalld';
}

/** One family's part of an ADD or CHECK. */
function specFor(conf: FirewallConf, backend: Backend, ips: IP[], bridge: string | undefined): ForwardSpec {
  return {
    ips: backend === 'iptables' ? ips : [],
    adminChain: conf.adminChain,
    // the reference isolates per family of the prevResult's IPs, whichever the backend
    isolation: bridge && ips.length ? { bridge, policy: conf.isolation! } : undefined,
  };
}

const ofFamily = (ips: IP[], f: Family) => ips.filter((ip) => ip.family === f);

/** ADD's and CHECK's reading of the config and prevResult, every check before any side effect. */
async function prepare(args: CmdArgs) {
  const conf = loadFirewallConf(args.stdinData);
  const prev = requirePrevResult(conf);
  const ips = resultIPs(prev);
  const bridge = conf.isolation ? isolationBridge(conf.isolation, prev) : undefined;
  return { conf, prev, ips, bridge, backend: await selectBackend(conf.backend) };
}

export async function add(args: CmdArgs): Promise<Result> {
  const { conf, prev, ips, bridge, backend } = await prepare(args);
  await Undo.run(async (undo) => {
    saveRecord(conf.dataDir, conf.network, {
      containerID: args.containerID,
      ifName: args.ifName,
      backend,
      ...(backend === 'firewalld' ? { zone: conf.zone } : {}),
      ips: ips.map(hostText),
      ...(bridge ? { bridge } : {}),
    });
    undo.push('remove the attachment record', () => removeRecord(conf.dataDir, conf.network, args.containerID, args.ifName));
    if (backend === 'firewalld') {
      for (const ip of ips) {
        try {
          await addSource(conf.zone, hostText(ip));
        } catch (e) {
          throw wrapError(`add the address ${hostText(ip)} to ${conf.zone} zone`, e);
        }
        undo.push(`remove ${hostText(ip)} from zone ${conf.zone}`, () => removeSource(conf.zone, hostText(ip)));
      }
    }
    const updates: FilterUpdate[] = [];
    for (const f of FAMILIES) {
      const spec = specFor(conf, backend, ofFamily(ips, f), bridge);
      if (!spec.ips.length && !spec.isolation) continue;
      const mine = spec.ips.flatMap(ipRules);
      let added: string[] = [];
      updates.push({
        family: f,
        build: (table) => {
          added = missingRules(table, spec).filter((r) => mine.includes(r));
          return forwardAddScript(table, spec);
        },
      });
      // pushed before the write: a family whose (all-or-nothing) write failed has none of these rules to remove.
      // The shared chains, jumps and isolation rules of the bridge stay: other containers use them (as the reference)
      undo.push(`remove the IPv${f} rules`, () => added.length && updateFilter(f, (t) => deleteRulesScript(t, added)));
    }
    const [failed] = await updateFilters(updates);
    if (failed) throw wrapError(`set up firewall rules for ${args.containerID} (IPv${failed[0]})`, failed[1]);
  });
  return prev;
}

/** IPs recorded for other attachments of the network: an IP handed out again must keep its rules. */
function heldByOthers(records: AttachmentRecord[], keep: (r: AttachmentRecord) => boolean): Set<string> {
  return new Set(records.filter(keep).flatMap((r) => r.ips));
}

const parseHosts = (hosts: string[]) => hosts.flatMap((h) => parseCIDR(h)?.ip ?? []);

/** Removes the rules or zone sources of `ips`; a backend that is not there has nothing to remove. */
async function teardown(backend: Backend, zone: string, ips: IP[]): Promise<void> {
  if (backend === 'firewalld') {
    // the reference ignores every error here; firewalld forgets runtime sources when it restarts anyway
    for (const ip of ips) await removeSource(zone, hostText(ip)).catch(() => undefined);
    return;
  }
  const updates = FAMILIES.filter((f) => ofFamily(ips, f).length).map((f): FilterUpdate => ({ family: f, build: (t) => deleteRulesScript(t, ofFamily(ips, f).flatMap(ipRules)) }));
  for (const [f, e] of await updateFilters(updates)) {
    // a family whose iptables does not work has no rules to remove
    if (await iptablesUsable(f)) throw e;
  }
}

/**
 * DEL: the IPs come from prevResult and from ADD's record (so a runtime that
 * lost its cached result still removes the rules); never fails on what is
 * already gone, a missing netns or firewalld, or ADD-only settings.
 */
export async function del(args: CmdArgs): Promise<void> {
  const conf = loadFirewallDelConf(args.stdinData);
  const records = conf.network ? listRecords(conf.dataDir, conf.network) : [];
  const own = records.find((r) => r.containerID === args.containerID && r.ifName === args.ifName);
  const held = heldByOthers(records, (r) => r !== own);
  const hosts = new Set([...conf.ips.map(hostText), ...(own?.ips ?? [])].filter((h) => !held.has(h)));
  if (hosts.size) {
    // ADD's record says which backend it used; a firewalld that is gone has nothing left to remove
    const backend = own?.backend ?? conf.backend ?? (await selectBackend(undefined));
    try {
      await teardown(backend, own?.zone ?? conf.zone, parseHosts([...hosts]));
    } catch (e) {
      throw wrapError(`remove firewall rules of ${args.containerID}`, e);
    }
  }
  if (own) removeRecord(conf.dataDir, conf.network, args.containerID, args.ifName);
}

export async function check(args: CmdArgs): Promise<void> {
  const { conf, ips, bridge, backend } = await prepare(args);
  if (backend === 'firewalld') {
    for (const ip of ips) {
      const found = await querySource(conf.zone, hostText(ip)).catch(() => false);
      if (!found) throw new CniError(ErrCode.Internal, `failed to find the address ${hostText(ip)} in ${conf.zone} zone`);
    }
  }
  const specs = FAMILIES.map((f) => [f, specFor(conf, backend, ofFamily(ips, f), bridge)] as const).filter(([, s]) => s.ips.length || s.isolation);
  const tables = await readFilters(specs.map(([f]) => f));
  for (const [i, [, spec]] of specs.entries()) {
    const problem = forwardCheck(tables[i], spec);
    if (problem) throw new CniError(ErrCode.Internal, problem);
  }
}

/** GC (spec 1.1.0): removes the rules of recorded attachments that are not in `cni.dev/valid-attachments`. */
export async function gc(args: CmdArgs): Promise<void> {
  const conf = loadFirewallDelConf(args.stdinData);
  const raw = JSON.parse(args.stdinData.toString('utf8')) as Record<string, unknown>;
  const list = raw['cni.dev/valid-attachments'];
  if (list !== undefined && list !== null && !Array.isArray(list)) throw new CniError(ErrCode.InvalidNetworkConfig, 'cni.dev/valid-attachments: must be a list');
  const valid = new Set(((list ?? []) as Array<{ containerID?: unknown; ifname?: unknown }>).map((a) => `${a?.containerID}/${a?.ifname}`));
  const records = listRecords(conf.dataDir, conf.network);
  const isValid = (r: AttachmentRecord) => valid.has(`${r.containerID}/${r.ifName}`);
  const held = heldByOthers(records, isValid);
  const errors: string[] = [];
  for (const rec of records.filter((r) => !isValid(r))) {
    try {
      await teardown(rec.backend, rec.zone ?? conf.zone, parseHosts(rec.ips.filter((h) => !held.has(h))));
      removeRecord(conf.dataDir, conf.network, rec.containerID, rec.ifName);
    } catch (e) {
      errors.push(`${rec.containerID}/${rec.ifName}: ${(e as Error).message}`);
    }
  }
  try {
    await gcIsolation(conf.dataDir, records.filter((r) => !isValid(r)));
  } catch (e) {
    errors.push(`isolation rules: ${(e as Error).message}`);
  }
  if (errors.length) throw new CniError(ErrCode.Internal, `failed to garbage-collect firewall rules: ${errors.join('; ')}`);
}

/**
 * The isolation rules of bridges that only collected attachments isolated and
 * that no longer exist (the reference never removes them: `podman network rm`
 * of an isolated network leaves them for good). A bridge still there, or still
 * named by another record, keeps its rules; a later ADD would write them again.
 */
async function gcIsolation(dataDir: string, collected: AttachmentRecord[]): Promise<void> {
  const inUse = isolatedBridges(dataDir);
  const gone = [...new Set(collected.flatMap((r) => r.bridge ?? []))].filter((b) => !inUse.has(b) && !existsSync(`/sys/class/net/${b}`));
  if (!gone.length) return;
  const build = (t: SavedTable) => isolationDelScript(t, gone);
  for (const [f, e] of await updateFilters(FAMILIES.map((family) => ({ family, build })))) {
    if (await iptablesUsable(f)) throw e;
  }
}

/** STATUS (spec 1.1.0): code 50 when the backend ADD would use cannot be programmed. */
export async function status(args: CmdArgs): Promise<void> {
  const conf = loadFirewallConf(args.stdinData);
  let backend: Backend;
  try {
    backend = await selectBackend(conf.backend);
  } catch (e) {
    throw new CniError(ErrCode.PluginNotAvailable, (e as Error).message, '', { cause: e });
  }
  if (backend === 'iptables' && !(await iptablesUsable(4))) {
    throw new CniError(ErrCode.PluginNotAvailable, 'iptables cannot read the filter table');
  }
}
