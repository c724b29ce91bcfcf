/**
 * The layering of src/, checked by `npm run lint` (docs/architecture.md draws it). Imports point
 * inward: domain ← {schemas, manifests, records, reports, git, connectors} ← read-model ← plan ←
 * reconciler ← api ← cli. `errors.ts`, `redact.ts` and `observability/` are leaves every layer may use.
 */
const layer = (name) => `^src/${name}/`;

/** For each folder, the folders it must not import. */
const forbidden = {
  domain: [
    'schemas',
    'manifests',
    'records',
    'reports',
    'git',
    'connectors',
    'read-model',
    'plan',
    'reconciler',
    'api',
    'cli',
    'observability',
  ],
  schemas: [
    'manifests',
    'records',
    'reports',
    'git',
    'connectors',
    'read-model',
    'plan',
    'reconciler',
    'api',
    'cli',
  ],
  manifests: ['records', 'reports', 'git', 'connectors', 'read-model', 'plan', 'reconciler', 'api', 'cli'],
  records: [
    'manifests',
    'schemas',
    'reports',
    'git',
    'connectors',
    'read-model',
    'plan',
    'reconciler',
    'api',
    'cli',
  ],
  reports: [
    'manifests',
    'schemas',
    'records',
    'git',
    'connectors',
    'read-model',
    'plan',
    'reconciler',
    'api',
    'cli',
  ],
  git: [
    'manifests',
    'schemas',
    'records',
    'reports',
    'connectors',
    'read-model',
    'plan',
    'reconciler',
    'api',
    'cli',
  ],
  connectors: [
    'manifests',
    'schemas',
    'records',
    'reports',
    'git',
    'read-model',
    'plan',
    'reconciler',
    'api',
    'cli',
  ],
  'read-model': ['git', 'connectors', 'plan', 'reconciler', 'api', 'cli'],
  plan: ['git', 'connectors', 'reconciler', 'api', 'cli'],
  reconciler: ['git', 'connectors', 'api', 'cli'],
  api: ['git', 'connectors', 'reconciler', 'cli'],
};

module.exports = {
  forbidden: [
    ...Object.entries(forbidden).map(([from, targets]) => ({
      name: `layer-${from}`,
      comment: `src/${from}/ must not import ${targets.join(', ')} (docs/architecture.md, "Layers")`,
      severity: 'error',
      from: { path: layer(from) },
      to: { path: `^src/(${targets.join('|')})/` },
    })),
    {
      name: 'no-folder-cycles',
      comment: 'modules of src/ import each other in one direction only',
      severity: 'error',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'only-git-runs-git',
      comment: 'only src/git/ spawns processes or uses simple-git',
      severity: 'error',
      from: { path: '^src/', pathNot: '^src/git/' },
      to: {
        path: '(^|/)node_modules/simple-git/|^child_process$|^node:child_process$',
        dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-optional', 'npm-peer', 'npm-no-pkg', 'npm-unknown'],
      },
    },
    {
      name: 'not-to-unresolvable',
      severity: 'error',
      from: {},
      to: { couldNotResolve: true },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: {
      exportsFields: ['exports'],
      conditionNames: ['import', 'require', 'node', 'default', 'types'],
      extensions: ['.ts', '.js'],
    },
  },
};
