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
});
