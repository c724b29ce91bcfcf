/**
 * How far V8 lets the heap grow past what the last full collection kept alive. On a machine with
 * gigabytes of memory V8 lets it grow up to 4× before collecting again: a replica's first run over
 * 100,000 records keeps ~125 MB alive and peaked at 376–413 MB RSS, `serve` at ~670 MB, mostly
 * garbage waiting for a collection (docs/decisions.md, "The CLI grows V8's heap by a fifth at a
 * time"). Growing by a fifth at a time, the same runs peak at 280–292 MB and ~275 MB, in the same
 * time within the benches' noise.
 */
import { setFlagsFromString } from 'node:v8';

/** The heap may grow to 1.2× what the last full collection kept alive before the next one. */
export const HEAP_GROWING_PERCENT = 20;

const FLAG = '--heap-growing-percent';

/** Whether node was started with its own growth (`node --heap-growing-percent=N …`). */
export function heapGrowthGiven(execArgv: readonly string[]): boolean {
  return execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg));
}

/**
 * Set the growth for this process, unless node was started with one (the operator's wins). V8
 * reads the flag at each full collection, so setting it at start-up covers the whole run.
 */
export function boundHeapGrowth(execArgv: readonly string[] = process.execArgv): void {
  if (!heapGrowthGiven(execArgv)) setFlagsFromString(`${FLAG}=${HEAP_GROWING_PERCENT}`);
}
