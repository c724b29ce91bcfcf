import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  documentIdentity,
  splitDocumentChunks,
  summarizeDocuments,
  summarizeYamlFile,
  type ChunkCache,
} from '../../src/manifests/document-identity.js';
import { resolveLimits } from '../../src/manifests/limits.js';
import { parseYamlFile } from '../../src/manifests/parse-yaml.js';
import { approvalYaml } from '../helpers/reconciler-fixtures.js';

const limits = resolveLimits();

function identitiesOf(text: string): { index: number; identity: string }[] {
  return summarizeDocuments(parseYamlFile('manifests/x.yaml', text, limits)).map(({ index, identity }) => ({
    index,
    identity,
  }));
}

describe('documentIdentity', () => {
  it('is kind, name and the written spec: formatting, comments, key order and labels do not count', () => {
    const plain = approvalYaml('approve-a', 'd1', 'ops-webhook');
    const styled = [
      '# a comment',
      'kind: RetryApproval',
      'apiVersion: cavra.dev/v1',
      'metadata: {name: approve-a, labels: {team: sre}}',
      'spec:',
      '  retry_policy: {allow_immediate_retry: true}',
      '  decided_by: "bob@example.com"   # who',
      "  state: 'approved'",
      '  provider: ops-webhook',
      '  delivery: d1',
      '',
    ].join('\n');
    expect(identitiesOf(styled)).toEqual(identitiesOf(plain));
    expect(identitiesOf(plain.replace('state: approved', 'state: denied'))).not.toEqual(identitiesOf(plain));
    expect(identitiesOf(plain.replace('approve-a', 'approve-b'))).not.toEqual(identitiesOf(plain));
    // Written, not normalised: spelling out a default is a different version.
    expect(documentIdentity('RetryApproval', 'a', { state: 'approved' })).not.toBe(documentIdentity('RetryApproval', 'a', {}));
    expect(documentIdentity('RetryApproval', 'a', { x: 1.0 })).toBe(documentIdentity('RetryApproval', 'a', { x: 1 }));
  });

  it('skips documents without a known kind or a string name, and documents with YAML errors', () => {
    const text = ['kind: Nope\nmetadata: {name: a}', 'kind: RetryApproval\nmetadata: {name: 7}', 'kind: RetryApproval\nmetadata: {name: b}\nspec: {a: 1, a: 2}', 'kind: RetryApproval\nmetadata: {name: c}'].join('\n---\n');
    expect(identitiesOf(text).map((d) => d.index)).toEqual([3]);
  });
});

describe('splitDocumentChunks', () => {
  it.each([
    ['a: 1\n', null],
    ['a: 1\n---\nb: 2\n', ['a: 1\n', '---\nb: 2\n']],
    ['---\na: 1\n---\nb: 2', ['---\na: 1\n', '---\nb: 2']],
    ['# c\n--- # doc\na: 1\n----\n---\r\nb: 2\r\n', ['# c\n', '--- # doc\na: 1\n----\n', '---\r\nb: 2\r\n']],
    ['%YAML 1.2\n---\na: 1\n---\nb: 2\n', null],
  ])('%j', (text, chunks) => {
    expect(splitDocumentChunks(text)).toEqual(chunks);
  });
});

