/**
 * The CLI bounds V8's heap growth for its long-running commands (src/cli/heap-growth.ts). V8
 * ignores a flag it does not know, so a Node upgrade that dropped the flag would silently bring
 * back the 4× growth: this test would say so. An operator's own `node --heap-growing-percent=N`
 * is left alone, and one-shot commands keep V8's default.
 */
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { boundsHeapGrowth, heapGrowthGiven } from '../../src/cli/heap-growth.js';

describe('bounded heap growth', () => {
  it('names a flag this node knows', () => {
    const options = execFileSync(process.execPath, ['--v8-options'], { encoding: 'utf8' });
    expect(options).toMatch(/^\s*--heap-growing-percent\b/m);
  });

  it.each([
    [[], false],
    [['--heap-growing-percent=50'], true],
    [['--heap_growing_percent=0'], true],
    [['--heap-growing-percent'], true],
    [['--max-old-space-size=512', '--import', 'x.mjs'], false],
    [['--heap-growing-percentage=5'], false],
  ])('an operator flag in %j: %s', (execArgv, given) => {
    expect(heapGrowthGiven(execArgv)).toBe(given);
  });

  it.each([
    [['reconcile', '--once'], true],
    [['--debug', 'serve', '--repo', '.'], true],
    [['start'], true],
    [['verify', '--repo', 'reconcile'], false],
    [['validate'], false],
    [['plan', '--format', 'json'], false],
    [['--version'], false],
    [[], false],
  ])('the command of %j bounds the heap: %s', (argv, bounded) => {
    expect(boundsHeapGrowth(argv)).toBe(bounded);
  });
});
