/**
 * How far V8 lets the heap grow past what the last full collection kept alive. On a machine with
 * gigabytes of memory V8 lets it grow up to 4× before collecting again: a replica's first run over
 * 100,000 records keeps ~125 MB alive and peaked at 376–413 MB RSS, `serve` at ~670 MB, mostly
 * garbage waiting for a collection (docs/decisions.md, "The CLI grows V8's heap by a fifth at a
 * time for …"). Growing by a fifth at a time, the same runs peak at 280–292 MB and ~275 MB, in the same
 * time within the benches' noise. Only the long-running commands are bounded (below).
 */
import { setFlagsFromString } from 'node:v8';

/** The heap may grow to 1.2× what the last full collection kept alive before the next one. */
const HEAP_GROWING_PERCENT = 20;

const FLAG = '--heap-growing-percent';

/** Whether node was started with its own growth (`node --heap-growing-percent=N …`). */
export function heapGrowthGiven(execArgv: readonly string[]): boolean {
  return execArgv.some((arg) => /^--heap[-_]growing[-_]percent(=|$)/.test(arg));
}

/**
 * The commands whose memory an operator sizes a container for: a replica's run, the API, the demo.
 * One-shot audits (`verify`, `validate`, `plan`) keep V8's default: there the bound only cost GC
 * time (`verify` of 10,000 commits ~13 % slower, its live set growing all run).
 */
const BOUNDED_COMMANDS = new Set(['reconcile', 'serve', 'start']);

/** Whether `argv` (without node and script) runs a command whose heap growth is bounded. */
export function boundsHeapGrowth(argv: readonly string[]): boolean {
  // No option of the program itself takes a value, so the first word is the command.
  const command = argv.find((arg) => !arg.startsWith('-'));
  return command !== undefined && BOUNDED_COMMANDS.has(command);
}

/**
 * Set the growth for this process when its command is bounded, unless node was started with one
 * (the operator's wins). V8 reads the flag at each full collection, so setting it before the
 * command runs covers the whole run.
 */
export function boundHeapGrowth(
  argv: readonly string[],
  execArgv: readonly string[] = process.execArgv,
): void {
  if (boundsHeapGrowth(argv) && !heapGrowthGiven(execArgv))
    setFlagsFromString(`${FLAG}=${HEAP_GROWING_PERCENT}`);
}
