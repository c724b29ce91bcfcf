/**
 * Issue 6 acceptance, end to end: canary values in the URL env vars (userinfo, path, query token),
 * a token and a signing secret travel to real local receivers that echo them back in error bodies;
 * none of them (nor their base64 forms) appears in any git object of the ops remote (records,
 * reports, status, commit messages), in any log line or CLI output, or in any API response.
 */
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { createRetryPlanner } from '../../src/api/retry-planner.js';
import { startServer } from '../../src/api/server.js';
import { createSnapshotSource } from '../../src/api/snapshot-source.js';
import { runCli } from '../../src/cli/main.js';
import { createGitReader } from '../../src/git/index.js';
import { startHttpReceiver, type HttpReceiver } from '../helpers/http-receiver.js';
import {
  ackYaml,
  approvalYaml,
  createCliContext,
  createOpsRepo,
  createSettableClock,
  createStateDir,
  deliveryYaml,
  policyYaml,
  providerYaml,
  reconcilerEnv,
  type OpsRepo,
} from '../helpers/reconciler-fixtures.js';
import type { TempDir } from '../helpers/git-fixtures.js';

const CANARY = {
  user: 'canaryuser7f3a',
  password: 'canarypass-93e1d4b7c2',
  path: 'canarypath-5be8a0c19d',
  query: 'canaryquery-0c4e9f7a21',
  token: 'canarytoken-6d2b8e1f03a9',
  signing: 'canary-signing-key-4a91c7e2',
};

function forbiddenStrings(): string[] {
  const values = Object.values(CANARY);
  const encoded = [
    Buffer.from(`${CANARY.user}:${CANARY.password}`).toString('base64'),
    Buffer.from(CANARY.signing).toString('base64'),
  ];
  return [...values, ...encoded];
}

function expectNoCanary(where: string, text: string): void {
  for (const value of forbiddenStrings()) {
    expect(text.includes(value), `${where} contains the canary ${value}`).toBe(false);
  }
}

/** Every object reachable in the bare remote, as text: blobs, trees, commits. */
function allObjects(remote: string): string {
  const list = execFileSync('git', ['rev-list', '--objects', '--all'], { cwd: remote, encoding: 'utf8' });
  const ids = list
    .split('\n')
    .map((line) => line.split(' ')[0])
    .filter(Boolean)
    .join('\n');
  return execFileSync('git', ['cat-file', '--batch'], {
    cwd: remote,
    input: `${ids}\n`,
    maxBuffer: 1 << 28,
  }).toString('latin1');
}

