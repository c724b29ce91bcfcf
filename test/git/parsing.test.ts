import { describe, expect, it } from 'vitest';
import { appendTrailer, isSafeTreePath, quoteFastImportPath } from '../../src/git/fast-import.js';
import { formatCommitTime, parseSignatureStatus } from '../../src/git/commit-format.js';
import { parseLsTree } from '../../src/git/reader.js';
import { redactRemote } from '../../src/git/redact-remote.js';
import { describeGitFailure } from '../../src/git/run-git.js';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

describe('commit metadata', () => {
  it.each([
    ['G', 'good'],
    ['B', 'bad'],
    ['U', 'untrusted'],
    ['X', 'expired'],
    ['Y', 'expired'],
    ['R', 'revoked'],
    ['E', 'error'],
    ['N', 'none'],
    ['?', 'error'],
  ])('maps %%G? %s to %s', (letter, status) => {
    expect(parseSignatureStatus(letter)).toBe(status);
  });

  it('formats commit times as UTC without milliseconds', () => {
    expect(formatCommitTime(1782640800)).toBe('2026-06-28T10:00:00Z');
  });
});

describe('parseLsTree', () => {
  it('keeps blobs with sizes and paths with spaces, skips submodules and symlinks', () => {
    const output = Buffer.from(
      `100644 blob ${A}     12\tmanifests/a b.yaml\x00` +
        `160000 commit ${B}       -\tvendor/sub\x00` +
        `120000 blob ${B}       9\tlink\x00` +
        `100755 blob ${B} 123456\tscripts/run.sh\x00`,
    );
    expect(parseLsTree(output)).toEqual([
      { path: 'manifests/a b.yaml', blob: A, size: 12 },
      { path: 'scripts/run.sh', blob: B, size: 123456 },
    ]);
    // Asked for, symbolic links are listed and marked (so they can be reported, never followed).
    expect(parseLsTree(output, { symlinks: true })).toEqual([
      { path: 'manifests/a b.yaml', blob: A, size: 12 },
      { path: 'link', blob: B, size: 9, symlink: true },
      { path: 'scripts/run.sh', blob: B, size: 123456 },
    ]);
  });

  it('reads the listing without --long the same way, with no sizes', () => {
    const output = Buffer.from(
      `100644 blob ${A}\tmanifests/a b.yaml\x00` +
        `160000 commit ${B}\tvendor/sub\x00` +
        `120000 blob ${B}\tlink\x00` +
        `100755 blob ${B}\tscripts/run.sh`,
    );
    expect(parseLsTree(output)).toEqual([
      { path: 'manifests/a b.yaml', blob: A },
      { path: 'scripts/run.sh', blob: B },
    ]);
    expect(parseLsTree(output, { symlinks: true })).toEqual([
      { path: 'manifests/a b.yaml', blob: A },
      { path: 'link', blob: B, symlink: true },
      { path: 'scripts/run.sh', blob: B },
    ]);
  });
});

describe('fast-import helpers', () => {
  it.each([
    ['msg', 'msg\n\nCavra-Gitops-Replica: r1\n'],
    ['subject\n\nbody text\n', 'subject\n\nbody text\n\nCavra-Gitops-Replica: r1\n'],
    ['subject\n\nRun-Id: 5', 'subject\n\nRun-Id: 5\nCavra-Gitops-Replica: r1\n'],
    ['subject\n\nCavra-Gitops-Replica: r1\n', 'subject\n\nCavra-Gitops-Replica: r1\n'],
  ])('appendTrailer(%j)', (message, expected) => {
    expect(appendTrailer(message, 'Cavra-Gitops-Replica', 'r1')).toBe(expected);
  });

  it.each([
    ['plain/path.json', 'plain/path.json'],
    ['with space', 'with space'],
    ['"quoted', '"\\"quoted"'],
    ['new\nline', '"new\\nline"'],
    ['back\\slash', '"back\\\\slash"'],
  ])('quotes %j', (path, expected) => {
    expect(quoteFastImportPath(path)).toBe(expected);
  });

  it.each([
    ['records/a.json', true],
    ['a', true],
    ['', false],
    ['/a', false],
    ['a/../b', false],
    ['a/.GIT/b', false],
  ])('isSafeTreePath(%j) is %s', (path, expected) => {
    expect(isSafeTreePath(path)).toBe(expected);
  });
});

describe('redaction of remotes', () => {
  it.each([
    ['https://bot:tok@git.example/ops.git?x=1', 'https://[redacted]@git.example/ops.git?[redacted]'],
    ['file:///srv/ops.git', 'file:///srv/ops.git'],
    ['git@git.example:org/ops.git', 'git.example:org/ops.git'],
    ['/srv/ops.git', '/srv/ops.git'],
  ])('redactRemote(%j)', (remote, expected) => {
    expect(redactRemote(remote)).toBe(expected);
  });

  it('scrubs the remote secrets from git stderr even outside a URL', () => {
    const remote = 'https://bot:SuperSecret1@git.example/ops.git';
    const text =
      "fatal: unable to access 'https://bot:SuperSecret1@git.example/ops.git/': auth SuperSecret1 failed\nhint: x";
    const described = describeGitFailure(text, remote);
    expect(described).not.toContain('SuperSecret1');
    expect(described).toContain('git.example/ops.git');
  });

  it('scrubs a password that is not valid percent-encoding (and the rest of the remote secrets)', () => {
    const remote = 'https://bot:Sup%zzSecret1@git.example/ops.git?token=QueryToken9';
    const text = 'fatal: auth Sup%zzSecret1 failed for bot (QueryToken9)';
    const described = describeGitFailure(text, remote);
    expect(described).not.toContain('Sup%zzSecret1');
    expect(described).not.toContain('QueryToken9');
  });
});
