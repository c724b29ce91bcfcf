/**
 * `npm run build`: the CLI bundled by esbuild with the packages it imports, `dist/cli/main.js` and
 * the chunks it imports on demand (docs/decisions.md, "The CLI ships as a bundle, split where a
 * command loads more"). Node resolves, reads and compiles every module file on its own, and the
 * CLI compiled file by file loads ~250 of them before a command starts. What only some commands
 * load (`import()`: the API server and express for `serve` and `start`, chokidar for watching,
 * pino) is a chunk of its own, so the other commands do not parse it. Type checking is
 * `npm run typecheck`'s job.
 *
 * What stays outside the bundle is loaded at run time from the package and its dependencies, by
 * paths relative to `dist/cli/` (every such path climbs two levels, as it did from `dist/<dir>/`):
 * the schemas, the console, chart.js's files and ajv's runtime helpers (required by the compiled
 * validators).
 */
import { readFile, rm } from 'node:fs/promises';
import { build } from 'esbuild';

/**
 * yaml's parser and composer look up `process.env.LOG_TOKENS` / `LOG_STREAM` (debug hooks that
 * print to stdout) on every token and document. `process.env` is a call into the environment each
 * time: the token lookup was the hottest line of `verify`'s profile at 10,000 commits. The bundle
 * reads them as unset (docs/decisions.md, "yaml's debug hooks are off in the bundle"); the build
 * fails when a yaml version no longer has them where expected, so the patch is never silently stale.
 */
const YAML_DEBUG_HOOKS = [
  { file: /[\\/]yaml[\\/]dist[\\/]parse[\\/]parser\.js$/, lookup: 'node_process.env.LOG_TOKENS' },
  { file: /[\\/]yaml[\\/]dist[\\/]compose[\\/]composer\.js$/, lookup: 'node_process.env.LOG_STREAM' },
];

const yamlDebugHooksOff = {
  name: 'yaml-debug-hooks-off',
  setup(esbuild) {
    for (const { file, lookup } of YAML_DEBUG_HOOKS) {
      esbuild.onLoad({ filter: file }, async (args) => {
        const source = await readFile(args.path, 'utf8');
        const uses = source.split(lookup).length - 1;
        if (uses !== 1)
          throw new Error(
            `${args.path}: expected one \`${lookup}\`, found ${uses}; update scripts/build.js for this yaml version`,
          );
        return { contents: source.replace(lookup, 'undefined'), loader: 'js' };
      });
    }
  },
};

// Chunk names carry a content hash: a build leaves none of an earlier one's behind to be packed.
await rm('dist/cli', { recursive: true, force: true });
await build({
  entryPoints: ['src/cli/main.ts'],
  outdir: 'dist/cli',
  splitting: true,
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  sourcemap: 'linked',
  // Bundled CommonJS packages (yaml, commander, express…) require Node's built-in modules; an ES
  // module has no `require` of its own, so each file of the bundle makes one for them.
  banner: {
    js: "import { createRequire as createBundleRequire } from 'node:module'; const require = createBundleRequire(import.meta.url);",
  },
  // V8 pre-parses every byte of the chunks a command imports at each start, and parses a function
  // again when it is first called: whitespace and syntax minified, the chunks are 30 % smaller.
  // Names stay (no identifier minification), so stack traces and `constructor.name` read as before.
  minifyWhitespace: true,
  minifySyntax: true,
  plugins: [yamlDebugHooksOff],
  logLevel: 'warning',
});
