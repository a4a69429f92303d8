// The firewall plugin's pure parts: the iptables-restore scripts built from an
// iptables-save dump (order, idempotence, -N never :CHAIN, deletes only what is
// there), CHECK's messages, and the configuration (defaults, code 7, DEL's
// lenient reading).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { deleteRulesScript, forwardAddScript, forwardCheck, ipRules, isolationDelScript, missingRules, type ForwardSpec } from '../../pkg/firewall/forward-iptables.js';
import { parseSave } from '../../pkg/firewall/iptables-save.js';
import { parseIP } from '../../pkg/ipaddr/index.js';
import { CniError } from '../../pkg/types/error.js';
import { loadFirewallConf, loadFirewallDelConf } from '../../plugins/firewall/conf.js';

const ip = (s: string) => parseIP(s)!;
const EMPTY = parseSave('*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n');
const spec = (over: Partial<ForwardSpec> = {}): ForwardSpec => ({ ips: [ip('10.201.9.2')], adminChain: 'CNI-ADMIN', ...over });

/** The table after a script ran, as iptables-save would print it (enough of iptables' semantics for these scripts). */
function apply(table: ReturnType<typeof parseSave>, script: string): ReturnType<typeof parseSave> {
  const chains = new Set(table.chains);
  let rules = [...table.rules];
  for (const line of script.split('\n')) {
    const m = /^-(N|I|A|D) (\S+)(?: 1)?(.*)$/.exec(line);
    if (!m) continue;
    const [, op, chain, rest] = m;
    const text = `-A ${chain}${rest}`;
    if (op === 'N') {
      assert.ok(!chains.has(chain), `-N ${chain} of an existing chain`);
      chains.add(chain);
    } else if (op === 'A') rules.push({ chain, text });
    else if (op === 'I') {
      const at = rules.findIndex((r) => r.chain === chain);
      rules.splice(at < 0 ? rules.length : at, 0, { chain, text });
    } else {
      const at = rules.findIndex((r) => r.text === text);
      assert.ok(at >= 0, `-D of a missing rule: ${line}`);
      rules = rules.filter((_, i) => i !== at);
    }
  }
  return { chains, rules };
}

