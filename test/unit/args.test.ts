// pkg/types/args: CNI_ARGS as the reference's types.LoadArgs reads it (checked
// against Debian's host-local): `K=V;K=V`, exactly one `=` per pair, unknown keys
// rejected unless IgnoreUnknown is true, every unknown pair named.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadArgs, parseCniArgs } from '../../pkg/types/args.js';
import { CniError, ErrCode } from '../../pkg/types/error.js';

function fails(raw: string, known: string[], msg: string): void {
  assert.throws(
    () => loadArgs(raw, known),
    (e: unknown) => e instanceof CniError && e.code === ErrCode.InvalidEnvironmentVariables && e.message === msg,
    `${raw} → ${msg}`,
  );
}

describe('CNI_ARGS', () => {
  it('empty means no arguments', () => {
    assert.deepEqual(parseCniArgs(''), []);
    assert.deepEqual(loadArgs('', ['IP']), {});
  });

  it('reads known keys, in order, case-sensitively', () => {
    assert.deepEqual(parseCniArgs('IP=10.250.0.9;MAC=0a:58:0a:fa:00:09'), [
      ['IP', '10.250.0.9'],
      ['MAC', '0a:58:0a:fa:00:09'],
    ]);
    assert.deepEqual(loadArgs('IP=10.250.0.9;MAC=0a:58:0a:fa:00:09', ['IP', 'MAC']), { IP: '10.250.0.9', MAC: '0a:58:0a:fa:00:09' });
    assert.deepEqual(loadArgs('IP=10.250.0.9/24', ['IP']), { IP: '10.250.0.9/24' });
    assert.deepEqual(loadArgs('IP=', ['IP']), { IP: '' }, 'an empty value is a value');
    assert.deepEqual(loadArgs('IP=a;IP=b', ['IP']), { IP: 'b' }, 'the last one wins');
    fails('ip=10.250.0.9', ['IP'], 'CNI_ARGS: unknown args ["ip=10.250.0.9"]');
  });

  it('a pair without exactly one "=" is an error naming it (a trailing ";" too)', () => {
    for (const [raw, pair] of [
      ['FOO', 'FOO'],
      ['IP=1=2', 'IP=1=2'],
      ['IP=10.250.0.9;', ''],
      [';IP=10.250.0.9', ''],
      ['IgnoreUnknown=1;FOO', 'FOO'],
    ]) {
      fails(raw, ['IP'], `CNI_ARGS: invalid pair "${pair}"`);
    }
  });

  it('unknown keys fail, all of them named, unless IgnoreUnknown is 1 or true in any case', () => {
    fails('FOO=1;BAR=2', ['IP'], 'CNI_ARGS: unknown args ["FOO=1" "BAR=2"]');
    fails('FOO=1;IP=10.250.0.9', ['IP'], 'CNI_ARGS: unknown args ["FOO=1"]');
    for (const v of ['1', 'true', 'TRUE', 'True']) {
      assert.deepEqual(loadArgs(`IgnoreUnknown=${v};K8S_POD_NAMESPACE=ns;K8S_POD_NAME=p;K8S_POD_INFRA_CONTAINER_ID=c;IP=10.250.0.9`, ['IP']), { IP: '10.250.0.9' }, v);
      assert.deepEqual(loadArgs(`FOO=1;IgnoreUnknown=${v}`, ['IP']), {}, 'IgnoreUnknown may come last');
    }
    for (const v of ['0', 'false', 'FALSE']) fails(`IgnoreUnknown=${v};FOO=1`, ['IP'], 'CNI_ARGS: unknown args ["FOO=1"]');
  });

  it('IgnoreUnknown is itself matched case-sensitively and must be a boolean', () => {
    fails('ignoreunknown=1;FOO=1', ['IP'], 'CNI_ARGS: unknown args ["ignoreunknown=1" "FOO=1"]');
    fails('IgnoreUnknown=yes', ['IP'], 'CNI_ARGS: error parsing value of pair "IgnoreUnknown=yes": boolean unmarshal error: invalid input yes');
    fails('IgnoreUnknown=', ['IP'], 'CNI_ARGS: error parsing value of pair "IgnoreUnknown=": boolean unmarshal error: invalid input ');
    assert.deepEqual(loadArgs('IgnoreUnknown=1', ['IP']), {}, 'never returned as a value');
  });
});
