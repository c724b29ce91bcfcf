/**
 * readGateFacts against real git histories built the way operators build them (multi-document
 * files, moves, merges, squashes, real ssh signatures): the facts the gate decides by —
 * introducing commit by content, the base of a change and its policy, signatures at the base and
 * at the tip, consumption over the ledger's whole history. Issue 11's acceptance cases that are
 * about provenance, base and signatures each have a test here.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { closureIdOf } from '../../src/domain/closures.js';
import type { GateFacts } from '../../src/domain/gate-facts.js';
import type { GitReader } from '../../src/domain/ports.js';
import { createGitReader, REPLICA_TRAILER } from '../../src/git/index.js';
import { readManifests } from '../../src/read-model/read-manifests.js';
import type { ManifestLoadResult } from '../../src/manifests/validate-manifests.js';
import { createHistoryCache, type HistoryCache } from '../../src/read-model/history-cache.js';
import { readGateFacts } from '../../src/read-model/read-gate-facts.js';
import { approvalDecisionId } from '../../src/domain/ids.js';
import {
  commitFiles,
  createSshSigningKey,
  createTempDir,
  createTempRepo,
  git,
  type TempDir,
} from '../helpers/git-fixtures.js';
import { approvalYaml, deliveryYaml, providerYaml } from '../helpers/reconciler-fixtures.js';

// ---------------------------------------------------------------------------------------------
// Fixtures
// ---------------------------------------------------------------------------------------------

const BASICS = {
  'manifests/providers.yaml': providerYaml('ops-webhook'),
  'manifests/deliveries.yaml': ['d1', 'd2', 'd3', 'd4', 'd5']
    .map((d) => deliveryYaml(d, ['ops-webhook']))
    .join('---\n'),
};

interface PolicyOptions {
  approvers?: string[];
  signed?: boolean;
  signersFile?: string;
}

function policy(options: PolicyOptions = {}): string {
  return [
    'apiVersion: cavra.dev/v1',
    'kind: ReconcilerPolicy',
    'metadata:',
    '  name: default',
    'spec:',
    `  approvers: [${(options.approvers ?? []).join(', ')}]`,
    `  require_signed_approvals: ${options.signed ?? false}`,
    `  allowed_signers_file: ${options.signersFile ?? '.cavra/allowed_signers'}`,
    '',
  ].join('\n');
}

function approval(name: string, delivery: string, decidedBy = 'bob@example.com'): string {
  return approvalYaml(name, delivery, 'ops-webhook', { decidedBy });
}

function closure(name: string, state: string): string {
  return [
    'apiVersion: cavra.dev/v1',
    'kind: RecoveryClosure',
    'metadata:',
    `  name: ${name}`,
    'spec:',
    '  playbook_id: gordackrecovery-00000000000000aa',
    '  provider: ops-webhook',
    `  state: ${state}`,
    '  closed_by: carol@example.com',
    '',
  ].join('\n');
}

let counter = 0;
const hex16 = (): string => (counter++).toString(16).padStart(16, '0');

/** A reconciler commit (replica trailer) recording `revision` as read. */
async function recordRevision(dir: string, revision: string, date: string): Promise<string> {
  const id = `gordackworker-${hex16()}`;
  return commitFiles(
    dir,
    {
      [`records/runs/2026-06/${id}.json`]: `${JSON.stringify({ run_id: id, run_hash: '', replica_id: 'test', started_at: date, source_revision: revision }, null, 2)}\n`,
    },
    `cavra-gitops: run\n\n${REPLICA_TRAILER}: test-replica\n`,
    { date },
  );
}

async function blobAt(dir: string, commit: string, path: string): Promise<string> {
  return git(dir, ['rev-parse', `${commit}:${path}`]);
}

/** An execution record file, as a reconciler writes it (the fields consumption reads). */
function executionRecord(input: {
  delivery: string;
  decisionId: string;
  manifest: string;
  blob: string;
  commit: string;
}): { path: string; content: string; id: string } {
  const id = `gordackretryexec-${hex16()}`;
  const record = {
    execution_id: id,
    execution_status: 'delivered',
    approval_decision_id: input.decisionId,
    delivery_id: input.delivery,
    audit_id: `audit-${input.delivery}`,
    provider: 'ops-webhook',
    approval: {
      manifest: input.manifest,
      blob: input.blob,
      commit: input.commit,
      author: '',
      signature: { status: 'none', principal: '' },
    },
    source_revision: input.commit,
  };
  return {
    path: `records/executions/2026-06/${id}.json`,
    content: `${JSON.stringify(record, null, 2)}\n`,
    id,
  };
}

