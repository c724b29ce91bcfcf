/**
 * One walk of history: a single `git log --raw -c` over a few directory prefixes, streamed and
 * parsed from Buffers. Each commit comes with its parents, committer time, author, replica
 * trailer (read from the message body) and the blobs it put under the prefixes, so every history fact the gate needs
 * (provenance by content, recorded revisions, consumption) is derived from this one process,
 * whose cost is linear in the history (git's own cost for `log --raw` with a few pathspecs).
 *
 * Why these options:
 * - No pathspec: every commit is listed with its real parents (a pathspec would make git simplify
 *   history and rewrite parents unless told `--full-history --sparse`, and its per-commit
 *   TREESAME checks cost more than they save in an ops repository, where nearly everything is
 *   under `manifests/` and `records/`); changes outside the prefixes are dropped while parsing.
 *   Ancestry (the base of a change) is computed from the walk alone.
 * - `-c`: a merge lists the paths whose blob differs from every parent. A document that a merge
 *   took unchanged from one parent is in that parent's tree, which is older, so the oldest commit
 *   holding a document is always one that lists it.
 * - `--topo-order`: children before parents, so reversing the output gives parents first.
 * - `--root`, `log.follow=false`, `log.showSignature=false`: the operator's config never changes
 *   what is listed (`log.showRoot`, `log.follow` with a single pathspec, signature lines).
 */
import { spawn } from 'node:child_process';
import type { HistoryWalkRequest, WalkedChange, WalkedCommit } from '../domain/ports.js';
import type { StringTable } from '../domain/string-table.js';
import { GitError } from '../errors.js';
import { describeGitFailure } from './run-git.js';

/** The trailer reconciler commits carry (same as store.ts `REPLICA_TRAILER`; a test checks). */
export const REPLICA_TRAILER_KEY = 'Cavra-Gitops-Replica';
const COMMIT_SENTINEL = 0x01;
const NUL = 0x00;
const SPACE = 0x20;
const COLON = 0x3a;
const NEWLINE = 0x0a;
/** Fields before the message body. */
const HEADER_FIELDS = 4;
/**
 * Commit id, parents, committer time, author, then the message body closed by a \x02 token. The
 * body is read for the replica trailer: `%(trailers:key=...)` would be git's own parse of it, but
 * costs more than the rest of the walk together; a body holding a NUL (git warns against it) only
 * extends the body until the \x02 token.
 */
const WALK_FORMAT = '%x01%H%x00%P%x00%ct%x00%an <%ae>%x00%b%x00%x02%x00';
const BODY_END = '\x02';
const TRAILER_LINE = new RegExp(`^${REPLICA_TRAILER_KEY}:[ \t]*(.*?)[ \t]*$`, 'i');

/** The value of the replica trailer in a commit message body ('' when absent). */
export function readReplicaTrailer(body: string): string {
  const paragraphs = body.replace(/\s+$/, '').split(/\n[ \t]*\n/);
  const last = paragraphs[paragraphs.length - 1] ?? '';
  const values: string[] = [];
  for (const line of last.split('\n')) {
    const match = TRAILER_LINE.exec(line);
    if (match) values.push(match[1] ?? '');
  }
  return values.join(',');
}
const EMPTY_MODE = '000000';

/**
 * Incremental parser of `git log -z --raw -c --format=<WALK_FORMAT>` output. Tokens are the
 * NUL-separated pieces: five header fields after a \x01 sentinel, then pairs of raw lines
 * (`:mode mode sha sha status`, one colon per parent for a merge) and paths.
 */
export class HistoryLogParser {
  private carry: Buffer | null = null;
  private fields: string[] = [];
  private inHeader = false;
  private body: string[] | null = null;
  private current: WalkedCommit | null = null;
  /** The raw line waiting for its path, parsed (null: the line was not a change we keep). */
  private pendingRaw: Omit<WalkedChange, 'path'> | null | undefined = undefined;

  private readonly prefixes: readonly string[];
  private readonly intern: (value: string) => string;

  /**
   * `prefixes`: keep only changes under these directories (all when empty). `strings`: where
   * paths and blob ids are interned (shared with the reader's tree listings).
   */
  constructor(
    private readonly onCommit: (commit: WalkedCommit) => void,
    prefixes: readonly string[] = [],
    strings?: StringTable,
  ) {
    this.prefixes = prefixes.map((prefix) => (prefix.endsWith('/') ? prefix : `${prefix}/`));
    this.intern = strings ? (value) => strings.intern(value) : (value) => value;
  }

  feed(chunk: Buffer): void {
    let start = 0;
    for (;;) {
      const end = chunk.indexOf(NUL, start);
      if (end === -1) {
        const rest = chunk.subarray(start);
        if (rest.length > 0) this.carry = this.carry ? Buffer.concat([this.carry, rest]) : Buffer.from(rest);
        return;
      }
      const part = chunk.subarray(start, end);
      const token = this.carry ? Buffer.concat([this.carry, part]) : part;
      this.carry = null;
      start = end + 1;
      this.onToken(token);
    }
  }

  /** Flush the last commit; call once when the output has ended. */
  end(): void {
    if (this.carry !== null && this.carry.length > 0) {
      const token = this.carry;
      this.carry = null;
      this.onToken(token);
    }
    this.finishCommit();
  }

