/**
 * `<commit>:<path>` lookups answered from the walk of history instead of git's trees. For each
 * such name git reads the commit's tree down to the file, scanning every directory on the way:
 * `verify` asks thousands of them (the files of each execution's key at its source revision, the
 * policy at each base), 11,317 names costing 0.64 s at 10,000 commits. When the walked history is
 * a chain from the root, the walk already says what each walked path holds at each commit: the
 * blob of its last change at or before the commit. Such a name is read by that blob id (a lookup
 * in the pack index, no tree read); any other name (a merge anywhere, a commit or a path the walk
 * does not cover, a name that is not a plain path) goes to git as before.
 */
import type { GitReader, StoredObject } from '../domain/ports.js';
import type { HistoryIndex } from './history-index.js';
import { objectPathOf } from './object-path.js';

/** The changes of one path, oldest first: the position of each commit and its blob ('' when deleted). */
interface PathChanges {
  positions: number[];
  blobs: string[];
}

/**
 * True when `index` is one line of commits from a root, each the only parent of the next: then
 * every commit's changes are its diff against the previous commit's tree.
 */
export function isChainFromRoot(index: HistoryIndex): boolean {
  return index.commits.every((commit, position) =>
    position === 0
      ? commit.parents.length === 0
      : commit.parents.length === 1 && commit.parentPositions[0] === position - 1,
  );
}

/**
 * `reader`, with `readObjects` of `<commit>:<path>` names that `index` answers read by blob id
 * (see the file comment); `reader` itself when the index is not a chain from the root.
 */
export function withWalkedPaths(reader: GitReader, index: HistoryIndex): GitReader {
  if (!isChainFromRoot(index)) return reader;
  // Fixed now: a commit the index gains later is not in `byPath` and is left to git.
  const known = index.commits.length;
  const byPath = new Map<string, PathChanges>();
  for (const commit of index.commits) {
    for (const change of commit.changes) {
      let changes = byPath.get(change.path);
      if (changes === undefined) byPath.set(change.path, (changes = { positions: [], blobs: [] }));
      changes.positions.push(commit.position);
      // A submodule's entry names a commit: read by that id, it is no blob, as git answers the path.
      changes.blobs.push(change.blob);
    }
  }
  /** Size-only answers (`maxBytes: 0`) by what was read. */
  const sizes = new Map<string, StoredObject | null>();
  /** The blob `name` holds ('' for none), or undefined when the walk cannot tell. */
  const blobOf = (name: string): string | undefined => {
    const colon = name.indexOf(':');
    const position = index.byId.get(name.slice(0, colon));
    const path = name.slice(colon + 1);
    if (colon < 0 || position === undefined || position >= known || objectPathOf(path) !== path)
      return undefined;
    if (!index.prefixes.some((prefix) => path.startsWith(prefix))) return undefined;
    const changes = byPath.get(path);
    if (changes === undefined) return '';
    // The last change at or before the commit.
    let low = 0;
    let high = changes.positions.length;
    while (low < high) {
      const middle = (low + high) >> 1;
      if (changes.positions[middle]! <= position) low = middle + 1;
      else high = middle;
    }
    return low === 0 ? '' : changes.blobs[low - 1]!;
  };
  return withReadObjects(reader, async (names, options) => {
    const asked = new Map<string, string>(); // name → what is read for it: a blob id, or the name
    for (const name of names) {
      const blob = blobOf(name);
      if (blob !== '') asked.set(name, blob ?? name);
    }
    // Both kinds of name are content addresses: a size, once read, holds for good (the walk
    // gives many commits' names of one blob, asked run after run).
    const answers = options?.maxBytes === 0 ? sizes : new Map<string, StoredObject | null>();
    const unread = [...new Set(asked.values())].filter((request) => !answers.has(request));
    if (unread.length > 0) {
      for (const [request, object] of await reader.readObjects(unread, options)) answers.set(request, object);
    }
    const result = new Map<string, StoredObject | null>();
    for (const name of names) {
      const request = asked.get(name);
      result.set(name, request === undefined ? null : (answers.get(request) ?? null));
    }
    return result;
  });
}

/** `reader` with its `readObjects` replaced by `readObjects`; every other read goes to `reader`. */
export function withReadObjects(reader: GitReader, readObjects: GitReader['readObjects']): GitReader {
  return {
    resolve: (rev) => reader.resolve(rev),
    listTree: (commit, prefixes, options) => reader.listTree(commit, prefixes, options),
    readBlobs: (blobs) => reader.readBlobs(blobs),
    walkHistory: (request) => reader.walkHistory(request),
    isAncestor: (ancestor, descendant) => reader.isAncestor(ancestor, descendant),
    verifySignatures: (commits, signers) => reader.verifySignatures(commits, signers),
    readObjects,
  };
}
