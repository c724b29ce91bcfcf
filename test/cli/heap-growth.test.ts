/**
 * The CLI bounds V8's heap growth for its long-running commands (src/cli/heap-growth.ts). V8
 * ignores a flag it does not know, so a Node upgrade that dropped the flag would silently bring
 * back the 4× growth: this test would say so. An operator's own `node --heap-growing-percent=N`
 * is left alone, and one-shot commands keep V8's default.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
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

/**
 * A child process with a heap made large and a full collection forced (`--expose-gc`), as a real
 * run's would come: it says when the observer tightened the step. Real GC events, no fake.
 */
function tighteningOf(liveMegabytes: number): string {
  const module = fileURLToPath(new URL('../../src/cli/heap-growth.ts', import.meta.url));
  const script = `
    const { tightenOnceLarge } = await import(${JSON.stringify(module)});
    let tightened = false;
    tightenOnceLarge(() => { tightened = true; });
    const live = [];
    for (let i = 0; i < ${liveMegabytes}; i++) live.push(new Array(128 * 1024).fill(i));
    globalThis.gc();
    for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
    globalThis.gc();
    for (let turn = 0; turn < 3; turn++) await new Promise((resolve) => setImmediate(resolve));
    console.log(tightened ? 'tightened' : 'not tightened', live.length);
  `;
  return execFileSync(
    process.execPath,
    ['--import', 'tsx', '--expose-gc', '--input-type=module', '-e', script],
    { encoding: 'utf8' },
  ).trim();
}

describe('the step is a tenth once the heap is large', () => {
  it('tightens after a full collection that leaves more than 96 MB in use, not before', () => {
    // 128 Ki elements of a small integer: ~1 MiB each.
    expect(tighteningOf(128)).toBe('tightened 128');
    expect(tighteningOf(16)).toBe('not tightened 16');
  });
});
