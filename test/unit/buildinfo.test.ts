// The build stamp (scripts/buildinfo.ts) from a git checkout, a tagged one, a
// dirty one, and a source tree without git, each in a scratch directory.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildInfo } from '../../scripts/buildinfo.js';

const GIT_ENV = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@example.invalid', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@example.invalid' };

/** buildInfo with the overriding variables unset, then `env` applied. */
function stampOf(dir: string, env: Record<string, string> = {}) {
  const keys = ['CNI_TS_VERSION', 'CNI_TS_COMMIT', 'SOURCE_DATE_EPOCH'];
  const saved = Object.fromEntries(keys.map((k) => [k, process.env[k]]));
  for (const k of keys) delete process.env[k];
  Object.assign(process.env, env);
  try {
    return buildInfo(dir);
  } finally {
    for (const k of keys) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  }
}

describe('buildInfo', () => {
  let dir: string;
  const git = (...args: string[]) => execFileSync('git', ['-C', dir, ...args], { encoding: 'utf8', env: { ...process.env, ...GIT_ENV, GIT_COMMITTER_DATE: '1700000000 +0000', GIT_AUTHOR_DATE: '1700000000 +0000' } }).trim();
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'cnits-rl-stamp-'));
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ version: '0.3.0' }));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('without git: the package version, commit "unknown", epoch 0 (or SOURCE_DATE_EPOCH)', () => {
    assert.deepEqual(stampOf(dir), { version: 'v0.3.0', commit: 'unknown', epoch: 0 });
    assert.equal(stampOf(dir, { SOURCE_DATE_EPOCH: '1234' }).epoch, 1234);
    assert.deepEqual(stampOf(dir, { CNI_TS_VERSION: 'v9.9.9', CNI_TS_COMMIT: 'abc' }), { version: 'v9.9.9', commit: 'abc', epoch: 0 });
  });

  it('before the first tag: v<package version>-g<12 hex>, the full commit and the commit time', () => {
    git('init', '-q');
    git('add', 'package.json');
    git('commit', '-q', '-m', 'first');
    const head = git('rev-parse', 'HEAD');
    assert.deepEqual(stampOf(dir), { version: `v0.3.0-g${head.slice(0, 12)}`, commit: head, epoch: 1700000000 });
  });

  it('uncommitted changes to tracked files add -dirty; untracked files do not', () => {
    fs.writeFileSync(path.join(dir, 'untracked'), 'x');
    assert.doesNotMatch(stampOf(dir).version, /-dirty$/);
    fs.writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ version: '0.3.0', x: 1 }));
    assert.match(stampOf(dir).version, /^v0\.3\.0-g[0-9a-f]{12}-dirty$/);
    git('checkout', '-q', 'package.json');
  });

  it('on and after a v* tag: git describe', () => {
    git('tag', 'v1.2.3');
    assert.equal(stampOf(dir).version, 'v1.2.3');
    git('commit', '-q', '--allow-empty', '-m', 'second');
    assert.equal(stampOf(dir).version, `v1.2.3-1-g${git('rev-parse', 'HEAD').slice(0, 12)}`);
    git('tag', 'not-a-release');
    assert.match(stampOf(dir).version, /^v1\.2\.3-1-g/, 'tags not named v<digit>... are ignored');
  });
});
