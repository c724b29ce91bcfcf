/**
 * A first check of the ledger (no baseline, no merges) takes the tip's ledger files from the walk
 * it already made (replayLedger) instead of listing the tip again. The replay must be what
 * `ls-tree` lists, whatever a linear history did to the files: written, rewritten, deleted,
 * re-added, made executable, turned into a symlink or a submodule, outside the ledger too.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { createGitReader } from '../../src/git/index.js';
import { readLedgerFiles, readLedgerRange, replayLedger } from '../../src/read-model/read-ledger-range.js';
import { cleanupAllTempDirs, createTempRepo } from '../helpers/git-fixtures.js';
import { commitFileOps, fileOp } from '../helpers/linear-history.js';

const PATHS = [
  'records/deliveries/2026-01/a.json',
  'records/runs/2026-01/b.json',
  'records/claims/c.json',
  'reports/report.json',
  'manifests/m.yaml',
];

afterAll(cleanupAllTempDirs);

describe('replayLedger', () => {
  it('equals the tip listing after any linear history', { timeout: 240_000 }, async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(fileOp(PATHS), { minLength: 1, maxLength: 3 }), { minLength: 1, maxLength: 5 }),
        async (commits) => {
          const repo = await createTempRepo();
          const reader = createGitReader(repo.dir);
          try {
            let tip = '';
            for (const [at, ops] of commits.entries())
              tip = await commitFileOps(repo.dir, ops, PATHS, `commit ${at}`);
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

function sorted(files: ReadonlyMap<string, string>): [string, string][] {
  return [...files].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}
