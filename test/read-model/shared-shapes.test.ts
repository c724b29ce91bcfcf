/**
 * The read model's long-lived objects share hidden classes. Built with an object spread
 * (`{ ...common, spec }`, `{ ...commit, position }`), each manifest, indexed commit and document
 * summary got a hidden class of its own from V8: 20,990 of them over 100,000 records and 10,000
 * manifests, ~5.6 MB of `serve`'s 104.6 MB live heap, and every property read of them
 * megamorphic. Asked of V8 itself (`%HaveSameMap`) in a child process with natives syntax.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const PROBE = fileURLToPath(new URL('../helpers/shape-probe.ts', import.meta.url));

describe('hidden classes of the read model', () => {
  it(
    'two manifests, two indexed commits and two summaries of one file each share one',
    { timeout: 60_000 },
    () => {
      const run = spawnSync(process.execPath, ['--allow-natives-syntax', '--import', 'tsx', PROBE], {
        encoding: 'utf8',
      });
      expect(run.status, run.stderr).toBe(0);
      expect(JSON.parse(run.stdout)).toEqual({ manifests: true, commits: true, summaries: true });
    },
  );
});
