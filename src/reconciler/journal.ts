/**
 * Outcomes made but not yet landed, kept in the replica's state dir as JSON lines. Each call's
 * records are appended the moment the call returns, and a line names the claims whose outcomes
 * then landed; the file is removed once the run's last commit landed. So a process killed at any
 * point (SIGKILL included) or a remote that stopped answering loses no outcome of a call that was
 * made: the next run pushes what the journal holds and has not landed.
 *
 * Appends are not fsynced, one per call: the page cache outlives a killed process, and only a power
 * loss could drop the last lines, whose calls then become unknown outcomes through their claims'
 * leases, as a crash during a call does.
 */
import { mkdir, open, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { InternalError, StateError } from '../errors.js';
import { claimOfDelivery, emptyPending, type PendingOutcomes } from '../plan/settle-ledger.js';

const JOURNAL_FILE = 'pending-outcomes.jsonl';

type JournalLine = { pending: PendingOutcomes } | { landed: string[] };

/**
 * The journal of one run's calls: appends go through one open file in order, without the caller
 * waiting (a call's worker moves on to its next call while the line is written); `close()` waits
 * for every line and reports the first failure, after which nothing more was written. Lines are
 * self-contained, so a `landed` line written before the outcome it names still counts. Nothing may
 * be added after `close()`.
 */
export interface JournalWriter {
  /** Add outcomes (one call's, or the unknown outcomes of a run). */
  outcomes(pending: PendingOutcomes): void;
  /** Note that the outcomes of these claims landed (they are no longer pending). */
  landed(claimIds: string[]): void;
  close(): Promise<void>;
}

export async function openJournal(stateDir: string): Promise<JournalWriter> {
  await mkdir(stateDir, { recursive: true });
  const handle = await open(join(stateDir, JOURNAL_FILE), 'a');
  let queue: Promise<void> = Promise.resolve();
  let failure: Error | null = null;
  let closed = false;
  const write = (line: JournalLine): void => {
    if (closed) throw new InternalError('an outcome was journaled after the journal was closed');
    const text = `${JSON.stringify(line)}\n`;
    queue = queue
      .then(async () => {
        // After a failed append, which may have left part of its line, nothing more is written:
        // a line after a broken one would make the whole journal unreadable, where a broken last
        // line is skipped.
        if (failure === null) await handle.appendFile(text); // appendFile, unlike write, never stops short
      })
      .catch((error: unknown) => {
        failure ??= error instanceof Error ? error : new Error(String(error));
      });
  };
  return {
    outcomes: (pending) => {
      if (pending.claimIds.length > 0) write({ pending });
    },
    landed: (claimIds) => {
      if (claimIds.length > 0) write({ landed: claimIds });
    },
    async close() {
      closed = true;
      await queue;
      await handle.close();
      if (failure !== null) throw failure;
    },
  };
}

/** A file's text, '' when there is none. */
async function readText(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw error;
  }
}

/**
 * The journaled outcomes that have not landed, or null when there are none. A last line cut short
 * by a kill is ignored (its call becomes an unknown outcome); any other unreadable line is an error.
 */
export async function readJournal(stateDir: string): Promise<PendingOutcomes | null> {
  const path = join(stateDir, JOURNAL_FILE);
  const lines = (await readText(path)).split('\n');
  const chunks: PendingOutcomes[] = [];
  const landed = new Set<string>();
  lines.forEach((text, index) => {
    if (text === '') return;
    let line: JournalLine;
    try {
      line = JSON.parse(text) as JournalLine;
    } catch (error) {
      if (index === lines.length - 1) return; // an append the kill cut short
      throw new StateError(
        `The outcome journal ${path} is damaged at line ${index + 1}; it holds outcomes not yet pushed. Repair the line, or move the file aside (the calls it names then become unknown outcomes when their claims expire).`,
        { cause: error },
      );
    }
    if ('landed' in line) for (const id of line.landed) landed.add(id);
    else chunks.push(line.pending);
  });

  const pending = emptyPending();
  for (const chunk of chunks) {
    pending.deliveries.push(...chunk.deliveries.filter((r) => !landed.has(claimOfDelivery(r))));
    pending.executions.push(...chunk.executions.filter((r) => !landed.has(r.execution_id)));
    pending.claimIds.push(...chunk.claimIds.filter((id) => !landed.has(id)));
  }
  return pending.claimIds.length > 0 ? pending : null;
}

export async function clearJournal(stateDir: string): Promise<void> {
  await rm(join(stateDir, JOURNAL_FILE), { force: true });
}
