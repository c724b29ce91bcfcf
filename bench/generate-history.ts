/**
 * The one generator of ops-repository histories for the benchmarks (`bench/history.ts`,
 * `bench/verify.ts`): a bare repository written by one `git fast-import`, one commit every half
 * hour, files in monthly folders (as records are: `records/<kind>/<YYYY-MM>/`).
 *
 * Every commit is either an operator commit or, every `runEvery`-th, a reconciler commit (replica
 * trailer `bench`, author `cavra-gitops <bench>`) with the records of a run over the commits before
 * it, built with the product's own ids, hashes and record format (v2, controls included), so
 * `verify` and the reconciler read them as their own:
 *
 * - operator commit: one AuditDelivery (to `deliveryProviders`); with `approvals`, every second one
 *   a RetryApproval of the failed delivery added eleven commits earlier (recorded by an earlier
 *   run); with `acks`, every third one appends a RetryAcknowledgement to a multi-document file (ten
 *   per file); with `closures`, every 25th a RecoveryClosure of the newest playbook record;
 *   (the first commit also adds the providers and the policy);
 * - reconciler commit: a run record naming the previous commit as `source_revision`; attempt 1 of
 *   each new delivery per provider (failed where `fails(delivery, provider)`); for each new
 *   approval an execution record and its attempt 2 (delivered); with `closures`, every fifth run a
 *   playbook record and a closure record per new RecoveryClosure.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { countedDecisionId } from '../src/domain/approval-views.js';
import { closureIdOf } from '../src/domain/closures.js';
import { EVIDENCE_URI_SCHEMES, evidenceUri } from '../src/domain/evidence-uris.js';
import { planPlaybooks } from '../src/domain/playbooks.js';
import {
  approvalDecisionId,
  approvalPlanId,
  deliveryPlanId,
  deliveryRecordId,
  executionId,
  retryPlanId,
} from '../src/domain/ids.js';
import { buildRunRecord } from '../src/domain/record-builders.js';
import { sealRecord } from '../src/domain/record-format.js';
import type {
  ClosureRecord,
  CommitInfo,
  DeliveryKey,
  DeliveryRecord,
  ExecutionRecord,
  ManifestSource,
} from '../src/domain/types.js';
import { emptyRecordSet } from '../src/domain/types.js';
import {
  normalizePolicySpec,
  normalizeProvider,
  normalizeRecoveryClosure,
  normalizeRetryApproval,
} from '../src/manifests/normalize.js';
import { recordPath, serializeRecord } from '../src/records/layout.js';

export const REPLICA_ID = 'bench';
export const OPERATOR = 'Operator <ops@example.com>';
const RECONCILER = `cavra-gitops <${REPLICA_ID}>`;
const BASE_TIME = Date.parse('2026-01-01T00:00:00Z') / 1000;
/** One commit every half hour: 10,000 commits span seven months of folders. */
export const COMMIT_INTERVAL_SECONDS = 1800;

export const gitEnv = (): NodeJS.ProcessEnv => ({
  ...Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('GIT_'))),
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  LC_ALL: 'C',
});

export function runGit(cwd: string, args: string[]): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { cwd, env: gitEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr.on('data', (chunk: Buffer) => err.push(chunk));
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0
        ? resolve(Buffer.concat(out))
        : reject(new Error(`git ${args[0]} failed: ${Buffer.concat(err).toString('utf8')}`)),
    );
  });
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

