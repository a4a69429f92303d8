// pkg/skel against the reference skel's table (cni-reference.md §1.2, §1.3, §1.8,
// §1.11), driven through runPlugin with injected env, stdin and stdout.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { about, runPlugin, type CmdArgs, type PluginFuncs } from '../../pkg/skel/index.js';
import { CniError, ErrCode } from '../../pkg/types/error.js';
import type { Result } from '../../pkg/types/result.js';
import { ALL_VERSIONS } from '../../pkg/types/version.js';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
  json: any;
  calls: Array<{ cmd: string; args: CmdArgs }>;
}

const RESULT: Result = {
  cniVersion: '1.1.0',
  interfaces: [{ name: 'eth0', mac: '0a:58:0a:fa:00:02', mtu: 1400, sandbox: '/run/netns/x', socketPath: '/s', pciID: '0000:04:00.5' }],
  ips: [{ interface: 0, address: '10.250.0.2/24', gateway: '10.250.0.1' }],
  routes: [{ dst: '0.0.0.0/0', gw: '10.250.0.1' }],
};

/** A plugin that records its calls; `fail` makes every command throw it. */
function recorder(calls: Run['calls'], opts: { fail?: unknown; result?: Result; withOptional?: boolean } = {}): PluginFuncs {
  const rec = (cmd: string) => async (args: CmdArgs) => {
    calls.push({ cmd, args });
    if (opts.fail !== undefined) throw opts.fail;
  };
  const funcs: PluginFuncs = {
    add: async (args) => {
      await rec('ADD')(args);
      return opts.result ?? RESULT;
    },
    del: rec('DEL'),
  };
  if (opts.withOptional !== false) {
    funcs.check = rec('CHECK');
    funcs.gc = rec('GC');
    funcs.status = rec('STATUS');
  }
  return funcs;
}

const ATTACH = { CNI_CONTAINERID: 'ctr-1', CNI_NETNS: '/run/netns/cnits-none', CNI_IFNAME: 'eth0', CNI_PATH: '/opt/cni/bin' };

async function run(
  env: Record<string, string | undefined>,
  stdin: string | object = { cniVersion: '1.0.0', name: 'net' },
  opts: { fail?: unknown; result?: Result; withOptional?: boolean; versions?: readonly string[]; stdinError?: Error } = {},
): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const calls: Run['calls'] = [];
  const code = await runPlugin(
    {
      env,
      readStdin: () => {
        if (opts.stdinError) throw opts.stdinError;
        return Buffer.from(typeof stdin === 'string' ? stdin : JSON.stringify(stdin));
      },
      stdout: (t) => (stdout += t),
      stderr: (t) => (stderr += t),
    },
    recorder(calls, opts),
    opts.versions ?? ALL_VERSIONS,
    about('test'),
  );
  let json: any;
  try {
    json = JSON.parse(stdout);
  } catch {
    json = undefined;
  }
  return { code, stdout, stderr, json, calls };
}

