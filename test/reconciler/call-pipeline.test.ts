/**
 * The pipelined schedule of claims, calls and outcome commits (call-pipeline.ts), with the git
 * side replaced by a recording hook: what matters here is the order of events, which the real
 * reconciler tests (exactly-once, process-races) then check against real remotes.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  batchSizes,
  runCallPipeline,
  type CallPipelineOptions,
  type CallPipelineResult,
} from '../../src/reconciler/call-pipeline.js';

interface Event {
  kind: 'commit' | 'call-start' | 'call-end';
  /** For commits: the outcomes recorded and the calls claimed. */
  outcomes?: number[];
  claims?: number[];
  call?: number;
}

interface Run {
  events: Event[];
  result: CallPipelineResult<number>;
  maxInFlight: number;
}

/** Run the pipeline over calls 0..n-1; each call's outcome is its own number. */
async function run(
  n: number,
  options: CallPipelineOptions,
  behaviour: {
    delay?: (call: number) => number;
    /** The commit (0-based) whose push is rejected, or that throws. */
    rejectCommit?: number;
    throwOnCommit?: number;
    throwOnCall?: number;
  } = {},
): Promise<Run> {
  const events: Event[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let commits = 0;
  const calls = Array.from({ length: n }, (_, i) => i);
  const result = await runCallPipeline<number, number>(calls, options, {
    commit: async (outcomes, claims) => {
      const index = commits++;
      await Promise.resolve();
      if (index === behaviour.throwOnCommit) throw new Error('remote unreachable');
      if (index === behaviour.rejectCommit) return false;
      events.push({ kind: 'commit', outcomes: [...outcomes], claims: [...claims] });
      return true;
    },
    call: async (call) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      events.push({ kind: 'call-start', call });
      const ms = behaviour.delay?.(call) ?? 0;
      await (ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve());
      inFlight--;
      if (call === behaviour.throwOnCall) throw new Error('connector bug');
      events.push({ kind: 'call-end', call });
      return call;
    },
  });
  return { events, result, maxInFlight };
}

/** The exactly-once invariants every run must keep, whatever happened. */
function expectInvariants({ events, result }: Run, n: number): void {
  const claimedAt = new Map<number, number>();
  const recordedAt = new Map<number, number>();
  const endedAt = new Map<number, number>();
  events.forEach((event, at) => {
    for (const call of event.claims ?? []) {
      expect(claimedAt.has(call)).toBe(false); // claimed once
      claimedAt.set(call, at);
    }
    for (const outcome of event.outcomes ?? []) {
      expect(recordedAt.has(outcome)).toBe(false); // recorded once
      recordedAt.set(outcome, at);
    }
    if (event.kind === 'call-start') {
      // A call only after its claim landed, and only once.
      expect(claimedAt.get(event.call!)).toBeLessThan(at);
      expect(endedAt.has(event.call!)).toBe(false);
    }
    if (event.kind === 'call-end') endedAt.set(event.call!, at);
  });
  for (const [call, at] of recordedAt) expect(endedAt.get(call)).toBeLessThan(at); // after its call
  // Every call made is either recorded or handed back, never both, never lost.
  const made = [...endedAt.keys()];
  expect(result.made).toBe(made.length);
  expect(new Set([...recordedAt.keys(), ...result.uncommitted])).toEqual(new Set(made));
  expect(result.uncommitted.filter((call) => recordedAt.has(call))).toEqual([]);
  // Every landed claim was called, unless a call threw.
  if (!(result.stopped && 'error' in result.stopped)) expect(made.length).toBe(claimedAt.size);
  expect(claimedAt.size).toBeLessThanOrEqual(n);
}

const OPTIONS: CallPipelineOptions = { concurrency: 8, firstBatch: 64, maxBatch: 256 };

describe('batchSizes', () => {
  it('starts small, doubles up to the cap, and the last batch takes the rest', () => {
    expect(batchSizes(1000, 64, 256)).toEqual([64, 128, 256, 256, 256, 40]);
    expect(batchSizes(10, 64, 256)).toEqual([10]);
    expect(batchSizes(0, 64, 256)).toEqual([]);
    expect(batchSizes(5, 1, 2)).toEqual([1, 2, 2]);
  });

  it('covers every call exactly, within the bounds', () => {
    fc.assert(
      fc.property(
        fc.nat(5000),
        fc.integer({ min: 1, max: 100 }),
        fc.integer({ min: 1, max: 300 }),
        (n, first, max) => {
          const sizes = batchSizes(n, first, max);
          expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
          for (const size of sizes) expect(size).toBeGreaterThan(0);
          for (const size of sizes)
            expect(size).toBeLessThanOrEqual(Math.max(1, Math.min(first, max)) * 2 ** 20);
          expect(Math.max(0, ...sizes)).toBeLessThanOrEqual(Math.max(max, 1));
        },
      ),
    );
  });
});

