/**
 * A first check of the ledger (no baseline, no merges) takes the tip's ledger files from the walk
 * it already made (replayLedger) instead of listing the tip again. The replay must be what
 * `ls-tree` lists, whatever a linear history did to the files: written, rewritten, deleted,
 * re-added, made executable, turned into a symlink or a submodule, outside the ledger too.
 */
import { execFileSync } from 'node:child_process';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createGitReader } from '../../src/git/index.js';
import { readLedgerFiles, readLedgerRange, replayLedger } from '../../src/read-model/read-ledger-range.js';
import { cleanupAllTempDirs, createTempRepo, git } from '../helpers/git-fixtures.js';

const PATHS = [
  'records/deliveries/2026-01/a.json',
  'records/runs/2026-01/b.json',
  'records/claims/c.json',
  'reports/report.json',
  'manifests/m.yaml',
];
/** Modes of an entry in the index: a file, an executable, a symlink, a submodule (a commit id). */
const MODES = ['100644', '100755', '120000', '160000'] as const;

type Op = { path: string; mode: (typeof MODES)[number]; content: string } | { path: string; delete: true };

const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({
    path: fc.constantFrom(...PATHS),
    mode: fc.constantFrom(...MODES),
    content: fc.constantFrom('x', 'y', 'z'),
  }),
  fc.record({ path: fc.constantFrom(...PATHS), delete: fc.constant(true as const) }),
);

afterAll(cleanupAllTempDirs);

describe('replayLedger', () => {
  it('equals the tip listing after any linear history', { timeout: 240_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(op, { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 }),
        async (commits) => {
          const repo = await createTempRepo();
          const reader = createGitReader(repo.dir);
          try {
            let tip = '';
            for (const [at, ops] of commits.entries()) {
              for (const change of ops) {
                if ('delete' in change) {
                  await git(repo.dir, ['update-index', '--force-remove', change.path]);
                  continue;
                }
                // A submodule entry names a commit; any id will do, git does not need the object.
                const id =
                  change.mode === '160000'
                    ? `${change.content.charCodeAt(0).toString(16)}${'0'.repeat(38)}`
                    : hashObject(repo.dir, change.content);
                await git(repo.dir, [
                  'update-index',
                  '--add',
                  '--cacheinfo',
                  `${change.mode},${id},${change.path}`,
                ]);
              }
              await git(repo.dir, ['commit', '-q', '--allow-empty', '-m', `commit ${at}`]);
              tip = await git(repo.dir, ['rev-parse', 'HEAD']);
            }
            const range = await readLedgerRange(reader, { tip, baseline: null });
            expect(range.compare).toBe('all');
            expect(sorted(range.tip)).toEqual(sorted(await readLedgerFiles(reader, tip)));
            expect(sorted(replayLedger(range.commits))).toEqual(sorted(range.tip));
          } finally {
            await reader.close();
          }
        },
      ),
      { numRuns: 12 },
    );
  });
});

function hashObject(dir: string, content: string): string {
  return execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: dir, input: content })
    .toString()
    .trim();
}

function sorted(files: ReadonlyMap<string, string>): [string, string][] {
  return [...files].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
