/**
 * Which pull request to comment on, from the variables the CI system sets in every job:
 * GitHub Actions (`GITHUB_ACTIONS`, `GITHUB_API_URL`, `GITHUB_REPOSITORY`, `GITHUB_EVENT_PATH`)
 * or GitLab CI (`GITLAB_CI`, `CI_API_V4_URL`, `CI_PROJECT_ID`, `CI_MERGE_REQUEST_IID`). The
 * token comes from a variable the job passes in (GITHUB_TOKEN / GITLAB_TOKEN unless told).
 */
import { readFile } from 'node:fs/promises';
import type { Env } from '../domain/ports.js';
import { ExitError, messageOf } from '../errors.js';
import type { Forge, ForgeTarget } from './plan-comment.js';

export const FORGES = ['github', 'gitlab'] as const;

export interface ForgeTargetOptions {
  /** Default: detected from GITHUB_ACTIONS / GITLAB_CI. */
  forge?: Forge;
  /** Pull request number / merge request iid; default from the CI variables. */
  number?: number;
  /** Name of the env var holding the token; default GITHUB_TOKEN or GITLAB_TOKEN (CI_JOB_TOKEN is sent as JOB-TOKEN). */
  tokenEnv?: string;
}

function required(env: Env, name: string, why: string): string {
  const value = env[name];
  if (value === undefined || value.trim() === '') {
    throw new ExitError(`${name} is not set; ${why}.`);
  }
  return value.trim();
}

function detectForge(env: Env): Forge | null {
  if (env.GITHUB_ACTIONS === 'true') return 'github';
  if (env.GITLAB_CI === 'true') return 'gitlab';
  return null;
}

/** The pull request number of a GitHub Actions job: the event payload, else `refs/pull/N/...`. */
async function readGithubNumber(env: Env): Promise<number | null> {
  const eventPath = env.GITHUB_EVENT_PATH;
  if (eventPath) {
    let event: unknown;
    try {
      event = JSON.parse(await readFile(eventPath, 'utf8'));
    } catch (error) {
      throw new ExitError(`GITHUB_EVENT_PATH ${eventPath} cannot be read as JSON: ${messageOf(error)}.`);
    }
    const pull = (event as { pull_request?: { number?: unknown } } | null)?.pull_request?.number;
    if (typeof pull === 'number') return pull;
  }
  const ref = /^refs\/pull\/(\d+)\//.exec(env.GITHUB_REF ?? '');
  return ref ? Number(ref[1]) : null;
}

/** Resolve the target from `env`; a usage error (exit 2) naming the missing variable otherwise. */
export async function readForgeTarget(env: Env, options: ForgeTargetOptions = {}): Promise<ForgeTarget> {
  const forge = options.forge ?? detectForge(env);
  if (forge === null) {
    throw new ExitError('Not running in GitHub Actions or GitLab CI; pass --forge github or --forge gitlab.');
  }
  if (forge === 'github') {
    const number = options.number ?? (await readGithubNumber(env));
    if (number === null) {
      throw new ExitError(
        'This GitHub Actions job is not for a pull request; run it on pull_request or pass --pr N.',
      );
    }
    const tokenEnv = options.tokenEnv ?? 'GITHUB_TOKEN';
    return {
      forge,
      apiUrl: env.GITHUB_API_URL?.trim() || 'https://api.github.com',
      project: required(env, 'GITHUB_REPOSITORY', 'GitHub Actions sets it to owner/repo in every job'),
      number,
      token: required(
        env,
        tokenEnv,
        'pass the job token to the step: env: GITHUB_TOKEN: ${{ github.token }}',
      ),
    };
  }
  const iid = options.number ?? Number(env.CI_MERGE_REQUEST_IID ?? Number.NaN);
  if (!Number.isInteger(iid) || iid <= 0) {
    throw new ExitError(
      'CI_MERGE_REQUEST_IID is not set; run the job in a merge request pipeline (rules: if: $CI_PIPELINE_SOURCE == "merge_request_event") or pass --pr N.',
    );
  }
  // Not CI_JOB_TOKEN by default: GitLab's job token may not write merge request notes.
  const tokenEnv = options.tokenEnv ?? 'GITLAB_TOKEN';
  return {
    forge,
    apiUrl: required(env, 'CI_API_V4_URL', 'GitLab CI sets it in every job'),
    project: required(env, 'CI_PROJECT_ID', 'GitLab CI sets it in every job'),
    number: iid,
    token: required(
      env,
      tokenEnv,
      'add a masked CI/CD variable GITLAB_TOKEN holding a project access token with the api scope',
    ),
    tokenHeader: tokenEnv === 'CI_JOB_TOKEN' ? 'JOB-TOKEN' : 'PRIVATE-TOKEN',
  };
}
