import { describe, expect, it } from 'vitest';
import { readAheadInChunks } from '../../src/domain/read-ahead.js';

describe('readAheadInChunks', () => {
  it('asks for the next chunk before using the current one, and uses every chunk in order', async () => {
    const events: string[] = [];
    await readAheadInChunks(
      [1, 2, 3, 4, 5],
      2,
      async (chunk) => {
        events.push(`read ${chunk.join(',')}`);
        return chunk.map((n) => n * 10);
      },
      (chunk, result) => events.push(`use ${chunk.join(',')} -> ${result.join(',')}`),
    );
    expect(events).toEqual([
      'read 1,2',
      'read 3,4',
      'use 1,2 -> 10,20',
      'read 5',
      'use 3,4 -> 30,40',
      'use 5 -> 50',
    ]);
  });

  it('reads nothing for no items, and a read that fails while a chunk is used fails in its turn', async () => {
    let reads = 0;
    await readAheadInChunks(
      [],
      2,
      async () => reads++,
      () => undefined,
    );
    expect(reads).toBe(0);
    const used: number[][] = [];
    await expect(
      readAheadInChunks(
        [1, 2, 3],
        2,
        async (chunk) => {
          if (chunk.includes(3)) throw new Error('blob 3 not found');
          return chunk;
        },
        (chunk) => used.push([...chunk]),
      ),
    ).rejects.toThrow('blob 3 not found');
    expect(used).toEqual([[1, 2]]);
  });

  it('uses a large chunk a slice at a time, letting pending I/O callbacks run between slices', async () => {
    const items = Array.from({ length: 150 }, (_, i) => i);
    const events: string[] = [];
    const used: number[] = [];
    await readAheadInChunks(
      items,
      150,
      async (chunk) => new Map(chunk.map((n) => [n, n * 2])),
      (slice, result) => {
        // As a pipe's data event would be: queued while the thread is busy with the first slice.
        if (used.length === 0) setImmediate(() => events.push('io'));
        events.push(`use ${slice[0]}..${slice[slice.length - 1]}`);
        for (const n of slice) used.push(result.get(n)!);
      },
    );
    expect(used).toEqual(items.map((n) => n * 2));
    expect(events[0]).toBe('use 0..63');
    expect(events[1]).toBe('io');
    expect(events.slice(2)).toEqual(['use 64..127', 'use 128..149']);
  });
});
