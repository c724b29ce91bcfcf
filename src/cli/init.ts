/**
 * `cavra-gitops init DIR`: scaffold an ops repository ready for `git init -b main`: the bundled
 * example manifests (providers, policy, delivery, acknowledgement, approval), the JSON Schemas
 * (so the `yaml-language-server` lines resolve), an operator README, pull-request checks for
 * GitHub Actions and GitLab CI (validate annotations, the plan as one comment updated on every
 * push), and an allowed-signers placeholder. Refuses a non-empty DIR.
 */
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import type { Command } from 'commander';
import { EXIT, ExitError } from '../errors.js';
import type { CliContext } from './context.js';
import { PACKAGE_ROOT, readPackageVersion } from './package-info.js';

const OPERATOR_README = `# Ops repository for cavra-gitops

This repository is the desired state of the CAVRA rollback-drill acknowledgement-audit delivery
flow. A reconciler (\`cavra-gitops reconcile\`) reads the manifests of the tracked branch, delivers
audit packages, executes approved retries exactly once, and commits hashed records and reports
back here. Git history is the audit trail.

## Layout

- \`manifests/\` — what operators write (through pull requests): \`Provider\`, \`ReconcilerPolicy\`
  (one, named \`default\`), \`AuditDelivery\`, \`RetryAcknowledgement\`, \`RetryApproval\`,
  \`RecoveryClosure\`. Several documents per file are fine (\`---\`): each document is judged on its
  own, by its own content and the commit that first held it, not by the latest change to its file.
- \`schemas/\` — JSON Schemas of the manifests; editors with the YAML language server complete and
  check fields through the \`# yaml-language-server: $schema=...\` line at the top of each file.
- \`records/\`, \`reports/\` — written by the reconciler only; never edit them.
- \`.cavra/allowed_signers\` — ssh allowed-signers file, used when the policy sets
  \`require_signed_approvals: true\`.

## Everyday work

1. Branch, edit or add a manifest under \`manifests/\`.
2. Check it locally: \`npx cavra-gitops validate --worktree\`.
3. Open a pull request. CI runs \`validate\` (annotations on the diff) and \`plan\` (what the
   reconciler would do once merged), posted as one comment that every push updates; the check
   fails on findings. Merging to \`main\` is the approval.

## Pull-request checks

- GitHub: \`.github/workflows/cavra-gitops.yml\` needs nothing else (it uses the job's token
  with \`pull-requests: write\`; pull requests from forks get a read-only token and no comment).
- GitLab: \`.gitlab-ci.yml\` needs a masked CI/CD variable \`GITLAB_TOKEN\` holding a project
  access token with the \`api\` scope. Findings also show in the merge request's code quality widget.
- Both install the version pinned once, in \`CAVRA_GITOPS_PACKAGE\` at the top of the file; change
  it there to upgrade (an npm version, or an absolute path or URL of a \`npm pack\` tarball).
- Delete the file of the forge you do not use.

## Approvals

- One \`RetryApproval\` authorises one execution, for good: editing, moving or re-adding it does not
  re-arm it. For another retry, add an approval with a new name.
- Keeping several approvals in one file is fine: each approval is judged by the commit that
  introduced it (its own document, by content). Appending another approval or acknowledgement to
  the file does not re-arm one already executed, nor unblock one that is blocked. Changing an
  approval's spec makes a new version, judged at the commit that changed it (an executed approval
  stays used up, whatever its version).
- A \`RecoveryClosure\` is recorded once, with the time of the commit that introduced it (unless
  it sets \`closed_at\`); appending closures to its file records only the new ones. A later change
  to a recorded closure is a finding: add a closure with a new name instead.
- An approval must be allowed by the policy as it stood before your change (its base) and by the
  policy after it: a pull request cannot widen \`approvers\` or drop a rule for its own approval,
  however it is merged (fast-forward, merge commit or squash). The same holds for signing keys: the
  allowed-signers file is read at the base too, so add a key in its own pull request and let the
  reconciler record it before approving with it (\`plan\` names the base an approval is judged at).
- The policy may ask for a quorum (\`approvals_required\`), separate duties (\`separate_duties\`) and
  freeze windows (\`freeze_windows\`). A break-glass approval (\`emergency: true\`, with an
  \`expires_at\` within \`max_emergency_minutes\` of its commit) passes freeze windows and the quorum
  only; cite its execution in a \`RecoveryClosure\`'s \`verification_refs\` once it is reviewed.
- \`cavra-gitops plan\` says for every retry why it does or does not run.

Never put secrets in manifests: providers name environment variables (\`url_env\`, \`token_env\`,
\`signing_secret_env\`) that hold the endpoint URL and credentials on the reconciler host.
\`validate\` refuses tokens, keys, webhook URLs and URLs with credentials anywhere in a manifest.
`;