describe('summarizeYamlFile', () => {
  const docs = {
    a: approvalYaml('approve-a', 'd1', 'ops-webhook'),
    b: approvalYaml('approve-b', 'd2', 'ops-webhook'),
    c: approvalYaml('approve-c', 'd3', 'ops-webhook'),
  };
  it.each([
    ['two documents', `${docs.a}---\n${docs.b}`],
    ['leading comment and marker', `# header\n---\n${docs.a}---\n${docs.b}`],
    ['empty documents', `---\n---\n${docs.a}---\n---\n${docs.b}---\n`],
    ['document end markers', `${docs.a}...\n---\n${docs.b}...\n# trailing\n`],
    ['a broken document in the middle', `${docs.a}---\nkind: [unclosed\n---\n${docs.c}`],
    ['a block scalar before a marker', `${docs.a}  notes: |\n    text\n    more\n---\n${docs.b}`],
    ['CRLF line ends', `${docs.a}---\n${docs.b}`.replace(/\n/g, '\r\n')],
  ])('chunk by chunk gives what the whole file gives: %s', (_name, text) => {
    const whole = identitiesOf(text);
    const summary = summarizeYamlFile('manifests/x.yaml', Buffer.from(text), limits, new Map());
    expect(summary.documents?.map(({ index, identity }) => ({ index, identity }))).toEqual(whole);
    expect(summary.whole).toBeNull();
  });

  it('parses an appended file one new document at a time', () => {
    const chunks: ChunkCache = new Map();
    summarizeYamlFile('f.yaml', Buffer.from(`${docs.a}---\n${docs.b}`), limits, chunks);
    expect(chunks.size).toBe(2);
    const appended = summarizeYamlFile('f.yaml', Buffer.from(`${docs.a}---\n${docs.b}---\n${docs.c}`), limits, chunks);
    expect(chunks.size).toBe(3);
    expect(appended.documents?.map((d) => [d.index, d.name])).toEqual([
      [0, 'approve-a'],
      [1, 'approve-b'],
      [2, 'approve-c'],
    ]);
  });

  // A file of the revision is parsed whole anyway (for validation), and its chunks are summarised
  // from that parse: whatever the file holds, that must give what parsing each chunk alone gives,
  // the cached summaries included (a file's earlier versions, read later, take them from the cache).
  const pieces = fc.constantFrom(
    docs.a,
    docs.b,
    docs.c,
    '---\n',
    '...\n',
    '# a comment\n',
    '# token: ghp_A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r8\n',
    '\n',
    'kind: [unclosed\n',
    '  notes: |\n    text\n---\n',
    '--- # after the marker\n',
    '--- |\n  a block scalar document\n',
    'kind: RetryApproval\nmetadata: {name: dup}\nspec: {a: 1, a: 2}\n',
    '- a\n- sequence\n',
    'plain text\n',
  );
  it('summarised from the whole parse, a file gives what its chunks give, cache and all', () => {
    fc.assert(
      fc.property(fc.array(pieces, { maxLength: 12 }), fc.boolean(), (parts, crlf) => {
        const joined = parts.join('');
        const text = crlf ? joined.replace(/\n/g, '\r\n') : joined;
        const content = Buffer.from(text);
        const byChunks: ChunkCache = new Map();
        const fromWhole: ChunkCache = new Map();
        const expected = summarizeYamlFile('manifests/x.yaml', content, limits, byChunks);
        const whole = parseYamlFile('manifests/x.yaml', content, limits);
        const actual = summarizeYamlFile('manifests/x.yaml', content, limits, fromWhole, whole);
        expect(actual.documents).toEqual(expected.documents);
        expect(actual.whole).toBe(whole);
        expect(new Map([...fromWhole].filter(([key]) => byChunks.has(key)))).toEqual(byChunks);
        expect([...fromWhole.keys()].every((key) => byChunks.has(key))).toBe(true);
      }),
      { numRuns: 400 },
    );
  });

  it('a file parsed whole fills the cache for its earlier versions, which then parse nothing', () => {
    const chunks: ChunkCache = new Map();
    const text = `${docs.a}---\n${docs.b}---\n${docs.c}`;
    const whole = parseYamlFile('f.yaml', text, limits);
    const summary = summarizeYamlFile('f.yaml', Buffer.from(text), limits, chunks, whole);
    expect(chunks.size).toBe(3);
    // Read off the whole parse (the very values), not parsed again chunk by chunk.
    expect(summary.documents?.map((d) => d.value)).toEqual(whole.documents.map((d) => d.value));
    expect(summary.documents?.[2]?.value).toBe(whole.documents[2]?.value);
    const earlier = summarizeYamlFile('f.yaml', Buffer.from(`${docs.a}---\n${docs.b}`), limits, chunks);
    expect(chunks.size).toBe(3);
    expect(earlier.documents?.map((d) => [d.index, d.name])).toEqual([
      [0, 'approve-a'],
      [1, 'approve-b'],
    ]);
  });

  it('a single-document file is parsed whole, and the parse is handed back', () => {
    const summary = summarizeYamlFile('f.yaml', Buffer.from(docs.a), limits, new Map());
    expect(summary.whole?.documents).toHaveLength(1);
    expect(summary.documents?.map((d) => d.name)).toEqual(['approve-a']);
  });

  it('a file over the document limit, or not UTF-8, has no identities', () => {
    const many = Array.from({ length: 3 }, () => docs.a).join('---\n');
    expect(summarizeYamlFile('f.yaml', Buffer.from(many), { ...limits, maxDocuments: 2 }, new Map()).documents).toBeNull();
    expect(summarizeYamlFile('f.yaml', Buffer.from([0xff, 0xfe, 0x0a]), limits, new Map()).documents).toBeNull();
  });
});
