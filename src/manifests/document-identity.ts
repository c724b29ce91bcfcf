/**
 * The identity of a manifest document by content (docs/reference.md §4, "Provenance is per
 * document"): kind, `metadata.name` and a hash of the spec exactly as written, before defaults
 * (defaults such as `decided_at` come from the introducing commit, so the identity cannot include
 * them). Moving a document, reformatting it, adding comments or other documents to its file change
 * nothing of it. Pure.
 */
import { sha256Hex } from '../domain/hash.js';
import { isManifestKind } from '../schemas/index.js';
import type { ManifestKind } from '../domain/types.js';
import type { YamlLimits } from './limits.js';
import { parseYamlFile, type ParsedYamlFile } from './parse-yaml.js';

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** One document of a file that has an identity. */
export interface DocumentSummary {
  /** 0-based index of the document in its file (as in ManifestSource.document). */
  index: number;
  kind: ManifestKind;
  name: string;
  /** `kind NUL name NUL hash(written spec)`. */
  identity: string;
  /**
   * The whole document as parsed, kept only for RetryApproval and RecoveryClosure (small), whose
   * records name a blob but not the document: consumption matches them against it.
   */
  value: Record<string, unknown> | null;
}

/** Kinds whose documents are kept whole (see DocumentSummary.value). */
const KEPT_KINDS: ReadonlySet<ManifestKind> = new Set([
  'RetryApproval',
  'RecoveryClosure',
  'RetryAcknowledgement',
]);

/**
 * Deterministic text of a parsed YAML value: JSON with object keys sorted by UTF-16 code units
 * (RFC 8785 order and number form for every JSON value), total over what YAML can produce: a
 * non-finite number is written bare (`NaN`, `Infinity`), which no JSON string can collide with.
 */
function stableText(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  switch (typeof value) {
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      return Number.isFinite(value) ? JSON.stringify(value) : String(value);
    case 'string':
      return JSON.stringify(value);
    case 'bigint':
      return `${value.toString()}n`;
    case 'object': {
      if (Array.isArray(value)) return `[${value.map(stableText).join(',')}]`;
      const record = value as Record<string, unknown>;
      const keys = Object.keys(record)
        .filter((key) => record[key] !== undefined)
        .sort();
      return `{${keys.map((key) => `${JSON.stringify(key)}:${stableText(record[key])}`).join(',')}}`;
    }
    default:
      // Functions and symbols: YAML never produces them; keep the function total anyway.
      return JSON.stringify(typeof value);
  }
}

/** The identity of a document of `kind` named `name` whose written spec is `spec`. */
export function documentIdentity(kind: ManifestKind, name: string, spec: unknown): string {
  return `${kind}\u0000${name}\u0000${sha256Hex(stableText(spec)).slice(0, 32)}`;
}

/**
 * The documents of a parsed file that have an identity: a mapping with a known `kind` and a string
 * `metadata.name`, free of YAML errors. Validity is not required: a document exists in a commit's
 * tree whether or not it validated there.
 */
export function summarizeDocuments(file: ParsedYamlFile): DocumentSummary[] {
  const summaries: DocumentSummary[] = [];
  for (const document of file.documents) {
    if (document.findings.length > 0 || document.empty) continue;
    const value = document.value;
    if (value === null || typeof value !== 'object' || Array.isArray(value)) continue;
    const record = value as Record<string, unknown>;
    const kind = record.kind;
    const metadata = record.metadata;
    if (!isManifestKind(kind) || metadata === null || typeof metadata !== 'object') continue;
    const name = (metadata as Record<string, unknown>).name;
    if (typeof name !== 'string') continue;
    summaries.push({
      index: document.index,
      kind,
      name,
      identity: documentIdentity(kind, name, record.spec),
      value: KEPT_KINDS.has(kind) ? record : null,
    });
  }
  return summaries;
}

// ---------------------------------------------------------------------------------------------
// Per-document caching of multi-document files
// ---------------------------------------------------------------------------------------------

/** What one chunk of a file (from one `---` line to the next) parses to, positions relative. */
export interface ChunkSummary {
  /** YAML documents in the chunk (empty ones included), to number the documents of the file. */
  count: number;
  documents: DocumentSummary[];
  /** True when the chunk failed a file-level check (then the whole file has no identities). */
  failed: boolean;
}

/** Chunk text (by its hash) → summary; shared by every file of a repository's history. */
export type ChunkCache = Map<string, ChunkSummary>;

const DOCUMENT_START = /^---(?:[ \t\r]|$)/;

/**
 * The file's text cut before every `---` document-start line, or null when it must be parsed
 * whole (a directive line, whose scope is the next document, or a single chunk). A `---` at the
 * start of a line always starts a document in YAML (it cannot continue a scalar), so each chunk
 * parses alone to the documents the whole file has there, in order.
 */
