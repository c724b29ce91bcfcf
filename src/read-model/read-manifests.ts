/**
 * Reading manifests: from a committed revision in batch (one tree listing, one batch blob read,
 * one log for the introducing commits), or from the working tree for `validate --worktree`.
 * Oversized files are refused by their size before they are read; symbolic links are never
 * followed and each is a finding (a link could lead out of the repository, or to content that is
 * not reviewed where it is used, and ignoring it silently would hide a manifest the operator
 * thinks is in force).
 */
import { lstat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitReader, TreeEntry } from '../domain/ports.js';
import type { Finding, ManifestCondition } from '../domain/types.js';
import type { DocumentSummary } from '../manifests/document-identity.js';
import { fileOfDocumentValues, type ParsedYamlFile } from '../manifests/parse-yaml.js';
import { createHistoryCache, type HistoryCache } from './history-cache.js';
import { parseRevisionFiles, readDocumentProvenance } from './document-provenance.js';
import { resolveLimits, type YamlLimits } from '../manifests/limits.js';
import { makeFinding, compareFindings } from '../manifests/rules.js';
import {
  isManifestPath,
  manifestCacheKey,
  validateManifests,
  type ManifestCache,
  type ManifestFileInput,
  type ManifestLoadResult,
} from '../manifests/validate-manifests.js';
import type { ClosureTargets } from '../domain/closures.js';

export interface ReadManifestsOptions {
  /**
   * The records' ids the closure rules check references against; a promise lets the manifests be
   * read and parsed while the records are (only validation waits for them).
   */
  records?: ClosureTargets | Promise<ClosureTargets>;
  limits?: Partial<YamlLimits>;
  /** Results of earlier reads; files whose blob and introducing commits are unchanged are not read again. */
  cache?: ManifestCache;
  /**
   * The history walk's cache (provenance by content needs the revision's history): pass the same
   * one to every read of a process, and to `readGateFacts`, so history is walked once and then
   * only from the last walked tip. Without it the whole history is walked for this read.
   */
  history?: HistoryCache;
  /** Called as files are checked (the CLI draws a progress bar on a terminal). */
  onProgress?: (done: number, total: number) => void;
  /**
   * Read only these files of the revision (those absent there are skipped), looked up with one
   * batch request instead of listing the tree: for a caller that needs the documents of a few
   * files at many revisions (verify's gate recompute, one delivery key at a time). Symbolic links
   * are not told apart from files on this path. A `cache` is only added to, not pruned.
   */
  paths?: readonly string[];
  /**
   * Of each file, validate only the documents this picks from the history walk's
   * summaries of its blob (their values, kept for approvals, acknowledgements and closures),
   * without reading or parsing the file; null, or a picked document whose value the walk did not
   * keep, reads the file whole. For verify's gate recompute, which decides a few delivery keys at
   * many revisions: an acknowledgements file shared by many keys would otherwise be read, parsed
   * and checked whole at each. Only what is valid is meaningful then: the rest of the file is not
   * checked, and a finding on a picked document is put at line 1.
   */
  selectDocuments?: (
    path: string,
    documents: readonly DocumentSummary[],
  ) => readonly DocumentSummary[] | null;
}

const MANIFESTS_DIR = 'manifests/';

function tooLarge(
  path: string,
  size: number,
  limit: number,
): { finding: Finding; condition: ManifestCondition } {
  const finding = makeFinding({
    file: path,
    line: 1,
    column: 1,
    rule: 'yaml.too-large',
    message: `The file is ${size} bytes, more than the limit of ${limit}; split it into smaller files.`,
  });
  return {
    finding,
    condition: {
      file: path,
      document: 0,
      kind: '',
      name: '',
      ready: false,
      reason: 'TooLarge',
      message: `Skipped: yaml.too-large at line 1: ${finding.message}`,
    },
  };
}

