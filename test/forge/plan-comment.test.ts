/**
 * The plan comment against a real local HTTP server speaking GitHub's issue-comments and GitLab's
 * merge-request-notes REST shapes: created once, then updated in place, never duplicated; other
 * people's comments and system notes are left alone; refusals and outages are clear errors.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from '../../src/cli/main.js';
import { ExitError } from '../../src/errors.js';
import { readForgeTarget } from '../../src/forge/forge-target.js';
import {
  composeCommentBody,
  markerLine,
  upsertPlanComment,
  type ForgeTarget,
} from '../../src/forge/plan-comment.js';
import { startFakeForge, type FakeForge } from '../helpers/fake-forge.js';
import { createTempDir, type TempDir } from '../helpers/git-fixtures.js';
import { createTestContext } from '../cli/helpers-context.js';

const TOKEN = 'ghs_testtoken0123456789abcdefABCDEF';
const noDelay = async (): Promise<void> => undefined;

let forge: FakeForge;
let temp: TempDir;
beforeEach(async () => {
  forge = await startFakeForge({ token: TOKEN });
  temp = await createTempDir();
});
afterEach(async () => {
  await forge.close();
  await temp.cleanup();
});

function github(number = 7): ForgeTarget {
  return { forge: 'github', apiUrl: forge.githubApiUrl, project: 'acme/ops', number, token: TOKEN };
}
function gitlab(tokenHeader: 'PRIVATE-TOKEN' | 'JOB-TOKEN' = 'PRIVATE-TOKEN'): ForgeTarget {
  return { forge: 'gitlab', apiUrl: forge.gitlabApiUrl, project: '42', number: 3, token: TOKEN, tokenHeader };
}
const writes = (method: string): number => forge.requests.filter((r) => r.method === method).length;

describe('upsertPlanComment on GitHub', () => {
  it('creates the comment once, then updates that comment, and leaves an unchanged one alone', async () => {
    const first = await upsertPlanComment(github(), 'plan one\n', { delay: noDelay });
    expect(first.action).toBe('created');
    const second = await upsertPlanComment(github(), 'plan two\n', { delay: noDelay });
    expect(second).toMatchObject({ action: 'updated', id: first.id });
    const third = await upsertPlanComment(github(), 'plan two\n', { delay: noDelay });
    expect(third).toMatchObject({ action: 'unchanged', id: first.id });
    const comments = forge.threads.get('github:acme/ops#7')!;
    expect(comments).toHaveLength(1);
    expect(comments[0]!.body).toBe(`${markerLine()}\nplan two\n`);
    expect([writes('POST'), writes('PATCH')]).toEqual([1, 1]);
    const patch = forge.requests.find((r) => r.method === 'PATCH')!;
    expect(patch.path).toBe(`/github/repos/acme/ops/issues/comments/${first.id}`);
    expect(patch.headers.authorization).toBe(`Bearer ${TOKEN}`);
    expect(patch.headers['x-github-api-version']).toBe('2022-11-28');
    expect(first.url).toMatch(/#issuecomment-\d+$/);
  });

  it('finds its comment on a later page among other comments and edits only it', async () => {
    const others = Array.from({ length: 150 }, (_, i) => ({ id: i + 1, body: `review comment ${i}` }));
    others.splice(120, 0, { id: 999, body: `${markerLine()}\nold plan\n` });
    forge.threads.set('github:acme/ops#7', others);
    const result = await upsertPlanComment(github(), 'new plan\n', { delay: noDelay });
    expect(result).toMatchObject({ action: 'updated', id: '999' });
    expect(writes('POST')).toBe(0);
    expect(forge.requests.filter((r) => r.method === 'GET').map((r) => r.query.get('page'))).toEqual([
      '1',
      '2',
    ]);
    expect(others.filter((c) => c.body.includes('review comment'))).toHaveLength(150);
  });

  it('a second marker keeps a second comment apart (one per ops directory)', async () => {
    await upsertPlanComment(github(), 'a\n', { marker: 'plan-eu', delay: noDelay });
    await upsertPlanComment(github(), 'b\n', { marker: 'plan-us', delay: noDelay });
    await upsertPlanComment(github(), 'a2\n', { marker: 'plan-eu', delay: noDelay });
    expect(forge.threads.get('github:acme/ops#7')!.map((c) => c.body)).toEqual([
      '<!-- cavra-gitops:plan-eu -->\na2\n',
      '<!-- cavra-gitops:plan-us -->\nb\n',
    ]);
  });

  it('a refused token is a usage error that says what to change and never shows the token', async () => {
    const error = await upsertPlanComment({ ...github(), token: 'wrong-token-123456' }, 'x', {
      delay: noDelay,
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExitError);
    expect((error as ExitError).exitCode).toBe(2);
    expect((error as Error).message).toMatch(/HTTP 401: Bad credentials.*GITHUB_TOKEN/);
    expect((error as Error).message).not.toContain('wrong-token');
  });

  it('retries 503 answers (bounded) and then succeeds; three in a row are an infrastructure error', async () => {
    const delays: number[] = [];
    const delay = async (ms: number): Promise<void> => {
      delays.push(ms);
    };
    forge.failNext(503, 2);
    expect((await upsertPlanComment(github(), 'x\n', { delay })).action).toBe('created');
    expect(delays).toEqual([1000, 2000]);
    forge.failNext(503, 3);
    const error = await upsertPlanComment(github(), 'y\n', { delay }).catch((e: unknown) => e);
    expect((error as ExitError).exitCode).toBe(3);
    expect((error as Error).message).toContain('HTTP 503');
  });

  it('an unreachable API is an infrastructure error naming the URL', async () => {
    const target = { ...github(), apiUrl: 'http://127.0.0.1:1/api' };
    const error = await upsertPlanComment(target, 'x', { delay: noDelay }).catch((e: unknown) => e);
    expect((error as ExitError).exitCode).toBe(3);
    expect((error as Error).message).toMatch(
      /Could not reach the GitHub API at http:\/\/127\.0\.0\.1:1\/api/,
    );
  });

  it('cuts a body over GitHub’s limit and says so', () => {
    const body = composeCommentBody('github', 'x'.repeat(80_000));
    expect(body.length).toBeLessThanOrEqual(65_000);
    expect(body.startsWith(markerLine())).toBe(true);
    expect(body).toMatch(/cut here: \d+ more characters/);
    expect(composeCommentBody('gitlab', 'x'.repeat(80_000)).length).toBe(markerLine().length + 1 + 80_000);
  });
});

describe('upsertPlanComment on GitLab', () => {
  it('creates the note, then PUTs the same note; system notes and other notes stay as they are', async () => {
    forge.threads.set('gitlab:42!3', [
      { id: 1, body: `${markerLine()} mentioned in a system note`, system: true },
      { id: 2, body: 'LGTM', system: false },
    ]);
    const first = await upsertPlanComment(gitlab(), 'plan one\n', { delay: noDelay });
    expect(first.action).toBe('created');
    const second = await upsertPlanComment(gitlab(), 'plan two\n', { delay: noDelay });
    expect(second).toMatchObject({ action: 'updated', id: first.id });
    const notes = forge.threads.get('gitlab:42!3')!;
    expect(notes.map((n) => n.body)).toEqual([
      `${markerLine()} mentioned in a system note`,
      'LGTM',
      `${markerLine()}\nplan two\n`,
    ]);
    expect([writes('POST'), writes('PUT')]).toEqual([1, 1]);
    expect(forge.requests.every((r) => r.headers['private-token'] === TOKEN)).toBe(true);
  });

  it('sends CI_JOB_TOKEN as JOB-TOKEN', async () => {
    await upsertPlanComment(gitlab('JOB-TOKEN'), 'x\n', { delay: noDelay });
    expect(forge.requests.every((r) => r.headers['job-token'] === TOKEN && !r.headers['private-token'])).toBe(
      true,
    );
  });
});

describe('readForgeTarget', () => {
  it('reads a GitHub Actions pull_request job', async () => {
    const event = join(temp.dir, 'event.json');
    await writeFile(event, JSON.stringify({ pull_request: { number: 12 } }));
    const target = await readForgeTarget({
      GITHUB_ACTIONS: 'true',
      GITHUB_API_URL: 'https://api.github.example',
      GITHUB_REPOSITORY: 'acme/ops',
      GITHUB_EVENT_PATH: event,
      GITHUB_TOKEN: TOKEN,
    });
    expect(target).toEqual({
      forge: 'github',
      apiUrl: 'https://api.github.example',
      project: 'acme/ops',
      number: 12,
      token: TOKEN,
    });
  });

  it('reads a GitLab merge request pipeline', async () => {
    const target = await readForgeTarget({
      GITLAB_CI: 'true',
      CI_API_V4_URL: 'https://gitlab.example/api/v4',
      CI_PROJECT_ID: '42',
      CI_MERGE_REQUEST_IID: '3',
      GITLAB_TOKEN: TOKEN,
    });
    expect(target).toMatchObject({ forge: 'gitlab', project: '42', number: 3, tokenHeader: 'PRIVATE-TOKEN' });
  });

  it.each([
    [{}, /Not running in GitHub Actions or GitLab CI/],
    [{ GITHUB_ACTIONS: 'true', GITHUB_REPOSITORY: 'a/b', GITHUB_TOKEN: 't' }, /not for a pull request/],
    [
      { GITHUB_ACTIONS: 'true', GITHUB_REF: 'refs/pull/3/merge', GITHUB_REPOSITORY: 'a/b' },
      /GITHUB_TOKEN is not set/,
    ],
    [{ GITLAB_CI: 'true', CI_API_V4_URL: 'u', CI_PROJECT_ID: '1' }, /CI_MERGE_REQUEST_IID is not set/],
    [
      { GITLAB_CI: 'true', CI_API_V4_URL: 'u', CI_PROJECT_ID: '1', CI_MERGE_REQUEST_IID: '2' },
      /GITLAB_TOKEN is not set.*api scope/,
    ],
  ])('a job without what it needs is a usage error: %j', async (env, message) => {
    const error = await readForgeTarget(env).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ExitError);
    expect((error as Error).message).toMatch(message);
  });
});

describe('cavra-gitops pr-comment', () => {
  it('posts the file, then updates it, printing what it did', async () => {
    const plan = join(temp.dir, 'plan.md');
    await writeFile(plan, '### plan\n');
    const event = join(temp.dir, 'event.json');
    await writeFile(event, JSON.stringify({ pull_request: { number: 5 } }));
    const run = async (): Promise<{ code: number; out: string }> => {
      const t = createTestContext(temp.dir);
      t.context.env = {
        GITHUB_ACTIONS: 'true',
        GITHUB_API_URL: forge.githubApiUrl,
        GITHUB_REPOSITORY: 'acme/ops',
        GITHUB_EVENT_PATH: event,
        GITHUB_TOKEN: TOKEN,
      };
      const code = await runCli(['pr-comment', '--file', 'plan.md'], t.context);
      return { code, out: t.stdout() };
    };
    const first = await run();
    expect(first.code).toBe(0);
    expect(first.out).toMatch(/^created comment \d+ on pull request #5: https:\/\/github\.example\/.*\n$/);
    await writeFile(plan, '### plan, pushed again\n');
    expect((await run()).out).toMatch(/^updated comment \d+ on pull request #5/);
    expect(forge.threads.get('github:acme/ops#5')).toHaveLength(1);
  });

  it('an empty or missing file is a usage error (exit 2)', async () => {
    await writeFile(join(temp.dir, 'empty.md'), '');
    for (const args of [['--file', 'empty.md'], ['--file', 'missing.md'], []]) {
      const t = createTestContext(temp.dir);
      expect(await runCli(['pr-comment', ...args], t.context)).toBe(2);
      expect(t.stderr()).toMatch(/--file/);
    }
  });
});