describe('skel: environment', () => {
  // SPEC §2 and the reference skel: which variables each command needs.
  const required: Record<string, string[]> = {
    ADD: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
    CHECK: ['CNI_CONTAINERID', 'CNI_NETNS', 'CNI_IFNAME', 'CNI_PATH'],
    DEL: ['CNI_CONTAINERID', 'CNI_IFNAME', 'CNI_PATH'],
    GC: ['CNI_PATH'],
    STATUS: ['CNI_PATH'],
  };
  const conf = { cniVersion: '1.1.0', name: 'net' };

  for (const [cmd, vars] of Object.entries(required)) {
    it(`${cmd}: all missing variables are reported at once, code 4, in the table's order`, async () => {
      const r = await run({ CNI_COMMAND: cmd }, conf);
      assert.equal(r.code, 1);
      assert.deepEqual(r.json, { code: 4, msg: `required env variables [${vars.join(',')}] missing` });
      assert.equal(r.calls.length, 0);
    });

    for (const v of vars) {
      it(`${cmd}: ${v} alone missing (or empty) is code 4 naming it`, async () => {
        for (const value of [undefined, '']) {
          const env: Record<string, string | undefined> = { CNI_COMMAND: cmd, ...ATTACH, [v]: value };
          const r = await run(env, conf);
          assert.equal(r.code, 1);
          assert.equal(r.json.code, ErrCode.InvalidEnvironmentVariables);
          assert.equal(r.json.msg, `required env variables [${v}] missing`);
          assert.equal(r.calls.length, 0);
        }
      });
    }

    it(`${cmd}: succeeds with exactly its required variables`, async () => {
      const env: Record<string, string> = { CNI_COMMAND: cmd };
      for (const v of vars) env[v] = ATTACH[v as keyof typeof ATTACH];
      const r = await run(env, conf);
      assert.equal(r.code, 0, r.stdout);
      assert.deepEqual(r.calls.map((c) => c.cmd), [cmd]);
    });
  }

  it('DEL does not need CNI_NETNS (SPEC: optional on DEL)', async () => {
    const r = await run({ CNI_COMMAND: 'DEL', CNI_CONTAINERID: 'c', CNI_IFNAME: 'eth0', CNI_PATH: '/x' });
    assert.equal(r.code, 0);
    assert.equal(r.calls[0].args.netns, '');
    assert.equal(r.stdout, '', 'DEL prints nothing on success');
  });

  it('CmdArgs carries every variable and the raw stdin', async () => {
    const stdin = '{"cniVersion":"1.0.0","name":"net","extra":1}';
    const r = await run({ CNI_COMMAND: 'ADD', ...ATTACH, CNI_ARGS: 'IgnoreUnknown=1;K=V', CNI_NETNS_OVERRIDE: 'true' }, stdin);
    assert.equal(r.code, 0, r.stdout);
    const a = r.calls[0].args;
    assert.deepEqual(
      { ...a, stdinData: a.stdinData.toString() },
      { containerID: 'ctr-1', netns: '/run/netns/cnits-none', ifName: 'eth0', args: 'IgnoreUnknown=1;K=V', path: '/opt/cni/bin', netnsOverride: true, stdinData: stdin },
    );
  });

  it('CNI_COMMAND unset or empty prints the about text to stderr and exits 0', async () => {
    for (const cmd of [undefined, '']) {
      const r = await run({ CNI_COMMAND: cmd });
      assert.equal(r.code, 0);
      assert.equal(r.stdout, '');
      assert.equal(r.stderr, `${about('test')}\nCNI protocol versions supported: ${ALL_VERSIONS.join(', ')}\n`);
    }
    const narrow = await run({}, {}, { versions: ['0.4.0', '1.0.0'] });
    assert.match(narrow.stderr, /\nCNI protocol versions supported: 0\.4\.0, 1\.0\.0\n$/);
  });

  it('an unknown command is code 4', async () => {
    const r = await run({ CNI_COMMAND: 'FROB', ...ATTACH });
    assert.equal(r.code, 1);
    assert.deepEqual(r.json, { code: 4, msg: 'unknown CNI_COMMAND: FROB' });
    const lower = await run({ CNI_COMMAND: 'add', ...ATTACH });
    assert.equal(lower.json.code, 4, 'commands are case-sensitive');
  });
});

describe('skel: VERSION', () => {
  it('prints the current version and the supported list on one line, ignoring stdin', async () => {
    for (const stdin of ['', 'not json', '{"cniVersion":"0.2.0"}']) {
      const r = await run({ CNI_COMMAND: 'VERSION' }, stdin);
      assert.equal(r.code, 0);
      assert.equal(r.stdout, '{"cniVersion":"1.1.0","supportedVersions":["0.1.0","0.2.0","0.3.0","0.3.1","0.4.0","1.0.0","1.1.0"]}\n');
      assert.equal(r.calls.length, 0);
    }
  });

  it("reports the plugin's own list", async () => {
    const r = await run({ CNI_COMMAND: 'VERSION' }, '', { versions: ['0.4.0', '1.0.0', '1.1.0'] });
    assert.deepEqual(r.json, { cniVersion: '1.1.0', supportedVersions: ['0.4.0', '1.0.0', '1.1.0'] });
  });
});