function symlinked(path: string): { finding: Finding; condition: ManifestCondition } {
  const finding = makeFinding({
    file: path,
    line: 1,
    column: 1,
    rule: 'file.symlink',
    message: `${path} is a symbolic link, and links under manifests/ are never followed; replace it with the file (or directory) it points to.`,
  });
  return {
    finding,
    condition: {
      file: path,
      document: 0,
      kind: '',
      name: '',
      ready: false,
      reason: 'SymbolicLink',
      message: `Skipped: file.symlink at line 1: ${finding.message}`,
    },
  };
}

function withRefused(
  result: ManifestLoadResult,
  refused: { finding: Finding; condition: ManifestCondition }[],
): ManifestLoadResult {
  if (refused.length === 0) return result;
  const findings = [...result.findings, ...refused.map((r) => r.finding)].sort(compareFindings);
  const conditions = [...result.conditions, ...refused.map((r) => r.condition)].sort((a, b) =>
    a.file < b.file ? -1 : a.file > b.file ? 1 : a.document - b.document,
  );
  return { ...result, findings, conditions };
}

/**
 * The manifests of a committed revision: one `listTree`, one history walk (provenance by content,
 * for the commit-time defaults and the evidence of each document) with one `cat-file` stream of
 * the blobs it lists, whatever the number of files or commits. Each blob is parsed once: the
 * revision's files parsed by the walk are validated from that parse.
 */
