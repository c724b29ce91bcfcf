/**
 * What the ledger check remembers in the replica's state dir (docs/reference.md §6a):
 * `ledger-check.json` — the ledger commit last checked clean and the tracked tip a run last built
 * on (the next check walks only the commits since, and a tip that does not descend from them is a
 * rewritten history); `recorded-ids.txt` — every delivery and execution id this replica has seen
 * recorded, append-only, so an id is never called again even when a rewrite or an accepted change
 * took its record out of the ledger.
 *
 * A missing or unreadable file is a replica without memory (a fresh one): it checks the ledger
 * from its root and rebuilds both files. The JSON is replaced by rename, so a kill never leaves
 * half a file; a torn last line of the ids file is ignored.
 */
import { appendFile, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const STATE_FILE = 'ledger-check.json';
const IDS_FILE = 'recorded-ids.txt';
const ID = /^[a-z0-9][a-z0-9.-]*$/;

export interface CheckState {
  version: 1;
  /** The ledger commit last checked clean (null: no ledger yet). */
  ledgerTip: string | null;
  /** The tracked branch's tip the last checked run built on. */
  trackedTip: string | null;
  /** The ledger branch records were on then (null: the tracked branch). */
  ledgerBranch: string | null;
}

export async function readCheckState(stateDir: string): Promise<CheckState | null> {
  try {
    const value = JSON.parse(await readFile(join(stateDir, STATE_FILE), 'utf8')) as Partial<CheckState>;
    if (value.version !== 1) return null;
    const commit = (v: unknown): string | null =>
      typeof v === 'string' && /^[0-9a-f]{40,64}$/.test(v) ? v : null;
    return {
      version: 1,
      ledgerTip: commit(value.ledgerTip),
      trackedTip: commit(value.trackedTip),
      ledgerBranch: typeof value.ledgerBranch === 'string' ? value.ledgerBranch : null,
    };
  } catch {
    return null;
  }
}

export async function writeCheckState(stateDir: string, state: CheckState): Promise<void> {
  const path = join(stateDir, STATE_FILE);
  const temp = `${path}.tmp-${process.pid}`;
  await writeFile(temp, `${JSON.stringify(state)}\n`);
  await rename(temp, path);
}

/** Every id in the ids file (empty when there is none). */
export async function readRecordedIds(stateDir: string): Promise<Set<string>> {
  let text: string;
  try {
    text = await readFile(join(stateDir, IDS_FILE), 'utf8');
  } catch {
    return new Set();
  }
  const ids = new Set<string>();
  for (const line of text.split('\n')) if (ID.test(line)) ids.add(line);
  return ids;
}

export async function appendRecordedIds(stateDir: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  // A line per id, starting on a new line: a kill mid-write leaves at worst one torn line, which
  // never joins the next append's first id (empty lines are skipped when reading).
  await appendFile(join(stateDir, IDS_FILE), `\n${ids.join('\n')}\n`);
}
