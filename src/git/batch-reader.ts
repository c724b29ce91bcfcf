/**
 * One long-lived `git cat-file --batch` per repository. Requests are pipelined: a call writes all
 * its object ids in one write and the answers come back in the same order, so concurrent callers
 * share the process safely through one FIFO of expected answers. Output is parsed as Buffers with
 * each object's content copied once into a buffer of its announced size, so chunk boundaries and
 * large or binary blobs cost nothing extra.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { GitError } from '../errors.js';

/** One answer of `cat-file --batch`; null in a result map means the object is missing. */
export interface BatchObject {
  type: string;
  content: Buffer;
  /** The object id git answered with (for a `<commit>:<path>` name, the id of the object there). */
  id: string;
  size: number;
  /** True when the object was larger than the request's `maxBytes`: `content` is then empty. */
  skipped: boolean;
}

export interface BatchReadOptions {
  /** Objects larger than this are not read: their bytes are discarded as they stream past. */
  maxBytes?: number;
}

interface BatchRequest {
  ids: string[];
  results: Map<string, BatchObject | null>;
  /** Answers still expected from the current process. */
  remaining: number;
  /** How many processes this request was sent to (it is re-sent once if the process dies). */
  sends: number;
  maxBytes: number;
  resolve: (results: Map<string, BatchObject | null>) => void;
  reject: (error: Error) => void;
}

interface PendingAnswer {
  id: string;
  request: BatchRequest;
}

/**
 * Object names we accept: hex ids (sha1/sha256), optionally followed by `:<path>` (the object at
 * that path of a commit's tree). Anything else could inject batch syntax or name a ref: a path
 * may hold any byte but the line feed that ends a request (and NUL, which git cannot store).
 */
const OBJECT_NAME = /^[0-9a-f]{4,64}(?::[^\n\0]*)?$/i;

const NEWLINE = 0x0a;

export interface BatchReaderOptions {
  repoDir: string;
  env: NodeJS.ProcessEnv;
}

/**
 * Reads objects of a repository through one `git cat-file --batch` process, started lazily,
 * restarted when it dies, stopped by {@link BatchReader.close}.
 */
export class BatchReader {
  private child: ChildProcessWithoutNullStreams | null = null;
  private readonly answers: (PendingAnswer | undefined)[] = [];
  /** Index of the next answer in `answers` (a moving head avoids O(n) shift()). */
  private answerHead = 0;
  private closed = false;
  private stderrTail = '';

  // Parser state for the current process.
  private headerCarry: Buffer | null = null;
  private body: Buffer | null = null;
  private bodyType = '';
  private bodyId = '';
  private bodyFilled = 0;
  /** Bytes of an over-size object still to discard. */
  private skipRemaining = 0;
  private awaitingTrailer = false;

  constructor(private readonly options: BatchReaderOptions) {}

  /**
   * Read the given objects. Resolves with a map from id to object (null when missing), after
   * writing all ids at once and reading all answers; duplicate ids are asked once.
   */
  read(ids: readonly string[], options: BatchReadOptions = {}): Promise<Map<string, BatchObject | null>> {
    if (this.closed) {
      return Promise.reject(new GitError(`The object reader of ${this.options.repoDir} is closed.`));
    }
    const unique = [...new Set(ids)];
    const invalid = unique.find((id) => !OBJECT_NAME.test(id));
    if (invalid !== undefined) {
      return Promise.reject(
        new GitError(
          `"${invalid.slice(0, 80)}" is not an object id or <commit>:<path>; pass blob ids as listed by listTree.`,
        ),
      );
    }
    if (unique.length === 0) return Promise.resolve(new Map<string, BatchObject | null>());
    return new Promise((resolve, reject) => {
      const request: BatchRequest = {
        ids: unique,
        results: new Map(),
        remaining: 0,
        sends: 0,
        maxBytes: options.maxBytes ?? Number.POSITIVE_INFINITY,
        resolve,
        reject,
      };
      this.send(request);
    });
  }