export function splitDocumentChunks(text: string): string[] | null {
  const chunks: string[] = [];
  let start = 0;
  let lineStart = 0;
  while (lineStart < text.length) {
    let lineEnd = text.indexOf('\n', lineStart);
    if (lineEnd === -1) lineEnd = text.length;
    const first = text.charCodeAt(lineStart);
    if (first === 0x25 /* % */) return null;
    if (first === 0x2d /* - */ && lineStart > start && DOCUMENT_START.test(text.slice(lineStart, lineEnd))) {
      chunks.push(text.slice(start, lineStart));
      start = lineStart;
    }
    lineStart = lineEnd + 1;
  }
  chunks.push(text.slice(start));
  return chunks.length > 1 ? chunks : null;
}

export interface SummarizedFile {
  /** The documents with identities; null when the file cannot be read as YAML at all. */
  documents: DocumentSummary[] | null;
  /** The whole file parsed, when it was parsed whole (single-chunk files, or `whole` given). */
  whole: ParsedYamlFile | null;
}

/**
 * The documents of a file's content. A multi-document file is summarised chunk by chunk, each
 * chunk cached by its text, so appending a document to a file costs one document's parse, not
 * the file's (an approvals file appended to in every commit stays linear). A single-chunk file is
 * parsed whole, and that parse is returned for validation to reuse. `whole`, the file already
 * parsed whole with its syntax trees (a file of the revision being validated), stands in for
 * parsing its chunks where it tells each chunk's summary exactly (chunkSummariesOf); its chunks
 * are cached from it, so the file's earlier versions, read after it, cost nothing.
 */
export function summarizeYamlFile(
  path: string,
  content: Buffer,
  limits: YamlLimits,
  chunks: ChunkCache,
  whole?: ParsedYamlFile,
): SummarizedFile {
  let text: string | null = null;
  if (!content.includes(0)) {
    try {
      text = utf8.decode(content);
    } catch {
      text = null;
    }
  }
  const split = text === null ? null : splitDocumentChunks(text);
  if (split === null) {
    const file = whole ?? parseYamlFile(path, content, limits);
    return { documents: file.findings.length > 0 ? null : summarizeDocuments(file), whole: file };
  }
  const handed = whole ?? null;
  // The chunks' summaries read off `whole`; undefined until a chunk is not cached, null when
  // `whole` cannot tell them (or there is none).
  let derived: ChunkSummary[] | null | undefined;
  const documents: DocumentSummary[] = [];
  let index = 0;
  for (const [at, chunk] of split.entries()) {
    const key = sha256Hex(chunk);
    let summary = chunks.get(key);
    if (summary === undefined) {
      if (derived === undefined) derived = whole === undefined ? null : chunkSummariesOf(whole, split);
      summary = derived?.[at] ?? summarizeChunk(path, chunk, limits);
      chunks.set(key, summary);
    }
    if (summary.failed) return { documents: null, whole: handed };
    for (const document of summary.documents) {
      const { kind, name, identity, value } = document;
      documents.push({ index: index + document.index, kind, name, identity, value });
    }
    index += summary.count;
  }
  // The whole file's limit on documents (a file over it is a finding, so it has no identities).
  if (index > limits.maxDocuments) return { documents: null, whole: handed };
  return { documents, whole: handed };
}

function summarizeChunk(path: string, chunk: string, limits: YamlLimits): ChunkSummary {
  const parsed = parseYamlFile(path, chunk, limits);
  return {
    count: parsed.documents.length,
    documents: summarizeDocuments(parsed),
    failed: parsed.findings.length > 0,
  };
}

/**
 * What parsing each chunk of `split` alone would give, read off the parse of the whole file, or
 * null when that parse cannot tell it for sure. A document is the same parsed alone as among its
 * file's (nothing but directives, which leave a file unsplit, crosses a document boundary), and
 * its content starts inside its own chunk. What only a chunk's own parse would see — a file-level
 * finding, such as a secret in a comment of a chunk without documents, which the whole parse
 * gives a neighbouring document — needs a finding in the whole parse too, so a file with any is
 * parsed chunk by chunk. test/manifests/document-identity.test.ts checks that both ways agree.
 */
function chunkSummariesOf(whole: ParsedYamlFile, split: readonly string[]): ChunkSummary[] | null {
  if (whole.findings.length > 0 || whole.documents.some((document) => document.findings.length > 0)) return null;
  const summaries: ChunkSummary[] = split.map(() => ({ count: 0, documents: [], failed: false }));
  const identified = new Map(summarizeDocuments(whole).map((document) => [document.index, document]));
  let chunk = 0;
  let chunkEnd = split[0]!.length;
  let chunkFirst = 0; // the file's index of the chunk's first document
  for (const document of whole.documents) {
    const start = document.document.contents?.range[0] ?? document.document.range[0];
    while (start >= chunkEnd && chunk < split.length - 1) {
      chunkFirst += summaries[chunk]!.count;
      chunkEnd += split[++chunk]!.length;
    }
    const summary = summaries[chunk]!;
    const identity = identified.get(document.index);
    if (identity !== undefined) summary.documents.push({ ...identity, index: document.index - chunkFirst });
    summary.count += 1;
  }
  return summaries;
}