describe('firewall iptables scripts', () => {
  it('ADD on an empty table: chains with -N, jumps inserted first, per-IP rules appended', () => {
    const script = forwardAddScript(EMPTY, spec())!;
    assert.equal(
      script,
      [
        '*filter',
        '-N CNI-FORWARD',
        '-N CNI-ADMIN',
        '-I FORWARD 1 -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD',
        '-I CNI-FORWARD 1 -m comment --comment "CNI firewall plugin admin overrides" -j CNI-ADMIN',
        '-A CNI-FORWARD -d 10.201.9.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
        '-A CNI-FORWARD -s 10.201.9.2/32 -j ACCEPT',
        'COMMIT',
        '',
      ].join('\n'),
    );
    assert.ok(!/^:/m.test(script), 'never a :CHAIN declaration (with --noflush it flushes an existing chain)');
  });

  it('a second ADD of the same spec writes nothing; another IP appends only its rules', () => {
    const after = apply(EMPTY, forwardAddScript(EMPTY, spec())!);
    assert.equal(forwardAddScript(after, spec()), undefined);
    assert.deepEqual(missingRules(after, spec()), []);
    const other = spec({ ips: [ip('10.201.9.3')] });
    assert.deepEqual(forwardAddScript(after, other)!.split('\n').slice(1, -2), ipRules(ip('10.201.9.3')));
  });

  it('IPv6 addresses are written as /128 in canonical form', () => {
    assert.deepEqual(ipRules(ip('fd00:0201:0:0::2')), [
      '-A CNI-FORWARD -d fd00:201::2/128 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT',
      '-A CNI-FORWARD -s fd00:201::2/128 -j ACCEPT',
    ]);
  });

  it('ingressPolicy isolated: STAGE-1 drop above the bridge rule, RETURNs last, the FORWARD jump above CNI-FORWARD\'s', () => {
    const s = spec({ isolation: { bridge: 'cfwbr9', policy: 'isolated' } });
    const t = apply(EMPTY, forwardAddScript(EMPTY, s)!);
    const chain = (c: string) => t.rules.filter((r) => r.chain === c).map((r) => r.text);
    const shared = '"CNI firewall plugin rules (ingressPolicy: same-bridge|isolated)"';
    const own = '"CNI firewall plugin rules (ingressPolicy: isolated)"';
    assert.deepEqual(chain('FORWARD'), [
      `-A FORWARD -m comment --comment ${shared} -j CNI-ISOLATION-STAGE-1`,
      '-A FORWARD -m comment --comment "CNI firewall plugin rules" -j CNI-FORWARD',
    ]);
    assert.deepEqual(chain('CNI-ISOLATION-STAGE-1'), [
      `-A CNI-ISOLATION-STAGE-1 -i cfwbr9 -o cfwbr9 -m comment --comment ${own} -j DROP`,
      `-A CNI-ISOLATION-STAGE-1 -i cfwbr9 ! -o cfwbr9 -m comment --comment ${own} -j CNI-ISOLATION-STAGE-2`,
      `-A CNI-ISOLATION-STAGE-1 -m comment --comment ${shared} -j RETURN`,
    ]);
    assert.deepEqual(chain('CNI-ISOLATION-STAGE-2'), [
      `-A CNI-ISOLATION-STAGE-2 -o cfwbr9 -m comment --comment ${shared} -j DROP`,
      `-A CNI-ISOLATION-STAGE-2 -m comment --comment ${shared} -j RETURN`,
    ]);
    // a second bridge's rules go above the first's, the RETURNs stay last
    const t2 = apply(t, forwardAddScript(t, spec({ isolation: { bridge: 'cfwbr8', policy: 'same-bridge' } }))!);
    assert.match(t2.rules.filter((r) => r.chain === 'CNI-ISOLATION-STAGE-2').at(-1)!.text, /-j RETURN$/);
    assert.match(t2.rules.filter((r) => r.chain === 'CNI-ISOLATION-STAGE-2')[0].text, /-o cfwbr8 /);
    assert.equal(forwardCheck(t, s), undefined);
  });

  it('DEL deletes only rules that are there, and nothing shared', () => {
    const t = apply(EMPTY, forwardAddScript(EMPTY, spec({ ips: [ip('10.201.9.2'), ip('10.201.9.3')] }))!);
    const script = deleteRulesScript(t, [...ipRules(ip('10.201.9.2')), ...ipRules(ip('10.201.9.9'))])!;
    assert.deepEqual(script.split('\n').slice(1, -2), ipRules(ip('10.201.9.2')).map((r) => `-D${r.slice(2)}`));
    const left = apply(t, script);
    assert.equal(deleteRulesScript(left, ipRules(ip('10.201.9.2'))), undefined, 'a second DEL writes nothing');
    assert.ok(left.rules.some((r) => r.text.includes('-j CNI-FORWARD')) && left.chains.has('CNI-ADMIN'));
  });

  it('GC of a gone bridge deletes its own isolation rules only (not cfwbr10\'s for cfwbr1, not the RETURNs)', () => {
    let t = EMPTY;
    for (const [bridge, policy] of [['cfwbr1', 'isolated'], ['cfwbr10', 'same-bridge']] as const) {
      t = apply(t, forwardAddScript(t, spec({ isolation: { bridge, policy } }))!);
    }
    const left = apply(t, isolationDelScript(t, ['cfwbr1'])!);
    assert.deepEqual(left.rules.filter((r) => / cfwbr1 /.test(r.text)), []);
    assert.equal(left.rules.filter((r) => / cfwbr10 /.test(r.text)).length, 2);
    assert.equal(left.rules.filter((r) => r.text.endsWith('-j RETURN')).length, 2);
    assert.equal(isolationDelScript(left, ['cfwbr1', 'cfwbr5']), undefined);
  });

  it('CHECK names the first missing rule as Go prints an argument list', () => {
    const t = apply(EMPTY, forwardAddScript(EMPTY, spec())!);
    assert.equal(forwardCheck(EMPTY, spec()), 'expected FORWARD rule [-m comment --comment CNI firewall plugin rules -j CNI-FORWARD] not found');
    assert.equal(forwardCheck(t, spec({ adminChain: 'OTHER' })), 'expected CNI-FORWARD rule [-m comment --comment CNI firewall plugin admin overrides -j OTHER] not found');
    assert.equal(forwardCheck(t, spec({ ips: [ip('10.201.9.7')] })), 'expected rule [-d 10.201.9.7/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT] not found');
  });

  it('CHECK accepts the isolation rules Debian\'s 1.1.1 wrote (the policy comment on every rule)', () => {
    const s = spec({ isolation: { bridge: 'cfwbr9', policy: 'same-bridge' } });
    const v191 = apply(EMPTY, forwardAddScript(EMPTY, s)!);
    const v111 = { chains: v191.chains, rules: v191.rules.map((r) => ({ ...r, text: r.text.replace('same-bridge|isolated', 'same-bridge') })) };
    assert.equal(forwardCheck(v111, s), undefined);
    assert.match(forwardCheck({ chains: v111.chains, rules: v111.rules.filter((r) => !r.text.includes('-j RETURN')) }, s)!, /RETURN/);
  });
});

