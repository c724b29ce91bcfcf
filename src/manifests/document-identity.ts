/**
 * The identity of a manifest document by content (SPEC §4 "Provenance is per document"): kind,
 * `metadata.name` and a hash of the spec exactly as written, before defaults (defaults such as
 * `decided_at` come from the introducing commit, so the identity cannot include them). Moving a
 * document, reformatting it, adding comments or other documents to its file change nothing of it.
 * Pure.
 */
import { sha256Hex } from '../domain/hash.js';
import { isManifestKind } from '../schemas/index.js';
import type { ManifestKind } from '../domain/types.js';
import type { ParsedYamlFile } from './parse-yaml.js';

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
const KEPT_KINDS: ReadonlySet<ManifestKind> = new Set(['RetryApproval', 'RecoveryClosure']);

/**
 * Deterministic text of a parsed YAML value: JSON with object keys sorted by UTF-16 code units
 * (RFC 8785 order and number form for every JSON value), total over what YAML can produce: a
 * non-finite number is written bare (`NaN`, `Infinity`), which no JSON string can collide with.
 */
export function stableText(value: unknown): string {
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
