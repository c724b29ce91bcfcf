/**
 * verify's gate recompute reads a few delivery keys' documents at many revisions: only the files
 * that ever held a document bearing on them (KeyPaths), and of shared multi-document files only
 * those documents, taken from the history walk's summaries instead of reading the files whole
 * (readManifests' `selectDocuments`). Property: for random files of approvals and acknowledgements
 * shared by several keys — names used twice in a file and across files, invalid documents, keys of
 * deliveries that do not exist — what is valid for a key is what a whole read finds valid for it.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { documentsNamed, indexKeyPaths, scopeManifestsToKeys } from '../../src/audit/key-scope.js';
import type { DeliveryKey, ManifestSet } from '../../src/domain/types.js';
import { createGitReader, type LocalGitReader } from '../../src/git/index.js';
import { createHistoryCache, readBranchAt } from '../../src/read-model/history-cache.js';
import { readManifests } from '../../src/read-model/read-manifests.js';
import { commitFiles, createTempRepo, type TempDir } from '../helpers/git-fixtures.js';
import { REPO_ROOT } from '../manifests/helpers.js';

const DELIVERIES = ['d0', 'd1', 'd2'];
const PROVIDERS = ['ops-file', 'ops-webhook'];

/** A bundled manifest without its comments, with `replacements` made. */
function bundled(file: string, replacements: [RegExp, string][] = []): string {
  let text = readFileSync(join(REPO_ROOT, 'manifests', file), 'utf8')
    .split('\n')
    .filter((line) => !line.trimStart().startsWith('#'))
    .join('\n');
  for (const [pattern, value] of replacements) text = text.replace(pattern, value);
  return text;
}

const BASE_FILES: Record<string, string> = {
  'manifests/providers.yaml': bundled('providers.yaml'),
  ...Object.fromEntries(
    // d2 has no AuditDelivery: its approvals and acknowledgements refer to nothing.
    DELIVERIES.slice(0, 2).map((name) => [
      `manifests/deliveries/${name}.yaml`,
      bundled('audit-delivery.yaml', [
        [/name: .*/, `name: ${name}`],
        [/audit_id: .*/, `audit_id: audit-${name}`],
      ]),
    ]),
  ),
};

interface DocumentCase {
  kind: 'RetryApproval' | 'RetryAcknowledgement';
  name: string;
  delivery: string;
  provider: string;
  /** Leaves out its required `state`: the document fails its schema. */
  invalid: boolean;
}

function documentText(document: DocumentCase): string {
  const file = document.kind === 'RetryApproval' ? 'retry-approval.yaml' : 'retry-acknowledgement.yaml';
  return bundled(file, [
    [/name: .*/, `name: ${document.name}`],
    [/delivery: .*/, `delivery: ${document.delivery}`],
    [/provider: .*/, `provider: ${document.provider}`],
    [/ {2}state: .*\n/, document.invalid ? '' : '$&'],
  ]);
}

const documentCase = fc.record({
  kind: fc.constantFrom('RetryApproval' as const, 'RetryAcknowledgement' as const),
  // Few names, so the same name comes back within a file and across files.
  name: fc.constantFrom('n0', 'n1', 'n2', 'n3', 'n4'),
  delivery: fc.constantFrom(...DELIVERIES),
  provider: fc.constantFrom(...PROVIDERS),
  invalid: fc.boolean(),
});

/** The manifests, without where in their file each document stands (a selection has no text). */
function comparable(set: ManifestSet): unknown {
  const strip = (manifest: { source: object }) => ({
    ...manifest,
    source: { ...manifest.source, line: 0, column: 0 },
  });
  return {
    providers: set.providers.map(strip),
    deliveries: set.deliveries.map(strip),
    approvals: set.approvals.map(strip),
    acknowledgements: set.acknowledgements.map(strip),
  };
}

describe("reading a key's documents from the walk's summaries", () => {
  let repo: TempDir;
  let git: LocalGitReader;

  beforeAll(async () => {
    repo = await createTempRepo();
    git = createGitReader(repo.dir);
    await commitFiles(repo.dir, BASE_FILES, 'providers and deliveries', { date: '2026-06-28T09:00:00Z' });
  });
  afterAll(async () => {
    await git.close();
    await repo.cleanup();
  });

  it('finds valid for a key exactly what a whole read finds valid for it', async () => {
    let round = 0;
    const seen = { valid: 0, duplicates: 0 };
    let previous: string[] = [];
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.array(documentCase, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 3 }),
        async (files) => {
          round += 1;
          // Fresh paths each round (the last round's files deleted), so a file holds one round's documents.
          const written: Record<string, string | null> = Object.fromEntries(
            previous.map((path) => [path, null]),
          );
          previous = files.map((_, index) => `manifests/shared/r${round}-${index}.yaml`);
          files.forEach((documents, index) => {
            written[previous[index]!] = documents.map(documentText).join('---\n');
          });
          const commit = await commitFiles(repo.dir, written, `round ${round}`, {
            date: `2026-06-28T10:${String(round % 60).padStart(2, '0')}:00Z`,
          });
          const history = createHistoryCache();
          const whole = await readManifests(git, commit, { history });
          seen.valid += whole.manifests.approvals.length + whole.manifests.acknowledgements.length;
          seen.duplicates += whole.findings.filter((finding) => finding.rule === 'ref.duplicate-name').length;
          const index = indexKeyPaths(
            (await readBranchAt(git, history, 'tracked', commit)).branch,
            history.documents,
          );
          for (const delivery of DELIVERIES) {
            for (const provider of PROVIDERS) {
              const key: DeliveryKey = { delivery_id: delivery, audit_id: `audit-${delivery}`, provider };
              let selections = 0;
              const selected = await readManifests(git, commit, {
                history,
                paths: index.ofKey(key),
                selectDocuments: (_path, documents) => {
                  selections += 1;
                  return documentsNamed(documents, index.namesOf([key]));
                },
              });
              expect(selections).toBeGreaterThan(0);
              expect(comparable(scopeManifestsToKeys(selected.manifests, [key]))).toEqual(
                comparable(scopeManifestsToKeys(whole.manifests, [key])),
              );
            }
          }
        },
      ),
      { numRuns: 25, seed: 1616 },
    );
    // Not vacuous: documents were valid for keys, and names were used twice.
    expect(seen.valid).toBeGreaterThan(0);
    expect(seen.duplicates).toBeGreaterThan(0);
  }, 120_000);
});
