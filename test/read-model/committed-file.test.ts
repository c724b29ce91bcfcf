/**
 * A file a manifest names (the allowed-signers file) is read the same way wherever it is read:
 * the gate's signature checks (read-gate-facts) and the check of reconciler commits
 * (read-ledger-range, through readCommittedFile) both take its path through objectPathOf, so a
 * `./` prefix finds the file for both and a `..` segment finds it for neither.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createGitReader, type LocalGitReader } from '../../src/git/index.js';
import { objectPathOf } from '../../src/read-model/object-path.js';
import { readCommittedFile } from '../../src/read-model/read-snapshot.js';
import { commitFiles, createTempRepo, type TempDir } from '../helpers/git-fixtures.js';

describe('objectPathOf', () => {
  it.each([
    ['.cavra/allowed_signers', '.cavra/allowed_signers'],
    ['./.cavra/allowed_signers', '.cavra/allowed_signers'],
    ['././reports/status.json', 'reports/status.json'],
    ['a/../.cavra/allowed_signers', null],
    ['a/./b', null],
    ['a//b', null],
    ['/etc/passwd', null],
    ['', null],
    ['a\nb', null],
  ])('%j → %j', (path, expected) => {
    expect(objectPathOf(path)).toBe(expected);
  });
});

describe('readCommittedFile', () => {
  let repo: TempDir;
  let reader: LocalGitReader;
  let commit: string;

  beforeAll(async () => {
    repo = await createTempRepo();
    reader = createGitReader(repo.dir);
    commit = await commitFiles(
      repo.dir,
      { '.cavra/allowed_signers': 'ops ssh-ed25519 AAAA\n', 'a/x': 'x\n' },
      'files',
    );
  });
  afterAll(async () => {
    await reader.close();
    await repo.cleanup();
  });

  it('reads what objectPathOf names, and nothing where it names no file', async () => {
    const text = async (path: string, maxBytes?: number) =>
      (await readCommittedFile(reader, commit, path, maxBytes))?.toString('utf8') ?? null;
    expect(await text('.cavra/allowed_signers')).toBe('ops ssh-ed25519 AAAA\n');
    expect(await text('./.cavra/allowed_signers')).toBe('ops ssh-ed25519 AAAA\n');
    expect(await text('a/../.cavra/allowed_signers')).toBeNull();
    expect(await text('.cavra/missing')).toBeNull();
    expect(await text('a')).toBeNull(); // a directory is not a file
    expect(await text('.cavra/allowed_signers', 4)).toBeNull(); // over maxBytes
  });
});