  private onToken(token: Buffer): void {
    if (this.pendingRaw !== undefined) {
      // Always a path: paths may start with any byte, so this is checked before the sentinel.
      const raw = this.pendingRaw;
      this.pendingRaw = undefined;
      if (raw === null) return;
      const path = token.toString('utf8');
      if (this.prefixes.length === 0 || this.prefixes.some((prefix) => path.startsWith(prefix))) {
        // A literal of four fields (a spread would give each change an out-of-object property store).
        this.current?.changes.push({
          path: this.intern(path),
          status: raw.status,
          blob: raw.blob,
          mode: raw.mode,
        });
      }
      return;
    }
    if (token.length > 0 && token[0] === COMMIT_SENTINEL) {
      this.finishCommit();
      this.inHeader = true;
      this.fields = [token.toString('utf8', 1)];
      return;
    }
    if (this.inHeader) {
      this.fields.push(token.toString('utf8'));
      if (this.fields.length === HEADER_FIELDS) {
        this.inHeader = false;
        this.body = [];
      }
      return;
    }
    if (this.body !== null) {
      const text = token.toString('utf8');
      if (text === BODY_END) this.finishHeader(this.body.join('\0'));
      else this.body.push(text);
      return;
    }
    // git ends the header with a newline before the first raw line of a non-merge commit.
    const start = token[0] === NEWLINE ? 1 : 0;
    if (token[start] === COLON && this.current) this.pendingRaw = this.parseRaw(token, start);
  }

  private finishHeader(body: string): void {
    const [commit = '', parents = '', time = '0', author = ''] = this.fields;
    this.body = null;
    this.current = {
      commit,
      parents: parents === '' ? [] : parents.split(' '),
      time: Number(time),
      author: this.intern(author),
      replica: this.intern(readReplicaTrailer(body)),
      changes: [],
    };
  }

  private finishCommit(): void {
    if (this.current) this.onCommit(this.current);
    this.current = null;
  }

  /**
   * `:100644 100644 <old> <new> M` or, for a merge of n parents, n colons, n+1 modes, n+1 ids;
   * read from the bytes (null when the line is short). The blob id is cut out on its own: a
   * substring of the line would keep the whole line alive as long as the change.
   */
  private parseRaw(token: Buffer, start: number): Omit<WalkedChange, 'path'> | null {
    let at = start;
    while (token[at] === COLON) at++;
    const parents = at - start;
    const fields: [number, number][] = [];
    while (at <= token.length && fields.length < 2 * (parents + 1) + 1) {
      let end = token.indexOf(SPACE, at);
      if (end === -1) end = token.length;
      fields.push([at, end]);
      at = end + 1;
    }
    if (fields.length < 2 * (parents + 1) + 1) return null;
    const text = ([from, to]: [number, number]): string => token.toString('latin1', from, to);
    const modes = fields.slice(0, parents + 1).map(text);
    const mode = this.intern(modes[parents] ?? EMPTY_MODE);
    const deleted = mode === EMPTY_MODE;
    const added = !deleted && modes.slice(0, parents).every((m) => m === EMPTY_MODE);
    return {
      status: deleted ? 'deleted' : added ? 'added' : 'modified',
      blob: deleted ? '' : this.intern(text(fields[2 * parents + 1]!)),
      mode,
    };
  }
}

/** The `git log` arguments of a walk (exported for tests and the benchmark). */
export function buildWalkArgs(request: HistoryWalkRequest): string[] {
  return [
    '-c',
    'log.showSignature=false',
    '-c',
    'log.follow=false',
    '-c',
    'core.quotePath=false',
    'log',
    `--format=${WALK_FORMAT}`,
    '--raw',
    '-z',
    '-c',
    '--root',
    '--no-renames',
    '--no-abbrev',
    '--topo-order',
    '--no-color',
    '--no-ext-diff',
    '--no-textconv',
    '--no-mailmap',
    request.tip,
    ...(request.exclude ?? []).map((commit) => `^${commit}`),
    '--',
  ];
}

export interface WalkHistoryOptions {
  repoDir: string;
  env: NodeJS.ProcessEnv;
  /** Where paths and blob ids are interned. */
  strings?: StringTable;
}

/** Run the walk: every commit of `request`, newest first (topological), with its changes. */
export function walkHistory(
  request: HistoryWalkRequest,
  options: WalkHistoryOptions,
): Promise<WalkedCommit[]> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', buildWalkArgs(request), {
      cwd: options.repoDir,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const commits: WalkedCommit[] = [];
    const stderr: Buffer[] = [];
    const parser = new HistoryLogParser((commit) => commits.push(commit), request.prefixes, options.strings);
    child.stdout.on('data', (chunk: Buffer) => parser.feed(chunk));
    child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
    child.on('error', (error) =>
      reject(
        new GitError(`Could not start git log in ${options.repoDir}: ${error.message}`, { cause: error }),
      ),
    );
    child.on('close', (code) => {
      if (code !== 0) {
        reject(
          new GitError(
            `Walking the history of ${request.tip} in ${options.repoDir} failed: ${describeGitFailure(Buffer.concat(stderr).toString('utf8'))}`,
          ),
        );
        return;
      }
      parser.end();
      resolve(commits);
    });
  });
}
