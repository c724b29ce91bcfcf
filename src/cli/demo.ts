/**
 * The bundled demo behind `npm start`: a local ops remote (bare) and an operator's working clone
 * in a git-ignored `.demo/` folder, seeded from the example `manifests/`, with a `file` provider
 * that works and a `webhook` provider pointed at a closed loopback port (so a delivery fails, the
 * approved retry fails again, and a recovery playbook opens). Running it again reuses the folder.
 */
import { cpSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Env } from '../domain/ports.js';
import { cloneRepository, commitAll, initBareRepository, pushBranch, switchToBranch } from '../git/index.js';

const BUNDLED_MANIFESTS_DIR = fileURLToPath(new URL('../../manifests/', import.meta.url));

export interface DemoLayout {
  root: string;
  /** The bare repository the reconciler pushes to. */
  remote: string;
  /** The operator's working clone (commit and push manifests here). */
  workdir: string;
  stateDir: string;
  /** The file root: where the `file` provider writes (its `options.directory` is relative to this). */
  fileRoot: string;
  /** Demo-only env: the webhook URL (a closed loopback port) and its signing secret. */
  env: Record<string, string>;
}

const DEMO_AUTHOR = { name: 'Demo Operator', email: 'operator@example.com' };

/** A port nothing listens on (bound then released), so webhook calls are refused at once. */
async function findClosedPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 9;
      server.close(() => resolve(port));
    });
  });
}

/** Create `.demo/` under `cwd` on first use; reuse it afterwards. `env` is git's environment. */
export async function prepareDemo(
  cwd: string,
  env: Env = process.env,
): Promise<{ layout: DemoLayout; created: boolean }> {
  const root = join(cwd, '.demo');
  const layout: DemoLayout = {
    root,
    remote: join(root, 'ops-remote.git'),
    workdir: join(root, 'ops'),
    stateDir: join(root, 'state'),
    fileRoot: join(root, 'files'),
    env: {
      CAVRA_DEMO_WEBHOOK_URL: `http://127.0.0.1:${await findClosedPort()}/cavra-webhook`,
      CAVRA_DEMO_WEBHOOK_SECRET: 'whsec_ZGVtby1vbmx5LXNpZ25pbmcta2V5LW5vdC1hLXNlY3JldA==',
    },
  };
  if (existsSync(join(layout.remote, 'HEAD')) && existsSync(join(layout.workdir, '.git'))) {
    return { layout, created: false };
  }
  mkdirSync(root, { recursive: true });
  await initBareRepository(layout.remote, 'main', { env });
  await cloneRepository(layout.remote, layout.workdir, { env });
  await switchToBranch(layout.workdir, 'main', { env });
  mkdirSync(join(layout.workdir, 'manifests'), { recursive: true });
  for (const name of readdirSync(BUNDLED_MANIFESTS_DIR)) {
    cpSync(join(BUNDLED_MANIFESTS_DIR, name), join(layout.workdir, 'manifests', name), { recursive: true });
  }
  await commitAll(
    layout.workdir,
    'Demo ops repository: providers, policy, an audit delivery, an ack and an approval',
    DEMO_AUTHOR,
    { env },
  );
  await pushBranch(layout.workdir, 'origin', 'main', { env });
  return { layout, created: true };
}

/** What to try next, printed once the demo runs. */
export function demoInstructions(layout: DemoLayout, consoleUrl: string, playbookId: string | null): string {
  const closure = playbookId
    ? [
        `  cd ${layout.workdir} && git pull -q && cat > manifests/closure.yaml <<'EOF'`,
        'apiVersion: cavra.dev/v1',
        'kind: RecoveryClosure',
        'metadata:',
        '  name: close-ops-webhook-recovery',
        'spec:',
        `  playbook_id: ${playbookId}`,
        '  provider: ops-webhook',
        '  state: resolved',
        '  closed_by: alice@example.com',
        '  notes: Receiver redeployed and verified.',
        'EOF',
        '  git add manifests/closure.yaml && git commit -qm "Close the webhook recovery" && git push -q',
      ]
    : ['  (a recovery playbook appears after the approved retry fails; this hint is printed again then)'];
  return [
    '',
    `Evidence Console: ${consoleUrl}/console/`,
    `API report:       ${consoleUrl}/runtime/go-pilot/rollback-drill-notifications/acknowledgements/audit-delivery/retry-recovery-report`,
    `Ops repository:   ${layout.workdir}  (commit manifests there and push; the loop picks them up)`,
    `File provider:    ${layout.fileRoot}  (the file root: ops-file writes its audit events below it)`,
    '',
    'Try next: close the open recovery by committing a RecoveryClosure:',
    ...closure,
    '',
    'Ctrl-C stops the demo; `npm start` again reuses it (delete .demo/ to start over).',
    '',
  ].join('\n');
}
