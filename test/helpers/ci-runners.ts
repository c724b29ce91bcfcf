/**
 * Runs the shell of a GitHub Actions job or a GitLab CI job as the hosted runners do, so a test can
 * execute the scaffolded files as written (no Actions runner or GitLab runner runs here):
 *
 * - GitHub: each `run` step is written to a file and run with `bash --noprofile --norc -eo
 *   pipefail FILE` (what `shell: bash` means), in order, stopping at the first failing step;
 *   env = workflow env + job env + step env + the runner's variables; lines a step appends to
 *   $GITHUB_PATH are prepended to PATH for later steps. `uses:` steps must be ones the test stands
 *   in for (checkout: the caller prepared the workspace; setup-node: this Node.js is on PATH).
 *   The only expression allowed is `${{ github.token }}` in an env value; anything else fails.
 * - GitLab: the job's `script` entries joined by newlines after `set -eo pipefail` (what the
 *   runner's bash shell does), env = global variables + job variables + predefined CI variables.
 */
import { appendFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { runProcess, type ProcessResult } from './run-process.js';

export interface StepResult extends ProcessResult {
  name: string;
}

export interface GithubJobResult {
  /** Exit code of the job: the first failing step's, else 0. */
  code: number;
  steps: StepResult[];
  summary: string;
}

interface GithubStep {
  name?: string;
  uses?: string;
  run?: string;
  shell?: string;
  env?: Record<string, string>;
}

const STAND_INS = new Set(['actions/checkout@v4', 'actions/setup-node@v4']);

function evaluateEnv(values: Record<string, unknown> | undefined, token: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const [name, raw] of Object.entries(values ?? {})) {
    const value = String(raw);
    const replaced = value.replace(/\$\{\{\s*github\.token\s*\}\}/g, token);
    if (replaced.includes('${{')) throw new Error(`unsupported expression in env ${name}: ${value}`);
    result[name] = replaced;
  }
  return result;
}

export async function runGithubJob(
  workflowText: string,
  job: string,
  options: { workspace: string; runnerTemp: string; env: NodeJS.ProcessEnv; token: string },
): Promise<GithubJobResult> {
  const workflow = parse(workflowText) as {
    env?: Record<string, unknown>;
    jobs: Record<string, { env?: Record<string, unknown>; steps: GithubStep[] }>;
  };
  const definition = workflow.jobs[job];
  if (!definition) throw new Error(`no job ${job}`);
  await mkdir(options.runnerTemp, { recursive: true });
  const files = {
    GITHUB_PATH: join(options.runnerTemp, '_path'),
    GITHUB_ENV: join(options.runnerTemp, '_env'),
    GITHUB_STEP_SUMMARY: join(options.runnerTemp, '_summary.md'),
    GITHUB_OUTPUT: join(options.runnerTemp, '_output'),
  };
  for (const file of Object.values(files)) await writeFile(file, '');
  const base = {
    ...options.env,
    ...evaluateEnv(workflow.env, options.token),
    ...evaluateEnv(definition.env, options.token),
    ...files,
    RUNNER_TEMP: options.runnerTemp,
    GITHUB_WORKSPACE: options.workspace,
  };
  const steps: StepResult[] = [];
  let extraPath: string[] = [];
  for (const [index, step] of definition.steps.entries()) {
    if (step.uses !== undefined) {
      if (!STAND_INS.has(step.uses)) throw new Error(`no stand-in for uses: ${step.uses}`);
      continue;
    }
    if (step.run === undefined) throw new Error(`step ${index} has neither run nor uses`);
    if (step.run.includes('${{')) throw new Error(`step ${step.name ?? index} has an expression in run`);
    if (step.shell !== 'bash') throw new Error(`step ${step.name ?? index} must say shell: bash`);
    const script = join(options.runnerTemp, `_step-${index}.sh`);
    await writeFile(script, step.run);
    const env: NodeJS.ProcessEnv = { ...base, ...evaluateEnv(step.env, options.token) };
    env.PATH = [...extraPath, env.PATH ?? ''].join(':');
    const result = await runProcess('bash', ['--noprofile', '--norc', '-eo', 'pipefail', script], {
      cwd: options.workspace,
      env,
    });
    steps.push({ name: step.name ?? `step ${index}`, ...result });
    extraPath = (await readFile(files.GITHUB_PATH, 'utf8'))
      .split('\n')
      .filter((line) => line !== '')
      .reverse();
    if (result.code !== 0) {
      return { code: result.code, steps, summary: await readFile(files.GITHUB_STEP_SUMMARY, 'utf8') };
    }
  }
  return { code: 0, steps, summary: await readFile(files.GITHUB_STEP_SUMMARY, 'utf8') };
}

export async function runGitlabJob(
  ciText: string,
  job: string,
  options: { projectDir: string; env: NodeJS.ProcessEnv; tempDir: string },
): Promise<ProcessResult> {
  const ci = parse(ciText) as Record<string, unknown> & { variables?: Record<string, unknown> };
  const definition = ci[job] as { variables?: Record<string, unknown>; script: string[] } | undefined;
  if (!definition) throw new Error(`no job ${job}`);
  const variables = (values: Record<string, unknown> | undefined): Record<string, string> =>
    Object.fromEntries(Object.entries(values ?? {}).map(([k, v]) => [k, String(v)]));
  await mkdir(options.tempDir, { recursive: true });
  const script = join(options.tempDir, '_job.sh');
  await writeFile(script, `set -eo pipefail\n`);
  for (const line of definition.script) await appendFile(script, `${line}\n`);
  return runProcess('bash', ['--noprofile', '--norc', script], {
    cwd: options.projectDir,
    env: {
      ...options.env,
      ...variables(ci.variables),
      ...variables(definition.variables),
      CI_PROJECT_DIR: options.projectDir,
      TMPDIR: options.tempDir,
    },
  });
}
