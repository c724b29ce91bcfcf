/**
 * The outcome journal: appended per call, claims marked landed, read back as what has not landed;
 * a last line cut short by a kill is ignored, anything else unreadable is an error.
 */
import { appendFile, mkdtemp, readFile, rm } from 'node:fs/promises';
import type * as FsPromises from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { DeliveryRecord, ExecutionRecord } from '../../src/domain/types.js';
import { StateError } from '../../src/errors.js';
import { clearJournal, openJournal, readJournal } from '../../src/reconciler/journal.js';
import type { PendingOutcomes } from '../../src/plan/settle-ledger.js';

/**
 * The journal's appends fail once on cue, after storing half their line (a disk that filled up).
 * `failAppend` is the 1-based number of the append that fails; null lets every append through.
 */
const disk = vi.hoisted(() => ({ failAppend: null as number | null, appends: 0 }));
vi.mock('node:fs/promises', async (importOriginal) => {
  const fs = await importOriginal<typeof FsPromises>();
  const open: typeof fs.open = async (...args) => {
    const handle = await fs.open(...args);
    const appendFile = handle.appendFile.bind(handle);
    const append = async (text: string): Promise<void> => {
      if (++disk.appends === disk.failAppend) {
        await appendFile(text.slice(0, text.length / 2));
        throw Object.assign(new Error('ENOSPC: no space left on device'), { code: 'ENOSPC' });
      }
      await appendFile(text);
    };
    return Object.assign(handle, { appendFile: append, write: append });
  };
  return { ...fs, open };
});

/** One call's outcome: attempt 1 (claim = record id) or a retry (claim = execution id). */
function outcome(claimId: string, retry: boolean): PendingOutcomes {
  const delivery = {
    record_id: retry ? `${claimId}-attempt` : claimId,
    execution_id: retry ? claimId : '',
  } as DeliveryRecord;
  const executions = retry ? [{ execution_id: claimId } as ExecutionRecord] : [];
  return { deliveries: [delivery], executions, claimIds: [claimId] };
}

describe('journal', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'cavra-journal-'));
  });
  afterEach(async () => {
    disk.failAppend = null;
    disk.appends = 0;
    await rm(dir, { recursive: true, force: true });
  });

  it('holds what was journaled and has not landed', async () => {
    expect(await readJournal(dir)).toBeNull();
    const journal = await openJournal(dir);
    // A landed line may be written before the outcome it names: it still counts.
    journal.landed(['gordackretryexec-1']);
    journal.outcomes(outcome('drill-1.hook.1', false));
    journal.outcomes(outcome('gordackretryexec-1', true));
    journal.outcomes(outcome('drill-3.hook.1', false));
    journal.landed(['drill-1.hook.1']);
    await journal.close();
    expect(await readJournal(dir)).toEqual(outcome('drill-3.hook.1', false));
    const again = await openJournal(dir);
    again.landed(['drill-3.hook.1']);
    await again.close();
    expect(await readJournal(dir)).toBeNull();
    await clearJournal(dir);
    await expect(readFile(join(dir, 'pending-outcomes.jsonl'))).rejects.toThrow(/ENOENT/);
  });

  const write = async (pending: PendingOutcomes): Promise<void> => {
    const journal = await openJournal(dir);
    journal.outcomes(pending);
    await journal.close();
  };

  it('ignores a last line cut short by a kill, but not a broken line before it', async () => {
    await write(outcome('drill-1.hook.1', false));
    await appendFile(join(dir, 'pending-outcomes.jsonl'), '{"pending":{"deliveries":[{"rec');
    expect(await readJournal(dir)).toEqual(outcome('drill-1.hook.1', false));
    await appendFile(join(dir, 'pending-outcomes.jsonl'), '\n');
    await write(outcome('drill-2.hook.1', false));
    await expect(readJournal(dir)).rejects.toThrow(StateError);
    await expect(readJournal(dir)).rejects.toThrow(/pending-outcomes\.jsonl is damaged at line 2/);
  });

  it('writes nothing after a failed append, so what it wrote stays readable, and close reports the failure', async () => {
    disk.failAppend = 2;
    const journal = await openJournal(dir);
    journal.outcomes(outcome('drill-1.hook.1', false));
    journal.outcomes(outcome('drill-2.hook.1', false)); // half of it is written
    journal.outcomes(outcome('drill-3.hook.1', false));
    await expect(journal.close()).rejects.toThrow(/ENOSPC/);
    expect(await readJournal(dir)).toEqual(outcome('drill-1.hook.1', false));
  });

  it('refuses outcomes after close', async () => {
    const journal = await openJournal(dir);
    await journal.close();
    expect(() => journal.outcomes(outcome('drill-1.hook.1', false))).toThrow(/after the journal was closed/);
    expect(await readJournal(dir)).toBeNull();
  });
});
