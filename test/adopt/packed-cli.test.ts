/**
 * Issue 14, "installable and pinnable" and "PR checks": the tarball of `npm pack` installs into an
 * empty project and its `bin` works (--version, init, validate); the GitHub workflow and the GitLab
 * pipeline that `init` scaffolds run as written (their shell, through ci-runners.ts) against that
 * tarball and a local HTTP stand-in for the forge's REST API, for two pushes: the plan comment is
 * created once, then updated, and the job's exit code follows the findings.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { cp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGithubJob, runGitlabJob } from '../helpers/ci-runners.js';
import { startFakeForge, type FakeForge } from '../helpers/fake-forge.js';
import { createBareRemote, createTempDir, git, type TempDir } from '../helpers/git-fixtures.js';
import { cleanEnv, installPackage, packPackage } from '../helpers/packed-package.js';
import { LIST_RESOLVED_MODULES, resolvedModules } from '../helpers/resolved-modules.js';
import { runProcess } from '../helpers/run-process.js';

const TOKEN = 'ghs_ci0123456789abcdefghijklmnopqrstuv';
const MARKER = '<!-- cavra-gitops:plan -->';
const VERSION = (
  JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
).version;

let temp: TempDir;
let tarball: string;
let bin: string;
let origin: TempDir;
let forge: FakeForge;

beforeAll(async () => {
  temp = await createTempDir('cavra-adopt-');
  tarball = await packPackage(temp.dir);
  bin = await installPackage(join(temp.dir, 'adopter'), tarball);
  forge = await startFakeForge({ token: TOKEN });
}, 300_000);

afterAll(async () => {
  await forge?.close();
  await origin?.cleanup();
  await temp?.cleanup();
});

const cli = (args: string[], cwd: string, env: Record<string, string> = {}) =>
  runProcess(bin, args, { cwd, env: cleanEnv(env) });

describe('the packed package', () => {
  it('ships dist (built on pack) and what it reads at run time, not sources or build leftovers', async () => {
    const files = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    expect(files).toEqual(
      expect.arrayContaining([
        'package/package.json',
        'package/dist/cli/main.js',
        'package/schemas/provider.schema.json',
        'package/manifests/policy.yaml',
      ]),
    );
    expect(files.some((f) => f.startsWith('package/console/'))).toBe(true);
    expect(files.filter((f) => /^package\/(src|test|scripts)\/|\.tsbuildinfo$|\.map$/.test(f))).toEqual([]);
    // The CLI is a bundle (scripts/build.js), not a tree of compiled files: its entry and the
    // chunks it imports on demand (named after their module, with a content hash).
    const dist = files.filter((f) => f.startsWith('package/dist/'));
    expect(dist).toContain('package/dist/cli/main.js');
    expect(dist.filter((f) => !/^package\/dist\/cli\/(main|[a-z-]+-[A-Z0-9]{8})\.js$/.test(f))).toEqual([]);
    expect(dist.filter((f) => /\/api-server-[A-Z0-9]{8}\.js$/.test(f))).toHaveLength(1);
  });

  it('runs from its bundle: a reconcile loads none of the API server, no other file of the package, and of its dependencies only what the compiled validators require', async () => {
    const ops = join(temp.dir, 'bundled-ops');
    expect((await cli(['init', ops], temp.dir)).code).toBe(0);
    await git(ops, ['init', '-q', '-b', 'main']);
    await git(ops, ['add', '-A']);
    await git(ops, ['commit', '-q', '-m', 'init'], author());
    const args = [
      'reconcile',
      '--once',
      '--no-push',
      '--remote',
      ops,
      '--state-dir',
      join(temp.dir, 'bundled-state'),
    ];
    const result = await runProcess(process.execPath, ['--import', LIST_RESOLVED_MODULES, bin, ...args], {
      cwd: temp.dir,
      env: cleanEnv(),
    });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toContain('"msg":"reconciling once"'); // the logger (pino) ran
    const installed = `${pathToFileURL(join(temp.dir, 'adopter', 'node_modules')).href}/`;
    const loaded = resolvedModules(result.stderr).filter((url) => url.startsWith(installed));
    const bundle = `${installed}cavra-gitops/dist/cli/`;
    expect(loaded).toContain(`${bundle}main.js`);
    expect(loaded.filter((url) => !url.startsWith(bundle))).toEqual([
      `${installed}ajv/dist/runtime/ucs2length.js`,
      `${installed}ajv-formats/dist/formats.js`,
    ]);
    // The API server (express and all it takes) is a chunk that only `serve` and `start` load.
    expect(loaded.filter((url) => url.includes('/api-server-'))).toEqual([]);
  });

  it('installs into an empty project; its bin prints the version, scaffolds and validates', async () => {
    const version = await cli(['--version'], temp.dir);
    expect(version).toMatchObject({ code: 0, stdout: `${VERSION}\n` });
    const init = await cli(['init', 'fresh-ops'], temp.dir);
    expect(init.code).toBe(0);
    const ops = join(temp.dir, 'fresh-ops');
    await git(ops, ['init', '-q', '-b', 'main']);
    await git(ops, ['add', '-A']);
    await git(ops, ['-c', 'user.name=Op', '-c', 'user.email=op@example.com', 'commit', '-q', '-m', 'init']);
    const validate = await cli(['validate', '--repo', ops], temp.dir);
    expect(validate.code).toBe(0);
    expect(validate.stdout).toMatch(/^OK: 6 valid manifest\(s\), 0 skipped, 0 error\(s\)/);
  });

  it("keeps stdout to its own output when the environment sets yaml's debug variables (the bundle has those hooks off)", async () => {
    const ops = join(temp.dir, 'fresh-ops'); // scaffolded and committed by the test above
    // Unpatched, yaml prints every token (LOG_TOKENS) and document (LOG_STREAM) to stdout, so a
    // PR check's `--format json` would not parse; and it looks the variables up per token.
    const validate = await cli(['validate', '--repo', ops, '--format', 'json'], temp.dir, {
      LOG_TOKENS: '1',
      LOG_STREAM: '1',
    });
    expect(validate.code, validate.stderr).toBe(0);
    expect(JSON.parse(validate.stdout)).toMatchObject({ valid: true, error_count: 0 });
  });
});

/** The ops repository on the "forge": main with the scaffold, a pull request branch `feature`. */
async function createOpsOrigin(): Promise<string> {
  origin = await createBareRemote();
  const work = join(temp.dir, 'operator');
  // The pin points at the tarball: the same one place a team would change to upgrade.
  expect((await cli(['init', work, '--package', tarball], temp.dir)).code).toBe(0);
  await git(work, ['init', '-q', '-b', 'main']);
  await git(work, ['add', '-A']);
  await git(work, ['commit', '-q', '-m', 'Initial ops content'], author());
  await git(work, ['push', '-q', origin.dir, 'main']);
  await git(work, ['checkout', '-q', '-b', 'feature']);
  return work;
}