/**
 * The one pin of the scaffolded CI: what `npm install` gets. An npm version by default (the
 * version of the cavra-gitops that ran `init`); an absolute tarball path or URL works too.
 */
function defaultPackageSpec(): string {
  return `cavra-gitops@${readPackageVersion()}`;
}

/**
 * The shell of the checks, shared by both forges: run validate and plan, keep each exit code
 * instead of stopping at the first failure, post the plan, then exit with the worst code
 * (3 infrastructure, 2 usage, 1 findings), so findings fail the job without losing the comment.
 */
function checksScript(options: { annotate: string; plan: string; summary: string }): string {
  return `status=0
${options.annotate}
plan_status=0
cavra-gitops plan --format markdown > "${options.plan}" || plan_status=$?
if [ ! -s "${options.plan}" ]; then
  printf '### cavra-gitops plan\\n\\nThe plan could not be computed (exit %s); see the job log.\\n' "$plan_status" > "${options.plan}"
fi
${options.summary}
comment_status=0
cavra-gitops pr-comment --file "${options.plan}" || comment_status=$?
for code in "$plan_status" "$comment_status"; do
  if [ "$code" -gt "$status" ]; then status=$code; fi
done
exit "$status"`;
}

function indent(text: string, spaces: number): string {
  const pad = ' '.repeat(spaces);
  return text
    .split('\n')
    .map((line) => (line === '' ? '' : `${pad}${line}`))
    .join('\n');
}

/** `.github/workflows/cavra-gitops.yml`: annotations, one plan comment, a job result that reflects findings. */
function renderGithubWorkflow(packageSpec = defaultPackageSpec()): string {
  const script = checksScript({
    annotate: 'cavra-gitops validate --format github || status=$?',
    plan: '$RUNNER_TEMP/plan.md',
    summary: 'cat "$RUNNER_TEMP/plan.md" >> "$GITHUB_STEP_SUMMARY"',
  });
  return `# Pull-request checks of this ops repository (scaffolded by cavra-gitops init):
# validate annotates the diff with every finding, and the plan (what the reconciler would do
# once this is merged) is posted as ONE pull-request comment that every push updates. The job
# fails on findings, after the comment is posted.
name: cavra-gitops
on:
  pull_request:
    paths:
      - 'manifests/**'
      - '.github/workflows/cavra-gitops.yml'
permissions:
  contents: read
  pull-requests: write
concurrency:
  group: cavra-gitops-\${{ github.event.pull_request.number }}
  cancel-in-progress: true
env:
  # The one place the version is pinned (an npm version, or an absolute tarball path or URL).
  CAVRA_GITOPS_PACKAGE: ${JSON.stringify(packageSpec)}
jobs:
  checks:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          # Full history: manifest defaults come from the commits that introduced them.
          fetch-depth: 0
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - name: Install cavra-gitops
        shell: bash
        run: |
          npm install --no-save --no-audit --no-fund --prefix "$RUNNER_TEMP/cavra-gitops" "$CAVRA_GITOPS_PACKAGE"
          echo "$RUNNER_TEMP/cavra-gitops/node_modules/.bin" >> "$GITHUB_PATH"
      - name: Validate, plan and comment
        shell: bash
        env:
          GITHUB_TOKEN: \${{ github.token }}
        run: |
${indent(script, 10)}
`;
}

/** `.gitlab-ci.yml`: code quality report, job log, one merge-request note, a result that reflects findings. */
function renderGitlabCi(packageSpec = defaultPackageSpec()): string {
  const script = checksScript({
    annotate: `cavra-gitops validate || status=$?
cavra-gitops validate --format codequality > gl-code-quality-report.json || true`,
    plan: 'plan.md',
    summary: 'cat plan.md',
  });
  return `# Merge-request checks of this ops repository (scaffolded by cavra-gitops init): validate
# findings in the job log and the merge request's code quality widget, and the plan (what the
# reconciler would do once this is merged) as ONE merge-request note that every push updates.
# Needs a masked CI/CD variable GITLAB_TOKEN: a project access token with the api scope
# (Reporter role or more). The job fails on findings, after the note is posted.
variables:
  # The one place the version is pinned (an npm version, or an absolute tarball path or URL).
  CAVRA_GITOPS_PACKAGE: ${JSON.stringify(packageSpec)}

cavra-gitops:
  image: node:20-bookworm
  rules:
    - if: $CI_PIPELINE_SOURCE == "merge_request_event"
      changes:
        - manifests/**/*
        - .gitlab-ci.yml
  variables:
    # Full history: manifest defaults come from the commits that introduced them.
    GIT_DEPTH: "0"
  script:
    - npm install --no-save --no-audit --no-fund --prefix "\${TMPDIR:-/tmp}/cavra-gitops" "$CAVRA_GITOPS_PACKAGE"
    - export PATH="\${TMPDIR:-/tmp}/cavra-gitops/node_modules/.bin:$PATH"
    - |
${indent(script, 6)}
  artifacts:
    when: always
    paths:
      - plan.md
    reports:
      codequality: gl-code-quality-report.json
`;
}

