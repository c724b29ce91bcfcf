/**
 * `validate` benchmark: 10,000 generated manifests committed to a temp repository. Times
 * `validate` at that revision in-process (readManifests through the real batch GitReader, plus the
 * text formatting) against a baseline in the same run that only reads the same blobs through the
 * same reader and parses them with `yaml`. Target: ratio ≤ 1.5.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { createGitReader } from '../src/git/index.js';
import { formatText } from '../src/manifests/format-findings.js';
import { readManifests } from '../src/read-model/read-manifests.js';

export interface BenchResult {
  name: string;
  ratio: number;
  details: Record<string, number | string>;
}

const FILE_COUNT = 10_000;
const ROUNDS = 3;

function manifestText(i: number): string {
  const provider = i % 2 === 0 ? 'ops-file' : 'ops-webhook';
  switch (i % 4) {
    case 0:
      return `# yaml-language-server: $schema=../../schemas/audit-delivery.schema.json
apiVersion: cavra.dev/v1
kind: AuditDelivery
metadata:
  name: delivery-${i}
  labels:
    team: sre
spec:
  audit_id: audit-${i}
  providers: [ops-file, ops-webhook]
  package:
    route_count: 2
    acknowledgement_count: 5
    acknowledged_count: 2
    resolved_count: 1
    escalated_count: 1
    dismissed_count: 0
    outstanding_count: 1
    routes:
      - {route_id: route-a-${i}, provider: ops-webhook, state: acknowledged, owner: payments-sre}
      - {route_id: route-b-${i}, provider: ops-file, state: escalated, owner: platform-sre}
`;
    case 1:
      return `apiVersion: cavra.dev/v1
kind: RetryAcknowledgement
metadata:
  name: ack-${i}
spec:
  delivery: delivery-${i - 1}
  provider: ${provider}
  state: accepted
  acknowledged_by: alice@example.com
  external_ref: OPS-${i}
  notes: Receiver was redeployed during the drill; retry is safe (see https://status.example.com/incidents/${i}).
`;
    case 2:
      return `apiVersion: cavra.dev/v1
kind: RetryApproval
metadata:
  name: approval-${i}
spec:
  delivery: delivery-${i - 2}
  provider: ${provider}
  decided_by: bob@example.com
  decided_at: 2026-06-28T10:00:00Z
  expires_at: 2026-07-28T10:00:00Z
  external_ref: CHG-${i}
  retry_policy:
    max_retry_attempts: 3
    retry_delay_minutes: 5
`;
    default:
      return `apiVersion: cavra.dev/v1
kind: RecoveryClosure
metadata:
  name: closure-${i}
spec:
  playbook_id: gordackrecovery-${i.toString(16).padStart(16, '0')}
  provider: ${provider}
  state: resolved
  closed_by: carol@example.com
  verification_refs: [gordackretryexec-${i.toString(16).padStart(16, '0')}]
`;
  }
}

const PROVIDERS = `apiVersion: cavra.dev/v1
kind: Provider
metadata:
  name: ops-file
spec:
  type: file
  options: {directory: outbox}
---
apiVersion: cavra.dev/v1
kind: Provider
metadata:
  name: ops-webhook
spec:
  type: webhook
  url_env: CAVRA_DEMO_WEBHOOK_URL
`;

function git(cwd: string, args: string[]): void {
  execFileSync('git', args, {
    cwd,
    stdio: 'ignore',
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
  });
}

async function createBenchRepo(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'cavra-bench-validate-'));
  git(dir, ['init', '-q', '-b', 'main']);
  for (const [key, value] of [
    ['user.name', 'Bench'],
    ['user.email', 'bench@example.test'],
    ['commit.gpgsign', 'false'],
    ['gc.auto', '0'],
  ] as const) {
    git(dir, ['config', key, value]);
  }
  await mkdir(join(dir, 'manifests', 'providers'), { recursive: true });
  await writeFile(join(dir, 'manifests', 'providers', 'providers.yaml'), PROVIDERS);
  const perDir = 500;
  for (let start = 0; start < FILE_COUNT; start += perDir) {
    const sub = join(dir, 'manifests', `batch-${String(start / perDir).padStart(2, '0')}`);
    await mkdir(sub, { recursive: true });
    const writes: Promise<void>[] = [];
    for (let i = start; i < Math.min(start + perDir, FILE_COUNT); i++) {
      writes.push(writeFile(join(sub, `m-${String(i).padStart(5, '0')}.yaml`), manifestText(i)));
    }
    await Promise.all(writes);
  }
  git(dir, ['add', '-A']);
  git(dir, ['commit', '-q', '-m', 'bench manifests']);
  return dir;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

/** Run the benchmark; resolves with the ratio validate / baseline (lower is better). */
export async function runValidateBench(): Promise<BenchResult> {
  const dir = await createBenchRepo();
  const reader = createGitReader(dir);
  try {
    const commit = await reader.resolve('HEAD');

    const baseline = async (): Promise<number> => {
      const entries = await reader.listTree(commit, ['manifests/']);
      const blobs = await reader.readBlobs(entries.map((e) => e.blob));
      let documents = 0;
      for (const entry of entries) {
        for (const doc of parseAllDocuments(blobs.get(entry.blob)!.toString('utf8'))) {
          doc.toJS();
          documents++;
        }
      }
      return documents;
    };
    let findingCount = 0;
    let validCount = 0;
    const validate = async (): Promise<number> => {
      const result = await readManifests(reader, commit);
      const text = formatText({ revision: commit, ...result });
      findingCount = result.findings.length;
      validCount = result.conditions.filter((c) => c.ready).length;
      return text.length;
    };

    // Warm up both paths (JIT, ajv compilation, git object cache), then alternate timed rounds.
    await baseline();
    await validate();
    const baselineTimes: number[] = [];
    const validateTimes: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      let started = performance.now();
      await baseline();
      baselineTimes.push(performance.now() - started);
      started = performance.now();
      await validate();
      validateTimes.push(performance.now() - started);
    }
    const baselineMs = median(baselineTimes);
    const validateMs = median(validateTimes);
    const ratio = Number((validateMs / baselineMs).toFixed(3));
    const result: BenchResult = {
      name: 'validate',
      ratio,
      details: {
        files: FILE_COUNT + 1,
        rounds: ROUNDS,
        baseline_ms: Math.round(baselineMs),
        validate_ms: Math.round(validateMs),
        valid_documents: validCount,
        findings: findingCount,
        target: '<= 1.5',
      },
    };
    console.log(
      `validate: ${FILE_COUNT + 1} files, baseline (read + yaml parse) ${Math.round(baselineMs)} ms, validate ${Math.round(validateMs)} ms, ratio ${ratio}x (target <= 1.5x)`,
    );
    return result;
  } finally {
    await reader.close();
    await rm(dir, { recursive: true, force: true });
  }
}
