/**
 * GitReader over a local repository (bare or not): committed objects only, never the working
 * tree. Every method is a bounded number of git processes regardless of how many files it covers.
 */
import type {
  Env,
  GitReader,
  ListedFile,
  ListTreeOptions,
  StoredObject,
  TreeEntry,
} from '../domain/ports.js';
import { GitError, NotACommitError, UnknownRevisionError } from '../errors.js';
import { StringTable } from '../domain/string-table.js';
import { BatchReader } from './batch-reader.js';
import { walkHistory } from './history-walk.js';
import { createGitEnv, describeGitFailure, streamGit } from './run-git.js';
import { verifySignatures } from './verify-signatures.js';
import { runPorcelain } from './run-porcelain.js';
import { verifyRevision } from './verify-revision.js';

/** Options of {@link createGitReader}. */
export interface GitReaderOptions {
  /** Environment for git children (default: `process.env`, minus variables that redirect git). */
  env?: Env;
  /**
   * Treat `repoDir` as the git directory itself (`GIT_DIR`), never discovering a repository in a
   * parent directory: for clones the program owns, where a broken clone must fail loudly.
   */
  gitDir?: boolean;
}

/** A GitReader that also reads single files and releases its cat-file process on close. */
export interface LocalGitReader extends GitReader {
  readonly repoDir: string;
  /** The first parent of a commit, or null for a root commit. */
  readParent(commit: string): Promise<string | null>;
  /** Content of a file at a commit as UTF-8, null when the path is absent (or not a file). */
  readFile(commit: string, path: string): Promise<string | null>;
  close(): Promise<void>;
}

const TAB = 0x09;
const SPACE = 0x20;
const NUL = 0x00;

/** An entry of either listing: with its size exactly when the listing was `--long`. */
export type ListedEntry = ListedFile & { size?: number };

/**
 * Parse `git ls-tree -r -z` output into blob entries (submodules and symlinks are kept out), with
 * each blob's size when it is the `--long` listing (`size` is then set; without it, not). Paths
 * and blob ids are cut straight from the bytes (a substring of a split line would keep the whole
 * line alive) and shared through `table` when given.
 */
export function parseLsTree(
  output: Buffer,
  options: ListTreeOptions = {},
  table?: StringTable,
): ListedEntry[] {
  const entries: ListedEntry[] = [];
  const intern = table ? (value: string) => table.intern(value) : (value: string) => value;
  let start = 0;
  while (start < output.length) {
    let end = output.indexOf(NUL, start);
    if (end === -1) end = output.length;
    const tab = output.indexOf(TAB, start);
    if (tab !== -1 && tab < end) {
      // "<mode> SP <type> SP <object>" and, with --long, "SP+ <size>"
      const typeAt = output.indexOf(SPACE, start) + 1;
      const objectAt = typeAt === 0 || typeAt > tab ? -1 : output.indexOf(SPACE, typeAt) + 1;
      if (objectAt > 0 && objectAt < tab && output.toString('latin1', typeAt, objectAt - 1) === 'blob') {
        const sizeAt = output.indexOf(SPACE, objectAt) + 1;
        const long = sizeAt > 0 && sizeAt < tab;
        const symlink = output.toString('latin1', start, typeAt - 1) === '120000';
        const blob = intern(output.toString('latin1', objectAt, long ? sizeAt - 1 : tab));
        const path = intern(output.toString('utf8', tab + 1, end));
        if (long) {
          const size = Number(output.toString('latin1', sizeAt, tab));
          if (!symlink) entries.push({ path, blob, size });
          else if (options.symlinks === true) entries.push({ path, blob, size, symlink });
        } else if (!symlink) entries.push({ path, blob });
        else if (options.symlinks === true) entries.push({ path, blob, symlink });
      }
    }
    start = end + 1;
  }
  return entries;
}

