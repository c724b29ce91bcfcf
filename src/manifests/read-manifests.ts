/**
 * Reading manifests: from a committed revision in batch (one tree listing, one batch blob read,
 * one log for the introducing commits), or from the working tree for `validate --worktree`.
 * Oversized files are refused by their size before they are read.
 */
import { lstat, readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { DEFAULT_POLICY_SPEC } from '../domain/defaults.js';
import type { GitReader } from '../domain/ports.js';
import type { CommitInfo, Finding, ManifestCondition, ReconcilerPolicySpec } from '../domain/types.js';
import { resolveLimits, type YamlLimits } from './limits.js';
import { makeFinding, compareFindings } from './rules.js';
import {
  isManifestPath,
  manifestCacheKey,
  validateManifests,
  type ManifestCache,
  type ManifestFileInput,
  type ManifestLoadResult,
  type RecordIndex,
} from './validate-manifests.js';

export interface ReadManifestsOptions {
  records?: RecordIndex;
  limits?: Partial<YamlLimits>;
  /** Results of earlier reads; files whose blob and introducing commit are unchanged are not read again. */
  cache?: ManifestCache;
  /** Called as files are checked (the CLI draws a progress bar on a terminal). */
  onProgress?: (done: number, total: number) => void;
}

export const MANIFESTS_DIR = 'manifests/';

function tooLarge(path: string, size: number, limit: number): { finding: Finding; condition: ManifestCondition } {
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
 * The manifests of a committed revision: one `listTree`, one `readBlobs`, one
 * `readIntroducingCommits` (for the commit-time defaults), whatever the number of files.
 */
export async function readManifests(
  reader: GitReader,
  commit: string,
  options: ReadManifestsOptions = {},
): Promise<ManifestLoadResult> {
  const limits = resolveLimits(options.limits);
  const entries = (await reader.listTree(commit, [MANIFESTS_DIR])).filter((e) => isManifestPath(e.path));
  const refused = entries.filter((e) => e.size > limits.maxFileBytes);
  const accepted = entries.filter((e) => e.size <= limits.maxFileBytes);
  const introduced =
    accepted.length === 0
      ? new Map<string, CommitInfo>()
      : await reader.readIntroducingCommits(
          commit,
          accepted.map((e) => e.path),
        );
  const inputs = accepted.map((entry) => ({
    path: entry.path,
    blob: entry.blob,
    introduced: introduced.get(entry.path) ?? null,
  }));
  // Take this read's cache hits now: a concurrent read may prune the shared cache while we wait
  // for blobs, and a hit must not turn into an unread (empty) file.
  const hits: ManifestCache = new Map();
  const uncached = inputs.filter((input) => {
    const key = manifestCacheKey(input);
    const hit = key === null ? undefined : options.cache?.get(key);
    if (key !== null && hit !== undefined) hits.set(key, hit);
    return hit === undefined;
  });
  const blobs = await reader.readBlobs([...new Set(uncached.map((input) => input.blob))]);
  // Cached files need no content: validateManifests takes their earlier result by key.
  const files: ManifestFileInput[] = inputs.map((input) => ({
    ...input,
    content: blobs.get(input.blob) ?? Buffer.alloc(0),
  }));
  const result = validateManifests(files, {
    records: options.records,
    limits,
    ...(options.cache ? { cache: hits } : {}),
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  if (options.cache) {
    // `hits` now holds exactly this revision's files: make it the shared cache's content.
    for (const key of options.cache.keys()) if (!hits.has(key)) options.cache.delete(key);
    for (const [key, outcome] of hits) options.cache.set(key, outcome);
  }
  return withRefused(
    result,
    refused.map((e) => tooLarge(e.path, e.size, limits.maxFileBytes)),
  );
}

/**
 * The manifests on disk under `<dir>/manifests/` (for editors, pre-commit and `--watch`). Symbolic
 * links are not followed; commit-time defaults fall back to the epoch with a warning.
 */
export async function readWorktreeManifests(
  dir: string,
  options: ReadManifestsOptions = {},
): Promise<ManifestLoadResult> {
  const limits = resolveLimits(options.limits);
  const files: ManifestFileInput[] = [];
  const refused: { finding: Finding; condition: ManifestCondition }[] = [];
  for (const path of await listWorktreeFiles(dir)) {
    const stats = await lstat(join(dir, path));
    if (stats.size > limits.maxFileBytes) {
      refused.push(tooLarge(path, stats.size, limits.maxFileBytes));
      continue;
    }
    files.push({ path, content: await readFile(join(dir, path)), blob: '', introduced: null });
  }
  const result = validateManifests(files, {
    records: options.records,
    limits,
    ...(options.onProgress ? { onProgress: options.onProgress } : {}),
  });
  return withRefused(result, refused);
}

/** Repository-relative paths of the manifest files under `<dir>/manifests/`, walked iteratively. */
export async function listWorktreeFiles(dir: string): Promise<string[]> {
  const paths: string[] = [];
  const pending = ['manifests'];
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
      else if (entry.isFile() && isManifestPath(path)) paths.push(path);
    }
  }
  return paths.sort();
}

const POLICY_MARKER = Buffer.from('ReconcilerPolicy');

/**
 * The ReconcilerPolicy in force at a commit: its normalised spec, or DEFAULT_POLICY_SPEC when the
 * commit is null (before the first commit) or has no valid policy. Only files that mention
 * `ReconcilerPolicy` are parsed, so this stays cheap on large repositories.
 */
export async function readPolicyAt(reader: GitReader, commit: string | null): Promise<ReconcilerPolicySpec> {
  if (commit === null) return structuredClone(DEFAULT_POLICY_SPEC);
  const limits = resolveLimits();
  const entries = (await reader.listTree(commit, [MANIFESTS_DIR])).filter(
    (e) => isManifestPath(e.path) && e.size <= limits.maxFileBytes,
  );
  const blobs = await reader.readBlobs([...new Set(entries.map((e) => e.blob))]);
  const files: ManifestFileInput[] = [];
  for (const entry of entries) {
    const content = blobs.get(entry.blob);
    if (content !== undefined && content.includes(POLICY_MARKER)) {
      files.push({ path: entry.path, content, blob: entry.blob, introduced: null });
    }
  }
  const policy = validateManifests(files, { limits }).manifests.policy;
  return policy === null ? structuredClone(DEFAULT_POLICY_SPEC) : policy.spec;
}