interface Read {
  tip: string;
  loaded: ManifestLoadResult;
  facts: GateFacts;
}

/** readManifests then readGateFacts at HEAD, sharing one history cache (as a run does). */
async function readAt(
  dir: string,
  options: { cache?: HistoryCache; ledgerRevision?: string | null; reader?: GitReader; tip?: string } = {},
): Promise<Read> {
  const local = createGitReader(dir);
  const reader = options.reader ?? local;
  try {
    const tip = options.tip ?? (await reader.resolve('HEAD'));
    const history = options.cache ?? createHistoryCache();
    const loaded = await readManifests(reader, tip, { history });
    const facts = await readGateFacts(reader, {
      revision: tip,
      ledgerRevision: options.ledgerRevision === undefined ? tip : options.ledgerRevision,
      manifests: loaded.manifests,
      cache: history,
    });
    return { tip, loaded, facts };
  } finally {
    await local.close();
  }
}

function approvalOf(read: Read, name: string) {
  const found = read.loaded.manifests.approvals.find((a) => a.name === name);
  if (!found)
    throw new Error(`approval ${name} is not valid at the tip: ${JSON.stringify(read.loaded.findings)}`);
  return found;
}

let repo: TempDir;
beforeEach(async () => {
  repo = await createTempRepo();
});
afterEach(async () => {
  await repo.cleanup();
});

// ---------------------------------------------------------------------------------------------
// Provenance by content, and consumption
// ---------------------------------------------------------------------------------------------