/** Whether a path lies under a prefix: `dir/` matches inside `dir`, `dir` also matches itself. */
function isUnderPrefix(path: string, prefix: string): boolean {
  if (prefix === '' || prefix === '.' || prefix === './') return true;
  if (prefix.endsWith('/')) return path.startsWith(prefix);
  return path === prefix || path.startsWith(`${prefix}/`);
}

/**
 * The object type `rev-parse --verify -q <rev>^{commit}` names when the id exists but is no commit
 * (a tree, a blob); null for anything else. git runs with LC_ALL=C, so the message is stable. (An
 * ambiguous short id stays silent under -q, like an unknown one.)
 */
function classifyNotACommit(stderr: string): string | null {
  const type = /expected commit type, but the object dereferences to (\w+) type/.exec(stderr);
  return type?.[1] ?? null;
}

/** Refuse revisions that git would read as options. */
function assertRevision(rev: string, repoDir: string): void {
  if (rev === '' || rev.startsWith('-') || /[\s\0]/.test(rev)) {
    throw new GitError(`"${rev}" is not a valid revision for ${repoDir}; pass a branch, tag or commit id.`);
  }
}

/**
 * A reader for the repository at `repoDir` (bare or with a working tree). Reads committed
 * objects only. Call `close()` to stop its `git cat-file --batch` process.
 */
