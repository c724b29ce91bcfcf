/**
 * The package's own files and version: read at run time from the package root, so `--version`,
 * the scaffolded CI pin and the bundled examples always agree with the installed package (from
 * src/ under tsx and from dist/ in the installed tarball alike).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package root: two levels above this file (src/cli/ or dist/cli/). */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));

let cachedVersion: string | undefined;

/** The `version` of the package's package.json. */
export function readPackageVersion(): string {
  if (cachedVersion === undefined) {
    const manifest = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as {
      version?: unknown;
    };
    cachedVersion = typeof manifest.version === 'string' ? manifest.version : '0.0.0';
  }
  return cachedVersion;
}