describe('canary secrets never leave the process', () => {
  let ops: OpsRepo;
  let state: TempDir;
  let receiver: HttpReceiver;

  beforeEach(async () => {
    ops = await createOpsRepo();
    state = await createStateDir();
    receiver = await startHttpReceiver();
    // Every answer is a 500 that echoes what the request carried: URL, headers, body.
    receiver.handle((request) => ({
      kind: 'respond',
      status: 500,
      body: `echo url=${request.url} headers=${JSON.stringify(request.headers)} body=${request.body.slice(0, 100)}`,
    }));
  });
  afterEach(async () => {
    await receiver.close();
    await state.cleanup();
    await ops.cleanup();
  });

  it('appears in no record, report, log line, CLI output or API response', async () => {
    const origin = new URL(receiver.origin);
    const hookUrl = `http://${CANARY.user}:${CANARY.password}@${origin.host}/${CANARY.path}/hook?token=${CANARY.query}`;
    const splunkUrl = `${receiver.origin}/${CANARY.path}?sig=${CANARY.query}`;
    const env = reconcilerEnv({
      HOOK_URL: hookUrl,
      HOOK_SECRET: `whsec_${Buffer.from(CANARY.signing).toString('base64')}`,
      SPLUNK_URL: splunkUrl,
      SPLUNK_TOKEN: CANARY.token,
    });
    const clock = createSettableClock('2026-06-28T10:00:00Z');
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml({ autoPlaybooks: true }),
        'manifests/providers.yaml': [
          providerYaml('ops-webhook', { signingSecretEnv: 'HOOK_SECRET' }),
          providerYaml('ops-splunk', {
            type: 'splunk',
            urlEnv: 'SPLUNK_URL',
            options: { index: 'main' },
          }).replace('  url_env: SPLUNK_URL\n', '  url_env: SPLUNK_URL\n  token_env: SPLUNK_TOKEN\n'),
        ].join('---\n'),
        'manifests/delivery.yaml': deliveryYaml('drill-1', ['ops-webhook', 'ops-splunk']),
      },
      'Providers, policy and a delivery',
      { date: '2026-06-28T09:00:00Z' },
    );
    const cli = createCliContext(state.dir, env, clock);
    const reconcile = [
      'reconcile',
      '--once',
      '--remote',
      ops.remote,
      '--state-dir',
      `${state.dir}/replica`,
      '--replica-id',
      'canary',
    ];

    expect(await runCli(reconcile, cli.context)).toBe(0);
    await ops.commit(
      {
        'manifests/acks.yaml': [
          ackYaml('ack-hook', 'drill-1', 'ops-webhook'),
          ackYaml('ack-splunk', 'drill-1', 'ops-splunk'),
        ].join('---\n'),
        'manifests/approvals.yaml': [
          approvalYaml('approve-hook', 'drill-1', 'ops-webhook', { allowImmediateRetry: true }),
          approvalYaml('approve-splunk', 'drill-1', 'ops-splunk', { allowImmediateRetry: true }),
        ].join('---\n'),
      },
      'Approve both retries',
      { date: '2026-06-28T10:05:00Z' },
    );
    clock.set('2026-06-28T10:10:00Z');
    expect(await runCli(reconcile, cli.context)).toBe(0);

    // The canaries really travelled to the receivers (so the test can fail).
    const seen = receiver.requests.map((r) => `${r.url} ${JSON.stringify(r.headers)}`).join('\n');
    expect(seen).toContain(CANARY.query);
    expect(seen).toContain(CANARY.token);
    expect(receiver.requests.length).toBeGreaterThanOrEqual(4);

    // Records, reports, status and commit messages: every object of the remote.
    const objects = allObjects(ops.remote);
    expect(objects).toContain('"execution_status": "failed"');
    expectNoCanary('the ops remote', objects);

    // Logs and CLI outputs.
    for (const args of [
      ['plan', '--remote', ops.remote, '--format', 'json'],
      ['report', '--remote', ops.remote, '--format', 'markdown'],
      ['verify', '--remote', ops.remote],
    ]) {
      await runCli(args, cli.context);
    }
    expect(cli.stderr()).toContain('retry executed');
    expectNoCanary('stderr', cli.stderr());
    expectNoCanary('stdout', cli.stdout());

    // Every API route over the same repository.
    const reader = createGitReader(ops.remote);
    const source = createSnapshotSource(reader, { tip: () => reader.resolve('refs/heads/main') });
    const server = await startServer(createApp({ source, clock, planRetries: createRetryPlanner(reader) }), {
      port: 0,
    });
    try {
      const base = '/runtime/go-pilot/rollback-drill-notifications';
      const paths = [
        base,
        `${base}/dashboard`,
        `${base}/acknowledgements/audit-delivery/retry-recovery-report`,
        `${base}/acknowledgements/audit-delivery/retry-plan`,
        `${base}/acknowledgements/audit-delivery/retry-executions`,
        `${base}/acknowledgements/audit-delivery/connector-recovery-playbooks`,
        '/status',
        '/metrics',
      ];
      let bodies = '';
      for (const path of paths) {
        const response = await fetch(`${server.url}${path}`);
        expect(response.status, path).toBe(200);
        bodies += await response.text();
      }
      expect(bodies).toContain('ops-splunk');
      expectNoCanary('the API', bodies);
    } finally {
      await server.close();
      await reader.close();
    }
  });
});
