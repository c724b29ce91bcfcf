/**
 * `cavra-gitops pr-comment [--file PLAN.md] [--forge github|gitlab] [--pr N] [--marker ID] [--token-env NAME]`:
 * post a text (the `plan --format markdown` output) as the pull request's single cavra-gitops
 * comment, updating it on every push. The scaffolded GitHub and GitLab jobs call it, so the
 * posting logic is tested code rather than inline curl.
 */
import { readFile } from 'node:fs/promises';
import { resolve as resolvePath } from 'node:path';
import { Option, type Command } from 'commander';
import { EXIT, ExitError, messageOf } from '../errors.js';
import { FORGES, readForgeTarget } from '../forge/forge-target.js';
import { upsertPlanComment, type Forge } from '../forge/plan-comment.js';
import type { CliContext } from './context.js';

export interface PrCommentCommandOptions {
  file?: string;
  forge?: string;
  pr?: string;
  marker?: string;
  tokenEnv?: string;
}

/** Options that tests inject: a fetch to count calls, a delay that does not sleep. */
export interface PrCommentDependencies {
  fetch?: typeof fetch;
  delay?: (ms: number) => Promise<void>;
}

function parsePullNumber(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const number = Number(raw);
  if (!/^\d+$/.test(raw) || number <= 0) {
    throw new ExitError(`--pr ${JSON.stringify(raw)} must be a pull request number, e.g. 42.`);
  }
  return number;
}

async function readText(file: string, context: CliContext): Promise<string> {
  const path = resolvePath(context.cwd, file);
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    throw new ExitError(`--file ${file} cannot be read: ${messageOf(error)}.`);
  }
}

export async function runPrComment(
  options: PrCommentCommandOptions,
  context: CliContext,
  dependencies: PrCommentDependencies = {},
): Promise<number> {
  if (options.file === undefined) {
    throw new ExitError('Pass --file with the text to post, e.g. the output of plan --format markdown.');
  }
  const text = await readText(options.file, context);
  if (text.trim() === '') {
    throw new ExitError(`--file ${options.file} is empty; did the plan step fail before writing it?`);
  }
  const number = parsePullNumber(options.pr);
  const target = await readForgeTarget(context.env, {
    ...(options.forge === undefined ? {} : { forge: options.forge as Forge }),
    ...(number === undefined ? {} : { number }),
    ...(options.tokenEnv === undefined ? {} : { tokenEnv: options.tokenEnv }),
  });
  const result = await upsertPlanComment(target, text, {
    ...(options.marker === undefined ? {} : { marker: options.marker }),
    ...(dependencies.fetch ? { fetch: dependencies.fetch } : {}),
    ...(dependencies.delay ? { delay: dependencies.delay } : {}),
    signal: context.signal,
  });
  const where =
    target.forge === 'github' ? `pull request #${target.number}` : `merge request !${target.number}`;
  context.stdout(`${result.action} comment ${result.id} on ${where}${result.url ? `: ${result.url}` : ''}\n`);
  return EXIT.ok;
}

export function registerPrCommentCommand(program: Command, context: CliContext): void {
  program
    .command('pr-comment')
    .description(
      'post a file (the plan) as the one cavra-gitops comment of the pull/merge request, updated on every push',
    )
    .option('--file <path>', 'the text to post (markdown), e.g. the output of plan --format markdown')
    .addOption(
      new Option(
        '--forge <forge>',
        'github or gitlab (default: detected from GITHUB_ACTIONS / GITLAB_CI)',
      ).choices(FORGES),
    )
    .option('--pr <number>', 'pull request number / merge request iid (default: from the CI variables)')
    .option(
      '--marker <id>',
      'tells this comment apart from other cavra-gitops comments (one per ops directory)',
      'plan',
    )
    .option('--token-env <name>', 'env var holding the API token (default GITHUB_TOKEN, or GITLAB_TOKEN)')
    .action(async (options: PrCommentCommandOptions) => {
      process.exitCode = await runPrComment(options, context);
    });
}