export async function timeIt(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

/** git's blob id of `content` (sha1), so generated records can name the blobs they came from. */
function blobId(content: string): string {
  const bytes = Buffer.from(content, 'utf8');
  return createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
}

export const isoAt = (seconds: number): string =>
  new Date(seconds * 1000).toISOString().replace('.000Z', 'Z');
const monthAt = (seconds: number): string => isoAt(seconds).slice(0, 7);
/** The committer time (epoch seconds) of the `i`-th commit. */
export const commitTime = (i: number): number => BASE_TIME + i * COMMIT_INTERVAL_SECONDS;

const header = (kind: string, name: string): string =>
  `apiVersion: cavra.dev/v1\nkind: ${kind}\nmetadata:\n  name: ${name}\nspec:\n`;

/** The shape of a generated history (see the file comment). */
export interface HistoryShape {
  /** Commits in all, operator and reconciler. */
  commits: number;
  /** Commit i is a reconciler run when i % runEvery === runOffset (runEvery ≥ 2). */
  runEvery: number;
  runOffset: number;
  /** Webhook providers `hook-000`, `hook-001`, … (their URL from `$HOOK_URL`). */
  providers: number;
  /** `spec.providers` of each AuditDelivery: `all` or a list. */
  deliveryProviders: 'all' | string[];
  /** Whether attempt 1 of `delivery` to provider index `provider` failed. */
  fails: (delivery: number, provider: number) => boolean;
  approvals: boolean;
  acks: boolean;
  closures: boolean;
}

export interface GeneratedHistory {
  dir: string;
  commits: number;
  approvals: number;
  acks: number;
  closures: number;
  /** Record files written by the generated runs. */
  records: number;
}

export const providerName = (p: number): string => `hook-${String(p).padStart(3, '0')}`;

function providersYaml(count: number): string {
  const documents: string[] = [];
  for (let p = 0; p < count; p++)
    documents.push(`${header('Provider', providerName(p))}  type: webhook\n  url_env: HOOK_URL\n`);
  return documents.join('---\n');
}

const POLICY = normalizePolicySpec({
  approvers: ['bob@example.com', 'carol@example.com'],
  require_retry_ack: false,
});

function policyYaml(): string {
  // No acknowledgement required: the generated acknowledgements name deliveries of their own
  // (they are history to read, not a gate of the generated approvals).
  return `${header('ReconcilerPolicy', 'default')}  approvers: [bob@example.com, carol@example.com]\n  require_retry_ack: false\n`;
}

function deliveryYaml(i: number, providers: 'all' | string[]): string {
  const list = providers === 'all' ? 'all' : `[${providers.join(', ')}]`;
  return `${header('AuditDelivery', `delivery-${i}`)}  audit_id: audit-${i}
  providers: ${list}
  package:
    route_count: 1
    acknowledgement_count: 2
    acknowledged_count: 1
    resolved_count: 0
    escalated_count: 0
    dismissed_count: 0
    outstanding_count: 1
    routes:
      - {route_id: route-${i}, provider: ${providerName(0)}, state: acknowledged, owner: payments-sre}
`;
}

function approvalYaml(i: number, delivery: number): string {
  return `${header('RetryApproval', `approve-${i}`)}  delivery: delivery-${delivery}
  provider: ${providerName(0)}
  decided_by: bob@example.com
  external_ref: CHG-${i}
  retry_policy:
    allow_immediate_retry: true
`;
}

function ackYaml(i: number): string {
  return `${header('RetryAcknowledgement', `ack-${i}`)}  delivery: delivery-${i}
  provider: ${providerName(0)}
  acknowledged_by: alice@example.com
  notes: Receiver redeployed during the drill.
`;
}

function closureYaml(i: number, playbookId: string): string {
  return `${header('RecoveryClosure', `closure-${i}`)}  playbook_id: ${playbookId}
  provider: ${providerName(0)}
  closed_by: carol@example.com
`;
}

/** A manifest's written form, as `normalize*` takes it. */
function written<S>(kind: string, name: string, spec: S) {
  return { apiVersion: 'cavra.dev/v1' as const, kind: kind as never, metadata: { name }, spec };
}

function sourceOf(path: string, blob: string, commit: string, time: number): ManifestSource {
  const introduced: CommitInfo = {
    commit,
    time: isoAt(time),
    author: OPERATOR,
    signature: { status: 'none', principal: '' },
  };
  return { path, document: 0, line: 1, column: 1, blob, introduced };
}

/**
 * A fast-import session that can ask for the id of a mark it created (`get-mark`), answered on
 * stdout as soon as the commit is written, so records can name earlier commits.
 */
class FastImport {
  private readonly child;
  private buffered = '';
  private readonly waiting: ((line: string) => void)[] = [];
  private readonly exited: Promise<void>;

  constructor(dir: string) {
    this.child = spawn('git', ['fast-import', '--quiet', '--done'], {
      cwd: dir,
      env: gitEnv(),
      stdio: ['pipe', 'pipe', 'inherit'],
    });
    this.child.stdout.on('data', (chunk: Buffer) => {
      this.buffered += chunk.toString('utf8');
      let newline = this.buffered.indexOf('\n');
      while (newline !== -1) {
        const line = this.buffered.slice(0, newline);
        this.buffered = this.buffered.slice(newline + 1);
        this.waiting.shift()?.(line);
        newline = this.buffered.indexOf('\n');
      }
    });
    this.exited = new Promise((resolve, reject) =>
      this.child.on('close', (code) =>
        code === 0 ? resolve() : reject(new Error(`fast-import exited ${code}`)),
      ),
    );
  }

  write(text: string): Promise<void> {
    return new Promise((resolve) => {
      if (this.child.stdin.write(text)) resolve();
      else this.child.stdin.once('drain', () => resolve());
    });
  }

  async markId(mark: number): Promise<string> {
    const answer = new Promise<string>((resolve) => this.waiting.push(resolve));
    await this.write(`get-mark :${mark}\n`);
    return answer;
  }

  async finish(): Promise<void> {
    await this.write('done\n');
    this.child.stdin.end();
    await this.exited;
  }
}

interface PendingApproval {
  i: number;
  delivery: number;
  path: string;
  blob: string;
  text: string;
  mark: number;
}

interface PendingClosure {
  i: number;
  playbookId: string;
  path: string;
  blob: string;
  mark: number;
}

/** Generate a bare repository of the given shape in a new temp dir (see the file comment). */
export async function generateHistory(shape: HistoryShape): Promise<GeneratedHistory> {
  const dir = await mkdtemp(join(tmpdir(), `cavra-bench-history-${shape.commits}-`));
  await runGit(dir, ['init', '-q', '--bare', '-b', 'main']);
  const importer = new FastImport(dir);
  const providers = Array.from({ length: shape.providers }, (_, p) => providerName(p));
  const selected = shape.deliveryProviders === 'all' ? providers : shape.deliveryProviders;
  const counts = { approvals: 0, acks: 0, closures: 0, records: 0 };
  let mark = 0;
  let ackFile = '';
  let ackFileName = '';
  let playbookId: string | null = null;
  let runs = 0;
  let pendingDeliveries: number[] = [];
  let pendingApprovals: PendingApproval[] = [];
  let pendingClosures: PendingClosure[] = [];
  // Every record written so far (the input of the playbooks the runs plan).
  const all = emptyRecordSet();
  const providerManifests = providers.map((name) =>
    normalizeProvider(
      written('Provider', name, { type: 'webhook', url_env: 'HOOK_URL' }),
      sourceOf('manifests/providers.yaml', '', '', commitTime(1)),
    ),
  );

  const commit = async (
    message: string,
    author: string,
    time: number,
    files: [string, string][],
  ): Promise<number> => {
    mark += 1;
    const who = `${author} ${time} +0000`;
    const parts = [`commit refs/heads/main\nmark :${mark}\nauthor ${who}\ncommitter ${who}\n`];
    parts.push(`data ${Buffer.byteLength(message)}\n${message}\n`);
    if (mark > 1) parts.push(`from :${mark - 1}\n`);
    for (const [path, content] of files)
      parts.push(`M 100644 inline ${path}\ndata ${Buffer.byteLength(content)}\n${content}\n`);
    await importer.write(`${parts.join('')}\n`);
    return mark;
  };

  const recordRun = async (i: number): Promise<void> => {
    const time = commitTime(i);
    const at = isoAt(time);
    const revision = await importer.markId(mark);
    const run = buildRunRecord({
      revision,
      startedAt: at,
      replicaId: REPLICA_ID,
      deliveryCount: 0,
      executionCount: 0,
      playbookCount: 0,
      closureCount: 0,
    }).run_id;
    const files: [string, string][] = [];
    const fresh = emptyRecordSet();
    const delivery = (key: DeliveryKey, attempt: number, failed: boolean, execution: string): void => {
      const record = sealRecord<DeliveryRecord>(
        'deliveries',
        {
          record_id: deliveryRecordId(key, attempt),
          ...key,
          attempt,
          delivery_success: !failed,
          status_code: failed ? 503 : 200,
          error: failed ? 'HTTP 503' : '',
          execution_id: execution,
          idempotency_key: execution === '' ? key.delivery_id : execution,
          attempted_at: at,
          completed_at: at,
          run_id: run,
          source_revision: revision,
        },
        'record_hash',
      );
      fresh.deliveries.push(record);
      files.push([recordPath('deliveries', record.record_id, at), serializeRecord(record)]);
    };
    let deliveries = 0;
    for (const d of pendingDeliveries) {
      selected.forEach((provider) => {
        const index = providers.indexOf(provider);
        delivery(
          { delivery_id: `delivery-${d}`, audit_id: `audit-${d}`, provider },
          1,
          shape.fails(d, index),
          '',
        );
        deliveries++;
      });
    }
    let executions = 0;
    for (const pending of pendingApprovals) {
      const commitId = await importer.markId(pending.mark);
      const source = sourceOf(pending.path, pending.blob, commitId, commitTime(pending.i));
      const approval = normalizeRetryApproval(
        written('RetryApproval', `approve-${pending.i}`, {
          delivery: `delivery-${pending.delivery}`,
          provider: providerName(0),
          decided_by: 'bob@example.com',
          external_ref: `CHG-${pending.i}`,
          retry_policy: { allow_immediate_retry: true },
        }),
        source,
      );
      const key: DeliveryKey = {
        delivery_id: `delivery-${pending.delivery}`,
        audit_id: `audit-${pending.delivery}`,
        provider: providerName(0),
      };
      const decision = countedDecisionId([approvalDecisionId(approval)]);
      const id = executionId(decision, key, 2);
      delivery(key, 2, false, id);
      deliveries++;
      const record = sealRecord<ExecutionRecord>(
        'executions',
        {
          execution_id: id,
          execution_status: 'delivered',
          executed_at: at,
          executed_by: REPLICA_ID,
          run_id: run,
          retry_plan_id: retryPlanId(key, 2),
          approval_decision_id: decision,
          approval_plan_id: approvalPlanId(key),
          ...key,
          attempt: 2,
          skipped: '',
          delivery_success: true,
          status_code: 200,
          error: '',
          selected_providers: [...selected].sort(),
          public_evidence_refs: [
            evidenceUri(EVIDENCE_URI_SCHEMES.connectorDelivery, deliveryRecordId(key, 2)),
            evidenceUri(EVIDENCE_URI_SCHEMES.auditDelivery, deliveryPlanId(key)),
            evidenceUri(EVIDENCE_URI_SCHEMES.retryApproval, decision),
            evidenceUri(EVIDENCE_URI_SCHEMES.retryWorker, run),
          ],
          approval: {
            name: approval.name,
            manifest: pending.path,
            blob: pending.blob,
            commit: commitId,
            author: OPERATOR,
            signature: { status: 'none', principal: '' },
            base: '',
          },
          emergency: false,
          source_revision: revision,
          delivery_plan_id: deliveryPlanId(key),
          delivery_metadata_id: deliveryRecordId(key, 2),
        },
        'execution_hash',
      );
      files.push([recordPath('executions', id, at), serializeRecord(record)]);
      fresh.executions.push(record);
      executions++;
    }
    let closures = 0;
    for (const pending of pendingClosures) {
      const commitId = await importer.markId(pending.mark);
      const manifest = normalizeRecoveryClosure(
        written('RecoveryClosure', `closure-${pending.i}`, {
          playbook_id: pending.playbookId,
          provider: providerName(0),
          closed_by: 'carol@example.com',
        }),
        sourceOf(pending.path, pending.blob, commitId, commitTime(pending.i)),
      );
      const { spec } = manifest;
      const record = sealRecord<ClosureRecord>(
        'closures',
        {
          closure_id: closureIdOf(manifest),
          playbook_id: spec.playbook_id,
          provider: spec.provider,
          closure_state: spec.state,
          closed_by: spec.closed_by,
          closed_at: spec.closed_at,
          external_ref: spec.external_ref,
          notes: spec.notes,
          verification_refs: [],
          source: {
            name: manifest.name,
            manifest: pending.path,
            blob: pending.blob,
            commit: commitId,
            author: OPERATOR,
          },
          recorded_at: at,
          source_revision: revision,
        },
        'closure_hash',
      );
      files.push([recordPath('closures', record.closure_id, at), serializeRecord(record)]);
      fresh.closures.push(record);
      closures++;
    }
    let playbooks = 0;
    if (shape.closures && runs % 5 === 0) {
      // Planned as the reconciler plans it, over every record so far and this run's outcomes.
      const current = {
        ...all,
        deliveries: [...all.deliveries, ...fresh.deliveries],
        executions: [...all.executions, ...fresh.executions],
        closures: [...all.closures, ...fresh.closures],
      };
      for (const record of planPlaybooks({
        providers: providerManifests,
        policy: POLICY,
        records: current,
        now: new Date(at),
        revision,
        generatedBy: REPLICA_ID,
      })) {
        files.push([recordPath('playbooks', record.playbook_id, at), serializeRecord(record)]);
        fresh.playbooks.push(record);
        playbookId = record.playbook_id;
        playbooks++;
      }
    }
    const runRecord = buildRunRecord({
      revision,
      startedAt: at,
      replicaId: REPLICA_ID,
      deliveryCount: deliveries,
      executionCount: executions,
      playbookCount: playbooks,
      closureCount: closures,
    });
    files.push([recordPath('runs', runRecord.run_id, at), serializeRecord(runRecord)]);
    fresh.runs.push(runRecord);
    for (const kind of ['deliveries', 'executions', 'playbooks', 'closures', 'runs'] as const)
      (all[kind] as object[]).push(...fresh[kind]);
    counts.records += files.length;
    pendingDeliveries = [];
    pendingApprovals = [];
    pendingClosures = [];
    runs++;
    await commit(
      `cavra-gitops: record ${deliveries} deliveries, 1 runs\n\nCavra-Gitops-Replica: ${REPLICA_ID}\n`,
      RECONCILER,
      time,
      files,
    );
  };

  for (let i = 1; i <= shape.commits; i++) {
    if (i % shape.runEvery === shape.runOffset) {
      await recordRun(i);
      continue;
    }
    const time = commitTime(i);
    const month = monthAt(time);
    const files: [string, string][] = [];
    if (i === 1)
      files.push(
        ['manifests/providers.yaml', providersYaml(shape.providers)],
        ['manifests/policy.yaml', policyYaml()],
      );
    files.push([
      `manifests/deliveries/${month}/delivery-${i}.yaml`,
      deliveryYaml(i, shape.deliveryProviders),
    ]);
    pendingDeliveries.push(i);
    let approval: Omit<PendingApproval, 'mark'> | null = null;
    // The delivery eleven commits back was recorded by an earlier run (it failed where `fails`).
    const approved = i - 11;
    if (
      shape.approvals &&
      i % 2 === 0 &&
      approved >= 1 &&
      approved % shape.runEvery !== shape.runOffset &&
      shape.fails(approved, 0)
    ) {
      const text = approvalYaml(i, i - 11);
      const path = `manifests/approvals/${month}/approve-${i}.yaml`;
      approval = { i, delivery: i - 11, path, blob: blobId(text), text };
      files.push([path, text]);
      counts.approvals++;
    }
    if (shape.acks && i % 3 === 0) {
      const name = `manifests/acks/${month}/acks-${Math.floor(i / 30)}.yaml`;
      if (name !== ackFileName) {
        ackFileName = name;
        ackFile = '';
      }
      ackFile = ackFile === '' ? ackYaml(i) : `${ackFile}---\n${ackYaml(i)}`;
      files.push([name, ackFile]);
      counts.acks++;
    }
    let closure: Omit<PendingClosure, 'mark'> | null = null;
    if (shape.closures && i % 25 === 3 && playbookId !== null) {
      const text = closureYaml(i, playbookId);
      const path = `manifests/closures/${month}/closure-${i}.yaml`;
      closure = { i, playbookId, path, blob: blobId(text) };
      files.push([path, text]);
      counts.closures++;
    }
    const created = await commit(`operator change ${i}`, OPERATOR, time, files);
    if (approval !== null) pendingApprovals.push({ ...approval, mark: created });
    if (closure !== null) pendingClosures.push({ ...closure, mark: created });
  }
  await importer.finish();
  return { dir, commits: shape.commits, ...counts };
}
