/**
 * Provenance per document, by content (docs/reference.md §4): the commit that introduced a document
 * is the oldest commit (canonical order, see history-index.ts) whose tree holds a document of the
 * same kind and name with the same written spec.
 *
 * Found from the walk alone. A blob enters a commit's tree either because that commit lists it
 * (added or changed the path, or a merge that differs from every parent there) or because a
 * parent has it. So the oldest commit holding a document is one that lists a blob holding it, and
 * it is enough to parse each blob the walk lists (once, cached by blob id) and keep, per
 * identity, the commits that listed it.
 */
import type { GitReader, TreeEntry } from '../domain/ports.js';
import { readAheadInChunks } from '../domain/read-ahead.js';
import type { CommitInfo } from '../domain/types.js';
import { summarizeYamlFile } from '../manifests/document-identity.js';
import type { YamlLimits } from '../manifests/limits.js';
import { parseYamlFile, releaseSyntaxTrees, type ParsedYamlFile } from '../manifests/parse-yaml.js';
import { isManifestPath } from '../manifests/validate-manifests.js';
import { ancestorMarksAt } from './ancestor-marks.js';
import {
  commitInfoAt,
  readBranchAt,
  hasLimits,
  useLimits,
  withHistoryCache,
  type BranchHistory,
  type HistoryCache,
} from './history-cache.js';
import { compareCommits } from './history-index.js';

/** Blobs read per `cat-file` request while folding, so memory stays bounded on long histories. */
const READ_CHUNK = 2000;

/** Regular files only: a symlink's blob is its target's path, a submodule has no blob here. */
function isRegularFileMode(mode: string): boolean {
  return mode === '100644' || mode === '100755';
}

export interface DocumentProvenance {
  /** The commit that introduced each document of the file with `blob`, by document index. */
  introducedOf(blob: string): (CommitInfo | null)[];
  /** Files of the revision that were parsed on the way, by `<path>\n<blob>`: validation reuses them. */
  parsed: Map<string, ParsedYamlFile>;
}

export interface ReadProvenanceOptions {
  cache: HistoryCache;
  limits: YamlLimits;
}

/**
 * Provenance of every document of the manifest files `entries` of `commit`: one walk (or none,
 * when the cache holds `commit` already), one `cat-file` stream of the blobs not parsed before.
 */
export async function readDocumentProvenance(
  reader: GitReader,
  commit: string,
  entries: readonly Pick<TreeEntry, 'path' | 'blob'>[],
  options: ReadProvenanceOptions,
): Promise<DocumentProvenance> {
  return withHistoryCache(options.cache, () => readProvenanceAlone(reader, commit, entries, options));
}

async function readProvenanceAlone(
  reader: GitReader,
  commit: string,
  entries: readonly Pick<TreeEntry, 'path' | 'blob'>[],
  options: ReadProvenanceOptions,
): Promise<DocumentProvenance> {
  const { cache, limits } = options;
  useLimits(cache, limits);
  const at = await readBranchAt(reader, cache, 'tracked', commit);
  const wanted = new Set(entries.map((entry) => `${entry.path}\n${entry.blob}`));
  const parsed = await foldManifestHistory(reader, cache, at.branch, limits, wanted);
  // Blobs of the revision the walk did not list (cannot happen with a complete walk; cheap to cover).
  await readManifestDocuments(
    reader,
    cache,
    entries.filter((entry) => !cache.documents.has(entry.blob)),
    limits,
    wanted,
    parsed,
  );

  const marks = at.atTip ? null : ancestorMarksAt(at.branch, at.position);
  const { commits } = at.branch.index;
  const oldestHolder = (identity: string): number | null => {
    let best: number | null = null;
    for (const position of at.branch.manifests.holders.get(identity) ?? []) {
      if (marks !== null && marks[position] !== 1) continue;
      if (best === null || compareCommits(commits[position]!, commits[best]!) < 0) best = position;
    }
    return best;
  };
  return {
    parsed,
    introducedOf(blob) {
      const documents = cache.documents.get(blob) ?? [];
      const result: (CommitInfo | null)[] = [];
      for (const document of documents) {
        const holder = oldestHolder(document.identity);
        result[document.index] = holder === null ? null : commitInfoAt(at.branch, holder);
      }
      for (let i = 0; i < result.length; i++) result[i] ??= null;
      return result;
    },
  };
}