describe('skel: stdin', () => {
  const env = { CNI_COMMAND: 'ADD', ...ATTACH };

  it('stdin that is not JSON is code 6', async () => {
    for (const stdin of ['', 'notjson', '{"name":', '[]', '"str"', 'null']) {
      const r = await run(env, stdin);
      assert.equal(r.code, 1, stdin);
      assert.equal(r.json.code, ErrCode.DecodingFailure, stdin);
      assert.match(r.json.msg, /^error unmarshall network config: /);
      assert.equal(r.calls.length, 0);
    }
  });

  it('a stdin read failure is code 5', async () => {
    const r = await run(env, '', { stdinError: new Error('EIO') });
    assert.equal(r.json.code, ErrCode.IOFailure);
    assert.match(r.json.msg, /error reading from stdin: EIO/);
  });

  it('a missing or empty name is code 7 "missing network name"', async () => {
    for (const conf of [{ cniVersion: '1.0.0' }, { cniVersion: '1.0.0', name: '' }, { cniVersion: '1.0.0', name: null }]) {
      const r = await run(env, conf);
      assert.equal(r.code, 1);
      assert.equal(r.json.code, ErrCode.InvalidNetworkConfig);
      assert.equal(r.json.msg, 'missing network name');
    }
  });

  it('a name with invalid characters is code 7 with the name as details', async () => {
    for (const name of ['a b', '_lead', '-lead', '.lead', 'a/b', 'a:b', 'ünï']) {
      const r = await run(env, { cniVersion: '1.0.0', name });
      assert.equal(r.json.code, ErrCode.InvalidNetworkConfig, name);
      assert.equal(r.json.msg, 'invalid characters found in network name');
      assert.equal(r.json.details, name);
    }
    for (const name of ['a', 'A0', '0net', 'my-net_1.2']) assert.equal((await run(env, { cniVersion: '1.0.0', name })).code, 0, name);
  });

  it('a name or cniVersion of the wrong JSON type is code 6, as Go fails to unmarshal it', async () => {
    for (const conf of [{ cniVersion: '1.0.0', name: 5 }, { cniVersion: 4, name: 'n' }, { cniVersion: '1.0.0', name: ['n'] }]) {
      const r = await run(env, conf);
      assert.equal(r.code, 1);
      assert.equal(r.json.code, ErrCode.DecodingFailure, JSON.stringify(conf));
    }
  });

  it('an absent or empty cniVersion means 0.1.0', async () => {
    for (const conf of [{ name: 'n' }, { cniVersion: '', name: 'n' }]) {
      const r = await run(env, conf);
      assert.equal(r.code, 0, r.stdout);
      assert.equal(r.json.cniVersion, '0.1.0');
      assert.deepEqual(r.json.ip4, { ip: '10.250.0.2/24', gateway: '10.250.0.1', routes: [{ dst: '0.0.0.0/0', gw: '10.250.0.1' }] });
    }
  });
});

