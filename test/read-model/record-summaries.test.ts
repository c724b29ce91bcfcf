/**
 * The gate's ledger fold summarises the execution, closure, run and claim records the ledger ever
 * added. The snapshot parses every record at the tip anyway, so it hands the fold its summaries:
 * a first run reads each of those blobs from git once, not twice, and the facts are the same.
 */
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GitReader } from '../../src/domain/ports.js';
import { createGitReader, REPLICA_TRAILER, type LocalGitReader } from '../../src/git/index.js';
import { readGateFacts } from '../../src/read-model/read-gate-facts.js';
import { createSnapshotCache, readSnapshot } from '../../src/read-model/read-snapshot.js';
import { recordPath } from '../../src/records/layout.js';
import { commitFiles, createTempRepo, git, type TempDir } from '../helpers/git-fixtures.js';
import { deliveryYaml, providerYaml } from '../helpers/reconciler-fixtures.js';

function golden(name: string): { text: string; record: Record<string, string> } {
  const text = readFileSync(new URL(`../fixtures/records/golden/${name}.json`, import.meta.url), 'utf8');
  return { text, record: JSON.parse(text) as Record<string, string> };
}

/** The real reader, noting every object id whose content a `readObjects` or `readBlobs` returned. */
function countingReader(inner: GitReader): { reader: GitReader; read: string[] } {
  const read: string[] = [];
  const reader: GitReader = {
    resolve: (rev) => inner.resolve(rev),
    listTree: (commit, prefixes, options) => inner.listTree(commit, prefixes, options),
    readBlobs: async (blobs) => {
      const contents = await inner.readBlobs(blobs);
      read.push(...contents.keys());
      return contents;
    },
    walkHistory: (request) => inner.walkHistory(request),
    isAncestor: (ancestor, descendant) => inner.isAncestor(ancestor, descendant),
    readObjects: async (names, options) => {
      const objects = await inner.readObjects(names, options);
      for (const object of objects.values()) if (object?.content) read.push(object.id);
      return objects;
    },
    verifySignatures: (commits, signers) => inner.verifySignatures(commits, signers),
  };
  return { reader, read };
}

describe('record summaries from the snapshot', () => {
  let repo: TempDir;
  let reader: LocalGitReader;
  let tip: string;
  const blobs: string[] = [];

  beforeAll(async () => {
    repo = await createTempRepo();
    reader = createGitReader(repo.dir);
    await commitFiles(
      repo.dir,
      {
        'manifests/providers.yaml': providerYaml('ops-webhook'),
        'manifests/deliveries.yaml': deliveryYaml('d1', ['ops-webhook']),
      },
      'manifests',
    );
    const execution = golden('execution-failed');
    const run = golden('run');
    const claim = golden('claim');
    const files = {
      [recordPath('executions', execution.record.execution_id!, execution.record.executed_at!)]:
        execution.text,
      [recordPath('runs', run.record.run_id!, run.record.started_at!)]: run.text,
      [`records/claims/${claim.record.claim_id!}.json`]: claim.text,
    };
    tip = await commitFiles(repo.dir, files, `cavra-gitops: record 3\n\n${REPLICA_TRAILER}: r1`);
    for (const path of Object.keys(files))
      blobs.push((await git(repo.dir, ['rev-parse', `${tip}:${path}`])).trim());
  });
  afterAll(async () => {
    await reader.close();
    await repo.cleanup();
  });

  it('lets the fold take the records the snapshot parsed, with the same facts', async () => {
    const { reader: counting, read } = countingReader(reader);
    const cache = createSnapshotCache();
    const snapshot = await readSnapshot(counting, tip, { cache });
    expect(snapshot.recordFindings).toEqual([]);
    const facts = await readGateFacts(counting, {
      revision: tip,
      ledgerRevision: tip,
      manifests: snapshot.manifests.manifests,
      cache: cache.history,
    });
    // Each record blob was read once (by the snapshot), not again by the ledger fold.
    for (const blob of blobs) expect(read.filter((id) => id === blob)).toHaveLength(1);

    // The same facts as a fold that reads the blobs itself.
    const alone = createSnapshotCache();
    const manifestsAlone = await readSnapshot(reader, tip, { cache: alone, ledgerRevision: null });
    const factsAlone = await readGateFacts(reader, {
      revision: tip,
      ledgerRevision: tip,
      manifests: manifestsAlone.manifests.manifests,
      cache: alone.history,
    });
    expect([...facts.consumed.approvals]).toEqual([...factsAlone.consumed.approvals]);
    expect(cache.history.records).toEqual(alone.history.records);
    expect(cache.history.records.size).toBe(3);
  });
});