const ALLOWED_SIGNERS_PLACEHOLDER = `# ssh allowed-signers file (see "ALLOWED SIGNERS" in ssh-keygen(1)).
# Used when the ReconcilerPolicy sets require_signed_approvals: true. One line per approver:
#   alice@example.com namespaces="git" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA...
`;

const GITIGNORE = `node_modules/\n.env\n`;

async function isEmptyOrMissing(dir: string): Promise<boolean> {
  try {
    return (await readdir(dir)).length === 0;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw error;
  }
}

async function copyDirectory(from: string, to: string, keep: (name: string) => boolean): Promise<string[]> {
  await mkdir(to, { recursive: true });
  const copied: string[] = [];
  for (const entry of await readdir(from, { withFileTypes: true })) {
    if (entry.isFile() && keep(entry.name)) {
      await copyFile(join(from, entry.name), join(to, entry.name));
      copied.push(entry.name);
    }
  }
  return copied.sort();
}

/** Scaffold the ops repository into `dir`; returns the repository-relative files written. */
async function scaffoldOpsRepo(dir: string, packageSpec = defaultPackageSpec()): Promise<string[]> {
  if (!(await isEmptyOrMissing(dir))) {
    throw new ExitError(`${dir} is not empty; init only scaffolds into a new or empty directory.`);
  }
  const written: string[] = [];
  for (const name of await copyDirectory(join(PACKAGE_ROOT, 'manifests'), join(dir, 'manifests'), (n) =>
    /\.ya?ml$/.test(n),
  )) {
    written.push(`manifests/${name}`);
  }
  for (const name of await copyDirectory(join(PACKAGE_ROOT, 'schemas'), join(dir, 'schemas'), (n) =>
    n.endsWith('.schema.json'),
  )) {
    written.push(`schemas/${name}`);
  }
  const files: Record<string, string> = {
    'README.md': OPERATOR_README,
    '.github/workflows/cavra-gitops.yml': renderGithubWorkflow(packageSpec),
    '.gitlab-ci.yml': renderGitlabCi(packageSpec),
    '.cavra/allowed_signers': ALLOWED_SIGNERS_PLACEHOLDER,
    '.gitignore': GITIGNORE,
  };
  for (const [path, content] of Object.entries(files)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
    written.push(path);
  }
  return written.sort();
}

export interface InitCommandOptions {
  /** What the scaffolded CI installs (default `cavra-gitops@<this version>`). */
  package?: string;
}

/** Run `init`; returns the exit code. The list of files goes to stdout, next steps to stderr. */
export async function runInit(
  dirArg: string,
  context: CliContext,
  options: InitCommandOptions = {},
): Promise<number> {
  const dir = resolvePath(context.cwd, dirArg);
  const spec = options.package?.trim() || defaultPackageSpec();
  if (/[\r\n]/.test(spec))
    throw new ExitError('--package must be one line: an npm version spec, a tarball path or a URL.');
  const written = await scaffoldOpsRepo(dir, spec);
  context.stdout(written.map((path) => `${path}\n`).join(''));
  context.stderr(
    `Scaffolded an ops repository in ${dir} (its CI installs ${spec}). Next: cd ${dirArg} && git init -b main && git add -A && git commit -m "Initial ops content", then: npx cavra-gitops validate\n`,
  );
  return EXIT.ok;
}

/** Register `init` on the program. */
export function registerInitCommand(program: Command, context: CliContext): void {
  program
    .command('init')
    .description(
      'scaffold an ops repository: example manifests, policy, schemas, operator README, GitHub and GitLab PR checks',
    )
    .argument('<dir>', 'new or empty directory')
    .option(
      '--package <spec>',
      'what the scaffolded CI installs: an npm version spec, tarball path or URL (default: this version)',
    )
    .action(async (dir: string, options: InitCommandOptions) => {
      await runInit(dir, context, options);
    });
}