describe('skel: version gates', () => {
  const supportedText = (vs: readonly string[]) => `[${vs.map((v) => `"${v}"`).join(' ')}]`;

  it('a config version the plugin does not list is code 1 with the details text', async () => {
    for (const v of ['9.9.9', '0.3.2', '2.0.0']) {
      const r = await run({ CNI_COMMAND: 'ADD', ...ATTACH }, { cniVersion: v, name: 'n' });
      assert.equal(r.code, 1);
      assert.equal(r.json.code, ErrCode.IncompatibleCNIVersion);
      assert.equal(r.json.msg, 'incompatible CNI versions');
      assert.equal(r.json.details, `config is "${v}", plugin supports ${supportedText(ALL_VERSIONS)}`);
      assert.equal(r.calls.length, 0);
    }
  });

  it('the version must appear verbatim in a narrower supported list', async () => {
    const versions = ['0.3.0', '0.3.1', '0.4.0'];
    const ok = await run({ CNI_COMMAND: 'DEL', ...ATTACH }, { cniVersion: '0.3.1', name: 'n' }, { versions });
    assert.equal(ok.code, 0);
    const r = await run({ CNI_COMMAND: 'DEL', ...ATTACH }, { cniVersion: '1.0.0', name: 'n' }, { versions });
    assert.equal(r.json.code, 1);
    assert.equal(r.json.details, `config is "1.0.0", plugin supports ${supportedText(versions)}`);
  });

  it('CHECK is refused below 0.4.0 and runs from 0.4.0', async () => {
    for (const v of ALL_VERSIONS) {
      const r = await run({ CNI_COMMAND: 'CHECK', ...ATTACH }, { cniVersion: v, name: 'n' });
      if (['0.1.0', '0.2.0', '0.3.0', '0.3.1'].includes(v)) {
        assert.equal(r.code, 1, v);
        assert.equal(r.json.code, 1);
        assert.equal(r.json.msg, 'config version does not allow CHECK');
        assert.equal(r.calls.length, 0);
      } else {
        assert.equal(r.code, 0, `${v}: ${r.stdout}`);
        assert.deepEqual(r.calls.map((c) => c.cmd), ['CHECK']);
      }
    }
  });

  for (const cmd of ['GC', 'STATUS']) {
    it(`${cmd} is refused below 1.1.0 and runs at 1.1.0`, async () => {
      for (const v of ALL_VERSIONS) {
        const r = await run({ CNI_COMMAND: cmd, CNI_PATH: '/x' }, { cniVersion: v, name: 'n' });
        if (v !== '1.1.0') {
          assert.equal(r.json.code, 1, v);
          assert.equal(r.json.msg, `config version does not allow ${cmd}`);
          assert.equal(r.calls.length, 0);
        } else {
          assert.equal(r.code, 0, r.stdout);
          assert.deepEqual(r.calls.map((c) => c.cmd), [cmd]);
        }
      }
    });

    it(`${cmd} without a callback succeeds (every reference plugin's GC)`, async () => {
      const r = await run({ CNI_COMMAND: cmd, CNI_PATH: '/x' }, { cniVersion: '1.1.0', name: 'n' }, { withOptional: false });
      assert.equal(r.code, 0);
      assert.equal(r.stdout, '');
    });
  }

  it('CHECK without a callback succeeds', async () => {
    const r = await run({ CNI_COMMAND: 'CHECK', ...ATTACH }, { cniVersion: '1.0.0', name: 'n' }, { withOptional: false });
    assert.equal(r.code, 0);
  });

  it('CHECK on a plugin whose newest version is older than the config is refused', async () => {
    const r = await run({ CNI_COMMAND: 'CHECK', ...ATTACH }, { cniVersion: '1.0.0', name: 'n' }, { versions: ['0.4.0'] });
    assert.equal(r.json.code, 1);
  });
});

