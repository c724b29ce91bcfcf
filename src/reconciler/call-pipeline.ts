/**
 * The connector calls of a run, pipelined so that git work overlaps the calls instead of
 * bracketing them. Calls are claimed in batches; while one batch's calls run, the next batch is
 * claimed and the outcomes of an earlier one are committed:
 *
 *   commit k = the claims of batch k (k < n) + the outcomes of batch k−2 (k ≥ 2),
 *              made once batch k−2 is done and commit k−1 has landed;
 *   the outcomes of the last batch are left to the caller's final commit.
 *
 * So a claim always lands before its call, a batch's outcomes and the removal of its claims always
 * land in one commit, and — since the schedule depends only on the number of calls, never on
 * timing — the same run gives the same commits. Recording batch k−2 rather than k−1 keeps the
 * workers busy with batch k−1 while commit k is in flight. Batches start small (the first calls
 * wait for only a small claim commit) and double up to a cap (bounding the claims a crash can
 * leave to lease expiry and the size of the final commit).
 */

export interface CallPipelineOptions {
  /** Calls in flight at once. */
  concurrency: number;
  /** Calls in the first batch; each later batch doubles, up to `maxBatch`. */
  firstBatch: number;
  maxBatch: number;
}

export interface CallPipelineHooks<C, O> {
  /**
   * Commit `outcomes` and claims for `claims` in one commit and push it. True when it landed,
   * false when the push was rejected (the tip moved: the caller must re-plan). Throws when the
   * remote cannot be reached.
   */
  commit(outcomes: O[], claims: C[]): Promise<boolean>;
  /** Make one claimed call; never throws (a failure is an outcome). */
  call(call: C): Promise<O>;
}

export interface CallPipelineResult<O> {
  /** Calls made (all of them claimed first). */
  made: number;
  /** Outcomes of calls made whose commit has not landed: the caller's final commit records them. */
  uncommitted: O[];
  /** Why claiming stopped early: a rejected push (re-plan the rest) or an error (rethrow it). */
  stopped: { rejected: true } | { error: unknown } | null;
}

/** The batch sizes for `total` calls: `first`, doubling, capped at `max`; the last takes the rest. */
export function batchSizes(total: number, first: number, max: number): number[] {
  const sizes: number[] = [];
  let size = Math.max(1, Math.min(first, max));
  for (let left = total; left > 0; left -= sizes[sizes.length - 1]!) {
    sizes.push(Math.min(size, left));
    size = Math.min(size * 2, max);
  }
  return sizes;
}

interface Deferred {
  promise: Promise<void>;
  resolve: () => void;
}

/** `Promise.withResolvers` (Node 22) for Node 20. */
function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

export async function runCallPipeline<C, O>(
  calls: C[],
  options: CallPipelineOptions,
  hooks: CallPipelineHooks<C, O>,
): Promise<CallPipelineResult<O>> {
  const batches: C[][] = [];
  let offset = 0;
  for (const size of batchSizes(calls.length, options.firstBatch, options.maxBatch)) {
    batches.push(calls.slice(offset, (offset += size)));
  }
  const outcomes: O[][] = batches.map(() => []);
  const pendingCalls = batches.map((batch) => batch.length);
  const batchDone = batches.map(() => deferred());

  // Calls whose claims landed, in order, for the workers; `claimingOver` ends the workers once
  // the queue is drained.
  const queue: { batch: number; index: number; call: C }[] = [];
  let claimingOver = false;
  let wakeWorkers = deferred();
  const notifyWorkers = (): void => {
    wakeWorkers.resolve();
    wakeWorkers = deferred();
  };
  let made = 0;
  // A call that throws breaks the hooks' contract (a bug): stop claiming and report it, rather
  // than leave the commit loop waiting for a batch that can never finish.
  let callFailure: { error: unknown } | null = null;
  const worker = async (): Promise<void> => {
    for (;;) {
      const item = queue.shift();
      if (item === undefined) {
        if (claimingOver) return;
        await wakeWorkers.promise;
        continue;
      }
      try {
        outcomes[item.batch]![item.index] = await hooks.call(item.call);
      } catch (error) {
        callFailure ??= { error };
        for (const done of batchDone) done.resolve();
        return;
      }
      made++;
      if (--pendingCalls[item.batch]! === 0) batchDone[item.batch]!.resolve();
    }
  };
  const workers = Array.from({ length: Math.max(1, options.concurrency) }, worker);

  let claimedBatches = 0; // batches whose claims landed
  let recordedBatches = 0; // batches whose outcomes landed
  let stopped: CallPipelineResult<O>['stopped'] = null;
  try {
    for (let k = 0; k <= batches.length; k++) {
      const recording = k >= 2 ? k - 2 : null;
      if (recording !== null) await batchDone[recording]!.promise;
      if (callFailure !== null) break;
      const claims = batches[k] ?? [];
      const recorded = recording === null ? [] : outcomes[recording]!;
      if (claims.length === 0 && recorded.length === 0) continue;
      if (!(await hooks.commit(recorded, claims))) {
        stopped = { rejected: true };
        break;
      }
      if (recording !== null) recordedBatches = recording + 1;
      if (claims.length > 0) {
        claimedBatches = k + 1;
        claims.forEach((call, index) => queue.push({ batch: k, index, call }));
        notifyWorkers();
      }
    }
  } catch (error) {
    stopped = { error };
  } finally {
    // Claimed calls are made even when claiming stopped: their claims are on the remote.
    claimingOver = true;
    notifyWorkers();
    await Promise.all(workers);
  }
  // Sparse where a call failed: its claim stays and its lease expiry makes it an unknown outcome.
  const uncommitted = outcomes
    .slice(recordedBatches, claimedBatches)
    .flatMap((batch) => batch.filter((outcome) => outcome !== undefined));
  return { made, uncommitted, stopped: callFailure ?? stopped };
}
