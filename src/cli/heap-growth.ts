/**
 * How far V8 lets the heap grow past what the last full collection kept alive. On a machine with
 * gigabytes of memory V8 lets it grow up to 4× before collecting again: a replica's first run over
 * 100,000 records keeps ~125 MB alive and peaked at 376–413 MB RSS, `serve` at ~670 MB, mostly
 * garbage waiting for a collection (docs/decisions.md, "The CLI bounds V8's heap growth for …").
 * Growing by a fifth at a time, the same runs peak at 281–309 MB and 267–313 MB; by a tenth once
 * the heap is large, at 275–281 MB and 251–296 MB. Only the long-running commands are bounded
 * (below).
 */
import { PerformanceObserver, constants } from 'node:perf_hooks';
import { getHeapStatistics, setFlagsFromString } from 'node:v8';

/** The heap may grow to 1.2× what the last full collection kept alive before the next one… */
const HEAP_GROWING_PERCENT = 20;
/**
 * …and to 1.1× once a full collection leaves more than {@link LARGE_HEAP_BYTES} in use. A smaller
 * step from the start costs a small run ~5 % more CPU (more full collections of a heap that is
 * still growing fast); a large one is where the step's megabytes are.
 */
const LARGE_HEAP_GROWING_PERCENT = 10;
const LARGE_HEAP_BYTES = 96 * 1024 * 1024;

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
  if (!boundsHeapGrowth(argv) || heapGrowthGiven(execArgv)) return;
  setFlagsFromString(`${FLAG}=${HEAP_GROWING_PERCENT}`);
  tightenOnceLarge();
}

/**
 * After the first full collection that leaves the heap large, grow it by a tenth (and stop
 * watching: the observer sees every scavenge too). GC entries are delivered after the
 * collection, so the new step applies from the next full collection on. `onTightened` is for
 * tests.
 */
export function tightenOnceLarge(onTightened?: () => void): void {
  const observer = new PerformanceObserver((list) => {
    const major = list.getEntries().some((entry) => gcKindOf(entry) === constants.NODE_PERFORMANCE_GC_MAJOR);
    if (!major || getHeapStatistics().used_heap_size < LARGE_HEAP_BYTES) return;
    setFlagsFromString(`${FLAG}=${LARGE_HEAP_GROWING_PERCENT}`);
    observer.disconnect();
    onTightened?.();
  });
  observer.observe({ entryTypes: ['gc'] });
}

/** A `gc` entry's kind (`detail.kind`, Node 16+; the typings of this Node leave `detail` out). */
function gcKindOf(entry: object): number | undefined {
  return (entry as { detail?: { kind?: number } }).detail?.kind;
}