describe('firewall configuration', () => {
  const load = (c: object) => loadFirewallConf(Buffer.from(JSON.stringify({ cniVersion: '1.0.0', name: 'n', type: 'firewall', ...c })));
  const code7 = (c: object, msg: RegExp) =>
    assert.throws(
      () => load(c),
      (e: unknown) => e instanceof CniError && e.code === 7 && msg.test(e.message),
    );

  it('defaults: auto backend, CNI-ADMIN, trusted, open, /run/cni/firewall', () => {
    const c = load({});
    assert.deepEqual([c.backend, c.adminChain, c.zone, c.isolation, c.dataDir], [undefined, 'CNI-ADMIN', 'trusted', undefined, '/run/cni/firewall']);
    assert.equal(load({ backend: 'anything' }).backend, undefined, 'any other backend string is auto, as the reference');
    assert.equal(load({ BACKEND: 'firewalld', IngressPolicy: 'isolated' }).backend, 'firewalld', 'keys in any case, as Go');
    assert.equal(load({ ingressPolicy: 'isolated' }).isolation, 'isolated');
    assert.equal(load({ iptablesAdminChainName: null, firewalldZone: '' }).zone, 'trusted');
  });

  it('code 7 naming the key', () => {
    code7({ ingressPolicy: 'closed' }, /^ingressPolicy: "closed" must be one of "", "open", "same-bridge", "isolated"$/);
    code7({ iptablesAdminChainName: '-X' }, /^iptablesAdminChainName: /);
    code7({ iptablesAdminChainName: 'DROP' }, /^iptablesAdminChainName: /);
    code7({ iptablesAdminChainName: 'A'.repeat(29) }, /^iptablesAdminChainName: /);
    code7({ firewalldZone: 3 }, /^firewalldZone: 3 must be a string$/);
    assert.equal(load({ iptablesAdminChainName: 'A'.repeat(28) }).adminChain, 'A'.repeat(28));
  });

  it('DEL reads what it needs from anything that parses', () => {
    const d = loadFirewallDelConf(Buffer.from(JSON.stringify({
      name: 'n', backend: 7, ingressPolicy: 'nope', firewalldZone: null, dataDir: '/d',
      prevResult: { ip4: { ip: '10.1.0.2/24' }, ips: [{ address: 'fd00::2/64' }, { address: 'bad' }, null] },
    })));
    assert.deepEqual([d.network, d.backend, d.zone, d.dataDir], ['n', undefined, 'trusted', '/d']);
    assert.deepEqual(d.ips.map((i) => `${i.family}`), ['6', '4']);
  });
});
