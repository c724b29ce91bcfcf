/**
 * `npm run bench -- verify` (issue 12): `verify` audits a ledger of 100,000 records added in 1,000
 * reconciler commits, against a baseline in the same run that reads the same history once:
 * `git log --raw` over it, `git cat-file --batch` of every record blob, `JSON.parse` of each.
 * Target: verify ≤ 3× the baseline.
 *
 * The repository is generated with `git fast-import` by bench/generate-history.ts (the generator
 * bench/history.ts uses too): 100 webhook providers and, per round of two commits, an operator
 * commit adding one AuditDelivery to all of them and a reconciler commit (replica trailer) with its
 * 100 delivery records (attempt 1, every 10th failed) and a run record, all with correct ids and
 * hashes, naming the operator commit as `source_revision`. So the audit
 * finds nothing and does all its work: the append-only rules over every commit, every blob's hash
 * and ids, every source revision in the tracked history, every delivery's AuditDelivery, the
 * tip's attempt rules. It is timed in a fresh bare clone (`git clone --bare --no-local`), as a CI
 * job of an auditor has it. `BENCH_VERIFY_COMMITS=n` (record commits) and `BENCH_ROUNDS=n` change
 * the size and rounds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { auditLedger } from '../src/audit/audit-ledger.js';
import { createGitReader } from '../src/git/index.js';
import { generateHistory, median, runGit, timeIt as time } from './generate-history.js';

export interface BenchResult {
  name: string;
  ratio: number;
  details: Record<string, unknown>;
}

const RATIO_TARGET = 3;
const PROVIDERS = 100;
const READ_CHUNK = 2000;

/** Generate the ledger (see the file comment) with the shared generator of bench/generate-history.ts. */
async function generateLedger(recordCommits: number): Promise<{ dir: string; records: number }> {
  const generated = await generateHistory({
    commits: recordCommits * 2,
    runEvery: 2,
    runOffset: 0,
    providers: PROVIDERS,
    deliveryProviders: 'all',
    fails: (_delivery, provider) => provider % 10 === 9,
    approvals: false,
    acks: false,
    closures: false,
  });
  return { dir: generated.dir, records: generated.records };
}

/** Run the benchmark; the ratio is verify's median time over the baseline's. */
export async function runVerifyBench(): Promise<BenchResult> {
  const recordCommits = Math.max(10, Number(process.env.BENCH_VERIFY_COMMITS ?? 1000) || 1000);
  const rounds = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3) || 3);
  const generated = await generateLedger(recordCommits);
  const clone = await mkdtemp(join(tmpdir(), 'cavra-bench-verify-clone-'));
  try {
    await runGit(clone, ['clone', '-q', '--bare', '--no-local', generated.dir, '.']);
    let parsed = 0;
    const baseline = async (): Promise<void> => {
      const log = await runGit(clone, [
        'log',
        '--raw',
        '--no-renames',
        '-z',
        '--no-abbrev',
        '--format=%H',
        'main',
      ]);
      // The blob of every record file the history added (`:old new mode… status\0path\0`).
      const blobs: string[] = [];
      const parts = log.toString('latin1').split('\0');
      for (let k = 0; k + 1 < parts.length; k++) {
        const raw = parts[k]!;
        const colon = raw.lastIndexOf(':');
        if (colon === -1) continue;
        const fields = raw.slice(colon + 1).split(' ');
        if (fields[4] === 'A' && parts[k + 1]!.startsWith('records/')) blobs.push(fields[3]!);
      }
      const reader = createGitReader(clone, { gitDir: true });
      parsed = 0;
      try {
        for (let start = 0; start < blobs.length; start += READ_CHUNK) {
          const contents = await reader.readBlobs(blobs.slice(start, start + READ_CHUNK));
          for (const content of contents.values()) {
            JSON.parse(content.toString('utf8'));
            parsed++;
          }
        }
      } finally {
        await reader.close();
      }
    };
    let findings = -1;
    let audited = 0;
    const verify = async (): Promise<void> => {
      const reader = createGitReader(clone, { gitDir: true });
      try {
        const tip = await reader.resolve('main');
        const result = await auditLedger(reader, { revision: tip, ledgerRevision: tip });
        findings = result.findings.length;
        audited = result.records;
      } finally {
        await reader.close();
      }
    };
    // Warm up (JIT, the page cache of the clone), then alternate timed rounds.
    await baseline();
    await verify();
    const times = { baseline: [] as number[], verify: [] as number[] };
    for (let round = 0; round < rounds; round++) {
      times.baseline.push(await time(baseline));
      times.verify.push(await time(verify));
    }
    const ratio = Number((median(times.verify) / median(times.baseline)).toFixed(2));
    const details = {
      record_commits: recordCommits,
      commits: recordCommits * 2,
      records: generated.records,
      baseline_records_parsed: parsed,
      verify_records_audited: audited,
      verify_findings: findings,
      baseline_ms: Math.round(median(times.baseline)),
      verify_ms: Math.round(median(times.verify)),
      ratio,
      target: RATIO_TARGET,
      meets_target: ratio <= RATIO_TARGET && findings === 0,
    };
    console.log(
      `verify ${generated.records} records in ${recordCommits} record commits: baseline ${details.baseline_ms} ms, verify ${details.verify_ms} ms (${ratio}x, target ≤ ${RATIO_TARGET}x), ${findings} findings`,
    );
    return { name: 'verify', ratio, details };
  } finally {
    await rm(clone, { recursive: true, force: true });
    if (process.env.BENCH_KEEP) console.log(`kept ${generated.dir}`);
    else await rm(generated.dir, { recursive: true, force: true });
  }
}
