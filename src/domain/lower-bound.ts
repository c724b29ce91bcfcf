/**
 * Binary search over a sorted list: the first index whose item is not `before` the value sought
 * (`items.length` when every item is). `before` must hold for a prefix of `items` and no further.
 */
export function lowerBound<T>(items: readonly T[], before: (item: T) => boolean): number {
  let low = 0;
  let high = items.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (before(items[middle]!)) low = middle + 1;
    else high = middle;
  }
  return low;
}
