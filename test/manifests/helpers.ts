/** Shared helpers of the manifest tests: file inputs from fixtures and the bundled manifests. */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { CommitInfo } from '../../src/domain/types.js';
import type { ManifestFileInput } from '../../src/manifests/validate-manifests.js';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const FIXTURES = fileURLToPath(new URL('../fixtures/manifests/', import.meta.url));

export const INTRODUCED: CommitInfo = {
  commit: 'c'.repeat(40),
  time: '2026-06-28T10:00:00Z',
  author: 'Test Author <author@example.test>',
  signature: { status: 'none', principal: '' },
};

export function fileInput(path: string, content: string | Buffer, introduced: CommitInfo | null = INTRODUCED): ManifestFileInput {
  return { path, content: typeof content === 'string' ? Buffer.from(content) : content, blob: '', introduced };
}

/** The bundled example manifests (manifests/ at the package root) as inputs. */
export function bundledManifests(introduced: CommitInfo | null = INTRODUCED): ManifestFileInput[] {
  return readdirSync(`${REPO_ROOT}manifests`)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort()
    .map((name) => fileInput(`manifests/${name}`, readFileSync(`${REPO_ROOT}manifests/${name}`), introduced));
}

export function fixtureFiles(kind: 'valid' | 'invalid'): string[] {
  return readdirSync(`${FIXTURES}${kind}`)
    .filter((name) => /\.ya?ml$/.test(name))
    .sort();
}
