/**
 * Issue 11 acceptance, end to end: a receiver that echoes every credential back — the URL's path
 * segments, its query token, its userinfo, the token header and the signing secret — not as
 * written but percent-encoded (upper- and lower-case hex, every byte or only the reserved ones,
 * twice), JSON-escaped (`\/`, `\u002f`) and upper- or lower-cased. A real reconcile run against
 * webhook, splunk and slack providers records those answers; no canary, in any of those forms or
 * any mix of case, appears in records, reports, status, commit messages, any commit of the
 * history (`git log -p --all`), log lines, CLI output or API responses.
 *
 * The env vars deliberately have names the logger's naming convention does not recognise as
 * secret (`*_ENDPOINT`, `*_HEC`, `*_SIGNING`): what keeps the canaries out must be the redaction
 * of what connectors know, not a lucky variable name.
 */
import { execFileSync } from 'node:child_process';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createApp } from '../../src/api/app.js';
import { createRetryPlanner } from '../../src/api/retry-planner.js';
import { startServer } from '../../src/api/server.js';
import { createSnapshotSource } from '../../src/api/snapshot-source.js';
import { runCli } from '../../src/cli/main.js';
import { createGitReader } from '../../src/git/index.js';
import { startHttpReceiver, type HttpReceiver, type RecordedRequest } from '../helpers/http-receiver.js';
import {
  createCliContext,
  createOpsRepo,
  createSettableClock,
  createStateDir,
  deliveryYaml,
  policyYaml,
  reconcilerEnv,
  type OpsRepo,
} from '../helpers/reconciler-fixtures.js';
import type { TempDir } from '../helpers/git-fixtures.js';

/** Mixed case, `/` and `+` in them, so every encoding below differs from the raw value. */
const CANARY = {
  user: 'canaryUser7f3aQ',
  password: 'Canary/Pass+93e1d4',
  path: 'CanaryPath-5be8A0c19d',
  query: 'Canary/Query-0c4e9F7a',
  token: 'CanaryToken/6d2b8E1f03',
  slackPath: 'CanarySlack-T0A1B2C3D4',
  /** The raw HMAC key: exactly 32 bytes, sent as `whsec_` + base64. */
  signingKey: 'CanarySigningKey/4a91c7e2+abcdef',
};
const SIGNING_SECRET = `whsec_${Buffer.from(CANARY.signingKey).toString('base64')}`;
const BASIC = Buffer.from(`${CANARY.user}:${CANARY.password}`).toString('base64');

const hex = (text: string, upper: boolean): string[] =>
  [...Buffer.from(text, 'utf8')].map((byte) => {
    const digits = byte.toString(16).padStart(2, '0');
    return upper ? digits.toUpperCase() : digits;
  });

