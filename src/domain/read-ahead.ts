/**
 * Work through `items` in chunks: `read` fetches a chunk, `use` consumes it with what was read.
 * The next chunk is asked for before the current one is used, so the reader (git's long-lived
 * `cat-file --batch`) works while we parse, and at most two chunks' results are held at once. A
 * read that fails while the previous chunk is used is reported when its turn comes. Does no I/O
 * of its own.
 */
export async function readAheadInChunks<T, R>(
  items: readonly T[],
  size: number,
  read: (chunk: readonly T[]) => Promise<R>,
  use: (chunk: readonly T[], result: R) => void,
): Promise<void> {
  const request = (start: number): Promise<R> => {
    const pending = read(items.slice(start, start + size));
    // Awaited in its turn; this only keeps a read that fails early from going unhandled.
    pending.catch(() => undefined);
    return pending;
  };
  let next = items.length > 0 ? request(0) : null;
  for (let start = 0; start < items.length; start += size) {
    const result = await next!;
    next = start + size < items.length ? request(start + size) : null;
    use(items.slice(start, start + size), result);
  }
}
