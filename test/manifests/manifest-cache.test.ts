/**
 * The per-file cache a long-running loop passes to validateManifests: same results as without it,
 * changed files re-checked, files that disappeared dropped from the cache.
 */
import { describe, expect, it } from 'vitest';
import { validateManifests, type ManifestCache, type ManifestFileInput } from '../../src/manifests/validate-manifests.js';
import { bundledManifests } from './helpers.js';

function withBlobs(files: ManifestFileInput[]): ManifestFileInput[] {
  return files.map((file, index) => ({ ...file, blob: `blob-${index}-${file.content.length}` }));
}

describe('validateManifests with a cache', () => {
  it('gives the same result as without a cache, on the first and the second call', () => {
    const files = withBlobs(bundledManifests());
    const cache: ManifestCache = new Map();
    const plain = validateManifests(files);
    expect(validateManifests(files, { cache })).toEqual(plain);
    expect(cache.size).toBe(files.length);
    expect(validateManifests(files, { cache })).toEqual(plain);
  });

  it('reuses a file whose key is unchanged without reading its content again', () => {
    const files = withBlobs(bundledManifests());
    const cache: ManifestCache = new Map();
    const first = validateManifests(files, { cache });
    // Same path, blob and commit with the content gone: only a cache hit can produce the manifests.
    const emptied = files.map((file) => ({ ...file, content: Buffer.alloc(0) }));
    expect(validateManifests(emptied, { cache })).toEqual(first);
  });

  it('re-checks a file whose blob changed and forgets files that are gone', () => {
    const files = withBlobs(bundledManifests());
    const cache: ManifestCache = new Map();
    validateManifests(files, { cache });
    const [changed, ...rest] = files;
    const broken = { ...changed!, blob: 'blob-changed', content: Buffer.from('kind: [unclosed') };
    const result = validateManifests([broken, ...rest.slice(1)], { cache });
    expect(result.findings.some((f) => f.file === broken.path && f.rule.startsWith('yaml.'))).toBe(true);
    expect(cache.size).toBe(files.length - 1);
  });

  it('does not cache working-tree files (no blob id)', () => {
    const cache: ManifestCache = new Map();
    validateManifests(bundledManifests().map((file) => ({ ...file, blob: '' })), { cache });
    expect(cache.size).toBe(0);
  });
});
