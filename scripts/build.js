/**
 * `npm run build`: the CLI as one ES module, `dist/cli/main.js`, bundled by esbuild with the
 * packages it imports (docs/decisions.md, "The CLI ships as one bundled module"). Node resolves,
 * reads and compiles every module file on its own, and the CLI compiled file by file loads ~250
 * of them before a command starts. Type checking is `npm run typecheck`'s job.
 *
 * What stays outside the bundle is loaded at run time from the package and its dependencies, by
 * paths relative to `dist/cli/` (every such path climbs two levels, as it did from `dist/<dir>/`):
 * the schemas, the console, chart.js's files and ajv's runtime helpers (required by the compiled
 * validators).
 */
import { build } from 'esbuild';

await build({
  entryPoints: ['src/cli/main.ts'],
  outfile: 'dist/cli/main.js',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  // Bundled CommonJS packages (yaml, commander, express…) require Node's built-in modules; an ES
  // module has no `require` of its own, so the bundle makes one for them.
  banner: {
    js: "import { createRequire as createBundleRequire } from 'node:module'; const require = createBundleRequire(import.meta.url);",
  },
  logLevel: 'warning',
});