function author(): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: 'Op',
    GIT_AUTHOR_EMAIL: 'op@example.com',
    GIT_COMMITTER_NAME: 'Op',
    GIT_COMMITTER_EMAIL: 'op@example.com',
  };
}

/** Push 1 adds a valid second delivery; push 2 adds a manifest with a finding. */
async function push(work: string, number: 1 | 2): Promise<void> {
  if (number === 1) {
    const delivery = await readFile(join(work, 'manifests/audit-delivery.yaml'), 'utf8');
    await writeFile(
      join(work, 'manifests/drill-07-05.yaml'),
      delivery.replaceAll('rollback-drill-2026-06-28', 'rollback-drill-2026-07-05'),
    );
  } else {
    await writeFile(
      join(work, 'manifests/broken.yaml'),
      'apiVersion: cavra.dev/v1\nkind: Provider\nmetadata:\n  name: Not_A_Label\nspec:\n  type: file\n',
    );
  }
  await git(work, ['add', '-A']);
  await git(work, ['commit', '-q', '-m', `push ${number}`], author());
  await git(work, ['push', '-q', '-f', origin.dir, 'feature']);
}

/** A fresh full clone, as `actions/checkout` with fetch-depth 0 or GitLab with GIT_DEPTH 0. */
async function checkout(dir: string, mergeIntoMain: boolean): Promise<void> {
  await git(temp.dir, ['clone', '-q', origin.dir, dir]);
  if (mergeIntoMain) {
    // GitHub checks out refs/pull/N/merge: the pull request merged into its base.
    await git(dir, ['checkout', '-q', '--detach', 'origin/main']);
    await git(dir, ['merge', '-q', '--no-ff', '-m', 'Merge pull request', 'origin/feature'], author());
  } else {
    await git(dir, ['checkout', '-q', '--detach', 'origin/feature']);
  }
}

const requestsOf = (method: string, prefix: string): number =>
  forge.requests.filter((r) => r.method === method && r.path.startsWith(prefix)).length;

