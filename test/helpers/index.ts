// Test helpers: run a built binary exactly as a runtime does (env + stdin, stdout
// parsed), and create/remove throw-away network namespaces named `cnits-*`.
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..', '..');
export const BIN = path.join(ROOT, 'bin');
/** Debian's Go reference plugins (apt-get install containernetworking-plugins). */
export const REF_BIN = '/usr/lib/cni';
export const SPEC_VERSIONS = ['0.1.0', '0.2.0', '0.3.0', '0.3.1', '0.4.0', '1.0.0', '1.1.0'] as const;
/** The versions Debian's 1.1.1 plugins speak. */
export const REF_VERSIONS = SPEC_VERSIONS.filter((v) => v !== '1.1.0');

export const isRoot = process.getuid?.() === 0;
export const haveRef = fs.existsSync(path.join(REF_BIN, 'loopback'));

export interface ExecOpts {
  command: string;
  containerID?: string;
  netns?: string;
  ifName?: string;
  args?: string;
  cniPath?: string;
  stdin?: string | object;
  env?: Record<string, string | undefined>;
  /** Run inside this netns name (plays the host), via `ip netns exec`. */
  hostNetns?: string;
}

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, when it is JSON. */
  json: any;
}

/** Runs `bin/<plugin>` (or any binary path) as a container runtime would. */
export function execPlugin(plugin: string, o: ExecOpts): ExecResult {
  const file = plugin.includes('/') ? plugin : path.join(BIN, plugin);
  const env: Record<string, string> = { PATH: process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin' };
  const set = (k: string, v: string | undefined) => {
    if (v !== undefined) env[k] = v;
  };
  set('CNI_COMMAND', o.command);
  set('CNI_CONTAINERID', o.containerID);
  set('CNI_NETNS', o.netns);
  set('CNI_IFNAME', o.ifName);
  set('CNI_ARGS', o.args);
  set('CNI_PATH', o.cniPath ?? BIN);
  for (const [k, v] of Object.entries(o.env ?? {})) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  const input = o.stdin === undefined ? '' : typeof o.stdin === 'string' ? o.stdin : JSON.stringify(o.stdin);
  return o.hostNetns ? spawnJSON('ip', ['netns', 'exec', o.hostNetns, file], { input, env }) : spawnJSON(file, [], { input, env });
}

/** Runs a program to completion; stdout is also parsed as JSON when it is JSON. */
export function spawnJSON(file: string, args: string[], opts: { input?: string; env: NodeJS.ProcessEnv }): ExecResult {
  const r = spawnSync(file, args, { input: opts.input ?? '', env: opts.env, encoding: 'utf8', timeout: 60_000 });
  let json: any;
  try {
    json = JSON.parse(r.stdout);
  } catch {
    json = undefined;
  }
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr, json };
}

/** A unique short suffix for names of test objects. */
export function uniq(): string {
  return randomBytes(3).toString('hex');
}

/** A throw-away network namespace. */
export interface TestNetns {
  name: string;
  path: string;
  /** Runs `ip ...` inside it and returns stdout. */
  ip(...args: string[]): string;
  /** Runs any command inside it. */
  exec(cmd: string, ...args: string[]): string;
  remove(): void;
}

/** Creates `/run/netns/cnits-<tag>-<random>`. */
export function createNetns(tag = 'ns'): TestNetns {
  const name = `cnits-${tag}-${uniq()}`;
  execFileSync('ip', ['netns', 'add', name]);
  const ns: TestNetns = {
    name,
    path: `/var/run/netns/${name}`,
    ip: (...args) => execFileSync('ip', ['-n', name, ...args], { encoding: 'utf8' }),
    exec: (cmd, ...args) => execFileSync('ip', ['netns', 'exec', name, cmd, ...args], { encoding: 'utf8' }),
    remove: () => {
      spawnSync('ip', ['netns', 'del', name]);
    },
  };
  return ns;
}

/** `ip -j` output of a command run in `ns` (or the host when undefined), parsed. */
export function ipJSON(ns: TestNetns | undefined, ...args: string[]): any[] {
  const out = execFileSync('ip', [...(ns ? ['-n', ns.name] : []), '-j', ...args], { encoding: 'utf8' });
  return out.trim() ? JSON.parse(out) : [];
}

/**
 * True when the kernel can add a sub-link of `linkArgs` (e.g. `['type', 'ipvlan', 'mode', 'l2']`)
 * on a veth, tried in a scratch netns.
 */
export function kernelCanAddSublink(tag: string, linkArgs: string[]): boolean {
  const ns = createNetns(tag);
  try {
    ns.ip('link', 'add', 'p0', 'type', 'veth', 'peer', 'name', 'p1');
    execFileSync('ip', ['-n', ns.name, 'link', 'add', 'sub0', 'link', 'p0', ...linkArgs], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    ns.remove();
  }
}

/** True when the kernel can add a link of `linkArgs` (e.g. `['type', 'dummy']`), tried in a scratch netns. */
export function kernelCanAddLink(tag: string, linkArgs: string[]): boolean {
  const ns = createNetns(tag);
  try {
    execFileSync('ip', ['-n', ns.name, 'link', 'add', 'probe0', ...linkArgs], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  } finally {
    ns.remove();
  }
}
