/**
 * The API's caches are bounded by entries and by bytes: response bodies range from a few hundred
 * bytes to tens of megabytes, so a count alone does not bound memory.
 */
import { describe, expect, it } from 'vitest';
import { LruCache } from '../../src/api/lru.js';

describe('LruCache', () => {
  it('drops the least recently used entry beyond its capacity', () => {
    const cache = new LruCache<string, number>(2);
    cache.set('a', 1);
    cache.set('b', 2);
    expect(cache.get('a')).toBe(1); // a is now the most recent
    cache.set('c', 3);
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([1, undefined, 3]);
    expect(cache.size).toBe(2);
  });

  it('drops the oldest weighed entries until the total weight is within its bound', () => {
    const cache = new LruCache<string, string>(100, 10);
    for (const key of ['a', 'b', 'c']) {
      cache.set(key, key);
      cache.setWeight(key, key, 4);
    }
    expect(cache.get('a')).toBeUndefined();
    expect(cache.get('b')).toBe('b');
    expect(cache.get('c')).toBe('c');
    expect(cache.totalWeight).toBe(8);
  });

  it('keeps unweighed entries under weight pressure, and the newest weighed entry even when it alone is heavier', () => {
    const cache = new LruCache<string, string>(100, 10);
    cache.set('index', 'index');
    cache.set('small', 'small');
    cache.setWeight('small', 'small', 3);
    cache.set('huge', 'huge');
    cache.setWeight('huge', 'huge', 50);
    expect(cache.get('index')).toBe('index');
    expect(cache.get('small')).toBeUndefined();
    expect(cache.get('huge')).toBe('huge');
    expect(cache.totalWeight).toBe(50);
    // The next weighed entry pushes the heavy one out.
    cache.set('next', 'next');
    cache.setWeight('next', 'next', 1);
    expect(cache.get('huge')).toBeUndefined();
    expect(cache.totalWeight).toBe(1);
  });

  it('ignores a weight for a key that holds another value by now, and forgets weights of deleted entries', () => {
    const cache = new LruCache<string, string>(100, 10);
    cache.set('k', 'old');
    cache.set('k', 'new');
    cache.setWeight('k', 'old', 9);
    expect(cache.totalWeight).toBe(0);
    cache.setWeight('k', 'new', 9);
    cache.delete('k');
    expect(cache.totalWeight).toBe(0);
    cache.set('k', 'again');
    cache.setWeight('k', 'again', 2);
    cache.set('k', 'replaced');
    expect(cache.totalWeight).toBe(0);
  });

  it('refuses a capacity or weight bound that bounds nothing', () => {
    expect(() => new LruCache(0)).toThrow(RangeError);
    expect(() => new LruCache(1, 0)).toThrow(RangeError);
  });
});
