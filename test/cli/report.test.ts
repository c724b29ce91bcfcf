/** `cavra-gitops report` against real git repositories (local and a bare remote). */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClock } from '../../src/cli/context.js';
import { runCli } from '../../src/cli/main.js';
import { runReport } from '../../src/cli/report.js';
import { computeRetryRecoveryReport } from '../../src/domain/report.js';
import type { RecordKind } from '../../src/domain/types.js';
import { ExitError } from '../../src/errors.js';
import { recordPath, serializeRecord } from '../../src/records/layout.js';
import {
  fixtureId,
  makeClosure,
  makeExecution,
  makePlaybook,
  recordSet,
} from '../fixtures/report/factories.js';
import {
  cleanupAllTempDirs,
  commitFiles,
  createBareRemote,
  createTempRepo,
  git,
  pushBranch,
  type TempDir,
} from '../helpers/git-fixtures.js';
import { createTestContext } from './helpers-context.js';

const POLICY = `apiVersion: cavra.dev/v1
kind: ReconcilerPolicy
metadata:
  name: default
spec:
  recovery:
    recovery_slo_minutes: 60
`;

const PLAYBOOK = makePlaybook({
  id: fixtureId('gordackrecovery-', 1),
  generatedAt: '2026-06-28T10:30:00.000Z',
  providers: [{ provider: 'ops-webhook' }, { provider: 'splunk-main', category: 'siem' }],
});
const RECORDS = recordSet({
  executions: [
    makeExecution({
      id: fixtureId('gordackretryexec-', 1),
      provider: 'ops-webhook',
      status: 'delivered',
      executedAt: '2026-06-28T11:00:00.000Z',
    }),
    makeExecution({
      id: fixtureId('gordackretryexec-', 2),
      provider: 'splunk-main',
      status: 'skipped',
      executedAt: '2026-06-28T11:10:00.000Z',
    }),
  ],
  playbooks: [PLAYBOOK],
  closures: [
    makeClosure({
      id: fixtureId('gordackrecoveryclosure-', 1),
      playbookId: PLAYBOOK.playbook_id,
      provider: 'ops-webhook',
      state: 'resolved',
      closedAt: '2026-06-28T11:30:00.000Z',
    }),
  ],
});

function recordFiles(): Record<string, string> {
  const files: Record<string, string> = {};
  const add = (kind: RecordKind, id: string, at: string, record: object) => {
    files[recordPath(kind, id, at)] = serializeRecord(record);
  };
  for (const r of RECORDS.executions) add('executions', r.execution_id, r.executed_at, r);
  for (const r of RECORDS.playbooks) add('playbooks', r.playbook_id, r.generated_at, r);
  for (const r of RECORDS.closures) add('closures', r.closure_id, r.recorded_at, r);
  return files;
}

let repo: TempDir;
let remote: TempDir;
let before: string;
let head: string;

beforeAll(async () => {
  repo = await createTempRepo();
  remote = await createBareRemote();
  before = await commitFiles(repo.dir, { 'manifests/policy.yaml': POLICY }, 'policy');
  head = await commitFiles(repo.dir, recordFiles(), 'records');
  await pushBranch(repo.dir, remote.dir);
});

afterAll(async () => {
  await cleanupAllTempDirs();
});

