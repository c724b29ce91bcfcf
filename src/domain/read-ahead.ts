/**
 * Work through `items` in chunks: `read` fetches a chunk, `use` consumes it with what was read.
 * The next chunk is asked for before the current one is used, so the reader (git's long-lived
 * `cat-file --batch`) works while we parse, and at most two chunks' results are held at once. A
 * read that fails while the previous chunk is used is reported when its turn comes. Does no I/O
 * of its own.
 *
 * A chunk is used a slice at a time, with a turn of the event loop between slices: parsing 2,000
 * files takes the thread half a second or more, and in one piece the reader's answer to the next
 * request waited in a full pipe meanwhile (git blocked on writing it), so the thread then sat idle
 * while it streamed in. Between slices the pipe is drained into memory as git writes it.
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
    const end = Math.min(start + size, items.length);
    for (let from = start; from < end; from += USE_SLICE) {
      if (from > start) await turnOfTheEventLoop();
      use(items.slice(from, Math.min(from + USE_SLICE, end)), result);
    }
  }
}

/** Items used between two turns of the event loop (~10–30 ms of parsing for manifests). */
const USE_SLICE = 64;

/** Let pending I/O callbacks run (setImmediate comes after the loop's poll for I/O). */
function turnOfTheEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}
