/**
 * Outcomes made but not yet pushed, kept in the replica's state dir. Written (atomically, fsynced)
 * right after the connector calls and cleared once the outcome commit is pushed, so a crash or an
 * unreachable remote between the call and the push never loses a record: the next run pushes it.
 */
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { PendingOutcomes } from './outcome-change.js';

const JOURNAL_FILE = 'pending-outcomes.json';

export async function writeJournal(stateDir: string, pending: PendingOutcomes): Promise<void> {
  await mkdir(stateDir, { recursive: true });
  const target = join(stateDir, JOURNAL_FILE);
  const temp = `${target}.tmp-${process.pid}`;
  const handle = await open(temp, 'w');
  try {
    await handle.writeFile(JSON.stringify(pending));
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temp, target);
}

/** The journaled outcomes, or null when there are none (an unreadable journal is an error). */
export async function readJournal(stateDir: string): Promise<PendingOutcomes | null> {
  let text: string;
  try {
    text = await readFile(join(stateDir, JOURNAL_FILE), 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw error;
  }
  const pending = JSON.parse(text) as PendingOutcomes;
  return pending.claimIds.length > 0 ? pending : null;
}

export async function clearJournal(stateDir: string): Promise<void> {
  await rm(join(stateDir, JOURNAL_FILE), { force: true });
}