describe('report command', () => {
  it('prints {report, metadata} as JSON only, with the policy SLO, the HEAD revision and the injected now', async () => {
    const captured = createTestContext(repo.dir);
    expect(await runReport({ format: 'json' }, captured.context)).toBe(0);
    const printed = JSON.parse(captured.stdout()) as {
      report: Record<string, unknown>;
      metadata: Record<string, unknown>;
    };
    expect(Object.keys(printed)).toEqual(['report', 'metadata']);
    expect(printed.report).toMatchObject({
      revision: head,
      generated_at: '2026-06-28T12:00:00.000Z',
      generated_by: 'cli',
      recovery_slo_minutes: 60,
      execution_count: 2,
      execution_failed_count: 1,
      recovery_playbook_provider_count: 2,
      recovery_closed_count: 1,
      recovery_slo_breached_count: 1,
      alert_level: 'critical',
    });
    // Exactly what the pure function gives for the same records: reading from git loses nothing.
    const expected = computeRetryRecoveryReport(RECORDS, {
      sloMinutes: 60,
      generatedBy: 'cli',
      now: new Date('2026-06-28T12:00:00Z'),
      revision: head,
    });
    expect(captured.stdout()).toBe(`${JSON.stringify(expected, null, 2)}\n`);
    expect(captured.stderr()).toBe('');
  });

  it('takes --slo-minutes over the policy and reports at an older --ref', async () => {
    const overridden = createTestContext(repo.dir);
    await runReport({ sloMinutes: '120' }, overridden.context);
    expect(JSON.parse(overridden.stdout())).toMatchObject({
      report: { recovery_slo_minutes: 120, recovery_slo_breached_count: 0 },
    });

    const older = createTestContext(repo.dir);
    await runReport({ ref: before }, older.context);
    expect(JSON.parse(older.stdout())).toMatchObject({
      report: { revision: before, execution_count: 0, execution_success_rate: null, alert_level: 'healthy' },
    });
  });

  it.each([
    ['markdown', '# Retry recovery report\n'],
    ['table', 'Retry recovery report — alert level CRITICAL\n'],
  ])('renders --format %s', async (format, start) => {
    const captured = createTestContext(repo.dir);
    await runReport({ repo: repo.dir, format }, captured.context);
    expect(captured.stdout().startsWith(start)).toBe(true);
    expect(captured.stdout()).toContain('splunk-main');
  });

  it('reads a bare remote with --remote', async () => {
    const captured = createTestContext(repo.dir);
    await runReport({ remote: remote.dir }, captured.context);
    expect(JSON.parse(captured.stdout())).toMatchObject({ report: { revision: head, execution_count: 2 } });
  });

  it.each([
    [{ sloMinutes: '0' }, /--slo-minutes.*1 to 525600/],
    [{ sloMinutes: 'soon' }, /--slo-minutes/],
    [{ format: 'yaml' }, /--format "yaml" is not supported/],
    [{ ref: 'no-such-branch' }, /no-such-branch/],
  ])('rejects %j with a usage or git error', async (options, message) => {
    const captured = createTestContext(repo.dir);
    await expect(runReport(options, captured.context)).rejects.toThrow(message);
    expect(captured.stdout()).toBe('');
  });

  it('runs through the CLI honouring CAVRA_GITOPS_NOW, exit 0, and exit 2 for a bad flag', async () => {
    const captured = createTestContext(repo.dir);
    const env = { ...captured.context.env, CAVRA_GITOPS_NOW: '2026-06-28T10:45:00Z' };
    const context = { ...captured.context, env, clock: createClock(env) };
    expect(await runCli(['report', '--repo', repo.dir, '--format', 'json'], context)).toBe(0);
    const printed = JSON.parse(captured.stdout()) as {
      report: { generated_at: string; recovery_slo_breached_count: number };
    };
    expect(printed.report.generated_at).toBe('2026-06-28T10:45:00.000Z');
    expect(printed.report.recovery_slo_breached_count).toBe(0);

    const bad = createTestContext(repo.dir);
    expect(await runCli(['report', '--repo', repo.dir, '--slo-minutes', '600000'], bad.context)).toBe(
      new ExitError('x').exitCode,
    );
    expect(bad.stderr()).toContain('--slo-minutes');
    expect(bad.stdout()).toBe('');
  });

  it('is byte-identical across runs at the same now', async () => {
    const first = createTestContext(repo.dir);
    const second = createTestContext(repo.dir);
    await runReport({}, first.context);
    await runReport({ ref: await git(repo.dir, ['rev-parse', 'HEAD']) }, second.context);
    expect(second.stdout()).toBe(first.stdout());
  });
});
