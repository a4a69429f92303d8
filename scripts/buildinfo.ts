// What a build is stamped with: the suite version, the commit and the time of
// that commit. build.ts puts the first two into every program (the about text
// of --version / an empty CNI_COMMAND); scripts/release.ts names the tarball
// after the version and dates every entry at the commit time.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** The stamp of one build. */
export interface BuildInfo {
  /** `git describe --tags --dirty` style: v1.2.0, v1.2.0-3-g1a2b3c4d5e6f, or v<package.json version>-g<commit> before the first tag. */
  version: string;
  /** The full commit id, or "unknown" outside a git work tree. */
  commit: string;
  /** Seconds since the epoch: SOURCE_DATE_EPOCH when set, else the commit's time, else 0. */
  epoch: number;
}

function git(root: string, ...args: string[]): string | undefined {
  const r = spawnSync('git', ['-C', root, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
  return r.status === 0 ? r.stdout.trim() : undefined;
}

/**
 * Reads the stamp from git, falling back cleanly without it (a source tarball, no
 * git installed): the package.json version and commit "unknown".
 * CNI_TS_VERSION and CNI_TS_COMMIT override (a packager building from an export).
 */
export function buildInfo(root: string): BuildInfo {
  const pkgVersion = `v${JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).version}`;
  const inTree = git(root, 'rev-parse', '--is-inside-work-tree') === 'true';
  const commit = process.env.CNI_TS_COMMIT || (inTree && git(root, 'rev-parse', 'HEAD')) || 'unknown';
  let version = process.env.CNI_TS_VERSION;
  if (!version && inTree) {
    // the release tags are v<semver>, as upstream's; before the first one, the package version and the commit
    version = git(root, 'describe', '--tags', '--match', 'v[0-9]*', '--dirty', '--abbrev=12');
    if (!version) {
      const dirty = git(root, 'status', '--porcelain', '--untracked-files=no') ? '-dirty' : '';
      version = `${pkgVersion}-g${commit.slice(0, 12)}${dirty}`;
    }
  }
  const fromEnv = process.env.SOURCE_DATE_EPOCH;
  const epoch = fromEnv && /^\d+$/.test(fromEnv) ? Number(fromEnv) : Number((inTree && git(root, 'log', '-1', '--format=%ct')) || 0);
  return { version: version || pkgVersion, commit, epoch };
}