describe('skel: container ID and interface name', () => {
  const conf = { cniVersion: '1.0.0', name: 'n' };

  it('container IDs outside [a-zA-Z0-9][a-zA-Z0-9_.-]* are code 4 with the ID as details', async () => {
    for (const id of ['-a', '_a', '.a', 'a b', 'a/b', 'a:b', 'a;b']) {
      for (const cmd of ['ADD', 'CHECK', 'DEL']) {
        const r = await run({ CNI_COMMAND: cmd, ...ATTACH, CNI_CONTAINERID: id }, conf);
        assert.equal(r.json.code, ErrCode.InvalidEnvironmentVariables, `${cmd} ${id}`);
        assert.equal(r.json.msg, 'invalid characters in containerID');
        assert.equal(r.json.details, id);
        assert.equal(r.calls.length, 0);
      }
    }
    for (const id of ['a', '0', 'a.b_c-d', 'f'.repeat(64)]) assert.equal((await run({ CNI_COMMAND: 'DEL', ...ATTACH, CNI_CONTAINERID: id }, conf)).code, 0, id);
  });

  it('an empty container ID is reported as a missing variable (code 4) before code 3', async () => {
    const r = await run({ CNI_COMMAND: 'ADD', ...ATTACH, CNI_CONTAINERID: '' }, conf);
    assert.deepEqual(r.json, { code: 4, msg: 'required env variables [CNI_CONTAINERID] missing' });
  });

  it('bad interface names are code 4 with the reference messages', async () => {
    const cases: Array<[string, string, string?]> = [
      ['a'.repeat(16), 'interface name is too long', 'interface name should be less than 16 characters'],
      ['é'.repeat(8), 'interface name is too long', 'interface name should be less than 16 characters'],
      ['.', 'interface name is . or ..'],
      ['..', 'interface name is . or ..'],
      ['a/b', 'interface name contains / or : or whitespace characters'],
      ['a:b', 'interface name contains / or : or whitespace characters'],
      ['a b', 'interface name contains / or : or whitespace characters'],
      ['a\tb', 'interface name contains / or : or whitespace characters'],
    ];
    for (const [ifName, msg, details] of cases) {
      for (const cmd of ['ADD', 'CHECK', 'DEL']) {
        const r = await run({ CNI_COMMAND: cmd, ...ATTACH, CNI_IFNAME: ifName }, conf);
        assert.equal(r.json.code, 4, `${cmd} ${JSON.stringify(ifName)}`);
        assert.equal(r.json.msg, msg);
        assert.equal(r.json.details, details);
      }
    }
    for (const ifName of ['a'.repeat(15), 'eth0.100', 'net1', 'é'.repeat(7)]) {
      assert.equal((await run({ CNI_COMMAND: 'ADD', ...ATTACH, CNI_IFNAME: ifName }, conf)).code, 0, ifName);
    }
  });

  it('GC and STATUS do not validate attachment variables', async () => {
    const r = await run({ CNI_COMMAND: 'GC', CNI_PATH: '/x', CNI_CONTAINERID: '-bad', CNI_IFNAME: 'a/b' }, { cniVersion: '1.1.0', name: 'n' });
    assert.equal(r.code, 0, r.stdout);
  });

  it("CNI_NETNS naming the plugin's own netns is code 8 unless CNI_NETNS_OVERRIDE is set", async () => {
    for (const cmd of ['ADD', 'DEL']) {
      const r = await run({ CNI_COMMAND: cmd, ...ATTACH, CNI_NETNS: '/proc/self/ns/net' }, conf);
      assert.equal(r.json.code, ErrCode.InvalidNetNS, cmd);
      assert.equal(r.calls.length, 0, 'checked before anything ran');
      for (const override of ['1', 'true', 'TRUE']) {
        const ok = await run({ CNI_COMMAND: cmd, ...ATTACH, CNI_NETNS: '/proc/self/ns/net', CNI_NETNS_OVERRIDE: override }, conf);
        assert.equal(ok.code, 0, `${cmd} override=${override}`);
      }
      const no = await run({ CNI_COMMAND: cmd, ...ATTACH, CNI_NETNS: '/proc/self/ns/net', CNI_NETNS_OVERRIDE: '0' }, conf);
      assert.equal(no.json.code, ErrCode.InvalidNetNS);
    }
  });
});