export async function readManifests(
  reader: GitReader,
  commit: string,
  options: ReadManifestsOptions = {},
): Promise<ManifestLoadResult> {
  const limits = resolveLimits(options.limits);
  // Without the trailing slash the prefix also matches `manifests` itself, should it be a link.
  const listed =
    options.paths === undefined
      ? await reader.listTree(commit, [MANIFESTS_DIR.slice(0, -1)], { symlinks: true })
      : await lookUpPaths(reader, commit, options.paths);
  const links = listed.filter((e) => e.symlink === true);
  const entries = listed.filter((e) => e.symlink !== true && isManifestPath(e.path));
  const refused = entries.filter((e) => e.size > limits.maxFileBytes);
  const accepted = entries.filter((e) => e.size <= limits.maxFileBytes);
  const history = options.history ?? createHistoryCache();
  // The revision's own files are parsed first, while git may still be walking its history.
  const early = accepted.length === 0 ? null : await parseRevisionFiles(reader, history, accepted, limits);
  const provenance =
    accepted.length === 0
      ? null
      : await readDocumentProvenance(reader, commit, accepted, { cache: history, limits });
  const inputs = accepted.map((entry) => ({
    path: entry.path,
    blob: entry.blob,
    introduced: null,
    introducedByDocument: provenance?.introducedOf(entry.blob) ?? [],
    parsed:
      provenance?.parsed.get(`${entry.path}\n${entry.blob}`) ?? early?.get(`${entry.path}\n${entry.blob}`),
    partial: false,
  }));
  // Take this read's cache hits now: a concurrent read may prune the shared cache while we wait
  // for blobs, and a hit must not turn into an unread (empty) file.
  const hits: ManifestCache = new Map();
  const uncached = inputs.filter((input) => {
    // A selection first: even a cached file costs its every document in the cross-document rules.
    const selected =
      input.parsed === undefined ? selectedDocuments(input, history, options.selectDocuments) : null;
    if (selected !== null) {
      input.parsed = selected;
      input.partial = true;
      return false;
    }
    const key = manifestCacheKey(input);
    const hit = key === null ? undefined : options.cache?.get(key);
    if (key !== null && hit !== undefined) hits.set(key, hit);
    return hit === undefined && input.parsed === undefined;
  });
  const blobs =
    uncached.length === 0
      ? new Map<string, Buffer>()
      : await reader.readBlobs([...new Set(uncached.map((input) => input.blob))]);
  // Cached files need no content: validateManifests takes their earlier result by key.
  const files: ManifestFileInput[] = inputs.map((input) => ({
    ...input,
    content: blobs.get(input.blob) ?? Buffer.alloc(0),
  }));
  const records = await options.records;
  const result = validateManifests(files, {
    records,
    limits,
    ...(options.cache ? { cache: hits } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  if (options.cache) {
    // `hits` now holds exactly this revision's files: make it the shared cache's content (a read
    // of some paths only adds to it: the other files are still the caller's).
    if (options.paths === undefined)
      for (const key of options.cache.keys()) if (!hits.has(key)) options.cache.delete(key);
    for (const [key, outcome] of hits) options.cache.set(key, outcome);
  }
  return withRefused(result, [
    ...refused.map((e) => tooLarge(e.path, e.size, limits.maxFileBytes)),
    ...links.map((e) => symlinked(e.path)),
  ]);
}

/** The documents `select` picks of a file, from the walk's summaries; null to read the file whole. */
function selectedDocuments(
  input: { path: string; blob: string },
  history: HistoryCache,
  select: ReadManifestsOptions['selectDocuments'],
): ParsedYamlFile | null {
  if (select === undefined) return null;
  const summaries = history.documents.get(input.blob);
  if (summaries === undefined || summaries === null) return null;
  const picked = select(input.path, summaries);
  if (picked === null || picked.some((document) => document.value === null)) return null;
  return fileOfDocumentValues(input.path, picked);
}

/** The blobs at `paths` in `commit` (one batch request; sizes only, no content). */
async function lookUpPaths(
  reader: GitReader,
  commit: string,
  paths: readonly string[],
): Promise<TreeEntry[]> {
  const wanted = [...new Set(paths)].filter((path) => path.startsWith(MANIFESTS_DIR)).sort();
  if (wanted.length === 0) return [];
  const objects = await reader.readObjects(
    wanted.map((path) => `${commit}:${path}`),
    { maxBytes: 0 },
  );
  return wanted.flatMap((path) => {
    const object = objects.get(`${commit}:${path}`);
    return object ? [{ path, blob: object.id, size: object.size }] : [];
  });
}

/**
 * The manifests on disk under `<dir>/manifests/` (for editors, pre-commit and `--watch`). Symbolic
 * links are not followed (each is a finding); commit-time defaults fall back to the epoch with a
 * warning.
 */
export async function readWorktreeManifests(
  dir: string,
  options: ReadManifestsOptions = {},
): Promise<ManifestLoadResult> {
  const limits = resolveLimits(options.limits);
  const files: ManifestFileInput[] = [];
  const listed = await listWorktreeFiles(dir);
  const refused = listed.symlinks.map(symlinked);
  for (const path of listed.files) {
    const stats = await lstat(join(dir, path));
    if (stats.size > limits.maxFileBytes) {
      refused.push(tooLarge(path, stats.size, limits.maxFileBytes));
      continue;
    }
    files.push({ path, content: await readFile(join(dir, path)), blob: '', introduced: null });
  }
  const result = validateManifests(files, {
    records: await options.records,
    limits,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  return withRefused(result, refused);
}

/**
 * Repository-relative paths of the manifest files under `<dir>/manifests/`, walked iteratively,
 * and of every symbolic link there (not followed, `manifests` itself included).
 */
async function listWorktreeFiles(dir: string): Promise<{ files: string[]; symlinks: string[] }> {
  const paths: string[] = [];
  const symlinks: string[] = [];
  const pending = ['manifests'];
  try {
    if ((await lstat(join(dir, 'manifests'))).isSymbolicLink()) return { files: [], symlinks: ['manifests'] };
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { files: [], symlinks: [] };
    throw error;
  }
  while (pending.length > 0) {
    const relative = pending.pop()!;
    let entries;
    try {
      entries = await readdir(join(dir, relative), { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') continue;
      throw error;
    }
    for (const entry of entries) {
      const path = `${relative}/${entry.name}`;
      if (entry.isDirectory()) pending.push(path);
      else if (entry.isSymbolicLink()) symlinks.push(path);
      else if (entry.isFile() && isManifestPath(path)) paths.push(path);
    }
  }
  return { files: paths.sort(), symlinks: symlinks.sort() };
}
