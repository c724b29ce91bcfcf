/**
 * `cavra-gitops init DIR`: scaffold an ops repository ready for `git init -b main`: the bundled
 * example manifests (providers, policy, delivery, acknowledgement, approval), the JSON Schemas
 * (so the `yaml-language-server` lines resolve), an operator README, a pull-request workflow that
 * runs `validate` and `plan`, and an allowed-signers placeholder. Refuses a non-empty DIR.
 */
import { copyFile, mkdir, readdir, writeFile } from 'node:fs/promises';
import { join, resolve as resolvePath } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { EXIT, ExitError } from '../errors.js';
import type { CliContext } from './context.js';

/** The package's bundled example manifests and schemas (works from src/ under tsx and from dist/). */
const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

export const OPERATOR_README = `# Ops repository for cavra-gitops

This repository is the desired state of the CAVRA rollback-drill acknowledgement-audit delivery
flow. A reconciler (\`cavra-gitops reconcile\`) reads the manifests of the tracked branch, delivers
audit packages, executes approved retries exactly once, and commits hashed records and reports
back here. Git history is the audit trail.

## Layout

- \`manifests/\` — what operators write (through pull requests): \`Provider\`, \`ReconcilerPolicy\`
  (one, named \`default\`), \`AuditDelivery\`, \`RetryAcknowledgement\`, \`RetryApproval\`,
  \`RecoveryClosure\`. Several documents per file are fine (\`---\`).
- \`schemas/\` — JSON Schemas of the manifests; editors with the YAML language server complete and
  check fields through the \`# yaml-language-server: $schema=...\` line at the top of each file.
- \`records/\`, \`reports/\` — written by the reconciler only; never edit them.
- \`.cavra/allowed_signers\` — ssh allowed-signers file, used when the policy sets
  \`require_signed_approvals: true\`.

## Everyday work

1. Branch, edit or add a manifest under \`manifests/\`.
2. Check it locally: \`npx cavra-gitops validate --worktree\`.
3. Open a pull request. CI runs \`validate\` (annotations on the diff) and \`plan\` (what the
   reconciler would do once merged). Merging to \`main\` is the approval.

## Approvals

- One \`RetryApproval\` authorises one execution, for good: editing, moving or re-adding it does not
  re-arm it. For another retry, add an approval with a new name.
- An approval must be allowed by the policy as it stood before your change (its base) and by the
  policy after it: a pull request cannot widen \`approvers\` or drop a rule for its own approval.
- The policy may ask for a quorum (\`approvals_required\`), separate duties (\`separate_duties\`) and
  freeze windows (\`freeze_windows\`). A break-glass approval (\`emergency: true\`, with an
  \`expires_at\` within \`max_emergency_minutes\` of its commit) passes freeze windows and the quorum
  only; cite its execution in a \`RecoveryClosure\`'s \`verification_refs\` once it is reviewed.
- \`cavra-gitops plan\` says for every retry why it does or does not run.

Never put secrets in manifests: providers name environment variables (\`url_env\`, \`token_env\`,
\`signing_secret_env\`) that hold the endpoint URL and credentials on the reconciler host.
\`validate\` refuses tokens, keys, webhook URLs and URLs with credentials anywhere in a manifest.
`;

export const PR_WORKFLOW = `# Validates manifests and shows the reconcile plan on every pull request.
name: cavra-gitops
on:
  pull_request:
    paths:
      - 'manifests/**'
      - '.github/workflows/cavra-gitops.yml'
permissions:
  contents: read
jobs:
  validate-and-plan:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
        with:
          fetch-depth: 0
      - uses: actions/setup-node@v4
        with:
          node-version: 20
      - name: Validate manifests
        run: npx --yes cavra-gitops validate --format github
      - name: Plan
        run: |
          npx --yes cavra-gitops plan --format markdown > plan.md
          cat plan.md >> "$GITHUB_STEP_SUMMARY"
`;

export const ALLOWED_SIGNERS_PLACEHOLDER = `# ssh allowed-signers file (see "ALLOWED SIGNERS" in ssh-keygen(1)).
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
export async function scaffoldOpsRepo(dir: string): Promise<string[]> {
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
    '.github/workflows/cavra-gitops.yml': PR_WORKFLOW,
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

/** Run `init`; returns the exit code. The list of files goes to stdout, next steps to stderr. */
export async function runInit(dirArg: string, context: CliContext): Promise<number> {
  const dir = resolvePath(context.cwd, dirArg);
  const written = await scaffoldOpsRepo(dir);
  context.stdout(written.map((path) => `${path}\n`).join(''));
  context.stderr(
    `Scaffolded an ops repository in ${dir}. Next: cd ${dirArg} && git init -b main && git add -A && git commit -m "Initial ops content", then: npx cavra-gitops validate\n`,
  );
  return EXIT.ok;
}

/** Register `init` on the program. */
export function registerInitCommand(program: Command, context: CliContext): void {
  program
    .command('init')
    .description(
      'scaffold an ops repository: example manifests, policy, schemas, operator README and a PR workflow',
    )
    .argument('<dir>', 'new or empty directory')
    .action(async (dir: string) => {
      await runInit(dir, context);
    });
}