/**
 * Parse the manifest files `entries` of a revision that no read parsed before, without waiting
 * for the cache's queue: a read that is about to wait there for a walk in flight (`git log
 * --topo-order` prints nothing until it has walked every commit) has its revision's files — most
 * of the blobs the fold reads — parsed meanwhile, and the fold then skips them. Returns their
 * parses (`<path>\n<blob>`) for validation. Does nothing while the cache's documents are of other
 * YAML limits (only a read in the queue changes them).
 */
export async function parseRevisionFiles(
  reader: GitReader,
  cache: HistoryCache,
  entries: readonly Pick<TreeEntry, 'path' | 'blob'>[],
  limits: YamlLimits,
): Promise<Map<string, ParsedYamlFile>> {
  if (cache.limitsKey === '') useLimits(cache, limits);
  if (!hasLimits(cache, limits)) return new Map();
  const missing = entries.filter((entry) => !cache.documents.has(entry.blob));
  return readManifestDocuments(
    reader,
    cache,
    missing,
    limits,
    new Set(missing.map((e) => `${e.path}\n${e.blob}`)),
  );
}

/**
 * Fold the walked commits not folded yet: parse the manifest blobs they list (cache by blob id)
 * and note, per document identity, the commits that list it, and the paths that held a policy.
 * Returns the parsed files among `keep` (`<path>\n<blob>`).
 */
export async function foldManifestHistory(
  reader: GitReader,
  cache: HistoryCache,
  branch: BranchHistory,
  limits: YamlLimits,
  keep: ReadonlySet<string> = new Set(),
): Promise<Map<string, ParsedYamlFile>> {
  const parsed = new Map<string, ParsedYamlFile>();
  const { commits } = branch.index;
  const history = branch.manifests;
  if (history.done >= commits.length) return parsed;
  const pending = commits.slice(history.done);
  const toRead = new Map<string, string>();
  for (const commit of pending) {
    for (const change of commit.changes) {
      if (!isManifestChange(change)) continue;
      if (cache.documents.has(change.blob)) continue;
      // Parse under the path the revision has it at, when it has it, so validation can reuse it.
      const current = toRead.get(change.blob);
      if (current === undefined || keep.has(`${change.path}\n${change.blob}`))
        toRead.set(change.blob, change.path);
    }
  }
  await readManifestDocuments(
    reader,
    cache,
    [...toRead].map(([blob, path]) => ({ blob, path })),
    limits,
    keep,
    parsed,
  );
  for (const commit of pending) {
    for (const change of commit.changes) {
      if (!isManifestChange(change)) continue;
      for (const document of cache.documents.get(change.blob) ?? []) {
        let list = history.holders.get(document.identity);
        if (list === undefined) {
          list = [];
          history.holders.set(document.identity, list);
        }
        if (list[list.length - 1] !== commit.position) list.push(commit.position);
        if (document.kind === 'ReconcilerPolicy') history.policyPaths.add(change.path);
      }
    }
  }
  history.done = commits.length;
  return parsed;
}

function isManifestChange(change: { path: string; blob: string; mode: string }): boolean {
  return change.blob !== '' && isRegularFileMode(change.mode) && isManifestPath(change.path);
}

/**
 * Read and summarise manifest blobs not in the cache, in chunks through the batch reader; a blob
 * over the size limit is skipped unread. Files among `keep` are also returned parsed, in `into`.
 */
export async function readManifestDocuments(
  reader: GitReader,
  cache: HistoryCache,
  files: readonly { path: string; blob: string }[],
  limits: YamlLimits,
  keep: ReadonlySet<string> = new Set(),
  into: Map<string, ParsedYamlFile> = new Map(),
): Promise<Map<string, ParsedYamlFile>> {
  const missing = files.filter((file) => !cache.documents.has(file.blob));
  await readAheadInChunks(
    missing,
    READ_CHUNK,
    (chunk) =>
      reader.readObjects([...new Set(chunk.map((file) => file.blob))], { maxBytes: limits.maxFileBytes }),
    (chunk, objects) => {
      for (const file of chunk) {
        if (cache.documents.has(file.blob)) continue;
        const content = objects.get(file.blob)?.content ?? null;
        if (content === null) {
          cache.documents.set(file.blob, null);
          continue;
        }
        const key = `${file.path}\n${file.blob}`;
        // A file of the revision is validated too, so it is parsed whole (once, for both): its
        // parse is handed over, and a multi-document file's chunks are summarised from it.
        const whole = keep.has(key) ? parseYamlFile(file.path, content, limits) : undefined;
        const summary = summarizeYamlFile(file.path, content, limits, cache.chunks, whole);
        cache.documents.set(file.blob, summary.documents);
        if (whole !== undefined) into.set(key, releaseSyntaxTrees(whole, limits));
      }
    },
  );
  return into;
}
