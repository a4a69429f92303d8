// portmap rule generation and configuration, without root. The expected iptables
// lines are what Debian's /usr/lib/cni/portmap (1.1.1) wrote for the same input.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dnatChainName, nftComment, type PortmapSpec } from '../../pkg/firewall/portmap.js';
import { parseSave } from '../../pkg/firewall/iptables-save.js';
import { dnatChainRules, entryRules, iptablesAddScript, iptablesCheck, iptablesDelScript, iptablesGCScript, markText } from '../../pkg/firewall/portmap-iptables.js';
import { nftAddStatements, nftDelStatements, nftGCStatements } from '../../pkg/firewall/portmap-nftables.js';
import { containerAddresses, loadPortmapConf, loadPortmapDelConf, specsFor } from '../../plugins/portmap/conf.js';
import { CniError } from '../../pkg/types/error.js';

const REF_SAVE = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:CNI-DN-b5380f05ebb61736bc431 - [0:0]
:CNI-HOSTPORT-DNAT - [0:0]
:CNI-HOSTPORT-MASQ - [0:0]
:CNI-HOSTPORT-SETMARK - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
-A CNI-DN-b5380f05ebb61736bc431 -s 10.230.9.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-b5380f05ebb61736bc431 -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-b5380f05ebb61736bc431 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.230.9.2:80
-A CNI-DN-b5380f05ebb61736bc431 -s 10.230.9.0/24 -d 10.230.9.1/32 -p udp -m udp --dport 8081 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-b5380f05ebb61736bc431 -s 127.0.0.1/32 -d 10.230.9.1/32 -p udp -m udp --dport 8081 -j CNI-HOSTPORT-SETMARK
-A CNI-DN-b5380f05ebb61736bc431 -d 10.230.9.1/32 -p udp -m udp --dport 8081 -j DNAT --to-destination 10.230.9.2:81
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"pmnet\\" id: \\"abc123\\"" -m multiport --dports 8080 -j CNI-DN-b5380f05ebb61736bc431
-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \\"pmnet\\" id: \\"abc123\\"" -m multiport --dports 8081 -j CNI-DN-b5380f05ebb61736bc431
-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE
-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000
COMMIT
`;

function conf(extra: object = {}, mappings: object[] = [
  { hostPort: 8080, containerPort: 80, protocol: 'tcp' },
  { hostPort: 8081, containerPort: 81, protocol: 'udp', hostIP: '10.230.9.1' },
]) {
  return Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'pmnet', type: 'portmap', runtimeConfig: { portMappings: mappings }, ...extra }));
}

const prev = {
  cniVersion: '1.1.0',
  interfaces: [{ name: 'eth0', sandbox: '/run/netns/x' }],
  ips: [
    { address: '10.230.9.2/24', interface: 0 },
    { address: 'fd00:230::2/64', interface: 0 },
  ],
};

function spec(extra: object = {}, family: 4 | 6 = 4): PortmapSpec {
  return specsFor(loadPortmapConf(conf(extra)), prev, 'eth0', 'abc123').find((s) => s.family === family)!;
}

const refLines = (prefix: string) => REF_SAVE.split('\n').filter((l) => l.startsWith(prefix));

describe('portmap iptables rules', () => {
  it('names the chain as the reference: CNI-DN- + 21 hex of sha512(net+id)', () => {
    assert.equal(dnatChainName('pmnet', 'abc123'), 'CNI-DN-b5380f05ebb61736bc431');
  });

  it('writes the same CNI-DN and CNI-HOSTPORT-DNAT rules, in the same order, as Debian portmap', () => {
    assert.deepEqual(dnatChainRules(spec()), refLines('-A CNI-DN-'));
    assert.deepEqual(entryRules(spec()), refLines('-A CNI-HOSTPORT-DNAT'));
  });

  it('CHECK accepts the reference rules and spots a missing one', () => {
    assert.equal(iptablesCheck(spec(), parseSave(REF_SAVE)), undefined);
    const broken = REF_SAVE.replace(/^-A CNI-DN-\S+ -p tcp .*DNAT.*\n/m, '');
    assert.match(iptablesCheck(spec(), parseSave(broken))!, /DNAT --to-destination 10.230.9.2:80/);
  });

  it('ADD on an empty table declares the shared chains and inserts the POSTROUTING jump at the top', () => {
    const script = iptablesAddScript(spec(), parseSave(''), parseSave(''));
    const lines = script.trim().split('\n');
    assert.equal(lines[0], '*nat');
    for (const c of ['CNI-HOSTPORT-DNAT', 'CNI-HOSTPORT-SETMARK', 'CNI-HOSTPORT-MASQ', 'CNI-DN-b5380f05ebb61736bc431']) assert.ok(lines.includes(`:${c} - [0:0]`), c);
    assert.ok(lines.includes('-I POSTROUTING 1 -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ'));
    assert.ok(lines.includes('-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT'));
    assert.ok(lines.includes('*filter'), 'the localnet guard goes in the same run');
    assert.ok(lines.some((l) => l.startsWith('-A CNI-HOSTPORT-LOCALNET -d 127.0.0.0/8 ! -i lo')));
    assert.equal(lines.filter((l) => l === 'COMMIT').length, 2);
  });

  it('ADD over existing shared chains does not re-declare (which would flush) them nor duplicate their rules', () => {
    const lines = iptablesAddScript(spec(), parseSave(REF_SAVE)).trim().split('\n');
    assert.ok(!lines.some((l) => /^:CNI-HOSTPORT-/.test(l)));
    assert.ok(!lines.some((l) => /PREROUTING|POSTROUTING|-A OUTPUT|SETMARK -m comment|MASQ -m mark/.test(l) && !l.includes('CNI-DN-')));
    // a stale entry rule of the same attachment is removed before the new ones are added
    assert.equal(lines.filter((l) => l.startsWith('-D CNI-HOSTPORT-DNAT')).length, 2);
  });

  it('DEL removes the entry rules and the chain, and nothing else', () => {
    const script = iptablesDelScript(['CNI-DN-b5380f05ebb61736bc431', 'CNI-SN-b5380f05ebb61736bc431'], parseSave(REF_SAVE))!;
    assert.deepEqual(script.trim().split('\n'), [
      '*nat',
      ...refLines('-A CNI-HOSTPORT-DNAT').map((l) => l.replace('-A', '-D')),
      '-F CNI-DN-b5380f05ebb61736bc431',
      '-X CNI-DN-b5380f05ebb61736bc431',
      'COMMIT',
    ]);
    assert.equal(iptablesDelScript(['CNI-DN-other'], parseSave(REF_SAVE)), undefined);
  });

  it('GC removes attachments of this network that are not valid, and keeps valid ones and other networks', () => {
    assert.match(iptablesGCScript('pmnet', new Set(), parseSave(REF_SAVE))!, /-X CNI-DN-b5380f05ebb61736bc431/);
    assert.equal(iptablesGCScript('pmnet', new Set(['abc123']), parseSave(REF_SAVE)), undefined);
    assert.equal(iptablesGCScript('othernet', new Set(), parseSave(REF_SAVE)), undefined);
  });

  it('IPv6: brackets in DNAT, /128 host, no localhost rule', () => {
    const rules = dnatChainRules(spec({}, 6));
    assert.deepEqual(rules, [
      '-A CNI-DN-b5380f05ebb61736bc431 -s fd00:230::/64 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK',
      '-A CNI-DN-b5380f05ebb61736bc431 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00:230::2]:80',
    ]);
  });

  it('masqAll, snat=false, markMasqBit and externalSetMarkChain', () => {
    assert.ok(dnatChainRules(spec({ masqAll: true })).every((l) => !l.includes(' -s ')));
    assert.ok(dnatChainRules(spec({ snat: false })).every((l) => l.includes('DNAT')));
    assert.equal(markText(0), '0x1/0x1');
    assert.match(iptablesAddScript(spec({ markMasqBit: 5 }), parseSave('')), /--set-xmark 0x20\/0x20/);
    const ext = iptablesAddScript(spec({ externalSetMarkChain: 'KUBE-MARK-MASQ' }), parseSave(''));
    assert.match(ext, /-j KUBE-MARK-MASQ/);
    assert.doesNotMatch(ext, /CNI-HOSTPORT-SETMARK|CNI-HOSTPORT-MASQ/);
  });

  it('splits more than 15 ports of a protocol across entry rules', () => {
    const many = Array.from({ length: 17 }, (_, i) => ({ hostPort: 9000 + i, containerPort: 80 + i, protocol: 'tcp' }));
    const s = specsFor(loadPortmapConf(conf({}, many)), prev, 'eth0', 'abc123')[0];
    const e = entryRules(s);
    assert.equal(e.length, 2);
    assert.match(e[1], /--dports 9015,9016 /);
  });
});

describe('portmap nftables rules', () => {
  it('per-attachment rules carry hostIP, conditions and a comment with the network', () => {
    const st = nftAddStatements(spec({ backend: 'nftables', conditionsV4: ['meta', 'iifname', '"eth1"'] }));
    const host = st.filter((l) => l.includes(' hostports ') && l.startsWith('add rule'));
    assert.deepEqual(host, [
      'add rule ip cni_hostport hostports meta iifname "eth1" tcp dport 8080 dnat to 10.230.9.2:80 comment "abc123 pmnet"',
      'add rule ip cni_hostport hostports meta iifname "eth1" ip daddr 10.230.9.1 udp dport 8081 dnat to 10.230.9.2:81 comment "abc123 pmnet"',
    ]);
    // the shared jump is static: only local destinations, no attachment data
    assert.ok(st.includes('add rule ip cni_hostport prerouting fib daddr type local jump hostports'));
    assert.ok(!st.some((l) => /prerouting|output/.test(l) && l.includes('iifname "eth1"')));
  });

  it('DEL and GC select rules by comment', () => {
    const rules = [
      { family: 'ip', table: 'cni_hostport', chain: 'hostports', handle: 4, comment: nftComment('pmnet', 'abc123') },
      { family: 'ip', table: 'cni_hostport', chain: 'hostports', handle: 5, comment: nftComment('other', 'abc123') },
      { family: 'ip', table: 'cni_hostport', chain: 'masquerading', handle: 6, comment: nftComment('pmnet', 'keep') },
      { family: 'ip', table: 'cni_hostport', chain: 'prerouting', handle: 7 },
    ];
    assert.deepEqual(nftDelStatements(rules, 'pmnet', 'abc123'), ['delete rule ip cni_hostport hostports handle 4']);
    assert.deepEqual(nftGCStatements(rules, 'pmnet', new Set(['keep'])), ['delete rule ip cni_hostport hostports handle 4']);
  });

  it('a long network name is hashed into the comment', () => {
    const c = nftComment('n'.repeat(120), 'a'.repeat(64));
    assert.ok(c.length <= 127);
    assert.match(c, /^a{64} #[0-9a-f]{16}$/);
  });
});

describe('portmap configuration', () => {
  const code = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      assert.ok(e instanceof CniError);
      return { code: e.code, msg: e.message };
    }
    assert.fail('expected an error');
  };

  it('folds containerd-style key case', () => {
    const c = loadPortmapConf(conf({}, [{ HostPort: 80, ContainerPort: 8080, Protocol: 'TCP', HostIP: '' }]));
    assert.deepEqual(c.mappings, [{ hostPort: 80, containerPort: 8080, protocol: 'tcp', hostIP: undefined }]);
  });

  it('refuses bad ports, protocols, addresses and option mixes with code 7 and a path', () => {
    assert.deepEqual(code(() => loadPortmapConf(conf({}, [{ hostPort: 0, containerPort: 1 }]))), { code: 7, msg: 'runtimeConfig.portMappings[0].hostPort: invalid host port number: 0' });
    assert.equal(code(() => loadPortmapConf(conf({}, [{ hostPort: 1, containerPort: 70000 }]))).code, 7);
    assert.match(code(() => loadPortmapConf(conf({}, [{ hostPort: 1, containerPort: 1, protocol: 'icmp' }]))).msg, /portMappings\[0\]\.protocol/);
    assert.equal(code(() => loadPortmapConf(conf({ markMasqBit: 32 }))).code, 7);
    assert.equal(code(() => loadPortmapConf(conf({ markMasqBit: 3, externalSetMarkChain: 'X' }))).code, 7);
    assert.equal(code(() => loadPortmapConf(conf({ backend: 'nftables', externalSetMarkChain: 'X' }))).code, 7);
    assert.equal(code(() => loadPortmapConf(conf({ backend: 'iptables', conditionsV4: ['meta', 'mark', '1'] }))).code, 7);
    assert.equal(code(() => loadPortmapConf(conf({ backend: 'bogus' }))).code, 7);
  });

  it('skips a mapping whose hostIP is not an address, as the Go plugin maps nothing for it', () => {
    const c = loadPortmapConf(conf({}, [{ hostPort: 1, containerPort: 1, hostIP: 'x' }, { hostPort: 2, containerPort: 2 }]));
    assert.deepEqual(c.mappings.map((m) => m.hostPort), [2]);
  });

  it('DEL reads only the network, whether there are mappings and a valid backend', () => {
    const d = loadPortmapDelConf(conf({ backend: 'bogus', markMasqBit: 99 }, [{ hostPort: 0, containerPort: 1, protocol: 'icmp', hostIP: 'x' }]));
    assert.deepEqual({ hasMappings: d.hasMappings, backend: d.backend }, { hasMappings: true, backend: undefined });
    assert.equal(loadPortmapDelConf(conf({ backend: 'nftables', externalSetMarkChain: 'X' })).backend, 'nftables');
  });

  it('infers the backend from backend-specific options', () => {
    assert.equal(loadPortmapConf(conf({ conditionsV4: ['-s', '1.2.3.4'] })).backend, 'iptables');
    assert.equal(loadPortmapConf(conf({ conditionsV4: ['ip', 'saddr', '1.2.3.4'] })).backend, 'nftables');
    assert.equal(loadPortmapConf(conf()).backend, undefined);
  });

  it('picks the container addresses of CNI_IFNAME with a sandbox, one per family', () => {
    const r = {
      cniVersion: '1.1.0',
      interfaces: [{ name: 'br0' }, { name: 'eth0', sandbox: '/x' }],
      ips: [
        { address: '10.1.0.1/24', interface: 0 },
        { address: '10.1.0.5/24', interface: 1 },
        { address: '10.1.0.6/24', interface: 1 },
        { address: 'fd00::5/64' },
      ],
    };
    assert.deepEqual([...containerAddresses(r, 'eth0')], [[4, '10.1.0.5/24'], [6, 'fd00::5/64']]);
  });

  it('skips mappings whose hostIP is of the other family; 0.0.0.0 means any address', () => {
    const c = loadPortmapConf(conf({}, [{ hostPort: 1, containerPort: 1, hostIP: '0.0.0.0' }, { hostPort: 2, containerPort: 2, hostIP: 'fd00::1' }]));
    const specs = specsFor(c, prev, 'eth0', 'x');
    assert.deepEqual(
      specs.map((s) => [s.family, s.mappings.map((m) => [m.hostPort, m.hostIP?.family])]),
      [
        [4, [[1, undefined]]],
        [6, [[2, 6]]],
      ],
    );
  });
});