describe('provenance per document, by content', () => {
  it('appending, commenting, moving, deleting and re-adding change nothing; a changed spec is a new version', async () => {
    const dir = repo.dir;
    const c1 = await commitFiles(
      dir,
      {
        ...BASICS,
        'manifests/policy.yaml': policy(),
        'manifests/approvals.yaml': approval('approve-a', 'd1'),
      },
      'approve a',
      { date: '2026-06-28T09:00:00Z', author: 'Bob <bob@example.com>' },
    );
    const blobA = await blobAt(dir, c1, 'manifests/approvals.yaml');
    const first = await readAt(dir);
    const decisionId = approvalDecisionId(approvalOf(first, 'approve-a'));
    // The reconciler executed approve-a (a record on the tracked branch) ...
    const execution = executionRecord({
      delivery: 'd1',
      decisionId,
      manifest: 'manifests/approvals.yaml',
      blob: blobA,
      commit: c1,
    });
    await commitFiles(dir, { [execution.path]: execution.content }, `execute\n\n${REPLICA_TRAILER}: r\n`, {
      date: '2026-06-28T09:10:00Z',
    });

    // ... then an unrelated approval is appended to the same file.
    const c2 = await commitFiles(
      dir,
      { 'manifests/approvals.yaml': `${approval('approve-a', 'd1')}---\n${approval('approve-b', 'd2')}` },
      'append approve-b',
      { date: '2026-06-28T10:00:00Z' },
    );
    // A comment-only edit and a reformat (flow style, quotes, key order).
    const reformatted = [
      '# approvals for the 28th',
      'apiVersion: cavra.dev/v1',
      'kind: RetryApproval',
      'metadata: {name: "approve-a"}',
      'spec:',
      '  provider: ops-webhook   # the webhook',
      '  delivery: "d1"',
      '  decided_by: bob@example.com',
      '  state: approved',
      '  retry_policy: {allow_immediate_retry: true}',
      '---',
      approval('approve-b', 'd2'),
    ].join('\n');
    await commitFiles(dir, { 'manifests/approvals.yaml': reformatted }, 'comments', {
      date: '2026-06-28T11:00:00Z',
    });
    // git mv to another folder; the execution record is deleted (someone cleaning up).
    await mkdir(join(dir, 'manifests/ops/2026'), { recursive: true });
    await git(dir, ['mv', 'manifests/approvals.yaml', 'manifests/ops/2026/approvals.yaml']);
    await commitFiles(dir, { [execution.path]: null }, 'move', { date: '2026-06-28T12:00:00Z' });

    let read = await readAt(dir);
    expect(approvalOf(read, 'approve-a').source.introduced).toMatchObject({
      commit: c1,
      author: 'Bob <bob@example.com>',
    });
    expect(approvalOf(read, 'approve-a').spec.decided_at).toBe('2026-06-28T09:00:00Z');
    expect(approvalDecisionId(approvalOf(read, 'approve-a'))).toBe(decisionId);
    expect(approvalOf(read, 'approve-b').source.introduced?.commit).toBe(c2);
    expect(read.facts.approvals.get('approve-a')?.introduced.commit).toBe(c1);
    expect(read.facts.approvals.get('approve-b')?.introduced.commit).toBe(c2);
    // Consumption is read from the ledger's history: the deleted record still counts.
    expect(read.facts.consumed.approvals.get('approve-a')).toEqual([execution.id]);
    expect(read.facts.consumed.approvals.has('approve-b')).toBe(false);

    // Delete approve-a, then re-add it: its introducing commit is still the first one.
    await commitFiles(dir, { 'manifests/ops/2026/approvals.yaml': approval('approve-b', 'd2') }, 'remove a', {
      date: '2026-06-28T13:00:00Z',
    });
    await commitFiles(dir, { 'manifests/approve-a.yaml': approval('approve-a', 'd1') }, 're-add a', {
      date: '2026-06-28T14:00:00Z',
    });
    read = await readAt(dir);
    expect(read.facts.approvals.get('approve-a')?.introduced.commit).toBe(c1);
    expect(read.facts.consumed.approvals.get('approve-a')).toEqual([execution.id]);

    // A changed spec is a new version, introduced (and timed) by the commit that changed it.
    const c8 = await commitFiles(
      dir,
      {
        'manifests/approve-a.yaml': approval('approve-a', 'd1').replace(
          'state: approved',
          'state: approved\n  notes: again',
        ),
      },
      'edit a',
      { date: '2026-06-28T15:00:00Z' },
    );
    read = await readAt(dir);
    expect(read.facts.approvals.get('approve-a')?.introduced.commit).toBe(c8);
    expect(approvalOf(read, 'approve-a').spec.decided_at).toBe('2026-06-28T15:00:00Z');
    // Still consumed: consumption is by name, any version.
    expect(read.facts.consumed.approvals.get('approve-a')).toEqual([execution.id]);
  });

  it('two closures appended to one file in two commits: each keeps its commit; each closure record maps to its own name', async () => {
    const dir = repo.dir;
    const k1 = await commitFiles(
      dir,
      { ...BASICS, 'manifests/closures.yaml': closure('closure-1', 'resolved') },
      'closure 1',
      {
        date: '2026-06-28T09:00:00Z',
      },
    );
    const k2 = await commitFiles(
      dir,
      {
        'manifests/closures.yaml': `${closure('closure-1', 'resolved')}---\n${closure('closure-2', 'reopened')}`,
      },
      'closure 2',
      { date: '2026-06-28T10:00:00Z' },
    );
    const read = await readAt(dir);
    const closures = new Map(read.loaded.manifests.closures.map((c) => [c.name, c]));
    expect(closures.get('closure-1')?.source.introduced?.commit).toBe(k1);
    expect(closures.get('closure-1')?.spec.closed_at).toBe('2026-06-28T09:00:00Z');
    expect(closures.get('closure-2')?.source.introduced?.commit).toBe(k2);

    // Closure records as a reconciler writes them: one at k1 (blob holds closure-1 only), one at
    // k2 whose blob holds both documents for the same playbook and provider.
    const files: Record<string, string> = {};
    for (const [name, commit] of [
      ['closure-1', k1],
      ['closure-2', k2],
    ] as const) {
      const manifest = closures.get(name)!;
      const id = closureIdOf(manifest);
      files[`records/closures/2026-06/${id}.json`] = `${JSON.stringify({
        closure_id: id,
        playbook_id: manifest.spec.playbook_id,
        provider: manifest.spec.provider,
        closure_state: manifest.spec.state,
        source: {
          manifest: 'manifests/closures.yaml',
          blob: await blobAt(dir, commit, 'manifests/closures.yaml'),
          commit,
          author: '',
        },
        source_revision: commit,
      })}\n`;
    }
    await commitFiles(dir, files, `closures\n\n${REPLICA_TRAILER}: r\n`, { date: '2026-06-28T11:00:00Z' });
    const after = await readAt(dir);
    expect(Object.fromEntries(after.facts.consumed.closures)).toEqual({
      'closure-1': [closureIdOf(closures.get('closure-1')!)],
      'closure-2': [closureIdOf(closures.get('closure-2')!)],
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The base of a change
// ---------------------------------------------------------------------------------------------

describe('the base of a change', () => {
  /** main: T0 (approvers alice), R (records T0); branch pr: W (widen to mallory), A (mallory approves). */
  async function widenThenApprove(dir: string): Promise<{ t0: string; w: string; a: string }> {
    const t0 = await commitFiles(
      dir,
      { ...BASICS, 'manifests/policy.yaml': policy({ approvers: ['alice@example.com'] }) },
      'T0',
      {
        date: '2026-06-28T08:00:00Z',
      },
    );
    await recordRevision(dir, t0, '2026-06-28T08:05:00Z');
    await git(dir, ['checkout', '-q', '-b', 'pr']);
    const w = await commitFiles(
      dir,
      { 'manifests/policy.yaml': policy({ approvers: ['alice@example.com', 'mallory@example.com'] }) },
      'widen approvers',
      { date: '2026-06-28T09:00:00Z', author: 'Mallory <mallory@example.com>' },
    );
    const a = await commitFiles(
      dir,
      { 'manifests/approval.yaml': approval('approve-m', 'd1', 'mallory@example.com') },
      'approve',
      {
        date: '2026-06-28T09:01:00Z',
        author: 'Mallory <mallory@example.com>',
      },
    );
    await git(dir, ['checkout', '-q', 'main']);
    return { t0, w, a };
  }

  function expectNarrowBase(read: Read, t0: string, introduced: string): void {
    const facts = read.facts.approvals.get('approve-m');
    expect(facts?.introduced.commit).toBe(introduced);
    expect(facts?.base).toMatchObject({ commit: t0, recorded: true });
    expect(facts?.base.policy.approvers).toEqual(['alice@example.com']);
    expect(read.facts.current.policy.approvers).toEqual(['alice@example.com', 'mallory@example.com']);
    expect(read.facts.current.commit).toBe(read.tip);
  }

  it('fast-forwarded: the base is the last recorded revision before the push, not the widening commit', async () => {
    const { t0, a } = await widenThenApprove(repo.dir);
    await git(repo.dir, ['merge', '-q', '--ff-only', 'pr']);
    expectNarrowBase(await readAt(repo.dir), t0, a);
  });

  it('merged with --no-ff: the approval keeps its branch commit, the base is still before the PR', async () => {
    const { t0, a } = await widenThenApprove(repo.dir);
    await git(repo.dir, ['merge', '-q', '--no-ff', '--no-edit', 'pr'], {
      GIT_AUTHOR_DATE: '@1782640000 +0000',
      GIT_COMMITTER_DATE: '@1782640000 +0000',
    });
    expectNarrowBase(await readAt(repo.dir), t0, a);
  });

  it('squashed: the squash commit introduces the approval; its base is before it', async () => {
    const { t0 } = await widenThenApprove(repo.dir);
    await git(repo.dir, ['merge', '-q', '--squash', 'pr']);
    const squash = await commitFiles(repo.dir, {}, 'squashed PR', { date: '2026-06-28T10:00:00Z' });
    expectNarrowBase(await readAt(repo.dir), t0, squash);
  });

  it('the widening merged and reconciled first, the approval in a later push: the base is the widening', async () => {
    const { w } = await widenThenApprove(repo.dir);
    await git(repo.dir, ['merge', '-q', '--ff-only', `pr~1`]);
    await recordRevision(repo.dir, w, '2026-06-28T09:30:00Z');
    await git(repo.dir, ['merge', '-q', '--no-edit', 'pr'], {
      GIT_AUTHOR_DATE: '@1782640000 +0000',
      GIT_COMMITTER_DATE: '@1782640000 +0000',
    });
    const read = await readAt(repo.dir);
    const facts = read.facts.approvals.get('approve-m');
    expect(facts?.base).toMatchObject({ commit: w, recorded: true });
    expect(facts?.base.policy.approvers).toEqual(['alice@example.com', 'mallory@example.com']);
  });

  it('with no recorded revision the base is the first parent; a record an operator committed does not count', async () => {
    const t0 = await commitFiles(
      repo.dir,
      { ...BASICS, 'manifests/policy.yaml': policy({ approvers: ['alice@example.com'] }) },
      'T0',
      {
        date: '2026-06-28T08:00:00Z',
      },
    );
    const w = await commitFiles(
      repo.dir,
      { 'manifests/policy.yaml': policy({ approvers: ['mallory@example.com'] }) },
      'widen',
      { date: '2026-06-28T09:00:00Z' },
    );
    // A forged run record naming the widening, without the reconciler's trailer.
    const forged = await commitFiles(
      repo.dir,
      { 'records/runs/2026-06/gordackworker-00000000000000ff.json': JSON.stringify({ source_revision: w }) },
      'a record by hand',
      { date: '2026-06-28T09:05:00Z' },
    );
    await commitFiles(
      repo.dir,
      { 'manifests/approval.yaml': approval('approve-m', 'd1', 'mallory@example.com') },
      'approve',
      {
        date: '2026-06-28T09:10:00Z',
      },
    );
    const read = await readAt(repo.dir);
    const facts = read.facts.approvals.get('approve-m');
    expect(facts?.base).toMatchObject({ commit: forged, recorded: false });
    expect(t0).not.toBe(forged);
    // The policy at the first parent is the widened one: this is why a recorded base matters.
    expect(facts?.base.policy.approvers).toEqual(['mallory@example.com']);
  });

  it('an approval in the root commit has no base: the defaults, read at no commit', async () => {
    await commitFiles(
      repo.dir,
      { ...BASICS, 'manifests/approval.yaml': approval('approve-m', 'd1') },
      'root',
      {
        date: '2026-06-28T08:00:00Z',
      },
    );
    const read = await readAt(repo.dir);
    expect(read.facts.approvals.get('approve-m')?.base).toMatchObject({ commit: null, recorded: false });
    expect(read.facts.approvals.get('approve-m')?.base.policy.approvers).toEqual([]);
  });

  it('records on a separate ledger branch: the base and consumption come from the ledger history', async () => {
    const dir = repo.dir;
    const t0 = await commitFiles(
      dir,
      { ...BASICS, 'manifests/policy.yaml': policy({ approvers: ['alice@example.com'] }) },
      'T0',
      {
        date: '2026-06-28T08:00:00Z',
      },
    );
    await git(dir, ['checkout', '-q', '--orphan', 'ledger']);
    await git(dir, ['rm', '-q', '-r', '--cached', '.']);
    await git(dir, ['clean', '-q', '-f', '-d']);
    const ledgerTip = await recordRevision(dir, t0, '2026-06-28T08:05:00Z');
    await git(dir, ['checkout', '-q', '-f', 'main']);
    await commitFiles(
      dir,
      { 'manifests/policy.yaml': policy({ approvers: ['mallory@example.com'] }) },
      'widen',
      {
        date: '2026-06-28T09:00:00Z',
      },
    );
    await commitFiles(
      dir,
      { 'manifests/approval.yaml': approval('approve-m', 'd1', 'mallory@example.com') },
      'approve',
      {
        date: '2026-06-28T09:10:00Z',
      },
    );
    const onLedger = await readAt(dir, { ledgerRevision: ledgerTip });
    expect(onLedger.facts.approvals.get('approve-m')?.base).toMatchObject({ commit: t0, recorded: true });
    expect(onLedger.facts.approvals.get('approve-m')?.base.policy.approvers).toEqual(['alice@example.com']);
    const noLedger = await readAt(dir, { ledgerRevision: null });
    expect(noLedger.facts.approvals.get('approve-m')?.base.recorded).toBe(false);
    expect(noLedger.facts.consumed.approvals.size).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------
// Signatures at the base and at the tip (real ssh-keygen keys)
// ---------------------------------------------------------------------------------------------

describe('signatures at the base and at the tip', () => {
  let keys: TempDir;
  let bob: Awaited<ReturnType<typeof createSshSigningKey>>;
  let carol: Awaited<ReturnType<typeof createSshSigningKey>>;
  let mallory: Awaited<ReturnType<typeof createSshSigningKey>>;
  /** An allowed-signers line giving `principal` mallory's key. */
  const malloryAs = (principal: string): string =>
    `${principal} ${mallory.allowedSignersLine.split(' ').slice(1).join(' ')}`;

  beforeAll(async () => {
    keys = await createTempDir('cavra-keys-');
    bob = await createSshSigningKey(keys.dir, 'bob@example.com', 'bob');
    carol = await createSshSigningKey(keys.dir, 'carol@example.com', 'carol');
    mallory = await createSshSigningKey(keys.dir, 'mallory@example.com', 'mallory');
  });
  afterAll(async () => {
    await keys.cleanup();
  });

  /** T0: signed policy, allowed signers = bob and carol (real keys); recorded. */
  async function signedBase(dir: string): Promise<string> {
    const t0 = await commitFiles(
      dir,
      {
        ...BASICS,
        'manifests/policy.yaml': policy({ signed: true }),
        '.cavra/allowed_signers': bob.allowedSignersLine + carol.allowedSignersLine,
      },
      'T0',
      { date: '2026-06-28T08:00:00Z' },
    );
    await recordRevision(dir, t0, '2026-06-28T08:05:00Z');
    return t0;
  }

  it("a signer line for decided_by added in the approval's own commit: good at the tip, not trusted at the base", async () => {
    const t0 = await signedBase(repo.dir);
    const a = await commitFiles(
      repo.dir,
      {
        '.cavra/allowed_signers': bob.allowedSignersLine + malloryAs('dave@example.com'),
        'manifests/approval.yaml': approval('approve-d', 'd1', 'dave@example.com'),
      },
      'dave approves',
      { date: '2026-06-28T09:00:00Z', signWith: mallory.keyPath },
    );
    const facts = (await readAt(repo.dir)).facts.approvals.get('approve-d');
    expect(facts?.introduced.commit).toBe(a);
    expect(facts?.base.commit).toBe(t0);
    expect(facts?.signatureAtTip).toEqual({ status: 'good', principal: 'dave@example.com' });
    expect(facts?.signatureAtBase).toEqual({ status: 'untrusted', principal: '' });
    expect(facts?.introduced.signature).toEqual(facts?.signatureAtTip);
  });

  it('a signer line added in an earlier commit of the same push: not trusted at the base', async () => {
    const t0 = await signedBase(repo.dir);
    await commitFiles(
      repo.dir,
      { '.cavra/allowed_signers': bob.allowedSignersLine + malloryAs('dave@example.com') },
      'keys',
      {
        date: '2026-06-28T09:00:00Z',
      },
    );
    await commitFiles(
      repo.dir,
      { 'manifests/approval.yaml': approval('approve-d', 'd1', 'dave@example.com') },
      'approve',
      {
        date: '2026-06-28T09:01:00Z',
        signWith: mallory.keyPath,
      },
    );
    const facts = (await readAt(repo.dir)).facts.approvals.get('approve-d');
    expect(facts?.base.commit).toBe(t0);
    expect(facts?.signatureAtTip).toEqual({ status: 'good', principal: 'dave@example.com' });
    expect(facts?.signatureAtBase.status).toBe('untrusted');
  });

  it('allowed_signers_file re-pointed in the approval commit: the base reads the file its own policy names', async () => {
    const t0 = await signedBase(repo.dir);
    await commitFiles(
      repo.dir,
      {
        'manifests/policy.yaml': policy({ signed: true, signersFile: '.cavra/new_signers' }),
        '.cavra/new_signers': malloryAs('dave@example.com'),
        'manifests/approval.yaml': approval('approve-d', 'd1', 'dave@example.com'),
      },
      'new signers file',
      { date: '2026-06-28T09:00:00Z', signWith: mallory.keyPath },
    );
    const facts = (await readAt(repo.dir)).facts.approvals.get('approve-d');
    expect(facts?.base.commit).toBe(t0);
    expect(facts?.base.policy.allowed_signers_file).toBe('.cavra/allowed_signers');
    expect(facts?.signatureAtTip).toEqual({ status: 'good', principal: 'dave@example.com' });
    expect(facts?.signatureAtBase.status).toBe('untrusted');
  });

  it('signed by the wrong principal: a good signature naming someone else, at the base and at the tip', async () => {
    await commitFiles(
      repo.dir,
      {
        ...BASICS,
        'manifests/policy.yaml': policy({ signed: true }),
        '.cavra/allowed_signers': carol.allowedSignersLine + mallory.allowedSignersLine,
      },
      'T0',
      { date: '2026-06-28T08:00:00Z' },
    );
    await commitFiles(
      repo.dir,
      { 'manifests/a-carol.yaml': approval('approve-c', 'd1', 'carol@example.com') },
      'for carol, by mallory',
      {
        date: '2026-06-28T09:00:00Z',
        signWith: mallory.keyPath,
      },
    );
    await commitFiles(
      repo.dir,
      { 'manifests/a-bob.yaml': approval('approve-u', 'd2', 'bob@example.com') },
      'unsigned',
      {
        date: '2026-06-28T09:01:00Z',
      },
    );
    await commitFiles(
      repo.dir,
      { 'manifests/a-carol-ok.yaml': approval('approve-ok', 'd3', 'carol@example.com') },
      'by carol',
      {
        date: '2026-06-28T09:02:00Z',
        signWith: carol.keyPath,
      },
    );
    const { facts } = await readAt(repo.dir);
    expect(facts.approvals.get('approve-c')?.signatureAtBase).toEqual({
      status: 'good',
      principal: 'mallory@example.com',
    });
    expect(facts.approvals.get('approve-c')?.signatureAtTip).toEqual({
      status: 'good',
      principal: 'mallory@example.com',
    });
    expect(facts.approvals.get('approve-u')?.signatureAtTip).toEqual({ status: 'none', principal: '' });
    expect(facts.approvals.get('approve-ok')?.signatureAtBase).toEqual({
      status: 'good',
      principal: 'carol@example.com',
    });
    expect(facts.approvals.get('approve-ok')?.signatureAtTip).toEqual({
      status: 'good',
      principal: 'carol@example.com',
    });
  });
});

// ---------------------------------------------------------------------------------------------
// The walk's cost: one walk per read, incremental in a loop
// ---------------------------------------------------------------------------------------------

describe('the history cache', () => {
  it('a later read walks only the new commits and decides exactly as a fresh read', async () => {
    const dir = repo.dir;
    const t0 = await commitFiles(
      dir,
      { ...BASICS, 'manifests/policy.yaml': policy({ approvers: ['alice@example.com'] }) },
      'T0',
      {
        date: '2026-06-28T08:00:00Z',
      },
    );
    await commitFiles(dir, { 'manifests/a1.yaml': approval('approve-1', 'd1', 'alice@example.com') }, 'a1', {
      date: '2026-06-28T08:10:00Z',
    });
    const inner = createGitReader(dir);
    const walks: { exclude: string[] | undefined }[] = [];
    const processes = { verify: 0, isAncestor: 0 };
    const reader: GitReader = {
      resolve: (rev) => inner.resolve(rev),
      listTree: (commit, prefixes) => inner.listTree(commit, prefixes),
      readBlobs: (blobs) => inner.readBlobs(blobs),
      walkHistory: (request) => {
        walks.push({ exclude: request.exclude });
        return inner.walkHistory(request);
      },
      isAncestor: (ancestor, descendant) => {
        processes.isAncestor++;
        return inner.isAncestor(ancestor, descendant);
      },
      readObjects: (names, opts) => inner.readObjects(names, opts),
      verifySignatures: (commits, signers) => {
        processes.verify++;
        return inner.verifySignatures(commits, signers);
      },
    };
    try {
      const cache = createHistoryCache();
      const first = await readAt(dir, { cache, reader });
      expect(walks).toEqual([{ exclude: undefined }]);
      expect(processes.verify).toBe(1); // tip and base have the same (absent) signers file

      await recordRevision(dir, first.tip, '2026-06-28T08:20:00Z');
      for (let i = 2; i <= 4; i++) {
        await commitFiles(
          dir,
          { [`manifests/a${i}.yaml`]: approval(`approve-${i}`, `d${i}`, 'alice@example.com') },
          `a${i}`,
          {
            date: `2026-06-28T09:0${i}:00Z`,
          },
        );
      }
      const second = await readAt(dir, { cache, reader });
      expect(walks).toEqual([{ exclude: undefined }, { exclude: [first.tip] }]);
      const fresh = await readAt(dir);
      expect(second.facts).toEqual(fresh.facts);
      expect(second.loaded).toEqual(fresh.loaded);
      expect(second.facts.approvals.get('approve-3')?.base).toMatchObject({
        commit: first.tip,
        recorded: true,
      });
      expect(second.facts.approvals.get('approve-1')?.base).toMatchObject({ commit: t0, recorded: false });

      // The same tip again: no walk, no process at all beyond the tree listing.
      const before = { walks: walks.length, ...processes };
      await readAt(dir, { cache, reader, tip: second.tip });
      expect({ walks: walks.length, ...processes }).toEqual(before);

      // An older revision (the API's ?at=) is answered from the same walk, as a fresh read would.
      const older = await readAt(dir, { cache, reader, tip: first.tip });
      expect(walks).toHaveLength(before.walks);
      expect(older.facts).toEqual((await readAt(dir, { tip: first.tip })).facts);

      // Reads of two revisions through one cache at once (the API while the loop reads) take
      // turns and answer as fresh reads do.
      await commitFiles(
        dir,
        { 'manifests/a5.yaml': approval('approve-5', 'd5', 'alice@example.com') },
        'a5',
        {
          date: '2026-06-28T09:30:00Z',
        },
      );
      const newest = await git(dir, ['rev-parse', 'HEAD']);
      const [atNewest, atFirst] = await Promise.all([
        readAt(dir, { cache, reader, tip: newest }),
        readAt(dir, { cache, reader, tip: first.tip }),
      ]);
      expect(atNewest.facts).toEqual((await readAt(dir, { tip: newest })).facts);
      expect(atFirst.facts).toEqual(older.facts);
    } finally {
      await inner.close();
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The ledger cursor: reads run after run through one cache decide as fresh reads do
// ---------------------------------------------------------------------------------------------

describe('the ledger read at one commit after another', () => {
  it('forward, onto a side line, through its merge and back: every read through one cache equals a fresh read', async () => {
    const dir = repo.dir;
    const t0 = await commitFiles(
      dir,
      { ...BASICS, 'manifests/policy.yaml': policy({ approvers: ['bob@example.com'] }) },
      'T0',
      { date: '2026-06-28T08:00:00Z' },
    );
    const commits: string[] = [t0];
    const approve = async (i: number, date: string): Promise<{ commit: string; blob: string }> => {
      const path = `manifests/a${i}.yaml`;
      const commit = await commitFiles(dir, { [path]: approval(`approve-${i}`, `d${i}`) }, `a${i}`, { date });
      commits.push(commit);
      return { commit, blob: await blobAt(dir, commit, path) };
    };
    const execute = async (i: number, at: { commit: string; blob: string }, date: string): Promise<void> => {
      const read = await readAt(dir, { tip: at.commit });
      const record = executionRecord({
        delivery: `d${i}`,
        decisionId: approvalDecisionId(approvalOf(read, `approve-${i}`)),
        manifest: `manifests/a${i}.yaml`,
        blob: at.blob,
        commit: at.commit,
      });
      const commit = await commitFiles(
        dir,
        { [record.path]: record.content },
        `execute\n\n${REPLICA_TRAILER}: r\n`,
        {
          date,
        },
      );
      commits.push(commit);
    };
    const a1 = await approve(1, '2026-06-28T08:10:00Z');
    commits.push(await recordRevision(dir, a1.commit, '2026-06-28T08:15:00Z'));
    await execute(1, a1, '2026-06-28T08:20:00Z');
    const a2 = await approve(2, '2026-06-28T08:30:00Z');
    // A side line: an approval and its execution, merged back with --no-ff.
    await git(dir, ['checkout', '-q', '-b', 'side']);
    const a3 = await approve(3, '2026-06-28T08:40:00Z');
    await execute(3, a3, '2026-06-28T08:45:00Z');
    commits.push(await recordRevision(dir, a3.commit, '2026-06-28T08:50:00Z'));
    await git(dir, ['checkout', '-q', 'main']);
    await execute(2, a2, '2026-06-28T09:00:00Z');
    const a4 = await approve(4, '2026-06-28T09:10:00Z');
    await git(dir, ['merge', '-q', '--no-ff', '-m', 'merge side', 'side']);
    commits.push(await git(dir, ['rev-parse', 'HEAD']));
    const a5 = await approve(5, '2026-06-28T09:30:00Z');
    await execute(5, a5, '2026-06-28T09:40:00Z');
    expect(a4.commit).not.toBe('');

    // Every commit in the order made (the side line's commits come between main's), then back to
    // the start and forward again: with the ledger on the tracked branch, and with the revision
    // fixed at the tip and the ledger moving (verify's runs, where the ledger commit before a
    // claim is not the revision read).
    // The tip first, so every later commit is one the cached walk holds (a commit it does not
    // hold is walked afresh into a new index, which starts the cursor over anyway).
    const order = [commits.at(-1)!, ...commits, t0, ...commits.slice(0, 4)];
    const tip = commits.at(-1)!;
    const cache = createHistoryCache();
    const moving = createHistoryCache();
    const consumedSizes: number[] = [];
    for (const commit of order) {
      const shared = await readAt(dir, { cache, tip: commit });
      const fresh = await readAt(dir, { tip: commit });
      expect(shared.facts).toEqual(fresh.facts);
      consumedSizes.push(shared.facts.consumed.approvals.size);
      const ledgerMoving = await readAt(dir, { cache: moving, tip, ledgerRevision: commit });
      const ledgerFresh = await readAt(dir, { tip, ledgerRevision: commit });
      expect(ledgerMoving.facts).toEqual(ledgerFresh.facts);
    }
    // The reads did see consumption and bases change along the way.
    expect(new Set(consumedSizes).size).toBeGreaterThan(2);
    const last = await readAt(dir, { tip });
    expect([...last.facts.consumed.approvals.keys()]).toEqual([
      'approve-1',
      'approve-2',
      'approve-3',
      'approve-5',
    ]);
  });
});
