/**
 * Which files a Node process resolves: an `--import` module that registers a resolve hook printing
 * each resolved `file:` URL to stderr as `resolved <url>`, and a reader of those lines.
 */

/** Pass as `--import <this>` to the process whose module resolutions are listed. */
export const LIST_RESOLVED_MODULES = `data:text/javascript,${encodeURIComponent(
  "import { register } from 'node:module';" +
    'register(' +
    JSON.stringify(
      `data:text/javascript,${encodeURIComponent(
        "export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.startsWith('file:')) process._rawDebug('resolved ' + r.url); return r; }",
      )}`,
    ) +
    ');',
)}`;

/** The file URLs the process printed as resolved, in order. */
export function resolvedModules(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('resolved '))
    .map((line) => line.slice('resolved '.length));
}