  /** Stop the process; later reads fail. Pending reads are rejected. */
  async close(): Promise<void> {
    this.closed = true;
    const child = this.child;
    if (!child) return;
    this.child = null;
    this.failPending(
      new GitError(`The object reader of ${this.options.repoDir} was closed during a read.`),
      false,
    );
    await new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) {
        resolve();
        return;
      }
      child.once('close', () => resolve());
      child.stdin.end();
    });
  }

  private send(request: BatchRequest): void {
    const child = this.ensureProcess();
    request.sends += 1;
    request.remaining = request.ids.length;
    request.results.clear();
    for (const id of request.ids) this.answers.push({ id, request });
    child.stdin.write(`${request.ids.join('\n')}\n`);
  }

  private ensureProcess(): ChildProcessWithoutNullStreams {
    if (this.child) return this.child;
    const child = spawn('git', ['cat-file', '--batch'], {
      cwd: this.options.repoDir,
      env: this.options.env,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.child = child;
    this.resetParser();
    this.stderrTail = '';
    child.stdout.on('data', (chunk: Buffer) => {
      if (this.child === child) this.consume(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString('utf8')).slice(-2000);
    });
    child.stdin.on('error', () => undefined); // reported through 'close'
    child.on('error', (error) => this.onProcessGone(child, error.message));
    child.on('close', (code, signal) => this.onProcessGone(child, `exited with ${signal ?? `code ${code}`}`));
    return child;
  }

  private onProcessGone(child: ChildProcessWithoutNullStreams, how: string): void {
    if (this.child !== child) return;
    this.child = null;
    const detail = this.stderrTail.trim();
    const error = new GitError(
      `git cat-file in ${this.options.repoDir} ${how}${detail ? `: ${detail}` : ''}; check that the repository is readable.`,
    );
    this.failPending(error, !this.closed);
  }

  /** Reject (or re-send once, to a fresh process) every request still waiting for answers. */
  private failPending(error: Error, retry: boolean): void {
    const requests = new Set<BatchRequest>();
    for (let i = this.answerHead; i < this.answers.length; i++) {
      const answer = this.answers[i];
      if (answer) requests.add(answer.request);
    }
    this.answers.length = 0;
    this.answerHead = 0;
    this.resetParser();
    for (const request of requests) {
      if (retry && request.sends < 2) this.send(request);
      else request.reject(error);
    }
  }

  private resetParser(): void {
    this.headerCarry = null;
    this.body = null;
    this.bodyType = '';
    this.bodyId = '';
    this.bodyFilled = 0;
    this.skipRemaining = 0;
    this.awaitingTrailer = false;
  }

  /** Feed one stdout chunk through the framing state machine. */
  private consume(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.skipRemaining > 0) {
        const take = Math.min(this.skipRemaining, chunk.length - offset);
        this.skipRemaining -= take;
        offset += take;
        if (this.skipRemaining === 0) this.awaitingTrailer = true;
        continue;
      }
      if (this.body) {
        const take = Math.min(this.body.length - this.bodyFilled, chunk.length - offset);
        chunk.copy(this.body, this.bodyFilled, offset, offset + take);
        this.bodyFilled += take;
        offset += take;
        if (this.bodyFilled === this.body.length) {
          const content = this.body;
          this.body = null;
          this.awaitingTrailer = true;
          this.deliver({
            type: this.bodyType,
            content,
            id: this.bodyId,
            size: content.length,
            skipped: false,
          });
        }
        continue;
      }
      if (this.awaitingTrailer) {
        // The LF after each object's content.
        this.awaitingTrailer = false;
        offset += 1;
        continue;
      }
      const newline = chunk.indexOf(NEWLINE, offset);
      if (newline === -1) {
        const rest = chunk.subarray(offset);
        this.headerCarry = this.headerCarry ? Buffer.concat([this.headerCarry, rest]) : Buffer.from(rest);
        return;
      }
      const part = chunk.subarray(offset, newline);
      const header = (this.headerCarry ? Buffer.concat([this.headerCarry, part]) : part).toString('utf8');
      this.headerCarry = null;
      offset = newline + 1;
      this.onHeader(header);
    }
  }

  private onHeader(header: string): void {
    if (header.endsWith(' missing') || header.endsWith(' ambiguous')) {
      this.deliver(null);
      return;
    }
    const [id = '', type, sizeText] = header.split(' ');
    const size = Number(sizeText);
    if (type === undefined || !Number.isSafeInteger(size) || size < 0) {
      this.onProtocolError(header);
      return;
    }
    this.bodyType = type;
    this.bodyId = id;
    this.bodyFilled = 0;
    const limit = this.answers[this.answerHead]?.request.maxBytes ?? Number.POSITIVE_INFINITY;
    if (size > limit) {
      // Too large to want: answer now, then let its bytes stream past without keeping them.
      this.skipRemaining = size;
      this.deliver({ type, content: Buffer.alloc(0), id, size, skipped: true });
      return;
    }
    if (size === 0) {
      this.awaitingTrailer = true;
      this.deliver({ type, content: Buffer.alloc(0), id, size, skipped: false });
      return;
    }
    this.body = Buffer.allocUnsafe(size);
  }

  private deliver(object: BatchObject | null): void {
    const answer = this.answers[this.answerHead];
    if (!answer) {
      this.onProtocolError('an answer nobody asked for');
      return;
    }
    this.answers[this.answerHead] = undefined;
    this.answerHead += 1;
    if (this.answerHead === this.answers.length) {
      this.answers.length = 0;
      this.answerHead = 0;
    } else if (this.answerHead > 4096 && this.answerHead * 2 > this.answers.length) {
      // Under constant pipelining the queue may never drain: drop the answered prefix now and then.
      this.answers.splice(0, this.answerHead);
      this.answerHead = 0;
    }
    const { request } = answer;
    request.results.set(answer.id, object);
    request.remaining -= 1;
    if (request.remaining === 0) request.resolve(request.results);
  }

  private onProtocolError(what: string): void {
    const child = this.child;
    this.child = null;
    child?.kill('SIGKILL');
    this.failPending(
      new GitError(
        `Unexpected output from git cat-file in ${this.options.repoDir}: "${what.slice(0, 120)}".`,
      ),
      false,
    );
  }
}
