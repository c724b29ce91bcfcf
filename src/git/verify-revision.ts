/**
 * `git rev-parse --verify <spec>` through simple-git, telling "no such commit" from a failing
 * repository. Not `-q`: quiet, a miss prints nothing, and simple-git holds a command that prints
 * nothing for 50 ms more (docs/decisions.md). Loud, a miss is exit 128 with exactly
 * `fatal: Needed a single revision` (git runs with LC_ALL=C); that line is taken out again, so
 * what is left is what `-q` would have printed.
 */
import { settlePorcelain, type PorcelainOptions } from './run-porcelain.js';

export type RevisionLookup =
  { status: 'found'; id: string } | { status: 'missing' } | { status: 'failed'; stderr: string };

const NEEDED_SINGLE_REVISION = 'fatal: Needed a single revision';

/** Look `spec` up (e.g. `main^{commit}`); the caller has checked it is not an option. */
export async function verifyRevision(spec: string, options: PorcelainOptions): Promise<RevisionLookup> {
  const result = await settlePorcelain(options, (git) =>
    git.revparse(['--verify', '--end-of-options', spec]),
  );
  if (result.ok) return { status: 'found', id: result.value };
  const lines = result.stderr.split('\n');
  const rest = lines.filter((line) => line.trim() !== NEEDED_SINGLE_REVISION).join('\n');
  if (rest.trim() === '' && rest.length < result.stderr.length) return { status: 'missing' };
  return { status: 'failed', stderr: rest };
}
