// pkg/exec/inproc.ts and skel's embed(): which files run in-process, and one
// in-process invocation against an injected environment, stdin and stdout.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, it } from 'node:test';
import { ROOT } from '../helpers/index.js';

process.env.CNI_TS_NATIVE ??= path.join(ROOT, 'build', 'cninative.node');
const { embed, pluginMain } = await import('../../pkg/skel/index.js');
const { embeddedPlugin, runInProcess } = await import('../../pkg/exec/inproc.js');

const REGISTRY = Symbol.for('cni-ts.programs');
const CONF = JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'fake' });

describe('in-process delegates', () => {
  after(() => delete (globalThis as Record<symbol, unknown>)[REGISTRY]);

  // one embedded plugin per process (embed imports once): echoes what it was given
  const plugin = embed(async () => {
    pluginMain(
      {
        add: async (args) => {
          if (args.ifName === 'bad0') throw new Error('asked to fail');
          return { cniVersion: '1.1.0', ips: [{ address: '10.211.9.2/24' }], dns: { domain: `${args.containerID}/${args.path}` } };
        },
        del: async () => undefined,
      },
      undefined,
      'CNI fake plugin',
    );
  });
  const env = (ifName = 'eth0') => ({ CNI_COMMAND: 'ADD', CNI_CONTAINERID: 'cnits-ip-u', CNI_NETNS: '/proc/1/ns/net', CNI_NETNS_OVERRIDE: '1', CNI_IFNAME: ifName, CNI_PATH: '/x:/y' });

  it("pluginMain under embed() hands the plugin over: nothing read, printed or exited; the result in the config's version", async () => {
    const r = await runInProcess(() => plugin, { env: env(), input: CONF });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.stderr, '');
    assert.deepEqual(JSON.parse(r.stdout), { cniVersion: '1.0.0', ips: [{ address: '10.211.9.2/24' }], dns: { domain: 'cnits-ip-u//x:/y' } });
  });

  it("a failure is the child's: exit 1 and the error JSON on stdout", async () => {
    const r = await runInProcess(() => plugin, { env: env('bad0'), input: CONF });
    assert.equal(r.code, 1);
    assert.deepEqual(JSON.parse(r.stdout), { cniVersion: '1.0.0', code: 999, msg: 'asked to fail' });
  });

  it('a program that never calls pluginMain is a crash on start-up: exit 1, the reason on stderr, no JSON', async () => {
    const notPlugin = () => embedFresh();
    const r = await runInProcess(notPlugin, { env: env(), input: CONF });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /not a plugin/);
  });

  it('only the running executable (same inode as /proc/self/exe) with a registry that knows the name runs in-process', () => {
    const loads: string[] = [];
    assert.equal(embeddedPlugin(process.execPath), undefined, 'no registry: exec');
    (globalThis as Record<symbol, unknown>)[REGISTRY] = {
      load: (name: string) => {
        loads.push(name);
        return name === 'known' ? { embedded: () => plugin } : undefined;
      },
    };
    // /proc/self/exe is this node; a path to the same inode under another name decides the program
    assert.equal(embeddedPlugin('/bin/sh'), undefined, 'another file: exec');
    assert.equal(embeddedPlugin('/nonexistent/known'), undefined, 'a file that is not there: exec (the exec path reports it)');
    assert.equal(embeddedPlugin('/proc/self/exe'), undefined, 'our inode, but no program named "exe"');
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-ip-u-'));
    try {
      fs.symlinkSync(fs.realpathSync('/proc/self/exe'), path.join(dir, 'known'));
      const found = embeddedPlugin(path.join(dir, 'known'));
      assert.equal(typeof found, 'function', 'our inode under a known name: in-process');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
    assert.deepEqual(loads, ['exe', 'known']);
  });
});

/** embed() imports once per process; a second bundle's skel is what a not-a-plugin program would hit. */
async function embedFresh(): ReturnType<typeof embed> {
  const skel: { embed: typeof embed } = await import(`../../pkg/skel/index.js?fresh=${Date.now()}`);
  return skel.embed(async () => undefined);
}
