/**
 * Replicas in different locales commit the same bytes: `reports/status.json` and every record are
 * identical when `cavra-gitops reconcile` runs under `LC_ALL=C`, `tr_TR.UTF-8` and `de_DE.UTF-8`
 * (Node's ICU takes its default locale from these variables, so any `localeCompare` or
 * `Intl.Collator` in what is committed would order file paths like `Äpfel`, `I-cap`, `ia` and `ıb`
 * differently — Turkish sorts `ıb` before `ia`, German after).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpReceiver, reply, type HttpReceiver } from '../helpers/http-receiver.js';
import {
  approvalYaml,
  ackYaml,
  createOpsRepo,
  createStateDir,
  deliveryYaml,
  policyYaml,
  providerYaml,
  reconcilerEnv,
  type OpsRepo,
} from '../helpers/reconciler-fixtures.js';
import { git, type TempDir } from '../helpers/git-fixtures.js';

const run = promisify(execFile);
const LOCALES = ['C', 'tr_TR.UTF-8', 'de_DE.UTF-8'];

describe('locale independence', () => {
  let receiver: HttpReceiver;
  const trees: string[] = [];
  const cleanups: (() => Promise<void>)[] = [];

  beforeAll(async () => {
    receiver = await startHttpReceiver();
    receiver.respond('/b-hook', reply.status(500, 'down'));
    for (const locale of LOCALES) {
      const ops: OpsRepo = await createOpsRepo();
      const state: TempDir = await createStateDir();
      cleanups.push(
        () => ops.cleanup(),
        () => state.cleanup(),
      );
      await ops.commit(
        {
          'manifests/policy.yaml': policyYaml({ autoPlaybooks: true }),
          'manifests/Äpfel.yaml':
            providerYaml('a-hook') + '---\n' + providerYaml('b-hook', { urlEnv: 'B_URL' }),
          'manifests/I-cap.yaml': deliveryYaml('drill-i', ['a-hook', 'b-hook']),
          'manifests/ia.yaml': deliveryYaml('drill-ia', ['a-hook']),
          'manifests/ıb.yaml': 'kind: RetryApproval\n',
          'manifests/zeta.yaml': deliveryYaml('drill-z', ['b-hook']),
          'manifests/ß.yaml': 'apiVersion: cavra.dev/v1\nkind: Provider\n',
          'manifests/approvals.yaml': [
            ackYaml('ack-i', 'drill-i', 'b-hook', 'deferred'),
            approvalYaml('approve-z', 'drill-z', 'b-hook'),
          ].join('---\n'),
        },
        'the same repository for every locale',
        { date: '2026-06-28T09:00:00Z' },
      );
      const env = {
        ...reconcilerEnv({ HOOK_URL: `${receiver.origin}/a-hook`, B_URL: `${receiver.origin}/b-hook` }),
        LC_ALL: locale,
        LANG: locale,
        CAVRA_GITOPS_NOW: '2026-06-28T10:00:00Z',
      };
      await run(
        process.execPath,
        [
          '--import',
          'tsx',
          'src/cli/main.ts',
          'reconcile',
          '--remote',
          ops.remote,
          '--state-dir',
          state.dir,
          '--once',
          '--replica-id',
          'r',
        ],
        { env },
      );
      const files = await git(ops.remote, [
        'ls-tree',
        '-r',
        '--name-only',
        'refs/heads/main',
        '--',
        'records',
        'reports',
      ]);
      const contents: string[] = [];
      for (const file of files.split('\n').filter(Boolean)) {
        contents.push(`== ${file}\n${await git(ops.remote, ['show', `refs/heads/main:${file}`])}`);
      }
      trees.push(contents.join('\n'));
    }
  }, 120_000);

  afterAll(async () => {
    await receiver.close();
    for (const cleanup of cleanups) await cleanup();
  });

  it('commits byte-identical status and records under C, tr_TR and de_DE', () => {
    expect(trees[0]).toContain('== reports/status.json');
    expect(trees[0]).toContain('== records/deliveries/');
    expect(trees[1]).toBe(trees[0]);
    expect(trees[2]).toBe(trees[0]);
  });
});