describe('the scaffolded pull-request checks, run as written', () => {
  let work: string;
  beforeAll(async () => {
    work = await createOpsOrigin();
  }, 120_000);

  it('GitHub Actions: annotations, one comment created then updated, the job fails only on findings', async () => {
    const workflow = await readFile(join(work, '.github/workflows/cavra-gitops.yml'), 'utf8');
    const event = join(temp.dir, 'github-event.json');
    await writeFile(event, JSON.stringify({ action: 'synchronize', pull_request: { number: 7 } }));
    const job = async (run: number) => {
      const workspace = join(temp.dir, `gh-workspace-${run}`);
      await checkout(workspace, true);
      return runGithubJob(workflow, 'checks', {
        workspace,
        runnerTemp: join(temp.dir, `gh-runner-temp-${run}`),
        token: TOKEN,
        env: cleanEnv({
          CI: 'true',
          GITHUB_ACTIONS: 'true',
          GITHUB_API_URL: forge.githubApiUrl,
          GITHUB_REPOSITORY: 'acme/ops',
          GITHUB_EVENT_NAME: 'pull_request',
          GITHUB_EVENT_PATH: event,
          GITHUB_REF: 'refs/pull/7/merge',
        }),
      });
    };

    await push(work, 1);
    const first = await job(1);
    expect(first.code, JSON.stringify(first.steps, null, 2)).toBe(0);
    const comments = () => forge.threads.get('github:acme/ops#7') ?? [];
    expect(comments()).toHaveLength(1);
    expect(comments()[0]!.body.startsWith(`${MARKER}\n### cavra-gitops plan for`)).toBe(true);
    expect(first.summary).toContain('### cavra-gitops plan for');
    expect([requestsOf('POST', '/github'), requestsOf('PATCH', '/github')]).toEqual([1, 0]);

    await push(work, 2);
    const second = await job(2);
    expect(second.code).toBe(1);
    const checks = second.steps.at(-1)!;
    expect(checks.stdout).toMatch(
      /^::error file=manifests\/broken\.yaml,line=4,col=9,title=schema\.pattern::/m,
    );
    expect(comments()).toHaveLength(1);
    expect(comments()[0]!.body).toContain('manifests/broken.yaml');
    expect([requestsOf('POST', '/github'), requestsOf('PATCH', '/github')]).toEqual([1, 1]);
    // The token reached the API, never the log.
    expect(second.steps.map((s) => s.stdout + s.stderr).join('')).not.toContain(TOKEN);
  });

  it('GitLab CI: code quality report, one note created then updated, the job fails only on findings', async () => {
    const ci = await readFile(join(work, '.gitlab-ci.yml'), 'utf8');
    const job = async (run: number) => {
      const projectDir = join(temp.dir, `gl-project-${run}`);
      await checkout(projectDir, false);
      const result = await runGitlabJob(ci, 'cavra-gitops', {
        projectDir,
        tempDir: join(temp.dir, `gl-tmp-${run}`),
        env: cleanEnv({
          CI: 'true',
          GITLAB_CI: 'true',
          CI_PIPELINE_SOURCE: 'merge_request_event',
          CI_API_V4_URL: forge.gitlabApiUrl,
          CI_PROJECT_ID: '42',
          CI_MERGE_REQUEST_IID: '3',
          GITLAB_TOKEN: TOKEN,
        }),
      });
      const report = JSON.parse(await readFile(join(projectDir, 'gl-code-quality-report.json'), 'utf8')) as {
        check_name: string;
        location: { path: string };
      }[];
      return { ...result, report, plan: await readFile(join(projectDir, 'plan.md'), 'utf8') };
    };
    const notes = () => forge.threads.get('gitlab:42!3') ?? [];

    // The merge request branch as it stood after push 1 (the GitHub test pushed both already).
    await git(origin.dir, ['update-ref', 'refs/heads/feature', 'refs/heads/feature~1']);
    const first = await job(1);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.report).toEqual([]);
    expect(notes()).toHaveLength(1);
    expect(notes()[0]!.body).toBe(`${MARKER}\n${first.plan}`);
    expect([requestsOf('POST', '/gitlab'), requestsOf('PUT', '/gitlab')]).toEqual([1, 0]);

    await git(work, ['push', '-q', '-f', origin.dir, 'feature']);
    const second = await job(2);
    expect(second.code).toBe(1);
    expect(second.stdout).toMatch(/manifests\/broken\.yaml:4:9: error schema\.pattern/);
    expect(second.report.map((issue) => [issue.check_name, issue.location.path])).toEqual([
      ['schema.pattern', 'manifests/broken.yaml'],
    ]);
    expect(notes()).toHaveLength(1);
    expect(notes()[0]!.body).toBe(`${MARKER}\n${second.plan}`);
    expect([requestsOf('POST', '/gitlab'), requestsOf('PUT', '/gitlab')]).toEqual([1, 1]);
    expect(second.stdout + second.stderr).not.toContain(TOKEN);
  });

  it('a comment that cannot be posted fails the job after validate and plan ran', async () => {
    const ci = await readFile(join(work, '.gitlab-ci.yml'), 'utf8');
    const projectDir = join(temp.dir, 'gl-project-refused');
    await cp(join(temp.dir, 'gl-project-2'), projectDir, { recursive: true });
    const result = await runGitlabJob(ci, 'cavra-gitops', {
      projectDir,
      tempDir: join(temp.dir, 'gl-tmp-refused'),
      env: cleanEnv({
        GITLAB_CI: 'true',
        CI_API_V4_URL: forge.gitlabApiUrl,
        CI_PROJECT_ID: '42',
        CI_MERGE_REQUEST_IID: '3',
        GITLAB_TOKEN: 'glpat-not-the-right-token',
      }),
    });
    // validate found an error (1), the note was refused (2): the worst code wins.
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/GitLab API refused the comment on merge request !3 \(HTTP 401/);
    expect(result.stdout).toContain('### cavra-gitops plan for');
  });
});