/** Every form a receiver might echo a value in. */
const ENCODINGS: Record<string, (value: string) => string> = {
  raw: (v) => v,
  upper: (v) => v.toUpperCase(),
  lower: (v) => v.toLowerCase(),
  uriComponent: (v) => encodeURIComponent(v),
  uriComponentUpper: (v) => encodeURIComponent(v.toUpperCase()),
  percentEveryByteUpper: (v) =>
    hex(v, true)
      .map((h) => `%${h}`)
      .join(''),
  percentEveryByteLower: (v) =>
    hex(v, false)
      .map((h) => `%${h}`)
      .join(''),
  percentTwice: (v) => encodeURIComponent(encodeURIComponent(v)),
  jsonSlash: (v) => JSON.stringify(v).slice(1, -1).replace(/\//g, '\\/'),
  jsonUnicodeLower: (v) =>
    hex(v, false)
      .map((h) => `\\u00${h}`)
      .join(''),
  jsonUnicodeUpper: (v) =>
    hex(v, true)
      .map((h) => `\\u00${h}`)
      .join(''),
  jsonSlashUpper: (v) => JSON.stringify(v.toUpperCase()).slice(1, -1).replace(/\//g, '\\/'),
};

/** The credentials themselves and the forms a request carries them in. */
const SECRET_VALUES = [...Object.values(CANARY), SIGNING_SECRET, BASIC];

/**
 * What each receiver knows, so can echo: what its requests carried, and for the webhook the
 * signing secret it shares with the sender to verify signatures.
 */
const KNOWN_TO: Record<'webhook' | 'splunk' | 'slack', string[]> = {
  webhook: [
    CANARY.user,
    CANARY.password,
    BASIC,
    CANARY.path,
    CANARY.query,
    CANARY.signingKey,
    SIGNING_SECRET,
  ],
  splunk: [CANARY.path, CANARY.query, CANARY.token],
  slack: [CANARY.slackPath],
};

function receiverOf(request: RecordedRequest): keyof typeof KNOWN_TO {
  if (request.path.startsWith('/services/')) return 'slack';
  return request.path.endsWith('/services/collector/event') ? 'splunk' : 'webhook';
}

/** Every encoded form of every secret, lower-cased: outputs are compared case-insensitively. */
function forbiddenForms(): { label: string; needle: string }[] {
  const forms: { label: string; needle: string }[] = [];
  for (const value of SECRET_VALUES) {
    for (const [name, encode] of Object.entries(ENCODINGS)) {
      forms.push({ label: `${name}(${value})`, needle: encode(value).toLowerCase() });
    }
  }
  return forms;
}

function expectNoCanary(where: string, text: string): void {
  const haystack = text.toLowerCase();
  const found = forbiddenForms()
    .filter((form) => haystack.includes(form.needle))
    .map((form) => form.label);
  expect(found, `${where} contains canaries`).toEqual([]);
}

/**
 * Error bodies, each short enough to be quoted whole in an error excerpt (200 characters), that
 * together echo each of `secrets` in every encoding; a receiver answers them in turn.
 */
function echoBodies(secrets: readonly string[]): string[] {
  const pieces: string[] = [];
  for (const value of secrets) {
    for (const [name, encode] of Object.entries(ENCODINGS)) pieces.push(`${name}=${encode(value)}`);
  }
  const bodies: string[] = [];
  let current = 'rejected:';
  for (const piece of pieces) {
    if (current.length + piece.length + 1 > 180) {
      bodies.push(current);
      current = 'rejected:';
    }
    current += ` ${piece}`;
  }
  bodies.push(current);
  return bodies;
}

/** An echo of what this request carried, JSON-escaped the way some servers write it. */
function echoRequest(request: RecordedRequest): string {
  const json = JSON.stringify({
    url: `http://${String(request.headers.host)}${request.url}`,
    auth: request.headers.authorization ?? '',
  });
  return json.replace(/\//g, '\\/').slice(0, 180);
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

describe('canaries echoed in any encoding never leave the process', () => {
  let ops: OpsRepo;
  let state: TempDir;
  let receiver: HttpReceiver;
  const bodies = {
    webhook: echoBodies(KNOWN_TO.webhook),
    splunk: echoBodies(KNOWN_TO.splunk),
    slack: echoBodies(KNOWN_TO.slack),
  };
  let answered = { webhook: 0, splunk: 0, slack: 0 };

  beforeEach(async () => {
    ops = await createOpsRepo();
    state = await createStateDir();
    receiver = await startHttpReceiver();
    answered = { webhook: 0, splunk: 0, slack: 0 };
    // 400: a permanent failure, so each call is one request and the error quotes the body. Each
    // receiver answers its echo bodies in turn, then once what the request itself carried.
    receiver.handle((request) => {
      const who = receiverOf(request);
      const turn = answered[who]++ % (bodies[who].length + 1);
      const body = turn === bodies[who].length ? echoRequest(request) : bodies[who][turn];
      return { kind: 'respond', status: 400, body };
    });
  });
  afterEach(async () => {
    await receiver.close();
    await state.cleanup();
    await ops.cleanup();
  });

  it('appears in no record, report, commit, log line, CLI output or API response', async () => {
    const origin = new URL(receiver.origin);
    const env = reconcilerEnv({
      HOOK_ENDPOINT: `http://${CANARY.user}:${encodeURIComponent(CANARY.password)}@${origin.host}/${CANARY.path}/hook?token=${encodeURIComponent(CANARY.query)}`,
      HOOK_SIGNING: SIGNING_SECRET,
      SPLUNK_ENDPOINT: `${receiver.origin}/${CANARY.path}?sig=${encodeURIComponent(CANARY.query)}`,
      SPLUNK_HEC: CANARY.token,
      SLACK_ENDPOINT: `${receiver.origin}/services/${CANARY.slackPath}/B0123/x9y8z7`,
    });
    const providers = [
      ['ops-webhook', 'webhook', '  url_env: HOOK_ENDPOINT\n  signing_secret_env: HOOK_SIGNING\n'],
      [
        'ops-splunk',
        'splunk',
        '  url_env: SPLUNK_ENDPOINT\n  token_env: SPLUNK_HEC\n  options:\n    index: main\n',
      ],
      ['ops-slack', 'slack', '  url_env: SLACK_ENDPOINT\n'],
    ]
      .map(
        ([name, type, spec]) =>
          `apiVersion: cavra.dev/v1\nkind: Provider\nmetadata:\n  name: ${name}\nspec:\n  type: ${type}\n${spec}`,
      )
      .join('---\n');
    // Enough deliveries that every receiver answers each of its echo bodies at least once.
    const webhookCalls = bodies.webhook.length + 1;
    const otherCalls = Math.max(bodies.splunk.length, bodies.slack.length) + 1;
    const deliveries = [
      ...Array.from({ length: webhookCalls }, (_, i) => deliveryYaml(`hook-drill-${i}`, ['ops-webhook'])),
      ...Array.from({ length: otherCalls }, (_, i) =>
        deliveryYaml(`drill-${i}`, ['ops-splunk', 'ops-slack']),
      ),
    ].join('---\n');
    await ops.commit(
      {
        'manifests/policy.yaml': policyYaml({ autoPlaybooks: true }),
        'manifests/providers.yaml': providers,
        'manifests/deliveries.yaml': deliveries,
      },
      'Three providers and many deliveries',
      { date: '2026-06-28T09:00:00Z' },
    );
    const clock = createSettableClock('2026-06-28T10:00:00Z');
    const cli = createCliContext(state.dir, env, clock);
    const reconcile = ['reconcile', '--once', '--remote', ops.remote, '--state-dir', `${state.dir}/replica`];

    expect(await runCli(reconcile, cli.context)).toBe(0);

    // The canaries really travelled, and every echo body was answered at least once.
    const seen = receiver.requests.map((r) => `${r.url} ${JSON.stringify(r.headers)}`).join('\n');
    for (const value of [CANARY.path, CANARY.slackPath, encodeURIComponent(CANARY.query), CANARY.token]) {
      expect(seen).toContain(value);
    }
    expect(receiver.requests.length).toBe(webhookCalls + 2 * otherCalls);
    for (const who of ['webhook', 'splunk', 'slack'] as const) {
      expect(answered[who], who).toBeGreaterThanOrEqual(bodies[who].length + 1);
    }

    // Records, reports, status, commit messages: every object, and every commit's patch.
    const objects = allObjects(ops.remote);
    expect(objects).toContain('"delivery_success": false');
    expect(objects).toContain('HTTP 400');
    expectNoCanary('the objects of the ops remote', objects);
    const history = execFileSync('git', ['log', '-p', '--all', '--format=%H %an %ae %s%n%b'], {
      cwd: ops.remote,
      encoding: 'utf8',
      maxBuffer: 1 << 28,
    });
    expect(history).toContain('rejected:');
    expectNoCanary('git log -p --all', history);

    // Logs and CLI outputs.
    for (const args of [
      ['plan', '--remote', ops.remote, '--format', 'json'],
      ['report', '--remote', ops.remote, '--format', 'markdown'],
      ['report', '--remote', ops.remote, '--format', 'json'],
      ['verify', '--remote', ops.remote],
    ]) {
      await runCli(args, cli.context);
    }
    expect(cli.stderr()).toContain('rejected:');
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
        `${base}?limit=500`,
        `${base}/dashboard`,
        `${base}/acknowledgements/audit-delivery/retry-recovery-report`,
        `${base}/acknowledgements/audit-delivery/retry-plan`,
        `${base}/acknowledgements/audit-delivery/retry-executions`,
        `${base}/acknowledgements/audit-delivery/connector-recovery-playbooks`,
        '/status',
        '/metrics',
      ];
      let responses = '';
      for (const path of paths) {
        const response = await fetch(`${server.url}${path}`);
        expect(response.status, path).toBe(200);
        responses += await response.text();
      }
      expect(responses).toContain('rejected:');
      expectNoCanary('the API', responses);
    } finally {
      await server.close();
      await reader.close();
    }
  });
});