describe('skel: errors and results', () => {
  const env = { CNI_COMMAND: 'ADD', ...ATTACH };

  it('an untyped error becomes code 999 with its message', async () => {
    for (const fail of [new Error('boom'), new TypeError('bad type'), 'a string']) {
      const r = await run(env, { cniVersion: '1.0.0', name: 'n' }, { fail });
      assert.equal(r.code, 1);
      assert.deepEqual(r.json, { cniVersion: '1.0.0', code: 999, msg: fail instanceof Error ? fail.message : fail });
    }
  });

  it('a CniError passes through with its code and details', async () => {
    for (const cmd of ['ADD', 'DEL', 'CHECK']) {
      const r = await run({ ...env, CNI_COMMAND: cmd }, { cniVersion: '1.0.0', name: 'n' }, { fail: new CniError(11, 'try again', 'lock busy') });
      assert.equal(r.code, 1);
      assert.deepEqual(r.json, { cniVersion: '1.0.0', code: 11, msg: 'try again', details: 'lock busy' });
    }
    const st = await run({ CNI_COMMAND: 'STATUS', CNI_PATH: '/x' }, { cniVersion: '1.1.0', name: 'n' }, { fail: new CniError(50, 'plugin not available') });
    assert.deepEqual(st.json, { cniVersion: '1.1.0', code: 50, msg: 'plugin not available' });
  });

  it('errors are printed with a 4-space indent', async () => {
    const r = await run(env, { cniVersion: '1.0.0', name: '' });
    assert.equal(r.stdout, '{\n    "cniVersion": "1.0.0",\n    "code": 7,\n    "msg": "missing network name"\n}\n');
  });

  it('the ADD result is printed in the config version with a 4-space indent', async () => {
    const r = await run(env, { cniVersion: '1.0.0', name: 'n' });
    assert.equal(
      r.stdout,
      [
        '{',
        '    "cniVersion": "1.0.0",',
        '    "interfaces": [',
        '        {',
        '            "name": "eth0",',
        '            "mac": "0a:58:0a:fa:00:02",',
        '            "mtu": 1400,',
        '            "sandbox": "/run/netns/x",',
        '            "socketPath": "/s",',
        '            "pciID": "0000:04:00.5"',
        '        }',
        '    ],',
        '    "ips": [',
        '        {',
        '            "interface": 0,',
        '            "address": "10.250.0.2/24",',
        '            "gateway": "10.250.0.1"',
        '        }',
        '    ],',
        '    "routes": [',
        '        {',
        '            "dst": "0.0.0.0/0",',
        '            "gw": "10.250.0.1"',
        '        }',
        '    ],',
        '    "dns": {}',
        '}',
        '',
      ].join('\n'),
    );
  });

  it('every spec version gets its own result shape', async () => {
    for (const v of ALL_VERSIONS) {
      const r = await run(env, { cniVersion: v, name: 'n' });
      assert.equal(r.code, 0, `${v}: ${r.stdout}`);
      assert.equal(r.json.cniVersion, v);
      if (v === '0.1.0' || v === '0.2.0') {
        assert.deepEqual(Object.keys(r.json), ['cniVersion', 'ip4', 'dns']);
      } else {
        assert.deepEqual(Object.keys(r.json), ['cniVersion', 'interfaces', 'ips', 'routes', 'dns']);
        assert.equal(r.json.ips[0].version === '4', v.startsWith('0.'), v);
        assert.equal('mtu' in r.json.interfaces[0], !v.startsWith('0.'), v);
      }
    }
  });

  it('an ADD result handed back in another version (a delegate’s output) is re-read first', async () => {
    const delegate = { cniVersion: '0.2.0', ip4: { ip: '10.250.0.9/16', gateway: '10.250.0.1' } } as unknown as Result;
    const r = await run(env, { cniVersion: '1.0.0', name: 'n' }, { result: delegate });
    assert.equal(r.code, 0, r.stdout);
    assert.deepEqual(r.json, { cniVersion: '1.0.0', ips: [{ address: '10.250.0.9/16', gateway: '10.250.0.1' }], dns: {} });
  });

  it('a result that cannot be expressed in 0.2.0 (no IP) is an error, not an empty success', async () => {
    const r = await run(env, { cniVersion: '0.2.0', name: 'n' }, { result: { cniVersion: '1.1.0', interfaces: [{ name: 'lo' }] } });
    assert.equal(r.code, 1);
    assert.equal(r.json.code, 1);
    assert.equal(r.json.msg, 'cannot convert: no valid IP addresses');
  });

  it('errors found before the config is read carry no cniVersion', async () => {
    const r = await run({ CNI_COMMAND: 'ADD' }, { cniVersion: '1.0.0', name: 'n' });
    assert.ok(!('cniVersion' in r.json));
  });
});

describe('skel: key matching as Go', () => {
  const env = { CNI_COMMAND: 'DEL', ...ATTACH };
  it('name and cniVersion are matched case-insensitively', async () => {
    const r = await run({ ...env, CNI_COMMAND: 'ADD' }, { CNIVersion: '0.4.0', Name: 'n' });
    assert.equal(r.code, 0, r.stdout);
    assert.equal(r.json.cniVersion, '0.4.0');
  });
  it('with several spellings of a key the last one in the document wins (Debian loopback agrees)', async () => {
    assert.equal((await run(env, '{"cniVersion":"1.0.0","name":"a","NAME":"b b"}')).json?.details, 'b b');
    assert.equal((await run(env, '{"cniVersion":"1.0.0","NAME":"b b","name":"a"}')).code, 0);
  });
});
