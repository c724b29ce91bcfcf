/**
 * Which files a Node process resolves: an `--import` module that prints each resolved `file:` URL
 * to stderr as `resolved <url>`, and a reader of those lines.
 */

/**
 * Pass as `--import <this>` to the process whose module resolutions are listed: ES module imports
 * through a registered resolve hook, `require` (CommonJS, `createRequire`) through
 * `Module._resolveFilename`, which registered hooks do not see in Node 20.
 */
export const LIST_RESOLVED_MODULES = `data:text/javascript,${encodeURIComponent(
  "import Module, { register } from 'node:module';" +
    "import { pathToFileURL } from 'node:url';" +
    'register(' +
    JSON.stringify(
      `data:text/javascript,${encodeURIComponent(
        "export async function resolve(s, c, next) { const r = await next(s, c); if (r.url.startsWith('file:')) process._rawDebug('resolved ' + r.url); return r; }",
      )}`,
    ) +
    ');' +
    'const resolveFilename = Module._resolveFilename;' +
    "Module._resolveFilename = function (...args) { const file = resolveFilename.apply(this, args); if (file.startsWith('/')) process._rawDebug('resolved ' + pathToFileURL(file).href); return file; };",
)}`;

/** The file URLs the process printed as resolved, in order. */
export function resolvedModules(stderr: string): string[] {
  return stderr
    .split('\n')
    .filter((line) => line.startsWith('resolved '))
    .map((line) => line.slice('resolved '.length));
}