describe('runCallPipeline', () => {
  it('commit k claims batch k and records batch k−2; the last batch is left to the caller', async () => {
    const outcome = await run(1000, OPTIONS);
    const commits = outcome.events.filter((event) => event.kind === 'commit');
    expect(commits.map((c) => [c.outcomes!.length, c.claims!.length])).toEqual([
      [0, 64],
      [0, 128],
      [64, 256],
      [128, 256],
      [256, 256],
      [256, 40],
      [256, 0],
    ]);
    // Batch k−2 exactly, in call order.
    expect(commits[2]!.outcomes).toEqual(Array.from({ length: 64 }, (_, i) => i));
    expect(outcome.result).toMatchObject({ made: 1000, stopped: null });
    expect(outcome.result.uncommitted).toEqual(Array.from({ length: 40 }, (_, i) => 960 + i));
    expect(outcome.maxInFlight).toBe(8);
    expectInvariants(outcome, 1000);
  });

  it('a single batch: one claim commit, every outcome left to the caller', async () => {
    const outcome = await run(3, OPTIONS);
    expect(outcome.events.filter((event) => event.kind === 'commit')).toEqual([
      { kind: 'commit', outcomes: [], claims: [0, 1, 2] },
    ]);
    expect(outcome.result.uncommitted).toEqual([0, 1, 2]);
  });

  it('no calls: no commit at all', async () => {
    const outcome = await run(0, OPTIONS);
    expect(outcome.events).toEqual([]);
    expect(outcome.result).toEqual({ made: 0, uncommitted: [], stopped: null });
  });

  it('the commits are the same whatever the calls take (deterministic commits)', async () => {
    const commitsOf = async (delay: (call: number) => number) =>
      (await run(300, { concurrency: 4, firstBatch: 16, maxBatch: 64 }, { delay })).events.filter(
        (event) => event.kind === 'commit',
      );
    const even = await commitsOf(() => 0);
    const uneven = await commitsOf((call) => (call * 7919) % 5);
    expect(uneven).toEqual(even);
  });

  it('a rejected push stops claiming: landed claims are still called, their outcomes handed back', async () => {
    const outcome = await run(1000, OPTIONS, { rejectCommit: 3 });
    const commits = outcome.events.filter((event) => event.kind === 'commit');
    expect(commits).toHaveLength(3); // claims of batches 0, 1, 2 landed
    expect(outcome.result.stopped).toEqual({ rejected: true });
    expect(outcome.result.made).toBe(64 + 128 + 256);
    // Batch 0 was recorded by commit 2; batches 1 and 2 come back (batch 1's commit was rejected).
    expect(outcome.result.uncommitted).toEqual(Array.from({ length: 128 + 256 }, (_, i) => 64 + i));
    expectInvariants(outcome, 1000);
  });

  it('an unreachable remote stops claiming and is reported, with the outcomes of landed claims', async () => {
    const outcome = await run(500, OPTIONS, { throwOnCommit: 2 });
    expect(outcome.result.stopped).toMatchObject({ error: new Error('remote unreachable') });
    expect(outcome.result.made).toBe(64 + 128);
    expect(outcome.result.uncommitted).toHaveLength(64 + 128);
    expectInvariants(outcome, 500);
  });

  it('a call that throws (a bug) ends the pipeline with the error instead of hanging', async () => {
    const outcome = await run(500, OPTIONS, { throwOnCall: 10 });
    expect(outcome.result.stopped).toMatchObject({ error: new Error('connector bug') });
    expect(outcome.result.uncommitted).not.toContain(10);
    expectInvariants(outcome, 500);
  });

  it('keeps the invariants for any size, concurrency, timing and failure', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          n: fc.nat(400),
          concurrency: fc.integer({ min: 1, max: 12 }),
          firstBatch: fc.integer({ min: 1, max: 40 }),
          maxBatch: fc.integer({ min: 1, max: 120 }),
          seed: fc.nat(),
          failure: fc.oneof(
            fc.constant({}),
            fc.record({ rejectCommit: fc.nat(8) }),
            fc.record({ throwOnCommit: fc.nat(8) }),
            fc.record({ throwOnCall: fc.nat(400) }),
          ),
        }),
        async ({ n, concurrency, firstBatch, maxBatch, seed, failure }) => {
          const outcome = await run(
            n,
            { concurrency, firstBatch, maxBatch },
            { ...failure, delay: (call) => ((call + seed) * 2654435761) % 3 },
          );
          expect(outcome.maxInFlight).toBeLessThanOrEqual(concurrency);
          expectInvariants(outcome, n);
        },
      ),
      { numRuns: 60 },
    );
  });
});
