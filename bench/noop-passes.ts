/** The loop's no-op pass (tips unmoved, nothing due), as both the reconcile and history benches time it. */
import { runLoop } from '../src/reconciler/loop.js';

/** Time `count` passes of the loop, each of which must end `noop`; the samples in ms, sorted. */
export async function timeNoopPasses(options: Parameters<typeof runLoop>[0], count = 7): Promise<number[]> {
  const samples: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    const result = await runLoop(options);
    samples.push(performance.now() - started);
    if (result?.outcome !== 'noop') throw new Error(`expected a no-op run, got ${result?.outcome}`);
  }
  return samples.sort((a, b) => a - b);
}
