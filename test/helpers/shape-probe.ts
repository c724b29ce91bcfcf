/**
 * Run by test/read-model/shared-shapes.test.ts under `node --allow-natives-syntax --import tsx`:
 * builds long-lived objects the way the read model does (manifests, indexed commits, the document
 * summaries of a multi-document file) and prints, per kind, whether two of them share V8's hidden
 * class.
 */
import { summarizeYamlFile } from '../../src/manifests/document-identity.js';
import { resolveLimits } from '../../src/manifests/limits.js';
import { normalizeAuditDelivery } from '../../src/manifests/normalize.js';
import { appendWalk, createHistoryIndex } from '../../src/read-model/history-index.js';

// V8's natives syntax is not TypeScript: the intrinsic is compiled at run time.
// eslint-disable-next-line @typescript-eslint/no-implied-eval
const haveSameMap = new Function('a', 'b', 'return %HaveSameMap(a, b)') as (
  a: unknown,
  b: unknown,
) => boolean;

const source = (path: string) => ({
  path,
  document: 0,
  line: 1,
  column: 1,
  blob: 'b'.repeat(40),
  introduced: null,
});
const delivery = (name: string) =>
  normalizeAuditDelivery(
    {
      apiVersion: 'cavra.dev/v1',
      kind: 'AuditDelivery',
      metadata: { name },
      spec: {
        audit_id: `audit-${name}`,
        providers: 'all',
        package: {
          route_count: 0,
          acknowledgement_count: 0,
          acknowledged_count: 0,
          resolved_count: 0,
          escalated_count: 0,
          dismissed_count: 0,
          outstanding_count: 0,
        },
      },
    },
    source(`manifests/${name}.yaml`),
  );

// V8 shares a spread's hidden class for the first few objects only: build as many as a history has.
const COUNT = 200;
const index = createHistoryIndex(['manifests/']);
const id = (i: number): string => String(i).padStart(40, '0');
// Newest first, as git gives them; commit times beyond V8's small integers, as real ones are.
const commits = appendWalk(
  index,
  Array.from({ length: COUNT }, (_, i) => ({
    commit: id(i),
    parents: i === 0 ? [] : [id(i - 1)],
    time: 1_767_245_400 + 1800 * i,
    author: 'Operator <ops@example.com>',
    replica: '',
    changes: [],
  })).reverse(),
  id(COUNT - 1),
);
const manifests = Array.from({ length: COUNT }, (_, i) => delivery(`delivery-${i}`));

const ack = (i: number): string =>
  `apiVersion: cavra.dev/v1\nkind: RetryAcknowledgement\nmetadata:\n  name: ack-${i}\nspec:\n  delivery: d-${i}\n  provider: p\n  acknowledged_by: a@example.com\n`;
const summary = summarizeYamlFile(
  'manifests/acks.yaml',
  // As many documents as one file may hold (the limit on documents per file).
  Buffer.from(Array.from({ length: resolveLimits(undefined).maxDocuments }, (_, i) => ack(i)).join('---\n')),
  resolveLimits(undefined),
  new Map(),
);
const documents = summary.documents ?? [];
const shared = (objects: readonly unknown[]): boolean =>
  objects.length > 50 && haveSameMap(objects[1], objects[objects.length - 1]);

console.log(
  JSON.stringify({ manifests: shared(manifests), commits: shared(commits), summaries: shared(documents) }),
);