export function createGitReader(repoDir: string, options: GitReaderOptions = {}): LocalGitReader {
  const env = createGitEnv(options.env ?? process.env, options.gitDir ? { GIT_DIR: repoDir } : {});
  const batch = new BatchReader({ repoDir, env });
  const porcelain = { cwd: repoDir, env };
  // Paths and blob ids of listings and walks, shared by every structure built from them.
  const strings = new StringTable();

  const resolve = async (rev: string): Promise<string> => {
    assertRevision(rev, repoDir);
    const found = await verifyRevision(`${rev}^{commit}`, porcelain);
    if (found.status !== 'found' || found.id === '') {
      const stderr = found.status === 'failed' ? found.stderr : '';
      const notCommit = classifyNotACommit(stderr);
      if (notCommit !== null) {
        throw new NotACommitError(
          `Revision "${rev}" names a ${notCommit}, not a commit, in ${repoDir}; pass a commit id.`,
          notCommit,
        );
      }
      const detail = stderr.trim() ? ` (${describeGitFailure(stderr)})` : '';
      // Only a name that resolves to no commit is unknown; anything else (a message from git, an
      // empty answer) is the repository failing.
      const unknown = found.status === 'missing';
      throw new (unknown ? UnknownRevisionError : GitError)(
        `Revision "${rev}" is not a commit in ${repoDir}${detail}; check the branch name or fetch it first.`,
      );
    }
    const id = found.id;
    return id;
  };

  const readBlobs = async (blobs: string[]): Promise<Map<string, Buffer>> => {
    const objects = await batch.read(blobs);
    const result = new Map<string, Buffer>();
    const missing: string[] = [];
    for (const [id, object] of objects) {
      if (object === null || object.type !== 'blob') missing.push(id);
      else result.set(id, object.content);
    }
    if (missing.length > 0) {
      throw new GitError(
        `${missing.length} blob(s) not found in ${repoDir} (first: ${missing[0]}); the repository may be incomplete, fetch again.`,
      );
    }
    return result;
  };

  return {
    repoDir,
    resolve,
    readBlobs,

    async listTree(
      commit: string,
      prefixes: string[],
      listOptions: ListTreeOptions & { sizes?: false } = {},
    ): Promise<TreeEntry[]> {
      assertRevision(commit, repoDir);
      const pathspecs = prefixes.filter((prefix) => prefix !== '' && prefix !== '.' && prefix !== './');
      const everything = pathspecs.length < prefixes.length || prefixes.length === 0;
      const sizes = listOptions.sizes !== false ? ['--long'] : [];
      const args = ['--literal-pathspecs', 'ls-tree', '-r', '-z', ...sizes, '--full-tree', commit];
      if (!everything) args.push('--', ...pathspecs.map((prefix) => prefix.replace(/\/+$/, '')));
      // Bytes (NUL-separated, paths in any encoding) from a raw child: simple-git decodes output to
      // a string first, and holds an empty listing 50 ms (docs/decisions.md).
      // Parsed as it streams: complete NUL-terminated entries of each chunk, the rest carried over.
      const entries: ListedEntry[] = [];
      let carry: Buffer | null = null;
      const result = await streamGit(args, porcelain, (chunk) => {
        const data: Buffer = carry === null ? chunk : Buffer.concat([carry, chunk]);
        const last = data.lastIndexOf(NUL);
        if (last === -1) {
          carry = Buffer.from(data);
          return;
        }
        for (const entry of parseLsTree(data.subarray(0, last + 1), listOptions, strings))
          entries.push(entry);
        carry = last + 1 < data.length ? Buffer.from(data.subarray(last + 1)) : null;
      });
      if (result.exitCode !== 0) {
        throw new GitError(
          `Listing ${prefixes.join(', ') || 'the tree'} at ${commit} in ${repoDir} failed: ${describeGitFailure(result.stderr)}`,
        );
      }
      if (carry !== null) for (const entry of parseLsTree(carry, listOptions, strings)) entries.push(entry);
      // ls-tree matches pathspecs as path components; keep exactly what the prefixes promise.
      // (Each entry has its size exactly when --long was asked for.)
      return (
        everything
          ? entries
          : entries.filter((entry) => pathspecs.some((prefix) => isUnderPrefix(entry.path, prefix)))
      ) as TreeEntry[];
    },

    async readParent(commit: string): Promise<string | null> {
      assertRevision(commit, repoDir);
      const result = await runPorcelain(
        ['rev-list', '--parents', '-n', '1', '--end-of-options', commit],
        porcelain,
      );
      if (!result.ok) {
        throw new GitError(
          `Reading the parent of ${commit} in ${repoDir} failed: ${describeGitFailure(result.stderr)}`,
        );
      }
      const ids = result.value.trim().split(' ');
      return ids[1] ?? null;
    },

    async walkHistory(request) {
      assertRevision(request.tip, repoDir);
      for (const commit of request.exclude ?? []) assertRevision(commit, repoDir);
      return walkHistory(request, { repoDir, env, strings });
    },

    async isAncestor(ancestor: string, descendant: string): Promise<boolean> {
      assertRevision(ancestor, repoDir);
      assertRevision(descendant, repoDir);
      // Not `--is-ancestor`, which answers by exit code alone: simple-git waits 50 ms more for a
      // command that prints nothing, and this runs on every pass whose tip moved. `ancestor` is
      // an ancestor exactly when it is the best common ancestor; exit 1: none in common.
      const result = await runPorcelain(['merge-base', ancestor, descendant], porcelain);
      if (result.ok) return result.value.trim() === ancestor;
      if (result.exitCode === 1) return false;
      throw new GitError(
        `Checking whether ${ancestor} is an ancestor of ${descendant} in ${repoDir} failed: ${describeGitFailure(result.stderr)}`,
      );
    },

    async readObjects(names: string[], readOptions = {}): Promise<Map<string, StoredObject | null>> {
      const objects = await batch.read(names, readOptions);
      const result = new Map<string, StoredObject | null>();
      for (const [name, object] of objects) {
        result.set(
          name,
          object === null || object.type !== 'blob'
            ? null
            : { id: object.id, size: object.size, content: object.skipped ? null : object.content },
        );
      }
      return result;
    },

    verifySignatures: (commits, allowedSigners) =>
      verifySignatures(commits, allowedSigners, { repoDir, env }),

    async readFile(commit: string, path: string): Promise<string | null> {
      const entries = await this.listTree(commit, [path]);
      const entry = entries.find((candidate) => candidate.path === path);
      if (!entry) return null;
      const blobs = await readBlobs([entry.blob]);
      return blobs.get(entry.blob)?.toString('utf8') ?? null;
    },

    close: () => batch.close(),
  };
}
