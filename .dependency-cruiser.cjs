/**
 * The layering of src/, checked by `npm run lint` (docs/architecture.md draws it). Imports point
 * inward: domain ← {schemas, manifests, records, reports, git, connectors} ← read-model ← plan ←
 * {reconciler, audit} ← api ← cli (audit: `verify`, beside the reconciler). `errors.ts`,
 * `redact.ts` and `observability/` are leaves every layer may use.
 */
const layer = (name) => `^src/${name}/`;

/** The layers, innermost first: a folder imports only folders of earlier layers. */
const layers = [
  ['domain'],
  ['schemas', 'manifests', 'records', 'reports', 'git', 'connectors'],
  ['read-model'],
  ['plan'],
  // The audit (`verify`) reads through the GitReader port and recomputes with the pure plan.
  ['reconciler', 'audit'],
  ['api'],
  ['cli'],
];
/** Imports within a layer that are allowed (validation applies the compiled schemas). */
const sameLayer = { manifests: ['schemas'] };
/** The adapters: only the CLI wires them in; the layers between use the ports of domain/. */
const adapters = ['git', 'connectors'];
/** Beyond the order of the layers. */
const alsoForbidden = {
  domain: ['observability'],
  'read-model': adapters,
  plan: adapters,
  reconciler: adapters,
  audit: adapters,
  // The API serves what the read model reads: it neither reconciles nor audits.
  api: [...adapters, 'reconciler', 'audit'],
};

/** For each folder, the folders it must not import. */
const forbidden = Object.fromEntries(
  layers.flatMap((members, index) =>
    members.map((from) => {
      const later = layers.slice(index + 1).flat();
      const siblings = members.filter((other) => other !== from && !(sameLayer[from] ?? []).includes(other));
      return [from, [...new Set([...siblings, ...later, ...(alsoForbidden[from] ?? [])])]];
    }),
  ),
);
delete forbidden.cli; // the outermost layer may import anything

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
